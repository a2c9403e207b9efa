/**
 * application/x-www-form-urlencoded parsing and serializing (URL §5,
 * https://url.spec.whatwg.org/#application/x-www-form-urlencoded).
 *
 * Used by URLSearchParams, URL's query object and Body's formData()/URLSearchParams bodies.
 */
import { StringPrototypeIndexOf, StringPrototypeSlice, Uint8ArrayCtor } from "./intrinsics.ts";
import { FORM_URLENCODED_SET, percentDecodeToString, utf8PercentEncode } from "./percent-encode.ts";
import { utf8DecodeWithoutBOM, utf8Encode } from "./utf8.ts";

/** One name-value tuple. */
export type FormEntry = [name: string, value: string];

/** "+" is a space, then UTF-8 decode without BOM of the percent-decoding (URL §5.1 steps 3.4–3.5). */
function decodeComponent(s: string): string {
  let plus = StringPrototypeIndexOf(s, "+");
  if (plus !== -1) {
    // Replace every "+" by slicing (no RegExp: its methods are user-patchable).
    let out = "";
    let from = 0;
    while (plus !== -1) {
      out += `${StringPrototypeSlice(s, from, plus)} `;
      from = plus + 1;
      plus = StringPrototypeIndexOf(s, "+", from);
    }
    s = out + StringPrototypeSlice(s, from);
  }
  return percentDecodeToString(s);
}

/**
 * The urlencoded string parser (URL §5.3): UTF-8 encode, then parse. Splitting the string
 * instead of its bytes is equivalent, because "&", "=", "+" and "%" never occur inside a
 * UTF-8 multi-byte sequence and a scalar value string has no invalid sequences.
 */
export function parseFormURLEncoded(input: string): FormEntry[] {
  const output: FormEntry[] = [];
  const len = input.length;
  let start = 0;
  while (start <= len) {
    let end = StringPrototypeIndexOf(input, "&", start);
    if (end === -1) end = len;
    if (end > start) {
      const eq = StringPrototypeIndexOf(input, "=", start);
      let name: string;
      let value: string;
      if (eq !== -1 && eq < end) {
        name = StringPrototypeSlice(input, start, eq);
        value = StringPrototypeSlice(input, eq + 1, end);
      } else {
        name = StringPrototypeSlice(input, start, end);
        value = "";
      }
      output[output.length] = [decodeComponent(name), decodeComponent(value)];
    }
    start = end + 1;
  }
  return output;
}

/**
 * The urlencoded parser on bytes (URL §5.1), for request bodies: percent-decoding happens
 * before UTF-8 decoding, so invalid bytes next to percent-encoded ones combine as the
 * spec says.
 */
export function parseFormURLEncodedBytes(input: Uint8Array): FormEntry[] {
  const output: FormEntry[] = [];
  const len = input.length;
  let start = 0;
  while (start <= len) {
    let end = start;
    while (end < len && input[end] !== 0x26) end++;
    if (end > start) {
      let eq = start;
      while (eq < end && input[eq] !== 0x3d) eq++;
      const name = decodeBytes(input, start, eq);
      const value = eq < end ? decodeBytes(input, eq + 1, end) : "";
      output[output.length] = [name, value];
    }
    start = end + 1;
  }
  return output;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  const l = b | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/** "+" → space, percent-decode, UTF-8 decode without BOM, on `bytes[start..end)`. */
function decodeBytes(bytes: Uint8Array, start: number, end: number): string {
  const out = new Uint8ArrayCtor(end - start);
  let o = 0;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b === 0x2b) {
      out[o++] = 0x20;
    } else if (b === 0x25 && i + 2 < end && hexValue(bytes[i + 1]!) >= 0 && hexValue(bytes[i + 2]!) >= 0) {
      out[o++] = (hexValue(bytes[i + 1]!) << 4) | hexValue(bytes[i + 2]!);
      i += 2;
    } else {
      out[o++] = b;
    }
  }
  return utf8DecodeWithoutBOM(out, 0, o);
}

/** The urlencoded serializer (URL §5.2), UTF-8 only. */
export function serializeFormURLEncoded(tuples: readonly (readonly [string, string])[]): string {
  let output = "";
  for (let i = 0; i < tuples.length; i++) {
    const tuple = tuples[i]!;
    if (i !== 0) output += "&";
    output += `${utf8PercentEncode(tuple[0], FORM_URLENCODED_SET, true)}=${utf8PercentEncode(tuple[1], FORM_URLENCODED_SET, true)}`;
  }
  return output;
}

/** The serializer's bytes, for request bodies. */
export function serializeFormURLEncodedBytes(tuples: readonly (readonly [string, string])[]): Uint8Array<ArrayBuffer> {
  return utf8Encode(serializeFormURLEncoded(tuples));
}
