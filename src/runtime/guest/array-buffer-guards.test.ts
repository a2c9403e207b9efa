// Resizable ArrayBuffers inside a real isolate: V8 commits their memory outside what
// isolated-vm's memoryLimit counts, so the runtime counts their byte lengths against it.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { createGuestIsolate, type GuestIsolate } from "../../../test/support/guest-isolate.ts";

const MiB = 1024 * 1024;
let guest: GuestIsolate | undefined;
afterEach(() => guest?.dispose());

async function isolate(memoryMiB = 32, runtimeGc = true): Promise<GuestIsolate> {
  guest = await createGuestIsolate({ memoryMiB, runtimeGc });
  return guest;
}

test("a resizable ArrayBuffer whose maxByteLength is over the memory limit stops the instance", async () => {
  const g = await isolate(32);
  // Unguarded, this resizes to 512 MiB in a 32 MiB isolate.
  const out = g.attempt(`const b = new ArrayBuffer(8, { maxByteLength: 2 ** 30 }); b.resize(2 ** 29); return b.byteLength;`);
  assert.equal(out.error, "RangeError");
  assert.match(out.message!, /resizable ArrayBuffer with maxByteLength 1073741824 would go over this function's memory limit of 32 MiB/);
  assert.deepEqual(g.reached, ["a resizable ArrayBuffer with maxByteLength 1073741824"]);
});

test("resizable ArrayBuffers count their byte length: a resize past the limit stops the instance at the call", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    globalThis.kept = [];
    for (let i = 0; i < 3; i++) {
      const b = new ArrayBuffer(0, { maxByteLength: ${12 * MiB} });
      kept.push(b);
      b.resize(${12 * MiB});
      new Uint8Array(b).fill(1);
    }
  `);
  assert.equal(out.error, "RangeError", "the third 12 MiB buffer does not fit in 32 MiB with two others alive");
  assert.deepEqual(g.reached, [`ArrayBuffer.prototype.resize to ${12 * MiB} bytes`]);
  assert.equal(g.run(`kept.map((b) => b.byteLength).join()`), `${12 * MiB},${12 * MiB},0`, "the refused resize committed nothing");
});

test("buffers whose maxima add up to far more than the limit work while what they hold fits", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    globalThis.kept = [];
    for (let i = 0; i < 100; i++) kept.push(new ArrayBuffer(${64 * 1024}, { maxByteLength: ${32 * MiB} }));
    kept[0].resize(${16 * MiB});
    kept[0].resize(${1024});
    kept[1].resize(${20 * MiB});
    return kept.reduce((sum, b) => sum + b.byteLength, 0);
  `);
  assert.deepEqual(out, { value: 98 * 64 * 1024 + 1024 + 20 * MiB });
  assert.deepEqual(g.reached, []);
});

test("the constructor reads options.maxByteLength once and the buffer gets what was reserved", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    let reads = 0;
    const options = { get maxByteLength() { return ++reads === 1 ? 1024 : 2 ** 30; } };
    const b = new ArrayBuffer(8, options);
    return [reads, b.maxByteLength];
  `);
  assert.deepEqual(out.value, [1, 1024]);
  assert.deepEqual(g.reached, []);
});

test("a collected resizable ArrayBuffer stops counting", async () => {
  // As on a host run with --expose-gc: the pool collects before it refuses.
  const g = await isolate(32);
  for (let i = 0; i < 5; i++) {
    assert.deepEqual(g.attempt(`new ArrayBuffer(0, { maxByteLength: ${24 * MiB} }).resize(${24 * MiB}); return "ok";`), { value: "ok" });
  }
  assert.deepEqual(g.reached, []);
});

test("without gc in the runtime, a buffer V8 collected is released when the pool is next short", async () => {
  const g = await isolate(32, false);
  assert.deepEqual(g.attempt(`new ArrayBuffer(0, { maxByteLength: ${24 * MiB} }); return "ok";`), { value: "ok" });
  // V8 collecting on its own schedule, between two entries.
  g.run(`__testGc()`);
  assert.deepEqual(g.attempt(`new ArrayBuffer(0, { maxByteLength: ${24 * MiB} }); return "ok";`), { value: "ok" });
  assert.deepEqual(g.reached, []);
});

test("transfer moves the count to the new buffer, checked at the length asked for; transferToFixedLength ends it", async () => {
  const g = await isolate(32);
  const moved = g.attempt(`
    let b = new ArrayBuffer(8, { maxByteLength: ${24 * MiB} });
    b.resize(${24 * MiB});
    globalThis.t = b.transfer();
    return [b.detached, t.resizable, t.byteLength];
  `);
  assert.deepEqual(moved.value, [true, true, 24 * MiB]);
  // The detached original is garbage now; the memory lives on in \`t\`.
  assert.equal(g.attempt(`new ArrayBuffer(0, { maxByteLength: ${24 * MiB} }).resize(${24 * MiB});`).error, "RangeError");
  const fixed = g.attempt(`
    globalThis.f = t.transferToFixedLength();
    const again = new ArrayBuffer(0, { maxByteLength: ${24 * MiB} });
    again.resize(${24 * MiB});
    return [t.detached, f.resizable, again.byteLength];
  `);
  assert.deepEqual(fixed.value, [true, false, 24 * MiB]);
  const longer = g.attempt(`
    f = undefined;
    globalThis.small = new ArrayBuffer(8, { maxByteLength: ${30 * MiB} });
    globalThis.big = new ArrayBuffer(${20 * MiB}, { maxByteLength: ${20 * MiB} });
    let refused; try { small.transfer(${20 * MiB}); } catch (e) { refused = e.name; }
    return [refused, small.detached, small.byteLength];
  `);
  assert.deepEqual(longer.value, ["RangeError", false, 8]);
  assert.deepEqual(g.reached, [`ArrayBuffer.prototype.resize to ${24 * MiB} bytes`, `ArrayBuffer.prototype.transfer to ${20 * MiB} bytes`]);
});

test("a resizable buffer moved by a byte stream keeps its count", async () => {
  const g = await isolate(32);
  const read = await g.runAsync(`(async () => {
    const rab = new ArrayBuffer(${24 * MiB}, { maxByteLength: ${24 * MiB} });
    const stream = new ReadableStream({ type: "bytes", start(c) { c.enqueue(new Uint8Array(rab)); c.close(); } });
    const { value } = await stream.getReader().read();
    globalThis.kept = value.buffer;
    return [rab.detached, kept.resizable, kept.byteLength];
  })()`);
  assert.deepEqual(read, [true, true, 24 * MiB]);
  assert.equal(g.attempt(`new ArrayBuffer(${16 * MiB}, { maxByteLength: ${16 * MiB} });`).error, "RangeError");
  assert.equal(g.reached.length, 1);
});

test("structuredClone of a resizable buffer makes a fixed-length copy", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    const b = new ArrayBuffer(4, { maxByteLength: ${16 * MiB} });
    const copy = structuredClone(b);
    const moved = structuredClone(b, { transfer: [b] });
    return [copy.resizable, copy.byteLength, moved.resizable, b.detached];
  `);
  assert.deepEqual(out.value, [false, 4, false, true]);
});

