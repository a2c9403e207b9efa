/**
 * Hand-assembled Wasm modules for tests of memory limits: one memory (or none), with
 * exported `grow(pages) -> old size or -1` and `size() -> pages` functions on memory 0
 * (the imported one, when there is one).
 */

/** Unsigned LEB128. */
export function leb(value: number | bigint): number[] {
  let n = BigInt(value);
  const out: number[] = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) byte |= 0x80;
    out.push(byte);
  } while (n !== 0n);
  return out;
}

const name = (s: string) => [...leb(s.length), ...new TextEncoder().encode(s)];
const section = (id: number, body: number[]) => [id, ...leb(body.length), ...body];
const vector = (items: number[][]) => [...leb(items.length), ...items.flat()];

export interface MemoryType {
  minimum: number;
  /** Absent: no maximum. */
  maximum?: number;
  shared?: boolean;
  memory64?: boolean;
}

/** The bytes of a memory type (limits) as the memory and import sections hold it. */
export function memoryType(memory: MemoryType): number[] {
  const flags = (memory.maximum === undefined ? 0 : 1) | (memory.shared === true ? 2 : 0) | (memory.memory64 === true ? 4 : 0);
  return [flags, ...leb(memory.minimum), ...(memory.maximum === undefined ? [] : leb(memory.maximum))];
}

export interface ModuleShape {
  /** Memories the module defines (the first is the one `grow` and `size` use, unless one is imported). */
  memories: MemoryType[];
  /** Export memory 0 as `memory`, or under the name given. */
  exportMemory?: boolean | string;
  /** More memory exports: name and memory index. */
  memoryExports?: [name: string, index: number][];
  /** Import `env.memory` (memory 0; the defined ones follow it) and, with `global`, an i32 `env.global`. */
  imports?: { memory?: MemoryType; global?: boolean };
  /** A custom section before the memory section, to check sections around it are kept. */
  customSection?: boolean;
}

export function wasmModule(shape: ModuleShape): Uint8Array {
  const is64 = (shape.imports?.memory ?? shape.memories[0])?.memory64 === true;
  const address = is64 ? 0x7e : 0x7f;
  const bytes: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  bytes.push(...section(1, vector([[0x60, 1, address, 1, address], [0x60, 0, 1, address]])));
  const imports: number[][] = [];
  if (shape.imports?.global === true) imports.push([...name("env"), ...name("global"), 3, 0x7f, 0]);
  if (shape.imports?.memory !== undefined) imports.push([...name("env"), ...name("memory"), 2, ...memoryType(shape.imports.memory)]);
  if (imports.length > 0) bytes.push(...section(2, vector(imports)));
  bytes.push(...section(3, vector([[0], [1]])));
  if (shape.customSection === true) bytes.push(...section(0, [...name("note"), 1, 2, 3]));
  if (shape.memories.length > 0) bytes.push(...section(5, vector(shape.memories.map(memoryType))));
  const exports = [[...name("grow"), 0, 0], [...name("size"), 0, 1]];
  if (shape.exportMemory !== undefined && shape.exportMemory !== false) {
    exports.push([...name(shape.exportMemory === true ? "memory" : shape.exportMemory), 2, 0]);
  }
  for (const [exportName, index] of shape.memoryExports ?? []) exports.push([...name(exportName), 2, ...leb(index)]);
  bytes.push(...section(7, vector(exports)));
  const grow = [0, 0x20, 0, 0x40, 0, 0x0b];
  const size = [0, 0x3f, 0, 0x0b];
  bytes.push(...section(10, vector([[...leb(grow.length), ...grow], [...leb(size.length), ...size]])));
  return new Uint8Array(bytes);
}
