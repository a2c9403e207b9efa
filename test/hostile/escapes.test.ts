// Threat: reaching Node or the host from inside the isolate.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  // Raw code through the API, not through the bundler: an attacker need not use `flick deploy`.
  await node.admin.deploy("escape", {
    code: `const attempts = {
      "process": () => process.pid,
      "globalThis.process": () => globalThis.process.env,
      "require": () => require("fs"),
      "module": () => module.exports,
      "import() of a package": () => import("node:fs"),
      "import() of a file": () => import("/etc/passwd"),
      "constructor.constructor": () => this.constructor.constructor("return process")(),
      "function constructor chain": () => (function () {}).constructor.constructor("return this")(),
      "Error.prepareStackTrace frames": () => {
        Error.prepareStackTrace = (_e, frames) => frames.map((f) => { const t = f.getThis?.(); return [typeof t, t && t.constructor && t.constructor.name, typeof f.getFunction?.()]; });
        const stack = new Error("x").stack;
        Error.prepareStackTrace = undefined;
        return JSON.stringify(stack);
      },
      "host global names": () => ["__flickHost", "__flickDispatcher", "ivm", "_ivm", "Reference", "Callback", "ExternalCopy", "Isolate"].filter((n) => n in globalThis).join(",") || "none",
    };
    export default { async fetch() {
      const results = {};
      for (const [name, attempt] of Object.entries(attempts)) {
        try { results[name] = "ALLOWED: " + String(await attempt()); } catch (e) { results[name] = (e && e.name) + ": " + (e && e.message); }
      }
      return Response.json(results);
    } };`,
  });
});
after(() => node.kill());

test("process, require, module and dynamic import of anything not bundled all fail", async () => {
  const r = (await (await fetch(`${node.url}/fn/escape`)).json()) as Record<string, string>;
  assert.match(r["process"]!, /^ReferenceError: process is not defined/);
  assert.match(r["globalThis.process"]!, /^TypeError/);
  assert.match(r["require"]!, /^ReferenceError: require is not defined/);
  assert.match(r["module"]!, /^ReferenceError: module is not defined/);
  assert.match(r["import() of a package"]!, /^Error: import "node:fs" is not part of the bundle|^TypeError|^Error/);
  assert.doesNotMatch(r["import() of a package"]!, /^ALLOWED/);
  assert.doesNotMatch(r["import() of a file"]!, /^ALLOWED/);
});

test("constructor chains end in the refusing Function, not in the host", async () => {
  const r = (await (await fetch(`${node.url}/fn/escape`)).json()) as Record<string, string>;
  assert.match(r["constructor.constructor"]!, /^(EvalError: Code generation|TypeError)/);
  assert.match(r["function constructor chain"]!, /^EvalError: Code generation from strings is disallowed/);
});

test("stack frames expose only guest functions and no host objects", async () => {
  const r = (await (await fetch(`${node.url}/fn/escape`)).json()) as Record<string, string>;
  assert.doesNotMatch(r["Error.prepareStackTrace frames"]!, /Reference|Callback|ExternalCopy|Isolate/);
  assert.equal(r["host global names"], "ALLOWED: none");
});
