/**
 * Percent-encoding and -decoding (URL §1.3, https://url.spec.whatwg.org/#percent-encoded-bytes).
 *
 * The encode sets nest (each is its predecessor plus a few code points), so one table of
 * bit flags per ASCII code point answers "is c in set S" for every set; every set contains
 * all non-ASCII code points. Encoding is always UTF-8: the legacy `encoding` argument only
 * matters to HTML documents with a non-UTF-8 charset, which a worker never has.
 */
import {
  StringFromCharCode,
  StringPrototypeCharCodeAt,
  StringPrototypeIndexOf,
  StringPrototypeSlice,
  Uint8ArrayCtor,
} from "./intrinsics.ts";
import { utf8DecodeWithoutBOM, utf8Encode } from "./utf8.ts";

export const C0_CONTROL_SET = 1;
export const FRAGMENT_SET = 2;
export const QUERY_SET = 4;
export const SPECIAL_QUERY_SET = 8;
export const PATH_SET = 16;
export const USERINFO_SET = 32;
export const COMPONENT_SET = 64;
export const FORM_URLENCODED_SET = 128;

const SET_TABLE = new Uint8ArrayCtor(128);
{
  const add = (codes: string, flag: number): void => {
    for (let i = 0; i < codes.length; i++) SET_TABLE[StringPrototypeCharCodeAt(codes, i)]! |= flag;
  };
  // C0 controls and U+007F are in every set (U+007F is "greater than U+007E").
  for (let c = 0; c < 0x20; c++) SET_TABLE[c] = 0xff;
  SET_TABLE[0x7f] = 0xff;
  // The printable ASCII each set adds, spelled out as in the spec's definitions.
  const query = ' "#<>';
  const path = query + "?^`{}";
  const userinfo = path + "/:;=@[\\]|";
  const component = userinfo + "$%&+,";
  add(' "<>`', FRAGMENT_SET);
  add(query, QUERY_SET);
  add(query + "'", SPECIAL_QUERY_SET);
  add(path, PATH_SET);
  add(userinfo, USERINFO_SET);
  add(component, COMPONENT_SET);
  add(component + "!'()~", FORM_URLENCODED_SET);
}

/** True when code point `c` is in percent-encode `set`. */
export function inEncodeSet(c: number, set: number): boolean {
  return c >= 0x80 || (SET_TABLE[c]! & set) !== 0;
}

const HEX = "0123456789ABCDEF";
/** "%XX" for every byte value: percent-encoding a byte is one array load. */
const PERCENT_BYTE: string[] = [];
for (let b = 0; b < 256; b++) PERCENT_BYTE[b] = `%${HEX[b >> 4]}${HEX[b & 15]}`;

/** UTF-8 percent-encode one code point (URL §1.3) into "%XX%XX…"; it must be in the set. */
function percentEncodeCodePoint(cp: number): string {
  if (cp < 0x80) return PERCENT_BYTE[cp]!;
  if (cp < 0x800) return PERCENT_BYTE[0xc0 | (cp >> 6)]! + PERCENT_BYTE[0x80 | (cp & 0x3f)]!;
  if (cp < 0x10000) {
    return PERCENT_BYTE[0xe0 | (cp >> 12)]! + PERCENT_BYTE[0x80 | ((cp >> 6) & 0x3f)]! + PERCENT_BYTE[0x80 | (cp & 0x3f)]!;
  }
  return (
    PERCENT_BYTE[0xf0 | (cp >> 18)]! +
    PERCENT_BYTE[0x80 | ((cp >> 12) & 0x3f)]! +
    PERCENT_BYTE[0x80 | ((cp >> 6) & 0x3f)]! +
    PERCENT_BYTE[0x80 | (cp & 0x3f)]!
  );
}

/** UTF-8 percent-encode code point `cp` using `set`, or return it unchanged when not in it. */
export function utf8PercentEncodeCodePoint(cp: number, set: number): string {
  if (cp < 0x80 && (SET_TABLE[cp]! & set) === 0) return StringFromCharCode(cp);
  return percentEncodeCodePoint(cp);
}

/**
 * UTF-8 percent-encode `input` using `set` (URL §1.3 "percent-encode after encoding" with
 * UTF-8); `spaceAsPlus` is the urlencoded serializer's U+0020 → "+". Runs of code points
 * that stay as they are are copied by slicing, and an input needing no change is returned
 * as is. A lone surrogate (impossible in a USVString) encodes as U+FFFD.
 */
export function utf8PercentEncode(input: string, set: number, spaceAsPlus = false): string {
  const len = input.length;
  let out = "";
  let runStart = 0;
  for (let i = 0; i < len; i++) {
    let c = StringPrototypeCharCodeAt(input, i);
    if (c < 0x80) {
      if ((SET_TABLE[c]! & set) === 0) continue;
      if (runStart < i) out += StringPrototypeSlice(input, runStart, i);
      out += spaceAsPlus && c === 0x20 ? "+" : PERCENT_BYTE[c]!;
      runStart = i + 1;
      continue;
    }
    if (runStart < i) out += StringPrototypeSlice(input, runStart, i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < len ? StringPrototypeCharCodeAt(input, i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      } else {
        c = 0xfffd;
      }
    }
    out += percentEncodeCodePoint(c);
    runStart = i + 1;
  }
  if (runStart === 0) return input;
  return runStart < len ? out + StringPrototypeSlice(input, runStart, len) : out;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** Percent-decode a byte sequence in place (URL §1.3); returns the decoded length. */
function percentDecodeInPlace(bytes: Uint8Array): number {
  const len = bytes.length;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const b = bytes[i]!;
    if (b === 0x25 && i + 2 < len) {
      const h = hexValue(bytes[i + 1]!);
      const l = h < 0 ? -1 : hexValue(bytes[i + 2]!);
      if (l >= 0) {
        bytes[o++] = (h << 4) | l;
        i += 2;
        continue;
      }
    }
    bytes[o++] = b;
  }
  return o;
}

/** Percent-decode a string (URL §1.3): UTF-8 encode, then decode %XX bytes. */
export function percentDecodeToBytes(input: string): Uint8Array<ArrayBuffer> {
  const bytes = utf8Encode(input);
  if (StringPrototypeIndexOf(input, "%") === -1) return bytes;
  const n = percentDecodeInPlace(bytes);
  return new Uint8ArrayCtor(bytes.buffer, 0, n);
}

/**
 * UTF-8 decode without BOM of the percent-decoding of `input`: what both the host parser
 * and the urlencoded parser do. Without a "%" the round trip is the identity on a scalar
 * value string, so the input comes back untouched.
 */
export function percentDecodeToString(input: string): string {
  if (StringPrototypeIndexOf(input, "%") === -1) return input;
  const bytes = utf8Encode(input);
  const n = percentDecodeInPlace(bytes);
  return utf8DecodeWithoutBOM(bytes, 0, n);
}
