import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { checkImport, checkPackage, checkTree, scanImports, scanSource } from "../scripts/check-deps.ts";

const repo = fileURLToPath(new URL("../", import.meta.url));
const script = path.join(repo, "scripts", "check-deps.ts");

test("scanImports reads every static form, with the line of its keyword", () => {
  const source = [
    `import { a,`, // 1
    `  b,`,
    `} from "./multi.ts";`,
    `import "./side-effect.ts";`, // 4
    `import def from "./default.ts";`, // 5
    `import * as ns from './namespace.ts';`, // 6
    `import d2, * as ns2 from "./default-and-namespace.ts";`, // 7
    `export * from "./star.ts";`, // 8
    `export * as star from "./star-as.ts";`, // 9
    `export { a as c, b } from "./named.ts";`, // 10
    `export { a, b };`, // 11: local names, no import
    `import json from "./data.json" with { type: "json" };`, // 12
    `export const x = 1; export default x;`, // 13
  ].join("\n");
  assert.deepEqual(scanImports(source), [
    { specifier: "./multi.ts", line: 1, typeOnly: false },
    { specifier: "./side-effect.ts", line: 4, typeOnly: false },
    { specifier: "./default.ts", line: 5, typeOnly: false },
    { specifier: "./namespace.ts", line: 6, typeOnly: false },
    { specifier: "./default-and-namespace.ts", line: 7, typeOnly: false },
    { specifier: "./star.ts", line: 8, typeOnly: false },
    { specifier: "./star-as.ts", line: 9, typeOnly: false },
    { specifier: "./named.ts", line: 10, typeOnly: false },
    { specifier: "./data.json", line: 12, typeOnly: false },
  ]);
});

test("scanImports: only `import type` / `export type` are type-only; inline `type` modifiers still load the module", () => {
  const source = [
    `import type { T } from "./t.ts";`,
    `import type Def from "./t-default.ts";`,
    `import type * as TNs from "./t-ns.ts";`,
    `import type {`,
    `  A,`,
    `  B,`,
    `} from "./t-multi.ts";`,
    `export type { U } from "./u.ts";`,
    `export type * from "./u-star.ts";`,
    // Node keeps these as `import {} from "…"` / `export {} from "…"`: the module is evaluated.
    `import { type A1, type B1 as C1 } from "./inline.ts";`,
    `export { type E } from "./inline-export.ts";`,
    `import x, { type y } from "./mixed.ts";`,
    // a default import that happens to be called `type`
    `import type from "./named-type.ts";`,
    `import type, { z } from "./named-type-2.ts";`,
  ].join("\n");
  assert.deepEqual(
    scanImports(source).map((r) => [r.specifier, r.line, r.typeOnly]),
    [
      ["./t.ts", 1, true],
      ["./t-default.ts", 2, true],
      ["./t-ns.ts", 3, true],
      ["./t-multi.ts", 4, true],
      ["./u.ts", 8, true],
      ["./u-star.ts", 9, true],
      ["./inline.ts", 10, false],
      ["./inline-export.ts", 11, false],
      ["./mixed.ts", 12, false],
      ["./named-type.ts", 13, false],
      ["./named-type-2.ts", 14, false],
    ],
  );
});

test("scanImports ignores import-like text in comments, strings, templates and regular expressions", () => {
  const source = [
    `// import { fake } from "../node/index.ts";`, // 1
    `/* export * from "../cli/index.ts";`, // 2
    `   import "../cli/main.ts"; */`, // 3
    `const url = "http://example.com/"; import { real } from "./real.ts"; // "import x from './no.ts'"`, // 4
    `const s = 'import { s } from "../node/s.ts"';`, // 5
    "const tpl = `", // 6
    `  import { t } from "../node/t.ts";`, // 7
    "  ${JSON.stringify({ nested: `import(\"../node/n.ts\")` })}", // 8
    "`;", // 9
    `const re = /import\\s+["'](.*)["']\\/*/g; const half = 1 / 2; // import "../cli/re.ts"`, // 10
    `const cls = /[/"']/;`, // 11
    `const comment = "/* not a comment";`, // 12
    `import { after } from "./after.ts";`, // 13
    `const obj = { import: 1, export: 2 }; obj.import("../node/x.ts"); obj?.export;`, // 14
    `const here = import.meta.url;`, // 15
  ].join("\n");
  assert.deepEqual(scanImports(source), [
    { specifier: "./real.ts", line: 4, typeOnly: false },
    { specifier: "./after.ts", line: 13, typeOnly: false },
  ]);
});

