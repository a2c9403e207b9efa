/**
 * Caps the memories a Wasm module defines, in its binary, before it is compiled. V8
 * makes Wasm memories outside the allocator isolated-vm limits (measured: a memory grown
 * to 187 MiB in a 32 MiB isolate, no external memory counted), and a module grows its
 * memory with the `memory.grow` instruction, which no JavaScript guard sees. So each
 * memory of the memory section (id 5) gets a maximum of at most `maxPages`: past it
 * `memory.grow` answers -1, the Wasm way of running out of memory. No single memory can
 * then hold more than the instance's limit, whatever Wasm code does between two checks.
 *
 * It also reads which of those memories the module exports (import section id 2 for the
 * number of imported memories, which come first in the index space; export section id 7):
 * the guards count an exported memory at its size, read through its
 * `WebAssembly.Memory`, and one that is not exported — whose size JavaScript cannot read —
 * at its capped maximum (wasm-memory-guards.ts).
 *
 * Memory types (Wasm 3.0 §5.3.8): a flags byte (bit 0: has a maximum; bit 1: shared;
 * bit 2: 64-bit addresses, limits then u64) and LEB128 limits. Shared memories are
 * refused (no shared memory in Flick); other flags (custom page sizes) are refused as
 * unknown. Imported memories are not touched: a JavaScript-made memory is counted on its own.
 */
import {
  MathFloor,
  MathMax,
  MathMin,
  ObjectSetPrototypeOf,
  Uint8ArrayCtor,
  Uint8ArrayPrototypeSet,
  Uint8ArrayPrototypeSubarray,
  typedArrayLength,
} from "./web/intrinsics.ts";
import { utf8DecodeWithoutBOM } from "./web/utf8.ts";

export const wasmPageBytes = 65536;
/** V8's ceilings: 65536 pages (4 GiB) for a 32-bit memory, 262144 (16 GiB) for memory64. */
export const maxPages32 = 65536;
export const maxPages64 = 262144;

const importSectionId = 2;
const memorySectionId = 5;
const exportSectionId = 7;
const memoryKind = 0x02;
const flagHasMaximum = 0x01;
const flagShared = 0x02;
const flag64 = 0x04;

/** A memory the module defines, as capped. */
export interface DefinedMemory {
  /** Pages it has when instantiated. */
  readonly minimumPages: number;
  /** The capped maximum: the most `grow` can reach. */
  readonly maximumPages: number;
  readonly is64: boolean;
  /** The names it is exported under; empty when it is not. */
  readonly exportNames: string[];
}

export interface LimitedModule {
  /** The binary with its memories capped (the input itself when there was nothing to change). */
  readonly bytes: Uint8Array;
  /** What instantiating it may come to hold in memories it defines: the maxima × 64 KiB. */
  readonly memoryBytes: number;
  /** The memories it defines, in order (this array and `exportNames` have no prototype). */
  readonly memories: readonly DefinedMemory[];
  /**
   * False when the import or export section uses something this reader does not know:
   * which memories are exported is then unknown, and `exportNames` are all empty.
   */
  readonly exportsKnown: boolean;
  /** Why the module cannot run here, or undefined. */
  readonly refused: string | undefined;
}

class Reader {
  readonly bytes: Uint8Array;
  readonly end: number;
  position: number;
  constructor(bytes: Uint8Array, end: number, start: number) {
    this.bytes = bytes;
    this.end = end;
    this.position = start;
  }
  byte(): number {
    if (this.position >= this.end) throw new RangeError("unexpected end");
    return this.bytes[this.position++]!;
  }
  /** An unsigned LEB128 of at most `bits` bits, as a number (exact up to 2^53). */
  unsigned(bits: 32 | 64): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < (bits === 32 ? 5 : 10); i++) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return value;
      scale *= 128;
    }
    throw new RangeError("LEB128 too long");
  }
  /** A signed LEB128 of at most 33 bits (a heap type), skipped. */
  skipSigned33(): void {
    for (let i = 0; i < 5; i++) if ((this.byte() & 0x80) === 0) return;
    throw new RangeError("LEB128 too long");
  }
  skip(length: number): void {
    if (length > this.end - this.position) throw new RangeError("unexpected end");
    this.position += length;
  }
  name(): string {
    const length = this.unsigned(32);
    const start = this.position;
    this.skip(length);
    return utf8DecodeWithoutBOM(this.bytes, start, start + length);
  }
}

