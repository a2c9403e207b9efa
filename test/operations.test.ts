// What docs/operations.md and deploy/flick.service tell an operator to run is what the CLI
// takes: every flag of the unit's `flick up` line is one `flick up` knows, with a value
// where it needs one; every `flick <command>` the page shows is a command.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { test } from "node:test";
import { commands } from "../src/cli/main.ts";
import { repoRoot } from "./support/node-process.ts";

test("the systemd unit's flick up line parses with flick up's own flags", () => {
  const unit = readFileSync(path.join(repoRoot, "deploy", "flick.service"), "utf8");
  const execStart = /^ExecStart=(.*)$/m.exec(unit)![1]!.split(/\s+/);
  const at = execStart.indexOf("flick");
  assert.equal(execStart[at + 1], "up");
  const up = commands.find((c) => c.name === "up")!;
  const parsed = parseArgs({ args: execStart.slice(at + 2), options: up.options, strict: true, allowPositionals: false });
  assert.equal(parsed.values["data-dir"], "/var/lib/flick");
  assert.equal(parsed.values["host"], "127.0.0.1");
  assert.match(unit, /^Environment=FLICK_DATA_DIR=\/var\/lib\/flick$/m, "the CLI on the machine finds the node the unit runs");
});

test("every flick command docs/operations.md and docs/config.md show exists", () => {
  const names = new Set(commands.map((c) => c.name));
  for (const doc of ["operations.md", "config.md"]) {
    const text = readFileSync(path.join(repoRoot, "docs", doc), "utf8");
    const used = [...text.matchAll(/(?:^|[\s`(])flick ([a-z]+)/gm)].map((m) => m[1]!);
    assert.ok(used.length > 5, doc);
    for (const name of used) assert.ok(names.has(name), `${doc} shows \`flick ${name}\`, which is not a command`);
  }
});
