import assert from "node:assert/strict";
import { test } from "node:test";
import { wasm, type WasmMemory } from "./guest/wasm-api.ts";
import { importMemory, memoryImport } from "./import-memory.ts";

// Modules written byte by byte (WebAssembly core spec §5.5), compiled by Node's V8.
const u32 = (n: number): number[] => (n < 128 ? [n] : [(n % 128) | 0x80, ...u32(Math.floor(n / 128))]);
const name = (s: string): number[] => [...u32(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const section = (id: number, content: number[]): number[] => [id, ...u32(content.length), ...content];
const vec = (...items: number[][]): number[] => [...u32(items.length), ...items.flat()];

/** A command: optionally a function import, one memory with these limit bytes, a data segment at 16, `_start` and `memory` exported. */
function command(limits: number[], options: { importFunction?: boolean; importMemory?: boolean; memories?: number } = {}): Uint8Array {
  const imports: number[][] = [];
  if (options.importFunction) imports.push([...name("wasi_snapshot_preview1"), ...name("sched_yield"), 0x00, 0x00]);
  if (options.importMemory) imports.push([...name("env"), ...name("memory"), 0x02, 0x00, 0x01]);
  const start = imports.filter((i) => i.at(-2) === 0x00 && i.at(-1) === 0x00).length;
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(0, [...name("note"), 1, 2, 3]), // a custom section before the type section stays where it is
    ...section(1, vec([0x60, 0x00, 0x00])),
    ...(imports.length > 0 ? section(2, vec(...imports)) : []),
    ...section(3, vec([0x00])),
    ...section(5, vec(...Array.from({ length: options.memories ?? 1 }, () => limits))),
    ...section(7, vec([...name("memory"), 0x02, 0x00], [...name("_start"), 0x00, start])),
    ...section(10, vec([...u32(2), 0x00, 0x0b])),
    ...section(11, vec([0x00, 0x41, 16, 0x0b, ...vec([1], [2], [3])])),
  ]);
}

const described = (bytes: Uint8Array) => {
  const module = new wasm.Module(bytes);
  return { imports: wasm.Module.imports(module), exports: wasm.Module.exports(module) };
};

test("a module's one memory becomes an import with its limits; exports, data and other imports are the same program's", () => {
  for (const options of [{}, { importFunction: true }]) {
    const original = command([0x01, 2, 10], options);
    const got = importMemory(original);
    assert.ok(got !== undefined, JSON.stringify(options));
    assert.deepEqual([got.initialPages, got.maximumPages], [2, 10]);
    const before = described(original);
    const after = described(got.bytes);
    assert.deepEqual(after.exports, before.exports);
    assert.deepEqual(after.imports, [...before.imports, { ...memoryImport, kind: "memory" }]);
    // The data segment lands in the memory given, which is the one exported.
    const memory = new wasm.Memory({ initial: 2, maximum: 10 });
    const imports = { [memoryImport.module]: { [memoryImport.name]: memory }, wasi_snapshot_preview1: { sched_yield: () => 0 } };
    const instance = new wasm.Instance(new wasm.Module(got.bytes), imports);
    assert.equal(instance.exports["memory"], memory);
    assert.deepEqual([...new Uint8Array(memory.buffer, 16, 3)], [1, 2, 3]);
  }
});

test("a memory without a maximum, or with a minimum past one LEB128 byte, keeps its limits", () => {
  const got = importMemory(command([0x00, ...u32(300)]));
  assert.deepEqual([got?.initialPages, got?.maximumPages], [300, undefined]);
  assert.ok(got !== undefined);
  const instance = new wasm.Instance(new wasm.Module(got.bytes), { [memoryImport.module]: { [memoryImport.name]: new wasm.Memory({ initial: 300 }) } });
  assert.equal((instance.exports["memory"] as WasmMemory).buffer.byteLength, 300 * 65536);
});

test("what is not one plain defined memory is left as it is: shared, 64-bit, two memories, an imported memory, garbage", () => {
  assert.equal(importMemory(command([0x03, 1, 1])), undefined, "shared");
  assert.equal(importMemory(command([0x04, 1])), undefined, "memory64");
  assert.equal(importMemory(command([0x00, 1], { memories: 2 })), undefined, "two memories");
  assert.equal(importMemory(command([0x00, 1], { importMemory: true })), undefined, "imports one already");
  assert.equal(importMemory(new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0xff])), undefined, "a section past the end");
});