/** A value or reference type: one byte, or 0x63/0x64 (ref null / ref) and a heap type. */
function skipValueType(reader: Reader): void {
  const code = reader.byte();
  if (code === 0x63 || code === 0x64) reader.skipSigned33();
}

/** Table or memory limits: flags, then the minimum and maximum (u64 with bit 2), then a page size (bit 3). */
function skipLimits(reader: Reader): void {
  const flags = reader.byte();
  if ((flags & ~0x0f) !== 0) throw new RangeError("unknown limit flags");
  const bits = (flags & flag64) !== 0 ? 64 : 32;
  reader.unsigned(bits);
  if ((flags & flagHasMaximum) !== 0) reader.unsigned(bits);
  if ((flags & 0x08) !== 0) reader.unsigned(32);
}

/** How many memories the import section imports; throws on an import kind it does not know. */
function countImportedMemories(reader: Reader): number {
  let memories = 0;
  const count = reader.unsigned(32);
  for (let i = 0; i < count; i++) {
    reader.skip(reader.unsigned(32));
    reader.skip(reader.unsigned(32));
    const kind = reader.byte();
    if (kind === 0x00) reader.unsigned(32);
    else if (kind === 0x01) {
      skipValueType(reader);
      skipLimits(reader);
    } else if (kind === memoryKind) {
      skipLimits(reader);
      memories++;
    } else if (kind === 0x03) {
      skipValueType(reader);
      reader.byte();
    } else if (kind === 0x04) {
      reader.byte();
      reader.unsigned(32);
    } else throw new RangeError(`unknown import kind ${kind}`);
  }
  return memories;
}

/** The memory exports of the export section: name, memory index, name, memory index… */
function memoryExports(reader: Reader): (string | number)[] {
  const out = list<string | number>();
  const count = reader.unsigned(32);
  for (let i = 0; i < count; i++) {
    const name = reader.name();
    const kind = reader.byte();
    const index = reader.unsigned(32);
    if (kind === memoryKind) {
      out[out.length] = name;
      out[out.length] = index;
    }
  }
  return out;
}

/**
 * An array without a prototype: this runs while user modules load, and writing an index
 * of an ordinary array would reach a setter user code put on Array.prototype.
 */
function list<T>(): T[] {
  return ObjectSetPrototypeOf([], null) as T[];
}

function leb(value: number): number[] {
  const out = list<number>();
  do {
    let byte = value % 128;
    value = MathFloor(value / 128);
    if (value !== 0) byte |= 0x80;
    out[out.length] = byte;
  } while (value !== 0);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (let i = 0; i < parts.length; i++) length += typedArrayLength(parts[i]!);
  const out = new Uint8ArrayCtor(length);
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    Uint8ArrayPrototypeSet(out, parts[i]!, offset);
    offset += typedArrayLength(parts[i]!);
  }
  return out;
}

interface Totals {
  bytes: number;
  refused: string | undefined;
  memories: DefinedMemory[];
}

