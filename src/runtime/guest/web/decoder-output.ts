/**
 * Where the legacy multi-byte decoders put what they decode: code points gathered as UTF-16
 * code units in one scratch list, turned into a string up to 1024 units at a time with
 * String.fromCharCode (far faster than concatenating characters; it takes its arguments on
 * the stack, so the chunk is bounded). One list per isolate serves every decoder: decoding
 * is synchronous and never re-entered, and each decode starts with `outputStart`.
 *
 * Plain arrays of fixed length, only ever overwritten: applying String.fromCharCode to a
 * typed array reads its `length` through a getter on %TypedArray%.prototype, which user
 * code can redefine, and assigning past an array's end consults Array.prototype, where user
 * code can put setters. An array's own elements and own `length` are out of its reach. A
 * count of units is converted as a sum of powers of two, each through the ready-made array
 * of exactly that length. Made on the first decode (about 2,000 numbers), so isolates that
 * decode no legacy multi-byte text hold none of it.
 */
import { ObjectDefineProperty, ReflectApply, StringFromCharCode } from "./intrinsics.ts";

const CHUNK_BITS = 10;
const CHUNK = 1 << CHUNK_BITS;

/**
 * Sets `array[index]` as an own property: no setter of Array.prototype runs, and the
 * descriptor has no prototype, so a `get` user code put on Object.prototype is not its.
 */
function define(array: unknown[], index: number, value: unknown): void {
  ObjectDefineProperty(array, index, { __proto__: null, value, writable: true, enumerable: true, configurable: true } as PropertyDescriptor);
}

function zeros(length: number): number[] {
  const array: number[] = [];
  for (let k = 0; k < length; k++) define(array, k, 0);
  return array;
}

let units: number[] = [];
/** `exactly[k]` has 2^k elements. */
const exactly: number[][] = [];
let ready = false;

let length = 0;
let text = "";

function spill(): void {
  if (length === CHUNK) {
    text += ReflectApply(StringFromCharCode, null, units) as string;
  } else {
    let from = 0;
    for (let k = CHUNK_BITS - 1; k >= 0; k--) {
      const size = 1 << k;
      if ((length & size) === 0) continue;
      const part = exactly[k]!;
      for (let j = 0; j < size; j++) part[j] = units[from + j]!;
      text += ReflectApply(StringFromCharCode, null, part) as string;
      from += size;
    }
  }
  length = 0;
}

/** Starts an empty output. */
export function outputStart(): void {
  if (!ready) {
    units = zeros(CHUNK);
    for (let k = 0; k < CHUNK_BITS; k++) define(exactly, k, zeros(1 << k));
    ready = true;
  }
  length = 0;
  text = "";
}

/** Appends a code point (U+0000–U+10FFFF), as a surrogate pair above U+FFFF. */
export function outputCodePoint(codePoint: number): void {
  // Room for a pair, so `units` never grows past CHUNK.
  if (length > CHUNK - 2) spill();
  if (codePoint < 0x10000) {
    units[length++] = codePoint;
  } else {
    const v = codePoint - 0x10000;
    units[length++] = 0xd800 | (v >> 10);
    units[length++] = 0xdc00 | (v & 0x3ff);
  }
}

/** The output so far as a string; the list is left empty. */
export function outputEnd(): string {
  if (length !== 0) spill();
  const result = text;
  text = "";
  return result;
}
