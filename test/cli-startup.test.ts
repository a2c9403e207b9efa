// The CLI starts light: `--help` and the commands that only talk to a node load neither
// the node (isolated-vm, SQLite, the worker hosts), nor esbuild, nor the API's server and
// schemas. Each loaded module is recorded by a resolve hook, so this is checked by what
// Node loaded, not by a timing (`npm run bench` and hyperfine measure that).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";
import { repoRoot } from "./support/node-process.ts";

const recordLoads = `import { registerHooks } from "node:module";
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); process.stderr.write("LOADED " + r.url + "\\n"); return r; } });`;

function loadedBy(...args: string[]): string[] {
  const result = spawnSync(process.execPath, ["--import", `data:text/javascript,${encodeURIComponent(recordLoads)}`, path.join(repoRoot, "bin", "flick.js"), ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, FLICK_URL: "http://127.0.0.1:1", FLICK_TOKEN: "flk_nothing" },
  });
  return result.stderr.split("\n").filter((l) => l.startsWith("LOADED ")).map((l) => l.slice("LOADED ".length));
}

const heavy = [/isolated-vm/, /esbuild/, /smol-toml/, /\/zod\//, /\/src\/node\//, /\/src\/build\//, /\/src\/host\//, /\/src\/api\/server\.ts/, /\/src\/api\/schemas\.ts/];

for (const args of [["--help"], ["ls"], ["invoke", "hello"], ["logs", "hello"]]) {
  test(`flick ${args.join(" ")} loads nothing heavy`, () => {
    const loaded = loadedBy(...args);
    assert.ok(loaded.some((url) => url.endsWith("/src/cli/main.ts")), `the hook saw the CLI load:\n${loaded.join("\n")}`);
    for (const pattern of heavy) {
      const hit = loaded.filter((url) => pattern.test(url));
      assert.deepEqual(hit, [], `flick ${args.join(" ")} loaded ${pattern}`);
    }
  });
}
