/**
 * Rewrites a WASI program so that its memory is imported, not defined: the runner then
 * hands each run a memory it keeps, zeroed, instead of V8 making a new one per request.
 *
 * Why: CGI runs the program in a fresh instance per request. A memory V8 makes reserves
 * 8 GiB of address space (guard regions) and goes only when the collector finds it; an
 * instance may hold 64 GiB (runtime/guest/memory-reservations.ts), so a burst of requests
 * whose memories were not yet collected ran out of room and was stopped as over its memory
 * limit. One kept memory per function instance (runs are synchronous: they never overlap)
 * costs a zero-fill of the pages the last run used, and no mmap per request.
 *
 * The module is the same program: a memory import with the defined memory's own limits
 * takes index 0, as the defined one had (imported memories come first in the index space),
 * so every instruction, export and data segment still names it. Only a module that defines
 * exactly one 32-bit, unshared memory and imports none is rewritten; anything else is left
 * as it is and gets a fresh memory per run.
 *
 * Binary format (WebAssembly core spec §5.5): sections are an id byte, a u32 LEB128 size
 * and content; the import section (2) is a vector of (module name, field name, kind,
 * type), where a memory's type (kind 0x02) is its limits, the same bytes as a memory
 * section (5) entry: a flags byte (bit 0: a maximum follows), LEB128 minimum [and maximum].
 */

import type { ImportedMemoryType } from "./guest/kept-memory.ts";
import { wasm } from "./guest/wasm-api.ts";

/** Where the runner provides the memory: a module name no toolchain uses. */
export const memoryImport = { module: "flick:wasi", name: "memory" } as const;

export interface ImportedMemory {
  /** The binary with its memory imported as `memoryImport`. */
  readonly bytes: Uint8Array;
  /** The memory's limits in 64 KiB pages, as the module defined them. */
  readonly initialPages: number;
  readonly maximumPages: number | undefined;
}

interface Section {
  readonly id: number;
  /** The whole section: id, size and content. */
  readonly start: number;
  readonly end: number;
  /** Where the content begins. */
  readonly contentStart: number;
}

function readU32(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  for (let i = at; i < bytes.length && i < at + 5; i++) {
    const b = bytes[i]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, i + 1];
    shift += 7;
  }
  throw new RangeError("malformed LEB128");
}

function u32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value % 128;
    value = Math.floor(value / 128);
    if (value > 0) b |= 0x80;
    out.push(b);
  } while (value > 0);
  return out;
}

function name(text: string): number[] {
  const utf8 = [...new TextEncoder().encode(text)];
  return [...u32(utf8.length), ...utf8];
}

function sections(bytes: Uint8Array): Section[] {
  const out: Section[] = [];
  for (let at = 8; at < bytes.length; ) {
    const id = bytes[at]!;
    const [size, contentStart] = readU32(bytes, at + 1);
    const end = contentStart + size;
    if (end > bytes.length) throw new RangeError("section past the end");
    out.push({ id, start: at, end, contentStart });
    at = end;
  }
  return out;
}

/** The binary with its one defined memory imported instead, or undefined to leave it as it is. */
export function importMemory(bytes: Uint8Array): ImportedMemory | undefined {
  let list: Section[];
  try {
    list = sections(bytes);
  } catch {
    return undefined; // the compiler has already accepted it; a reader that cannot follow leaves it alone
  }
  const memorySection = list.filter((s) => s.id === 5);
  const importSection = list.filter((s) => s.id === 2);
  if (memorySection.length !== 1 || importSection.length > 1) return undefined;
  const memory = memorySection[0]!;
  const [count, limitsStart] = readU32(bytes, memory.contentStart);
  if (count !== 1) return undefined;
  const flags = bytes[limitsStart]!;
  if (flags !== 0 && flags !== 1) return undefined; // shared, 64-bit or custom page sizes
  const [initialPages, afterMin] = readU32(bytes, limitsStart + 1);
  const [maximumPages, limitsEnd] = flags === 1 ? readU32(bytes, afterMin) : [undefined, afterMin];
  if (limitsEnd !== memory.end) return undefined;

  const entry = [...name(memoryImport.module), ...name(memoryImport.name), 0x02, ...bytes.subarray(limitsStart, limitsEnd)];
  let imports: number[];
  const existing = importSection[0];
  if (existing === undefined) {
    imports = [...u32(1), ...entry];
  } else {
    const [n, entriesStart] = readU32(bytes, existing.contentStart);
    // Imported memories come first in the index space: a module importing one already is left alone.
    if (importsMemory(bytes, entriesStart, n)) return undefined;
    imports = [...u32(n + 1), ...bytes.subarray(entriesStart, existing.end), ...entry];
  }
  const newImportSection = new Uint8Array([2, ...u32(imports.length), ...imports]);

  // The import section goes where it was, or else before the first section that must follow it.
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let placed = false;
  for (const s of list) {
    if (s === memory) continue;
    if (s === existing) {
      parts.push(newImportSection);
      placed = true;
      continue;
    }
    if (!placed && existing === undefined && s.id !== 0 && s.id !== 1) {
      parts.push(newImportSection);
      placed = true;
    }
    parts.push(bytes.subarray(s.start, s.end));
  }
  if (!placed) parts.push(newImportSection);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return { bytes: out, initialPages, maximumPages };
}

/** Whether the import vector from `at` (`n` entries) has a memory. */
function importsMemory(bytes: Uint8Array, at: number, n: number): boolean {
  for (let i = 0; i < n; i++) {
    for (let field = 0; field < 2; field++) {
      const [length, next] = readU32(bytes, at);
      at = next + length;
    }
    const kind = bytes[at++]!;
    if (kind === 0x02) return true;
    if (kind === 0x00) at = readU32(bytes, at)[1]; // function: a type index
    else if (kind === 0x01) at = skipLimits(bytes, at + 1); // table: reftype, limits
    else if (kind === 0x03 && [0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f].includes(bytes[at]!)) at += 2; // global: a one-byte valtype, mutability
    else if (kind === 0x04) at = readU32(bytes, at + 1)[1]; // tag: attribute, type index
    else return true; // unknown: do not touch
  }
  return false;
}

function skipLimits(bytes: Uint8Array, at: number): number {
  const flags = bytes[at]!;
  let next = readU32(bytes, at + 1)[1];
  if ((flags & 1) !== 0) next = readU32(bytes, next)[1];
  return next;
}

/**
 * `importMemory`, checked by compiling the result: it imports exactly the one memory and
 * exports what the original did. Undefined (ship the original) otherwise. With the type the
 * runner needs to make the memory (guest/kept-memory.ts).
 */
export function importMemoryChecked(bytes: Uint8Array): { bytes: Uint8Array; type: ImportedMemoryType } | undefined {
  const imported = importMemory(bytes);
  if (imported === undefined) return undefined;
  try {
    const module = new wasm.Module(imported.bytes);
    const memories = wasm.Module.imports(module).filter((i) => i.kind === "memory");
    const same = JSON.stringify(wasm.Module.exports(module)) === JSON.stringify(wasm.Module.exports(new wasm.Module(bytes)));
    if (!same || memories.length !== 1 || memories[0]!.module !== memoryImport.module || memories[0]!.name !== memoryImport.name) return undefined;
  } catch {
    return undefined;
  }
  return { bytes: imported.bytes, type: { ...memoryImport, initialPages: imported.initialPages, maximumPages: imported.maximumPages ?? null } };
}
