import assert from "node:assert/strict";
import { test } from "node:test";
import { leb, memoryType, wasmModule } from "../../../test/support/wasm-module.ts";
import { limitModuleMemories, wasmPageBytes, type LimitedModule } from "./wasm-memory-limits.ts";

// Node's own WebAssembly (the project's lib settings declare no WebAssembly values).
const wasm = (globalThis as unknown as {
  WebAssembly: {
    Module: new (bytes: Uint8Array) => object;
    Instance: new (module: object, imports?: object) => { exports: unknown };
    Memory: new (descriptor: { initial: number }) => object;
    CompileError: ErrorConstructor;
  };
}).WebAssembly;
const instantiate = (bytes: Uint8Array) => new wasm.Instance(new wasm.Module(bytes)).exports;

/** Instantiates with Node's own WebAssembly and grows memory 0 as far as it goes. */
function growLimit(bytes: Uint8Array): number {
  const exports = instantiate(bytes) as { grow(pages: number): number; size(): number };
  for (let step = 1 << 16; step >= 1; step >>= 1) while (exports.grow(step) !== -1);
  return exports.size();
}

test("a memory's maximum is capped at the pages the instance may hold", () => {
  const limited = limitModuleMemories(wasmModule({ memories: [{ minimum: 1, maximum: 65536 }] }), 100);
  assert.equal(limited.refused, undefined);
  assert.equal(limited.memoryBytes, 100 * wasmPageBytes);
  assert.equal(growLimit(limited.bytes), 100);
});

test("a memory without a maximum gets one", () => {
  const limited = limitModuleMemories(wasmModule({ memories: [{ minimum: 2 }] }), 50);
  assert.equal(limited.memoryBytes, 50 * wasmPageBytes);
  assert.equal(growLimit(limited.bytes), 50);
});

test("a smaller declared maximum is kept, and a minimum above the cap becomes the maximum", () => {
  const smaller = limitModuleMemories(wasmModule({ memories: [{ minimum: 1, maximum: 10 }] }), 100);
  assert.equal(smaller.memoryBytes, 10 * wasmPageBytes);
  assert.equal(growLimit(smaller.bytes), 10);
  const over = limitModuleMemories(wasmModule({ memories: [{ minimum: 300 }] }), 100);
  assert.equal(over.memoryBytes, 300 * wasmPageBytes, "instantiating it then asks the pool for 300 pages");
  assert.equal(growLimit(over.bytes), 300);
});

test("memory64 limits are read and written as 64-bit", () => {
  const limited = limitModuleMemories(wasmModule({ memories: [{ minimum: 1, maximum: 200000, memory64: true }] }), 40);
  assert.equal(limited.memoryBytes, 40 * wasmPageBytes);
  const exports = instantiate(limited.bytes) as { grow(pages: bigint): bigint };
  assert.equal(exports.grow(39n), 1n);
  assert.equal(exports.grow(1n), -1n);
});

test("the rest of the binary is kept byte for byte", () => {
  const original = wasmModule({ memories: [{ minimum: 1, maximum: 5 }], customSection: true });
  const limited = limitModuleMemories(original, 100);
  assert.deepEqual([...limited.bytes], [...original], "nothing to change: the maximum was already under the cap");
  const capped = limitModuleMemories(wasmModule({ memories: [{ minimum: 1, maximum: 500 }], customSection: true }), 100);
  const expected = wasmModule({ memories: [{ minimum: 1, maximum: 100 }], customSection: true });
  assert.deepEqual([...capped.bytes], [...expected]);
});

test("every memory of a multi-memory module is capped and counted", () => {
  // Section 5 by hand: two memories, neither with a maximum.
  const base = wasmModule({ memories: [] });
  const section = [5, ...leb(1 + 2 * 2), 2, ...memoryType({ minimum: 1 }), ...memoryType({ minimum: 2 })];
  const bytes = new Uint8Array([...base.slice(0, 8), ...section]);
  const limited = limitModuleMemories(bytes, 30);
  assert.equal(limited.memoryBytes, 60 * wasmPageBytes);
  assert.deepEqual([...limited.bytes.slice(8)], [5, ...leb(1 + 2 * 3), 2, 1, 1, 30, 1, 2, 30]);
});

