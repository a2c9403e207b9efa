/**
 * The memory a WASI program or component run used, kept for the next run of the same
 * module and zeroed when taken: each run starts from memory as a new process would see it,
 * without V8 making (and reserving 8 GiB of address space for) a new memory per request.
 * The module imports its memory for this: src/wasi/import-memory.ts rewrote it at deploy.
 */
import { wasm, type WasmMemory } from "./wasm-api.ts";

/** Where the rewritten module imports its memory, and the limits it defined it with. */
export interface ImportedMemoryType {
  module: string;
  name: string;
  initialPages: number;
  maximumPages: number | null;
}

export class KeptMemory {
  readonly type: ImportedMemoryType;
  /** A memory grown past this is left to the collector rather than zeroed for the next run (zeroing costs about 1 ms per 16 MiB). */
  readonly #keepBytes: number;
  #kept: WasmMemory | undefined;

  constructor(type: ImportedMemoryType, keepBytes: number) {
    this.type = type;
    this.#keepBytes = keepBytes;
  }

  /** A memory for a run: the kept one, zeroed, or a new one. Runs are synchronous: one at a time. */
  take(): WasmMemory {
    const memory = this.#kept;
    this.#kept = undefined;
    if (memory !== undefined) {
      new Uint8Array(memory.buffer).fill(0);
      return memory;
    }
    const { initialPages, maximumPages } = this.type;
    return new wasm.Memory(maximumPages === null ? { initial: initialPages } : { initial: initialPages, maximum: maximumPages });
  }

  /** The run is over: its memory is kept for the next one, unless it grew too large. */
  give(memory: WasmMemory): void {
    if (memory.buffer.byteLength <= this.#keepBytes) this.#kept = memory;
  }

  /** The import object entry that provides `memory`. */
  imports(memory: WasmMemory): Record<string, Record<string, WasmMemory>> {
    return { [this.type.module]: { [this.type.name]: memory } };
  }
}
