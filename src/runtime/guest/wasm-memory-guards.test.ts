// WebAssembly memories inside a real isolate: V8 commits them outside what isolated-vm's
// memoryLimit counts, so the runtime caps them, in one pool with resizable ArrayBuffers.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { createGuestIsolate, type GuestIsolate } from "../../../test/support/guest-isolate.ts";
import { wasmModule } from "../../../test/support/wasm-module.ts";

const MiB = 1024 * 1024;
/** 64 KiB pages in a 32 MiB instance. */
const pagesIn32MiB = 512;
let guest: GuestIsolate | undefined;
afterEach(() => guest?.dispose());

async function isolate(memoryMiB = 32, runtimeGc = true): Promise<GuestIsolate> {
  guest = await createGuestIsolate({ memoryMiB, runtimeGc });
  return guest;
}

test("a WebAssembly.Memory cannot grow past what the instance may hold", async () => {
  const g = await isolate(32);
  // Unguarded, grow(3000) commits 187 MiB in a 32 MiB isolate.
  const out = g.attempt(`
    const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    let big; try { m.grow(3000); big = "grew"; } catch (e) { big = e.name; }
    const old = m.grow(${pagesIn32MiB - 1});
    let more; try { m.grow(1); more = "grew"; } catch (e) { more = e.name; }
    return [big, old, more, m.buffer.byteLength];
  `);
  assert.deepEqual(out.value, ["RangeError", 1, "RangeError", 32 * MiB]);
  assert.deepEqual(g.reached, []);
});

test("a WebAssembly.Memory without a maximum is capped the same way", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    const m = new WebAssembly.Memory({ initial: 1 });
    let big; try { m.grow(3000); big = "grew"; } catch (e) { big = e.name; }
    return [big, m.grow(100)];
  `);
  assert.deepEqual(out.value, ["RangeError", 1]);
});

test("memories share the pool with resizable ArrayBuffers", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    globalThis.m = new WebAssembly.Memory({ initial: 1, maximum: 400 });
    new ArrayBuffer(0, { maxByteLength: ${16 * MiB} });
  `);
  assert.equal(out.error, "RangeError");
  assert.deepEqual(g.reached, [`a resizable ArrayBuffer with maxByteLength ${16 * MiB}`]);
});

test("a memory whose initial size is over the limit stops the instance", async () => {
  const g = await isolate(32);
  assert.equal(g.attempt(`new WebAssembly.Memory({ initial: 600 });`).error, "RangeError");
  assert.deepEqual(g.reached, ["a WebAssembly.Memory of 600 pages"]);
});

test("memory64 memories are capped too", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    const m = new WebAssembly.Memory({ address: "i64", initial: 1n, maximum: 100000n });
    let big; try { m.grow(3000n); big = "grew"; } catch (e) { big = e.name; }
    return [big, String(m.grow(100n))];
  `);
  assert.deepEqual(out.value, ["RangeError", "1"]);
});

test("a descriptor is read once: a shared getter that changes its answer gets no shared memory", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    let reads = 0;
    const m = new WebAssembly.Memory({ initial: 1, maximum: 2, get shared() { return reads++ > 0; } });
    return [reads, Object.prototype.toString.call(m.buffer), typeof SharedArrayBuffer];
  `);
  assert.deepEqual(out.value, [1, "[object ArrayBuffer]", "undefined"]);
  const maximum = g.attempt(`
    let reads = 0;
    const m = new WebAssembly.Memory({ initial: 1, get maximum() { return reads++ > 0 ? 65536 : 2; } });
    let grew; try { m.grow(10); grew = "grew"; } catch (e) { grew = e.name; }
    return [reads, grew];
  `);
  assert.deepEqual(maximum.value, [1, "RangeError"]);
  assert.equal(g.attempt(`new WebAssembly.Memory({ initial: 1, maximum: 2, shared: true });`).error, "TypeError");
});