test("ArrayBuffer stays the same constructor to user code", async () => {
  const g = await isolate(32);
  const out = g.attempt(`
    class Sub extends ArrayBuffer {}
    const sub = new Sub(4, { maxByteLength: 8 });
    const outcome = (run) => { try { return run(); } catch (e) { return e.name; } };
    let called;
    try { ArrayBuffer(4); } catch (e) { called = e.name; }
    return [
      new ArrayBuffer(4).constructor === ArrayBuffer, ArrayBuffer.prototype.constructor === ArrayBuffer,
      ArrayBuffer.length, ArrayBuffer.name, ArrayBuffer[Symbol.species] === ArrayBuffer,
      ArrayBuffer.isView(new Uint8Array(1)), sub instanceof Sub, sub instanceof ArrayBuffer, sub.maxByteLength,
      new Uint8Array(4).buffer instanceof ArrayBuffer, called, ArrayBuffer.prototype.transfer.name, ArrayBuffer.prototype.transfer.length,
      ArrayBuffer.prototype.resize.name, ArrayBuffer.prototype.resize.length, outcome(() => new ArrayBuffer(4).resize(2)),
      outcome(() => sub.resize(16)), outcome(() => sub.resize(-1)), outcome(() => { sub.resize(6); return sub.byteLength; }),
    ];
  `);
  assert.deepEqual(out.value, [true, true, 1, "ArrayBuffer", true, true, true, true, 8, true, "TypeError", "transfer", 0, "resize", 1, "TypeError", "RangeError", "RangeError", 6]);
  assert.equal(g.attempt(`new ArrayBuffer(16, { maxByteLength: 8 });`).error, "RangeError");
  assert.equal(g.attempt(`new ArrayBuffer(-1);`).error, "RangeError");
  assert.deepEqual(g.reached, []);
});

test("resizable ArrayBuffers' maxima share a 64 GiB address-space budget; dropped ones give theirs back", async () => {
  const g = await createGuestIsolate({ memoryMiB: 32 });
  try {
    // 32 MiB each: 2048 fill 64 GiB.
    const out = g.attempt(`
      globalThis.kept = [];
      try { for (let i = 0; i < 2049; i++) kept.push(new ArrayBuffer(0, { maxByteLength: ${32 * MiB} })); } catch (e) { return [kept.length, e.name]; }
    `);
    assert.deepEqual(out.value, [2048, "RangeError"]);
    assert.equal(g.reached.length, 1);
    assert.match(g.reached[0]!, /maxByteLength 33554432\), with 64 GiB of address space held already/);
  } finally {
    g.dispose();
  }
  const again = await createGuestIsolate({ memoryMiB: 32 });
  try {
    // Within one entry nothing is collected (a WeakRef keeps its target until the job
    // ends): dropped buffers give their address space back to later entries.
    again.serve(`() => { for (let i = 0; i < 1500; i++) new ArrayBuffer(0, { maxByteLength: ${32 * MiB} }); return new Response("made"); }`);
    for (let i = 0; i < 4; i++) assert.equal((await again.request()).text, "made", `request ${i}`);
    assert.deepEqual(again.reached, []);
  } finally {
    again.dispose();
  }
});
