import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { checkImport, checkPackage, scanImports } from "../scripts/check-deps.ts";

test("scanImports finds every kind of import with its line and whether it is type-only", () => {
  const source = [
    `import { a,`,
    `  b } from "./multi.ts";`,
    `import type { T } from "../store/index.ts";`,
    `import { type A, type B as C } from "./types.ts";`,
    `import x, { type y } from "./mixed.ts";`,
    `// import { fake } from "../node/index.ts";`,
    `/* export * from "../cli/index.ts"; */`,
    `import "./side-effect.ts";`,
    `export * from "./reexport.ts";`,
    `export type { U } from "./u.ts";`,
    `const lazy = await import("./lazy.ts");`,
  ].join("\n");
  assert.deepEqual(scanImports(source), [
    { specifier: "./multi.ts", line: 1, typeOnly: false },
    { specifier: "../store/index.ts", line: 3, typeOnly: true },
    { specifier: "./types.ts", line: 4, typeOnly: true },
    { specifier: "./mixed.ts", line: 5, typeOnly: false },
    { specifier: "./side-effect.ts", line: 8, typeOnly: false },
    { specifier: "./reexport.ts", line: 9, typeOnly: false },
    { specifier: "./u.ts", line: 10, typeOnly: true },
    { specifier: "./lazy.ts", line: 11, typeOnly: false },
  ]);
});

test("the component rules", () => {
  assert.equal(checkImport("gateway", "control", false), undefined);
  assert.match(checkImport("gateway", "node", false)!, /gateway may not import node/);
  assert.equal(checkImport("gateway", "host", true), undefined, "type-only imports are allowed");
  assert.match(checkImport("control", "store", false)!, /allowed: errors, model/);
  assert.match(checkImport("runtime", "model", true)!, /not even types/);
  assert.equal(checkImport("node", "host", false), undefined);
  assert.match(checkImport("mystery", "model", false)!, /not in the component table/);
  assert.match(checkPackage("runtime", "node:crypto", false)!, /no packages or Node built-ins/);
  assert.match(checkPackage("control", "node:fs", false)!, /pure logic/);
  assert.equal(checkPackage("control", "zod", false), undefined);
  assert.equal(checkPackage("host", "isolated-vm", false), undefined);
});

test("the repository follows its own rules", () => {
  const run = spawnSync(process.execPath, ["scripts/check-deps.ts"], { encoding: "utf8", cwd: new URL("../", import.meta.url) });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /all within the component rules/);
});
