/**
 * atob() and btoa() (HTML §8.3, https://html.spec.whatwg.org/multipage/webappapis.html#atob)
 * and the forgiving-base64 codec (Infra §4.7, https://infra.spec.whatwg.org/#forgiving-base64)
 * they are built on, also exported for the runtime's own use on bytes.
 */
import { newDOMException } from "./dom-exception.ts";
import { methodContext, requireArgs, toStringES } from "./idl.ts";
import { ReflectApply, StringFromCharCode, StringPrototypeCharCodeAt, Uint8ArrayCtor } from "./intrinsics.ts";
import { latin1FromBytes } from "./utf8.ts";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Sextet value per ASCII code point; -1 for code points outside the alphabet. */
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[StringPrototypeCharCodeAt(ALPHABET, i)] = i;

/** Alphabet code units, so encoding writes numbers, not one-character strings. */
const ENCODE = new Uint8ArrayCtor(64);
for (let i = 0; i < 64; i++) ENCODE[i] = StringPrototypeCharCodeAt(ALPHABET, i);

/** Code units per String.fromCharCode.apply call. */
const CHUNK = 4096;

/** Forgiving-base64 encode (Infra §4.7) of `bytes`. */
export function base64Encode(bytes: Uint8Array): string {
  const len = bytes.length;
  let out = "";
  // Encode 3-byte groups into a chunk of 4-character groups at a time.
  const units = new Uint16Array(CHUNK);
  let o = 0;
  let i = 0;
  for (; i + 3 <= len; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    units[o++] = ENCODE[n >> 18]!;
    units[o++] = ENCODE[(n >> 12) & 63]!;
    units[o++] = ENCODE[(n >> 6) & 63]!;
    units[o++] = ENCODE[n & 63]!;
    if (o === CHUNK) {
      out += ReflectApply(StringFromCharCode, null, units as unknown as number[]);
      o = 0;
    }
  }
  if (o !== 0) out += ReflectApply(StringFromCharCode, null, new Uint16Array(units.buffer, 0, o) as unknown as number[]);
  const rest = len - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += `${ALPHABET[n >> 18]}${ALPHABET[(n >> 12) & 63]}==`;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += `${ALPHABET[n >> 18]}${ALPHABET[(n >> 12) & 63]}${ALPHABET[(n >> 6) & 63]}=`;
  }
  return out;
}

function isASCIIWhitespace(c: number): boolean {
  return c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;
}

/** Forgiving-base64 decode (Infra §4.7): the bytes, or null for failure. */
export function base64Decode(input: string): Uint8Array<ArrayBuffer> | null {
  // 1. Remove ASCII whitespace: count what is left, in one pass.
  const len = input.length;
  let count = 0;
  for (let i = 0; i < len; i++) if (!isASCIIWhitespace(StringPrototypeCharCodeAt(input, i))) count++;
  // 2. If the length divides by 4, drop one or two trailing "=".
  let end = len;
  let padding = 0;
  if (count % 4 === 0) {
    while (padding < 2) {
      while (end > 0 && isASCIIWhitespace(StringPrototypeCharCodeAt(input, end - 1))) end--;
      if (end === 0 || StringPrototypeCharCodeAt(input, end - 1) !== 0x3d /* = */) break;
      end--;
      padding++;
    }
    count -= padding;
  }
  // 3. A remainder of 1 is failure. (4. is the alphabet check, done while decoding.)
  if (count % 4 === 1) return null;
  const out = new Uint8ArrayCtor(((count * 3) / 4) | 0);
  let o = 0;
  let buffer = 0;
  let bits = 0;
  for (let i = 0; i < end; i++) {
    const c = StringPrototypeCharCodeAt(input, i);
    if (isASCIIWhitespace(c)) continue;
    const v = c < 128 ? DECODE[c]! : -1;
    if (v < 0) return null;
    buffer = (buffer << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >> bits) & 0xff;
    }
  }
  // Leftover bits (4 after two sextets, 2 after three) are discarded, as the spec says.
  return out;
}

const CONTEXT_WINDOW = "Window";

/** btoa(data) (HTML §8.3): base64 of a string whose code units are all ≤ 0xFF. */
export function btoa(data: string): string {
  const context = methodContext(CONTEXT_WINDOW, "btoa");
  requireArgs(arguments.length, 1, context);
  const s = toStringES(data);
  const len = s.length;
  const bytes = new Uint8ArrayCtor(len);
  for (let i = 0; i < len; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c > 0xff) {
      throw newDOMException(
        `${context}: The string to be encoded contains characters outside of the Latin1 range.`,
        "InvalidCharacterError",
      );
    }
    bytes[i] = c;
  }
  return base64Encode(bytes);
}

/** atob(data) (HTML §8.3): forgiving-base64 decode, as a string of byte-valued code units. */
export function atob(data: string): string {
  const context = methodContext(CONTEXT_WINDOW, "atob");
  requireArgs(arguments.length, 1, context);
  const bytes = base64Decode(toStringES(data));
  if (bytes === null) {
    throw newDOMException(`${context}: The string to be decoded is not correctly encoded.`, "InvalidCharacterError");
  }
  return latin1FromBytes(bytes, 0, bytes.length);
}