test("scanImports reads dynamic import() with a literal specifier and tells type positions apart", () => {
  const source = [
    `const lazy = await import("./lazy.ts");`, // 1
    `const ok = import(`, // 2
    `  './spread.ts'`,
    `);`,
    "const tpl = await import(`./template.ts`);", // 5
    `const json = await import("./data.json", { with: { type: "json" } });`, // 6
    `const then = import("./then.ts").then((m) => m.x);`, // 7
    `const computed = await import(name);`, // 8: cannot be checked, not reported as an import
    "const dynamic = await import(`./${name}.ts`);", // 9: same
    `type Mod = typeof import("../node/index.ts");`, // 10: type position
    `let value: import("../cli/index.ts").Options;`, // 11: type position
  ].join("\n");
  assert.deepEqual(
    scanImports(source).map((r) => [r.specifier, r.line, r.typeOnly]),
    [
      ["./lazy.ts", 1, false],
      ["./spread.ts", 2, false],
      ["./template.ts", 5, false],
      ["./data.json", 6, false],
      ["./then.ts", 7, false],
      ["../node/index.ts", 10, true],
      ["../cli/index.ts", 11, true],
    ],
  );
});

test("scanSource flags an import it cannot read instead of skipping it", () => {
  const scan = scanSource([`import { a } from "./a.ts";`, ``, `import { b } from someName;`].join("\n"));
  assert.deepEqual(scan.imports, [{ specifier: "./a.ts", line: 1, typeOnly: false }]);
  assert.deepEqual(scan.unreadable, [3]);
});

test("checkImport: value imports follow the table", () => {
  assert.equal(checkImport("gateway", "gateway", false), undefined);
  assert.equal(checkImport("gateway", "control", false), undefined);
  assert.equal(checkImport("build", "errors", false), undefined);
  assert.equal(checkImport("queue", "store", false), undefined);
  assert.equal(checkImport("cli", "node", false), undefined);
  assert.equal(checkImport("node", "host", false), undefined);
  assert.equal(checkImport("node", "cli", false), undefined);
  assert.equal(
    checkImport("gateway", "node", false),
    "gateway may not import node (allowed: control, errors, model, telemetry, bus)",
  );
  assert.equal(checkImport("errors", "model", false), "errors may not import model (allowed: nothing)");
  assert.match(checkImport("control", "store", false)!, /^control may not import store \(allowed: errors, model\)$/);
  assert.equal(checkImport("host", "runtime", false), undefined, "the host checks the guest contract (runtime/contract.ts)");
  assert.match(checkImport("host", "node", false)!, /host may not import node/);
  assert.match(checkImport("api", "host", false)!, /api may not import host/);
});

