// WebAssembly memories inside a real isolate: V8 commits them outside what isolated-vm's
// memoryLimit counts, so the runtime caps each one at the limit and counts what they hold,
// with resizable ArrayBuffers, against it: when JavaScript grows one, and at the end of
// every entry for growth inside Wasm.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { createGuestIsolate, type GuestIsolate } from "../../../test/support/guest-isolate.ts";
import { wasmModule } from "../../../test/support/wasm-module.ts";

const MiB = 1024 * 1024;
/** 64 KiB pages in a 32 MiB instance. */
const pagesIn32MiB = 512;
let guest: GuestIsolate | undefined;
afterEach(() => guest?.dispose());

/** One request to the function `g` serves: its status and body, or what `fail` said. */
async function answer(g: GuestIsolate): Promise<{ status: number; text: string }> {
  const { status, text, failed } = await g.request();
  return failed === undefined ? { status, text } : { status, text: failed };
}

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

test("memories and resizable ArrayBuffers count together", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    globalThis.m = new WebAssembly.Memory({ initial: 1, maximum: 400 });
    m.grow(319);
    globalThis.b = new ArrayBuffer(0, { maxByteLength: ${16 * MiB} });
    b.resize(${16 * MiB});
  `);
  assert.equal(out.error, "RangeError", "20 MiB of memory and 16 MiB of buffer do not fit in 32 MiB");
  assert.deepEqual(g.reached, [`ArrayBuffer.prototype.resize to ${16 * MiB} bytes`]);
});

test("a grow past the limit stops the instance at the call, and commits nothing", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    globalThis.a = new WebAssembly.Memory({ initial: 1 });
    globalThis.b = new WebAssembly.Memory({ initial: 1 });
    a.grow(319);
    let refused; try { b.grow(200); } catch (e) { refused = e.name; }
    return [refused, a.buffer.byteLength, b.buffer.byteLength, b.grow(100)];
  `);
  assert.deepEqual(out.value, ["RangeError", 320 * 65536, 65536, 1]);
  assert.deepEqual(g.reached, ["WebAssembly.Memory.prototype.grow by 200 pages"]);
});

test("memories without a maximum, made and kept entry after entry, each count what they hold", async () => {
  const g = await isolate(32, false);
  for (let i = 0; i < 2; i++) {
    const out = g.attempt(`const m = new WebAssembly.Memory({ initial: 1 }); (globalThis.kept ??= []).push(m); m.grow(191); return m.buffer.byteLength;`);
    assert.deepEqual(out, { value: 12 * MiB });
  }
  assert.deepEqual(g.reached, []);
  // A third 12 MiB would make 36.
  assert.equal(g.attempt(`new WebAssembly.Memory({ initial: 192 });`).error, "RangeError");
  assert.deepEqual(g.reached, ["a WebAssembly.Memory of 192 pages"]);
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

test("an instance counts a memory it does not export at its capped maximum, with new WebAssembly.Instance and WebAssembly.instantiate", async () => {
  const g = await isolate(32);
  // JavaScript cannot read the size of a memory nothing exports: it counts at its 300 pages.
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 300 }] }));
  assert.deepEqual(g.attempt(`globalThis.first = new WebAssembly.Instance(${module}); return first.exports.size();`).value, 1);
  assert.equal(g.attempt(`new WebAssembly.Instance(${module});`).error, "RangeError");
  const rejected = await g.runAsync(`WebAssembly.instantiate(${module}).then(() => "instantiated", (e) => e.name)`);
  assert.equal(rejected, "RangeError");
  assert.equal(g.reached.length, 2);
  assert.match(g.reached[0]!, /WebAssembly instance whose memories take 19660800 bytes/);
});

test("an instance that was collected stops counting", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1 }] }));
  for (let i = 0; i < 4; i++) {
    assert.equal(g.attempt(`return new WebAssembly.Instance(${module}).exports.size();`).value, 1);
    assert.equal(await g.runAsync(`WebAssembly.instantiate(${module}).then((i) => i.exports.size())`), 1);
  }
  assert.deepEqual(g.reached, []);
});

test("an exported memory counts its size, also after the instance is gone, and its grow is checked", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1 }], exportMemory: true }));
  const kept = g.attempt(`
    globalThis.other = new WebAssembly.Memory({ initial: 128 });
    globalThis.memory = new WebAssembly.Instance(${module}).exports.memory;
    memory.grow(300);
    let refused; try { memory.grow(120); } catch (e) { refused = e.name; }
    return [memory.buffer.byteLength, refused];
  `);
  assert.deepEqual(kept.value, [301 * 65536, "RangeError"], "8 MiB and 26.3 MiB do not fit in 32");
  assert.equal(g.attempt(`return new WebAssembly.Instance(${module}).exports.size();`).value, 1, "another instance's one page fits");
  assert.equal(g.attempt(`new WebAssembly.Memory({ initial: 200 });`).error, "RangeError");
  assert.equal(g.attempt(`memory = undefined; return new WebAssembly.Memory({ initial: 200 }).buffer.byteLength;`).value, 200 * 65536);
  assert.deepEqual(g.reached, ["WebAssembly.Memory.prototype.grow by 120 pages", "a WebAssembly.Memory of 200 pages"]);
});

