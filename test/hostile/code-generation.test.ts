// Threat: code generated from strings at run time (eval, Function and friends, Wasm from bytes).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await deploySource(
    node.admin,
    "codegen",
    `const attempts = {
      "eval": () => eval("1 + 1"),
      "indirect eval": () => (0, eval)("1 + 1"),
      "globalThis.eval": () => globalThis.eval("1 + 1"),
      "new Function": () => new Function("return 1")(),
      "Function()": () => Function("return 1")(),
      "constructor of a function": () => (() => {}).constructor("return 1")(),
      "async function constructor": () => (async function () {}).constructor("return 1"),
      "generator function constructor": () => (function* () {}).constructor("yield 1"),
      "async generator constructor": () => (async function* () {}).constructor("yield 1"),
      "Reflect.construct(Function)": () => Reflect.construct(Function, ["return 1"]),
      "setTimeout with a string": () => setTimeout("globalThis.x = 1", 0),
      "new WebAssembly.Module(bytes)": () => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
      "WebAssembly.compile(bytes)": () => WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
      "WebAssembly.instantiate(bytes)": () => WebAssembly.instantiate(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
    };
    export default { async fetch() {
      const results = {};
      for (const [name, attempt] of Object.entries(attempts)) {
        try { const value = await attempt(); results[name] = "ALLOWED: " + String(value); }
        catch (e) { results[name] = e.constructor.name === "Function" ? e.name : e.name + ": " + e.message; }
      }
      results["Function.prototype unchanged"] = (function () {}) instanceof Function && Object.getPrototypeOf(Function) === Function.prototype;
      return Response.json(results);
    } };`,
  );
});
after(() => node.kill());

test("every way to generate code from strings or bytes at run time is refused with a clear error", async () => {
  const results = (await (await fetch(`${node.url}/fn/codegen`)).json()) as Record<string, string | boolean>;
  for (const [name, outcome] of Object.entries(results)) {
    if (name === "Function.prototype unchanged") continue;
    assert.doesNotMatch(String(outcome), /^ALLOWED/, `${name} was allowed`);
  }
  for (const name of ["eval", "indirect eval", "new Function", "constructor of a function", "async function constructor", "async generator constructor"]) {
    assert.match(String(results[name]), /^EvalError: Code generation from strings is disallowed/, name);
  }
  assert.match(String(results["setTimeout with a string"]), /^TypeError: setTimeout: the callback must be a function/);
  assert.match(String(results["WebAssembly.compile(bytes)"]), /^CompileError: WebAssembly.compile of bytes made at run time is disallowed/);
  assert.equal(results["Function.prototype unchanged"], true, "instanceof Function still works");
});

test("a module that evaluates strings at load time is refused at deploy", async () => {
  await assert.rejects(
    deploySource(node.admin, "codegen-at-load", `const f = new Function("return 1"); export default { fetch: () => new Response(String(f())) };`),
    /Code generation from strings is disallowed/,
  );
});
