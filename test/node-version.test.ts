// On a Node.js too old for Flick, every entry point says in one line what to install and
// exits 1 (instead of ERR_UNKNOWN_FILE_EXTENSION ".ts" or a warning npm scrolls away).
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";
import { repoRoot } from "./support/node-process.ts";

const check = path.join(repoRoot, "scripts", "require-node.cjs");

function assertOneLineAdvice(result: { status: number | null; stdout: string; stderr: string }, version: string): void {
  assert.equal(result.status, 1, `exit status (stderr: ${result.stderr})`);
  assert.equal(result.stdout, "");
  const lines = result.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line, got:\n${result.stderr}`);
  assert.match(lines[0]!, new RegExp(`needs Node\\.js 24 or newer, and this is Node ${version.replace(/\./g, "\\.")}`));
  assert.match(lines[0]!, /npm install -g --prefix ~\/\.node24 node@24/);
}

test("the check passes quietly on this Node", () => {
  const result = spawnSync(process.execPath, [check], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, "");
});

test("on Node 20 the check says in one line what to install", () => {
  const pretend = `Object.defineProperty(process.versions, "node", { value: "20.20.2" }); require(${JSON.stringify(check)});`;
  assertOneLineAdvice(spawnSync(process.execPath, ["-e", pretend], { encoding: "utf8" }), "20.20.2");
});

/** A Node older than 24 on this machine (Debian's, say), or undefined. */
function olderNode(): { bin: string; version: string } | undefined {
  for (const bin of ["/usr/bin/node", "/usr/local/bin/node"]) {
    try {
      const version = execFileSync(bin, ["-p", "process.versions.node"], { encoding: "utf8" }).trim();
      if (Number(version.split(".")[0]) < 24) return { bin, version };
    } catch {}
  }
  return undefined;
}

const old = olderNode();

test("a real older Node gets the line from the flick command and from npm start and npm test", { skip: old === undefined && "no Node older than 24 on this machine" }, () => {
  const { bin, version } = old!;
  assertOneLineAdvice(spawnSync(bin, [path.join(repoRoot, "bin", "flick.js"), "--help"], { encoding: "utf8" }), version);
  // npm runs the pre-scripts with the `node` first on PATH: the old one here.
  const env = { ...process.env, PATH: `${path.dirname(bin)}:/usr/bin:/bin` };
  for (const script of ["start", "test"]) {
    const result = spawnSync("npm", ["run", "--silent", script], { cwd: repoRoot, env, encoding: "utf8" });
    assert.equal(result.status, 1, `npm ${script}: ${result.stderr}`);
    assert.match(result.stderr, new RegExp(`needs Node\\.js 24 or newer, and this is Node ${version.replace(/\./g, "\\.")}`), `npm ${script}`);
    assert.doesNotMatch(result.stderr, /ERR_UNKNOWN_FILE_EXTENSION/);
  }
});
