// The CJK indexes in real isolates: fetched from the host only by an isolate that
// constructs a decoder needing one, once per isolate, and unaffected by what user code
// does to the builtins before that.
import { afterEach, test } from "node:test";
import assert from "node:assert/strict";
import { createGuestIsolate, type GuestIsolate } from "../../../../test/support/guest-isolate.ts";

let guest: GuestIsolate | undefined;
afterEach(() => guest?.dispose());

/** Guest source that decodes the hex bytes with a fresh decoder. */
const decoding = (label: string, hex: string, bytes = "Uint8Array") =>
  `new TextDecoder(${JSON.stringify(label)}).decode(new ${bytes}(${JSON.stringify(hex.replace(/ /g, "").match(/../g)!.map((h) => parseInt(h, 16)))}))`;

test("an isolate that decodes only UTF-8, UTF-16 and single-byte text never asks the host for an index", async () => {
  const g = (guest = await createGuestIsolate({ memoryMiB: 64, fromSnapshot: true }));
  assert.equal(g.run(`${decoding("utf-8", "e4bda0e5a5bd")} + ${decoding("utf-16le", "4100")} + ${decoding("latin1", "e9")} + ${decoding("koi8-r", "c1")}`), "你好Aéа");
  g.serve(`async () => {
    const stream = new Blob([new Uint8Array([0xe2, 0x82, 0xac])]).stream().pipeThrough(new TextDecoderStream());
    let text = "";
    for await (const chunk of stream) text += chunk;
    return new Response(text + new TextDecoder("windows-1251").decode(new Uint8Array([0xc0])));
  }`);
  assert.equal((await g.request()).text, "€А");
  // A label lookup alone, and the replacement encoding's RangeError, load nothing either.
  assert.deepEqual(g.attempt(`new TextDecoder("replacement"); return 1;`).error, "RangeError");
  assert.deepEqual(g.indexesAsked, []);
});

test("the first decoder of an encoding fetches its tables, once per isolate, and the decoders after it reuse them", async () => {
  const g = (guest = await createGuestIsolate({ memoryMiB: 64, fromSnapshot: true }));
  assert.equal(g.run(`${decoding("gbk", "c4e3bac3")} + ${decoding("gb18030", "90308130")}`), "你好\u{10000}");
  assert.deepEqual(g.indexesAsked, ["gb18030", "gb18030-ranges"]);
  assert.equal(g.run(`${decoding("shift_jis", "82b1")} + ${decoding("iso-2022-jp", "1b24422422")}`), "こあ");
  assert.deepEqual(g.indexesAsked.slice(2), ["jis0208"]);
  assert.equal(g.run(`${decoding("euc-jp", "a4b38fb0a1")} + ${decoding("big5", "a4a48745")} + ${decoding("euc-kr", "c7d1")}`), "こ丂中\u{27267}한");
  assert.deepEqual(g.indexesAsked.slice(3), ["jis0212", "big5", "euc-kr"]);
  g.run(`for (const label of ["gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr"]) new TextDecoder(label, { fatal: true });`);
  assert.equal(g.indexesAsked.length, 6);
});