test("checkImport: type-only imports cross freely, except out of runtime and into cli or node", () => {
  assert.equal(checkImport("gateway", "host", true), undefined);
  assert.equal(checkImport("control", "store", true), undefined);
  assert.equal(checkImport("host", "runtime", true), undefined);
  assert.equal(checkImport("cli", "node", true), undefined);
  assert.equal(checkImport("node", "cli", true), undefined);
  assert.match(checkImport("runtime", "model", true)!, /not even types/);
  assert.match(checkImport("runtime", "errors", false)!, /runtime may not import errors/);
  assert.match(checkImport("api", "node", true)!, /^api may not import node, not even types \(allowed: /);
  assert.match(checkImport("gateway", "cli", true)!, /^gateway may not import cli, not even types/);
});

test("checkImport: a component missing from the table is an error", () => {
  assert.match(checkImport("mystery", "model", false)!, /mystery is not a known component; add it to the table in scripts\/check-deps\.ts and docs\/architecture\.md/);
  assert.match(checkImport("model", "mystery", true)!, /mystery is not a known component/);
});

test("checkPackage: runtime imports no packages or built-ins; control no I/O built-ins", () => {
  assert.match(checkPackage("runtime", "node:crypto", false)!, /runtime may not import the Node built-in "node:crypto"/);
  assert.match(checkPackage("runtime", "zod", false)!, /runtime may not import the package "zod"/);
  assert.match(checkPackage("runtime", "isolated-vm", true)!, /not even types/);
  for (const io of ["node:fs", "node:fs/promises", "fs", "node:net", "node:http", "node:child_process", "node:sqlite", "node:dgram", "node:worker_threads"]) {
    assert.match(checkPackage("control", io, false) ?? "", /control may not import .*pure logic without I\/O/, io);
  }
  assert.equal(checkPackage("control", "node:http", true), undefined, "types vanish at run time");
  assert.equal(checkPackage("control", "zod", false), undefined);
  assert.equal(checkPackage("control", "node:crypto", false), undefined);
  assert.equal(checkPackage("control", "fs-extra-lookalike", false), undefined);
  assert.equal(checkPackage("host", "isolated-vm", false), undefined);
  assert.equal(checkPackage("store", "node:sqlite", false), undefined);
});

test("checkTree reports each violation as file:line and the CLI exits 1", () => {
  const root = mkdtempSync(path.join(tmpdir(), "check-deps-"));
  try {
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    };
    write("src/node/index.ts", `export const node = 1;\n`);
    write("src/model/index.ts", `export type M = 1;\n`);
    write("src/control/index.ts", `import type { M } from "../model/index.ts";\nimport { readFileSync } from "node:fs";\n`);
    write(
      "src/gateway/gateway.ts",
      [
        `import { z } from "zod";`,
        `import type { M } from "../model/index.ts";`,
        `/* import { node } from "../node/index.ts"; */`,
        `import {`,
        `  node,`,
        `} from "../node/index.ts";`,
        `import { bench } from "../../bench/run.ts";`,
        `import { gone } from "./missing.ts";`,
      ].join("\n"),
    );
    write("src/gateway/gateway.test.ts", `import { node } from "../node/index.ts";\n`);
    write("src/runtime/guest/x.ts", `import type { M } from "../../model/index.ts";\nimport "node:crypto";\n`);
    write("src/mystery/x.ts", `export {};\n`);

    const result = checkTree(root);
    assert.equal(result.files, 6, "the test file is skipped");
    assert.deepEqual(result.violations, [
      `src/control/index.ts:2: control may not import "node:fs": control is pure logic without I/O`,
      `src/gateway/gateway.ts:4: gateway may not import node (allowed: control, errors, model, telemetry, bus)`,
      `src/gateway/gateway.ts:7: imports "../../bench/run.ts", which is outside src/`,
      `src/gateway/gateway.ts:8: "./missing.ts" does not resolve to a file`,
      `src/mystery/x.ts:1: mystery is not a known component; add it to the table in scripts/check-deps.ts and docs/architecture.md`,
      `src/runtime/guest/x.ts:1: runtime may not import model: the guest runtime runs inside the isolate and imports nothing outside itself, not even types`,
      `src/runtime/guest/x.ts:2: runtime may not import the Node built-in "node:crypto": the guest runtime runs inside the isolate and imports no packages or built-ins, not even types`,
    ]);

    const run = spawnSync(process.execPath, [script, root], { encoding: "utf8" });
    assert.equal(run.status, 1);
    assert.match(run.stderr, /^src\/gateway\/gateway\.ts:4: gateway may not import node/m);
    assert.match(run.stderr, /check-deps: 7 violation\(s\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a binding kind's guest.ts and contract.ts belong to runtime; the rest of its folder to bindings", () => {
  const root = mkdtempSync(path.join(tmpdir(), "check-deps-bindings-"));
  try {
    const write = (file: string, text: string) => {
      mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
      writeFileSync(path.join(root, file), text);
    };
    write("src/model/index.ts", `export type M = 1;\n`);
    write("src/node/index.ts", `export const node = 1;\n`);
    write("src/runtime/guest/env.ts", `import { kv } from "../../bindings/kv/guest.ts";\nimport { all } from "../../bindings/guest.ts";\n`);
    write("src/bindings/guest.ts", `import { kv } from "./kv/guest.ts";\nexport const all = [kv];\n`);
    write("src/bindings/kv/contract.ts", `export const methods = ["get"];\n`);
    write("src/bindings/kv/guest.ts", `import { methods } from "./contract.ts";\nimport type { M } from "../../model/index.ts";\nimport "node:crypto";\n`);
    write("src/bindings/kv/host.ts", `import { methods } from "./contract.ts";\nimport { node } from "../../node/index.ts";\nimport { readFileSync } from "node:fs";\n`);
    const result = checkTree(root);
    assert.deepEqual(result.violations, [
      `src/bindings/kv/guest.ts:2: runtime may not import model: the guest runtime runs inside the isolate and imports nothing outside itself, not even types`,
      `src/bindings/kv/guest.ts:3: runtime may not import the Node built-in "node:crypto": the guest runtime runs inside the isolate and imports no packages or built-ins, not even types`,
      `src/bindings/kv/host.ts:2: bindings may not import node (allowed: errors, model, queue, runtime, telemetry)`,
    ]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("the repository follows its own rules", () => {
  const run = spawnSync(process.execPath, [script], { encoding: "utf8", cwd: repo });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^check-deps: \d+ files, \d+ imports, all within the component rules\n$/);
});
