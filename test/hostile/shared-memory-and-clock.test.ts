// Threat: high-resolution timers and shared memory (Spectre-style side channels), including
// shared WebAssembly memory asked for by a descriptor that answers "not shared" when the
// runtime checks it and "shared" when V8 reads it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await deploySource(
    node.admin,
    "probe",
    `export default { async fetch() {
      const d0 = Date.now(), p0 = performance.now(), n0 = new Date().getTime();
      let x = 0; for (let i = 0; i < 2e7; i++) x += i; // tens of milliseconds of CPU
      const d1 = Date.now(), p1 = performance.now(), n1 = new Date().getTime();
      await new Promise((r) => setTimeout(r, 30));
      const d2 = Date.now(), p2 = performance.now();
      let sharedMemory;
      try { new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }); sharedMemory = "ALLOWED"; } catch (e) { sharedMemory = e.message; }
      const plainMemory = new WebAssembly.Memory({ initial: 1 });
      return Response.json({
        frozen: [d1 - d0, p1 - p0, n1 - n0],
        advanced: [d2 - d1 >= 25, p2 - p1 >= 25],
        nowIsRecent: Math.abs(Date.now() - ${Date.now()}) < 600000,
        dateString: typeof Date(), dateParse: Date.parse("2020-01-02T00:00:00Z"), explicit: new Date(0).toISOString(),
        sab: typeof SharedArrayBuffer, atomicsWait: typeof Atomics.wait, atomicsWaitAsync: typeof Atomics.waitAsync, atomicsAdd: typeof Atomics.add,
        sharedMemory, x: x > 0,
        plainMemory: [plainMemory.buffer.byteLength, plainMemory instanceof WebAssembly.Memory, plainMemory.constructor === WebAssembly.Memory],
      });
    } };`,
  );
  await deploySource(
    node.admin,
    "two-faced",
    `export default { fetch() {
      const kinds = {};
      const attempts = {
        getter: () => { let reads = 0; return { initial: 1, maximum: 1, get shared() { return reads++ > 0; } }; },
        proxy: () => { let reads = 0; return new Proxy({ initial: 1, maximum: 1 }, { get: (t, k) => (k === "shared" ? reads++ > 0 : t[k]), has: () => true }); },
      };
      for (const [name, descriptor] of Object.entries(attempts)) {
        try { kinds[name] = Object.prototype.toString.call(new WebAssembly.Memory(descriptor()).buffer); }
        catch (e) { kinds[name] = e.name + ": " + e.message; }
      }
      return Response.json(kinds);
    } };`,
  );
});
after(() => node.kill());

test("Date.now, new Date and performance.now stand still during synchronous work and advance across I/O", async () => {
  const r = (await (await fetch(`${node.url}/fn/probe`)).json()) as Record<string, unknown>;
  assert.deepEqual(r["frozen"], [0, 0, 0]);
  assert.deepEqual(r["advanced"], [true, true]);
  assert.equal(r["dateString"], "string");
  assert.equal(r["nowIsRecent"], true, "the frozen clock is the real time of the entry");
  assert.equal(r["dateParse"], Date.parse("2020-01-02T00:00:00Z"));
  assert.equal(r["explicit"], "1970-01-01T00:00:00.000Z");
});

test("no SharedArrayBuffer, no Atomics.wait, no shared WebAssembly memory", async () => {
  const r = (await (await fetch(`${node.url}/fn/probe`)).json()) as Record<string, unknown>;
  assert.equal(r["sab"], "undefined");
  assert.equal(r["atomicsWait"], "undefined");
  assert.equal(r["atomicsWaitAsync"], "undefined");
  assert.equal(r["atomicsAdd"], "function", "plain Atomics on ordinary buffers stay");
  assert.match(String(r["sharedMemory"]), /shared WebAssembly memory is disallowed/);
  assert.deepEqual(r["plainMemory"], [65536, true, true], "unshared memory is still made by the guarded constructor");
});

test("a descriptor whose shared is false when checked and true when read again gets no SharedArrayBuffer", async () => {
  const kinds = (await (await fetch(`${node.url}/fn/two-faced`)).json()) as Record<string, string>;
  for (const [how, kind] of Object.entries(kinds)) {
    assert.notEqual(kind, "[object SharedArrayBuffer]", `a ${how} descriptor got shared memory`);
    assert.ok(kind === "[object ArrayBuffer]" || /Error: /.test(kind), `${how}: ${kind}`);
  }
  assert.deepEqual(Object.keys(kinds), ["getter", "proxy"]);
});