test("a shipped module that exports its memory, instantiated in every request, works request after request", async () => {
  // An instance counted at its memory's maximum stopped the second request; without a
  // collection the 9th would find 8 memories' address space held.
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 16 }], exportMemory: true }));
  g.serve(`() => { const e = new WebAssembly.Instance(${module}).exports; return new Response(String(e.grow(16))); }`);
  for (let i = 0; i < 40; i++) assert.deepEqual(await answer(g), { status: 200, text: "16" }, `request ${i}`);
  assert.deepEqual(g.reached, []);
});

test("a 1-page memory in each of 100 requests: every request works", async () => {
  // A memory counted at its maximum stopped the second request.
  const g = await isolate(32);
  g.serve(`() => new Response(String(new WebAssembly.Memory({ initial: 1 }).buffer.byteLength))`);
  for (let i = 0; i < 100; i++) assert.deepEqual(await answer(g), { status: 200, text: "65536" }, `request ${i}`);
  assert.deepEqual(g.reached, []);
});

test("two memories without a maximum, made in two requests and kept, both work", async () => {
  const g = await isolate(32, false);
  g.serve(`() => {
    const m = new WebAssembly.Memory({ initial: 1 });
    (globalThis.kept ??= []).push(m);
    m.grow(159);
    return new Response(String(kept.length) + ":" + m.buffer.byteLength);
  }`);
  assert.deepEqual(await answer(g), { status: 200, text: `1:${10 * MiB}` });
  assert.deepEqual(await answer(g), { status: 200, text: `2:${10 * MiB}` });
  assert.deepEqual(g.reached, []);
});

test("memory grown inside Wasm past the limit stops the instance at the end of the entry", async () => {
  const g = await isolate(32);
  // Each instance's memory is capped at the limit; two of them can hold twice that.
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1 }], exportMemory: true }));
  g.serve(`() => {
    const e = new WebAssembly.Instance(${module}).exports;
    (globalThis.kept ??= []).push(e);
    return new Response(String(e.grow(299)));
  }`);
  const first = await g.request();
  assert.deepEqual([first.status, g.reached], [200, []], "18.75 MiB fits");
  const second = await g.request();
  // memory.grow inside Wasm: no JavaScript sees it before the entry ends.
  assert.equal(second.status, 200);
  assert.deepEqual(
    second.ops.filter((op) => op[0] === "memoryLimit"),
    [["memoryLimit", "WebAssembly memories and resizable ArrayBuffers held 37.5 MiB at the end of an entry"]],
    "the memoryLimit op leaves with the entry that went over",
  );
  assert.equal(g.reached.length, 1);
});

test("entries that stay within the limit report nothing", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1 }], exportMemory: true }));
  g.serve(`() => { const e = new WebAssembly.Instance(${module}).exports; e.grow(400); return new Response(String(e.size())); }`);
  for (let i = 0; i < 3; i++) assert.deepEqual(await answer(g), { status: 200, text: "401" });
  assert.deepEqual(g.reached, []);
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

test("an instance holds at most 8 live memories' address space: the 9th stops it, with a message saying why", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    globalThis.kept = [];
    for (let i = 0; i < 8; i++) kept.push(new WebAssembly.Memory({ initial: 1 }));
    try { kept.push(new WebAssembly.Memory({ initial: 1 })); } catch (e) { return [kept.length, e.name, e.message]; }
  `);
  const [count, name, message] = out.value as [number, string, string];
  assert.deepEqual([count, name], [8, "RangeError"]);
  assert.match(message, /would reserve more than the 64 GiB of address space a function instance may hold \(64 GiB in live WebAssembly memories/);
  assert.deepEqual(g.reached, ["a WebAssembly.Memory of 1 pages, with 64 GiB of address space held already"]);
});

test("memory64 memories reserve twice as much: the 5th is refused", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    globalThis.kept = [];
    try { for (let i = 0; i < 5; i++) kept.push(new WebAssembly.Memory({ initial: 1n, address: "i64" })); } catch (e) { return [kept.length, e.name]; }
  `);
  assert.deepEqual(out.value, [4, "RangeError"]);
});

test("a shipped module's own memories reserve address space too", async () => {
  const g = await isolate(32);
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 1 }] }));
  const out = g.attempt(`
    globalThis.kept = [];
    try { for (let i = 0; i < 9; i++) kept.push(new WebAssembly.Instance(${module})); } catch (e) { return [kept.length, e.name]; }
  `);
  assert.deepEqual(out.value, [8, "RangeError"]);
});

test("memories dropped are collected before a 9th is refused: a memory in each of 100 requests works", async () => {
  const g = await isolate(32);
  g.serve(`() => new Response(String(new WebAssembly.Memory({ initial: 1 }).buffer.byteLength))`);
  for (let i = 0; i < 100; i++) assert.deepEqual(await answer(g), { status: 200, text: "65536" }, `request ${i}`);
  assert.deepEqual(g.reached, []);
});