test("decoding is unaffected by user code replacing the builtins, typed arrays and array setters first", async () => {
  const g = (guest = await createGuestIsolate({ memoryMiB: 64, fromSnapshot: true }));
  g.run(`
    const broken = () => { throw new Error("user code was called"); };
    const { defineProperty, getPrototypeOf } = Object;
    const ObjectPrototype = Object.prototype;
    // The test's own way to make its input, kept before the globals go.
    globalThis.Bytes = Uint8Array;
    const TypedArrayPrototype = getPrototypeOf(Int8Array.prototype);
    defineProperty(TypedArrayPrototype, "length", { get: broken });
    defineProperty(TypedArrayPrototype, "buffer", { get: broken });
    defineProperty(TypedArrayPrototype, "subarray", { value: broken });
    for (let i = 0; i < 16; i++) defineProperty(Array.prototype, i, { get: broken, set: broken });
    Array.prototype.push = broken;
    Function.prototype.apply = broken;
    String.fromCharCode = broken;
    String.fromCodePoint = broken;
    for (const name of ["Uint8Array", "Uint16Array", "Uint32Array", "ArrayBuffer", "Array", "Reflect", "Object", "Math"]) globalThis[name] = broken;
    // Last: a descriptor that reads it through Object.prototype has a getter and a value.
    ObjectPrototype.get = broken;
    undefined;
  `);
  const out = g.attempt(`return [
    ${decoding("gb18030", "c4e3 8130fe29 e3329a35", "Bytes")},
    ${decoding("big5", "8862 8745 a4a4", "Bytes")},
    ${decoding("euc-jp", "a4b3 8eb1 8fb0a1", "Bytes")},
    ${decoding("iso-2022-jp", "1b284a5c1b2842", "Bytes")},
    ${decoding("shift_jis", "82b1f040", "Bytes")},
    ${decoding("euc-kr", "c7d18141", "Bytes")},
  ];`);
  assert.equal(out.error, undefined, out.message);
  assert.deepEqual(out.value, ["你\ufffd0\ufffd)\u{10ffff}", "\u00ca\u0304\u{27267}中", "こｱ丂", "\u00a5", "こ\ue000", "한갂"]);
});

test("a loaded index costs the isolate its own size, and nothing until it is loaded", async (t) => {
  const g = (guest = await createGuestIsolate({ memoryMiB: 64, fromSnapshot: true, runtimeGc: false }));
  /** The typed arrays' bytes (outside V8's heap) and the JS heap, after full collections. */
  const memory = () => {
    // Collected until the heap stops shrinking: on a loaded machine two collections have
    // left 0.7 MiB of a decoder's garbage to the next measurement (one label +0.7, the next −0.7).
    let stats = g.isolate.getHeapStatisticsSync();
    for (let round = 0; round < 10; round++) {
      g.run(`__testGc(); __testGc()`);
      const next = g.isolate.getHeapStatisticsSync();
      const settled = next.used_heap_size >= stats.used_heap_size;
      stats = next;
      if (settled && round > 0) break;
    }
    return { external: stats.externally_allocated_size, heap: stats.used_heap_size };
  };
  // Decoders kept alive, so that their tables count whether or not the isolate's cache would.
  g.run(`globalThis.kept = [new TextDecoder("utf-8"), new TextDecoder("windows-1252")]; kept[0].decode(new Uint8Array([0x41]));`);
  let before = memory();
  const costs: Record<string, { external: number; heap: number }> = {};
  for (const label of ["euc-kr", "gb18030", "big5", "shift_jis", "euc-jp"]) {
    g.run(`kept.push(new TextDecoder(${JSON.stringify(label)})); kept.at(-1).decode(new Uint8Array([0x41])); undefined`);
    const after = memory();
    costs[label] = { external: after.external - before.external, heap: after.heap - before.heap };
    before = after;
  }
  t.diagnostic(`bytes per first decoder of an encoding: ${JSON.stringify(costs)}`);
  // The tables' bytes (scripts/gen-encoding-indexes.ts: 2 a code point, 8 a gb18030 range, 1
  // bit a Big5 pointer) and nothing else outside the heap: the host's copy is collected.
  const tableBytes: Record<string, number> = { "euc-kr": 47_880, gb18030: 47_880 + 1_656, big5: 39_564 + 2_473, shift_jis: 22_560, "euc-jp": 17_672 };
  for (const [label, bytes] of Object.entries(tableBytes)) {
    assert.ok(Math.abs(costs[label]!.external - bytes) <= 256, `${label}: ${costs[label]!.external} bytes outside the heap for ${bytes} of tables`);
    // On the heap: the decoder's compiled code, and on the first one the output lists (2,047 numbers).
    assert.ok(costs[label]!.heap < 64 * 1024, `${label}: ${costs[label]!.heap} bytes of heap`);
  }
});
