/**
 * The Encoding Standard's CJK indexes for the guest's legacy multi-byte TextDecoders
 * (`encodingIndex`, a sync host call): read from encoding-indexes.bin, beside this file
 * (scripts/gen-encoding-indexes.ts writes it and documents its layout), on the first call
 * of the process, never before — a host whose functions decode no GBK, Big5, EUC-JP,
 * ISO-2022-JP, Shift_JIS or EUC-KR never reads it.
 *
 * One per process is safe to share: the data is the runtime's own, immutable, the same for
 * every tenant, and each isolate gets a copy (isolated-vm copies a callback's result).
 */
import { readFileSync } from "node:fs";
import { encodingIndexNames } from "../runtime/contract.ts";

export interface EncodingIndexes {
  /** The table `name` as the guest expects it, or null for a name that is not an index. */
  table(name: string): Uint8Array | null;
  /** How many times the file was read (tests: once per process at most). */
  readonly reads: number;
}

const defaultFile = new URL("./encoding-indexes.bin", import.meta.url);

/** A reader of the index file at `file`, which reads it on the first `table` call. */
export function createEncodingIndexes(file: URL | string = defaultFile): EncodingIndexes {
  let tables: Map<string, Uint8Array> | undefined;
  let reads = 0;
  return {
    table(name) {
      if (typeof name !== "string" || !(encodingIndexNames as readonly string[]).includes(name)) return null;
      if (tables === undefined) {
        reads++;
        tables = parse(readFileSync(file));
      }
      return tables.get(name) ?? null;
    },
    get reads() {
      return reads;
    },
  };
}

/** The directory, then each table sliced into a buffer of its own (the guest receives exactly those bytes). */
function parse(file: Buffer): Map<string, Uint8Array> {
  if (file.length < 16 || file.toString("ascii", 0, 8) !== "FLKENCIX" || file.readUInt32LE(8) !== 1) {
    throw new Error("encoding-indexes.bin: not an index file of format 1 (regenerate it with scripts/gen-encoding-indexes.ts)");
  }
  const count = file.readUInt32LE(12);
  const tables = new Map<string, Uint8Array>();
  for (let i = 0; i < count; i++) {
    const entry = 16 + i * 24;
    const name = file.toString("ascii", entry, entry + 16).replace(/\0+$/, "");
    const offset = file.readUInt32LE(entry + 16);
    const length = file.readUInt32LE(entry + 20);
    if (offset + length > file.length) throw new Error(`encoding-indexes.bin: table ${name} runs past the end of the file`);
    tables.set(name, new Uint8Array(file.buffer.slice(file.byteOffset + offset, file.byteOffset + offset + length)));
  }
  for (const name of encodingIndexNames) if (!tables.has(name)) throw new Error(`encoding-indexes.bin: no table ${name}`);
  return tables;
}

/** The process's reader, which all its instances share. */
export const encodingIndexes: EncodingIndexes = createEncodingIndexes();
