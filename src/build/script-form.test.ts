import assert from "node:assert/strict";
import { test } from "node:test";
import * as vm from "node:vm";
import { scriptForm } from "./script-form.ts";

/** Runs a script form as a host would (its value is the exports) in a fresh context. */
function exportsOf(script: string): Record<string, unknown> {
  return vm.runInNewContext(script, { Response: class {} }) as Record<string, unknown>;
}

test("a default export object becomes the script's value", async () => {
  const script = await scriptForm(`export default { fetch() { return "hi" } };`);
  assert.ok(script !== null);
  const ns = exportsOf(script);
  assert.equal((ns["default"] as { fetch(): string }).fetch(), "hi");
  assert.equal(Object.getPrototypeOf(ns), null, "like a module namespace: no prototype");
  assert.ok(Object.isFrozen(ns));
});

test("named exports, renamed exports and string export names all arrive", async () => {
  const script = await scriptForm(`const a = 1; function fetch() { return a } export { a, a as b, fetch, a as "x-y" }; export default class Foo {}`);
  assert.ok(script !== null);
  const ns = exportsOf(script);
  assert.deepEqual(Object.keys(ns).sort(), ["a", "b", "default", "fetch", "x-y"]);
  assert.equal(ns["x-y"], 1);
  assert.equal((ns["default"] as { name: string }).name, "Foo");
});

test("exports stay live bindings, as in a namespace", async () => {
  const script = await scriptForm(`export let n = 0; export function bump() { n++; }`);
  const ns = exportsOf(script!);
  (ns["bump"] as () => void)();
  assert.equal(ns["n"], 1);
});

test("the code runs in strict mode, as a module does", async () => {
  const script = await scriptForm(`export const strict = (function () { return this === undefined; })();`);
  assert.equal(exportsOf(script!)["strict"], true);
});

test("a module without exports (service-worker style) gives an empty namespace", async () => {
  const script = await scriptForm(`addEventListener("fetch", () => {});`);
  const calls: string[] = [];
  const ns = vm.runInNewContext(script!, { addEventListener: (t: string) => calls.push(t) }) as object;
  assert.deepEqual(Object.keys(ns), []);
  assert.deepEqual(calls, ["fetch"]);
});

test("modules a script cannot express stay modules", async () => {
  assert.equal(await scriptForm(`const x = await Promise.resolve(1); export default { fetch() { return x } };`), null, "top-level await");
  assert.equal(await scriptForm(`export default { fetch() { return import.meta.url } };`), null, "import.meta");
  assert.equal(await scriptForm(`import x from "./elsewhere.js"; export default x;`), null, "an import left unbundled");
  assert.equal(await scriptForm(`export default {`), null, "a syntax error (the module path reports it)");
});