/** The memory section's contents with each maximum capped; each memory added to `total`. */
function limitMemorySection(reader: Reader, maxPages: number, total: Totals): Uint8Array {
  const out = list<number>();
  const push = (bytes: readonly number[]) => {
    for (let i = 0; i < bytes.length; i++) out[out.length] = bytes[i]!;
  };
  const count = reader.unsigned(32);
  push(leb(count));
  for (let i = 0; i < count; i++) {
    const flags = reader.byte();
    if ((flags & flagShared) !== 0) total.refused = "a WebAssembly module that defines a shared memory cannot run in Flick functions (no shared memory)";
    else if ((flags & ~(flagHasMaximum | flag64)) !== 0) total.refused = `a WebAssembly module whose memory has limit flags ${flags} is not supported`;
    if (total.refused !== undefined) return new Uint8ArrayCtor(0);
    const is64 = (flags & flag64) !== 0;
    const minStart = reader.position;
    const minimum = reader.unsigned(is64 ? 64 : 32);
    const minBytes = Uint8ArrayPrototypeSubarray(reader.bytes, minStart, reader.position);
    const declared = (flags & flagHasMaximum) !== 0 ? reader.unsigned(is64 ? 64 : 32) : Infinity;
    // At least the minimum, or the module would not validate; a minimum past what the
    // instance may hold is refused when the module is instantiated.
    const maximum = MathMax(minimum, MathMin(declared, is64 ? maxPages64 : maxPages32, maxPages));
    push([flags | flagHasMaximum]);
    for (let j = 0; j < typedArrayLength(minBytes); j++) out[out.length] = minBytes[j]!;
    push(leb(maximum));
    total.bytes += maximum * wasmPageBytes;
    total.memories[total.memories.length] = { minimumPages: minimum, maximumPages: maximum, is64, exportNames: list<string>() };
  }
  const section = new Uint8ArrayCtor(out.length);
  for (let i = 0; i < out.length; i++) section[i] = out[i]!;
  return section;
}

/**
 * Caps every memory `bytes` defines at `maxPages` (64 KiB pages), and says which are
 * exported. A binary this cannot read is returned as it is, for the compiler to refuse
 * with its own error.
 */
export function limitModuleMemories(bytes: Uint8Array, maxPages: number): LimitedModule {
  const end = typedArrayLength(bytes);
  const total: Totals = { bytes: 0, refused: undefined, memories: list<DefinedMemory>() };
  const unchanged = (refused: string | undefined): LimitedModule => ({ bytes, memoryBytes: 0, memories: list<DefinedMemory>(), exportsKnown: true, refused });
  const parts = list<Uint8Array>();
  let copiedUpTo = 0;
  let importedMemories = 0;
  let exported = list<string | number>();
  let exportsKnown = true;
  try {
    if (end < 8 || bytes[0] !== 0x00 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return unchanged(undefined);
    const reader = new Reader(bytes, end, 8);
    while (reader.position < end) {
      const sectionStart = reader.position;
      const id = reader.byte();
      const size = reader.unsigned(32);
      const contentStart = reader.position;
      const contentEnd = contentStart + size;
      if (contentEnd > end) break;
      if (id === memorySectionId) {
        const contents = limitMemorySection(new Reader(bytes, contentEnd, contentStart), maxPages, total);
        if (total.refused !== undefined) return unchanged(total.refused);
        parts[parts.length] = Uint8ArrayPrototypeSubarray(bytes, copiedUpTo, sectionStart);
        const header = leb(typedArrayLength(contents));
        const head = new Uint8ArrayCtor(1 + header.length);
        head[0] = memorySectionId;
        for (let i = 0; i < header.length; i++) head[1 + i] = header[i]!;
        parts[parts.length] = head;
        parts[parts.length] = contents;
        copiedUpTo = contentEnd;
      } else if (id === importSectionId || id === exportSectionId) {
        // Read apart from the rest: what this reader does not know here (a newer import
        // kind) only makes the exports unknown, never leaves the memories uncapped.
        try {
          const section = new Reader(bytes, contentEnd, contentStart);
          if (id === importSectionId) importedMemories = countImportedMemories(section);
          else exported = memoryExports(section);
        } catch {
          exportsKnown = false;
        }
      }
      reader.position = contentEnd;
    }
  } catch {
    // Malformed: the compiler refuses it.
    return unchanged(undefined);
  }
  if (parts.length === 0) return unchanged(undefined);
  parts[parts.length] = Uint8ArrayPrototypeSubarray(bytes, copiedUpTo, end);
  const memories = total.memories;
  if (exportsKnown) {
    for (let i = 0; i + 1 < exported.length; i += 2) {
      const memory = memories[(exported[i + 1] as number) - importedMemories];
      if (memory !== undefined) memory.exportNames[memory.exportNames.length] = exported[i] as string;
    }
  }
  return { bytes: concat(parts), memoryBytes: total.bytes, memories, exportsKnown, refused: undefined };
}