test("a shipped module's memory cannot grow past what the instance may hold", async () => {
  const g = await isolate(32);
  const declared = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 65536 }] }));
  const unbounded = g.shipWasm(wasmModule({ memories: [{ minimum: 1 }] }));
  // Inside Wasm, running out is memory.grow answering -1.
  const out = g.attempt(`
    const a = new WebAssembly.Instance(${declared}).exports;
    const first = [a.grow(3000), a.grow(${pagesIn32MiB - 1}), a.grow(1), a.size()];
    return first;
  `);
  assert.deepEqual(out.value, [-1, 1, -1, pagesIn32MiB]);
  assert.deepEqual(g.attempt(`const b = new WebAssembly.Instance(${unbounded}).exports; return [b.grow(3000), b.grow(10)];`).value, [-1, 1]);
  assert.deepEqual(g.reached, []);
});

test("a shipped memory64 module is capped too", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 100000, memory64: true }], exportMemory: true }));
  const out = g.attempt(`const e = new WebAssembly.Instance(${module}).exports; return [e.grow(3000n), e.grow(10n), e.size()].map(String);`);
  assert.deepEqual(out.value, ["-1", "1", "11"]);
});

test("each instantiation reserves its module's memories, with new WebAssembly.Instance and WebAssembly.instantiate", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 300 }] }));
  assert.deepEqual(g.attempt(`globalThis.first = new WebAssembly.Instance(${module}); return first.exports.size();`).value, 1);
  assert.equal(g.attempt(`new WebAssembly.Instance(${module});`).error, "RangeError");
  const rejected = await g.runAsync(`WebAssembly.instantiate(${module}).then(() => "instantiated", (e) => e.name)`);
  assert.equal(rejected, "RangeError");
  assert.equal(g.reached.length, 2);
  assert.match(g.reached[0]!, /WebAssembly instance whose memories may grow to 19660800 bytes/);
});

test("an instance that was collected gives its reservation back", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1 }] }));
  for (let i = 0; i < 4; i++) {
    assert.equal(g.attempt(`return new WebAssembly.Instance(${module}).exports.size();`).value, 1);
    assert.equal(await g.runAsync(`WebAssembly.instantiate(${module}).then((i) => i.exports.size())`), 1);
  }
  assert.deepEqual(g.reached, []);
});

test("a memory the instance exported keeps the reservation after the instance is gone", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1 }], exportMemory: true }));
  assert.equal(g.attempt(`globalThis.memory = new WebAssembly.Instance(${module}).exports.memory; return memory.buffer.byteLength;`).value, 65536);
  assert.equal(g.attempt(`new WebAssembly.Instance(${module});`).error, "RangeError");
  assert.equal(g.attempt(`memory = undefined; return new WebAssembly.Instance(${module}).exports.size();`).value, 1);
});

test("a shipped module that defines a shared memory is refused", async () => {
  const g = await isolate(32);
  const shared = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 2, shared: true }] }));
  const out = g.attempt(`${shared};`);
  assert.equal(out.error, "CompileError");
  assert.match(out.message!, /shared memory/);
});

test("WebAssembly.Memory and WebAssembly.Instance stay the same constructors to user code", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 2 }], exportMemory: true }));
  const out = g.attempt(`
    const m = new WebAssembly.Memory({ initial: 1, maximum: 2 });
    const i = new WebAssembly.Instance(${module});
    let called; try { WebAssembly.Memory({ initial: 1 }); } catch (e) { called = e.name; }
    return [
      m instanceof WebAssembly.Memory, m.constructor === WebAssembly.Memory, WebAssembly.Memory.name, WebAssembly.Memory.length,
      i instanceof WebAssembly.Instance, i.constructor === WebAssembly.Instance, WebAssembly.Instance.name,
      i.exports.memory instanceof WebAssembly.Memory, called,
    ];
  `);
  assert.deepEqual(out, { value: [true, true, "Memory", 1, true, true, "Instance", true, "TypeError"] });
});