test("shared memories and unknown limit flags are refused", () => {
  assert.match(limitModuleMemories(wasmModule({ memories: [{ minimum: 1, maximum: 2, shared: true }] }), 100).refused!, /shared memory/);
  const customPageSize = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 4, 1, 0x08, 1, 16]);
  assert.match(limitModuleMemories(customPageSize, 100).refused!, /limit flags 8/);
});

test("a module without memories, or one it cannot read, is returned as it is", () => {
  const none = wasmModule({ memories: [] });
  assert.equal(limitModuleMemories(none, 100).bytes, none);
  // A memory section that says it holds 10 bytes, and ends after 2.
  const truncated = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 10, 1, 0]);
  const result = limitModuleMemories(truncated, 100);
  assert.equal(result.bytes, truncated);
  assert.equal(result.refused, undefined);
  assert.throws(() => new wasm.Module(result.bytes), wasm.CompileError);
});

/** The memories as plain arrays (the module hands out arrays without a prototype). */
function described(limited: LimitedModule) {
  return Array.from(limited.memories, (m) => ({ ...m, exportNames: Array.from(m.exportNames) }));
}

test("each defined memory is described: minimum, capped maximum, address type, export names", () => {
  const limited = limitModuleMemories(wasmModule({ memories: [{ minimum: 2 }], exportMemory: "mem", memoryExports: [["again", 0]] }), 50);
  assert.equal(limited.exportsKnown, true);
  assert.deepEqual(described(limited), [{ minimumPages: 2, maximumPages: 50, is64: false, exportNames: ["mem", "again"] }]);
  const hidden = limitModuleMemories(wasmModule({ memories: [{ minimum: 1, maximum: 300, memory64: true }] }), 50);
  assert.deepEqual(described(hidden), [{ minimumPages: 1, maximumPages: 50, is64: true, exportNames: [] }]);
});

test("imported memories come first in the index space: an export of one is not a defined memory's", () => {
  const shape = { memories: [{ minimum: 1 }], imports: { global: true, memory: { minimum: 1 } } };
  // Memory 0 is the import, memory 1 the one the module defines.
  const importedOnly = limitModuleMemories(wasmModule({ ...shape, exportMemory: "imported" }), 50);
  assert.deepEqual(described(importedOnly)[0]!.exportNames, []);
  const defined = limitModuleMemories(wasmModule({ ...shape, memoryExports: [["defined", 1]] }), 50);
  assert.deepEqual(described(defined)[0]!.exportNames, ["defined"]);
  // And the module is one V8 takes (multi-memory, an imported memory and global).
  const memory = new wasm.Memory({ initial: 1 });
  const exports = new wasm.Instance(new wasm.Module(defined.bytes), { env: { memory, global: 1 } }).exports as Record<string, unknown>;
  assert.notEqual(exports["defined"], memory);
  assert.ok(exports["defined"] instanceof (wasm.Memory as unknown as typeof Object));
});

test("an import this reader does not know leaves the exports unknown and the memories still capped", () => {
  const bytes = wasmModule({ memories: [{ minimum: 1 }], exportMemory: true, imports: { global: true } });
  // Turn the global import's kind (3, after its names) into one no reader knows (0x7f).
  const names = [3, ...new TextEncoder().encode("env"), 6, ...new TextEncoder().encode("global")];
  const at = bytes.findIndex((_, i) => names.every((b, j) => bytes[i + j] === b)) + names.length;
  assert.equal(bytes[at], 3);
  const patched = bytes.slice();
  patched[at] = 0x7f;
  const limited = limitModuleMemories(patched, 50);
  assert.equal(limited.exportsKnown, false);
  assert.equal(limited.memoryBytes, 50 * wasmPageBytes);
  assert.deepEqual(described(limited)[0]!.exportNames, []);
});
