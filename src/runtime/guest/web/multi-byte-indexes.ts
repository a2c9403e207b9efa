/**
 * The indexes of the legacy multi-byte encodings (Encoding §5,
 * https://encoding.spec.whatwg.org/#indexes): gb18030 and its four-byte ranges, Big5,
 * JIS X 0208, JIS X 0212 and EUC-KR. They are 20–48 KB each, too big to ship in every
 * isolate's heap for the few functions that decode CJK legacy text, so the runtime holds
 * none of them until a decoder needing one is constructed: then it asks the host for that
 * one (`encodingIndex`, a sync call; host/encoding-indexes.ts), unpacks it into a typed
 * array and keeps it for the isolate's life. An isolate that never decodes these encodings
 * never makes the call.
 *
 * The bytes are little-endian whatever the platform (layout: scripts/gen-encoding-indexes.ts),
 * read one by one into the tables here: a one-time copy of at most 24k entries.
 */
import type { EncodingIndexName } from "../../contract.ts";
import { syncCalls } from "../host-ops.ts";
import { isUint8Array, typedArrayLength, Uint16ArrayCtor, Uint32ArrayCtor, Uint8ArrayCtor } from "./intrinsics.ts";

/** What a u16 table holds for a pointer the index has no code point for. */
export const NO_CODE_POINT = 0xffff;

/** index Big5: the low 16 bits of each code point, and a bit per pointer for the ones in plane 2 (U+20000 + those bits). */
export interface Big5Index {
  readonly low: Uint16Array;
  readonly plane2: Uint8Array;
}

/** index gb18030 ranges: ascending pointers and the code point each starts at. */
export interface Gb18030Ranges {
  readonly count: number;
  readonly pointers: Uint32Array;
  readonly codePoints: Uint32Array;
}

/** The tables this isolate has unpacked so far. */
const tables: { [name: string]: Uint16Array | Big5Index | Gb18030Ranges } = { __proto__: null } as unknown as {
  [name: string]: Uint16Array | Big5Index | Gb18030Ranges;
};

/** The host's bytes for `name`, with the pointer count they start with; a wrong answer is a runtime bug. */
function fetchTable(name: EncodingIndexName): [bytes: Uint8Array, count: number] {
  const bytes = syncCalls().encodingIndex(name);
  if (!isUint8Array(bytes) || typedArrayLength(bytes) < 4) throw new Error(`internal error in the Flick runtime: the host has no index ${name}`);
  const count = (bytes[0]! | (bytes[1]! << 8) | (bytes[2]! << 16) | (bytes[3]! << 24)) >>> 0;
  return [bytes, count];
}

function u16s(bytes: Uint8Array, at: number, count: number): Uint16Array {
  if (typedArrayLength(bytes) < at + count * 2) throw new Error("internal error in the Flick runtime: an index is cut short");
  const table = new Uint16ArrayCtor(count);
  for (let k = 0; k < count; k++) table[k] = bytes[at + 2 * k]! | (bytes[at + 2 * k + 1]! << 8);
  return table;
}

function u32s(bytes: Uint8Array, at: number, count: number): Uint32Array {
  if (typedArrayLength(bytes) < at + count * 4) throw new Error("internal error in the Flick runtime: an index is cut short");
  const table = new Uint32ArrayCtor(count);
  for (let k = 0; k < count; k++) {
    const b = at + 4 * k;
    table[k] = (bytes[b]! | (bytes[b + 1]! << 8) | (bytes[b + 2]! << 16) | (bytes[b + 3]! << 24)) >>> 0;
  }
  return table;
}

/** A pointer → code point table (index gb18030, jis0208, jis0212 or EUC-KR); NO_CODE_POINT where there is none. */
export function codePointTable(name: "gb18030" | "jis0208" | "jis0212" | "euc-kr"): Uint16Array {
  let table = tables[name] as Uint16Array | undefined;
  if (table === undefined) {
    const [bytes, count] = fetchTable(name);
    table = tables[name] = u16s(bytes, 4, count);
  }
  return table;
}

export function big5Index(): Big5Index {
  let index = tables["big5"] as Big5Index | undefined;
  if (index === undefined) {
    const [bytes, count] = fetchTable("big5");
    const low = u16s(bytes, 4, count);
    const flagsAt = 4 + count * 2;
    const flagCount = (count + 7) >> 3;
    if (typedArrayLength(bytes) < flagsAt + flagCount) throw new Error("internal error in the Flick runtime: an index is cut short");
    const plane2 = new Uint8ArrayCtor(flagCount);
    for (let k = 0; k < flagCount; k++) plane2[k] = bytes[flagsAt + k]!;
    index = tables["big5"] = { low, plane2 };
  }
  return index;
}

export function gb18030Ranges(): Gb18030Ranges {
  let ranges = tables["gb18030-ranges"] as Gb18030Ranges | undefined;
  if (ranges === undefined) {
    const [bytes, count] = fetchTable("gb18030-ranges");
    ranges = tables["gb18030-ranges"] = { count, pointers: u32s(bytes, 4, count), codePoints: u32s(bytes, 4 + count * 4, count) };
  }
  return ranges;
}
