/**
 * Host parsing and serializing (URL §3, https://url.spec.whatwg.org/#hosts-(domains-and-ip-addresses)).
 *
 * A parsed host is kept in its serialized form: IPv4 as dotted decimal, IPv6 as "[…]" in
 * RFC 5952 form, domains and opaque hosts as ASCII strings, and the empty host as "".
 * Nothing downstream needs the structured form, and serializing once makes every getter
 * and the href serializer plain concatenation.
 *
 * Only non-ASCII domains go to the host's UTS #46 ToASCII: the domain parser (URL §3.3)
 * lowercases an ASCII domain regardless of what ToASCII would say, so the common case never
 * leaves the isolate.
 */
import { syncCalls } from "../host-ops.ts";
import {
  StringFromCharCode,
  StringPrototypeCharCodeAt,
  StringPrototypeToLowerCase,
  Uint8ArrayCtor,
} from "./intrinsics.ts";
import { C0_CONTROL_SET, percentDecodeToString, utf8PercentEncode } from "./percent-encode.ts";

const FORBIDDEN_HOST = 1;
const FORBIDDEN_DOMAIN = 2;

/** Flags per ASCII code point: forbidden host code point, forbidden domain code point (URL §3.2). */
const FORBIDDEN = new Uint8ArrayCtor(128);
{
  const hostChars = "\u0000\t\n\r #/:<>?@[\\]^|";
  for (let i = 0; i < hostChars.length; i++) {
    FORBIDDEN[StringPrototypeCharCodeAt(hostChars, i)] = FORBIDDEN_HOST | FORBIDDEN_DOMAIN;
  }
  for (let c = 0; c < 0x20; c++) FORBIDDEN[c]! |= FORBIDDEN_DOMAIN;
  FORBIDDEN[0x25] = FORBIDDEN_DOMAIN; // %
  FORBIDDEN[0x7f] = FORBIDDEN_DOMAIN;
}

/**
 * The host parser (URL §3.5). Returns the serialized host, or null for failure.
 * `isOpaque` is true for URLs that are not special.
 */
export function parseHost(input: string, isOpaque: boolean): string | null {
  const len = input.length;
  if (len !== 0 && StringPrototypeCharCodeAt(input, 0) === 0x5b /* [ */) {
    if (StringPrototypeCharCodeAt(input, len - 1) !== 0x5d /* ] */) return null;
    const address = parseIPv6(input, 1, len - 1);
    return address === null ? null : `[${serializeIPv6(address)}]`;
  }
  if (isOpaque) return parseOpaqueHost(input);
  const domain = percentDecodeToString(input);
  const asciiDomain = parseDomain(domain);
  if (asciiDomain === null) return null;
  if (endsInANumber(asciiDomain)) return parseIPv4(asciiDomain);
  return asciiDomain;
}

/**
 * The domain parser with beStrict false (URL §3.3): an ASCII domain is just lowercased; any
 * other goes through UTS #46 ToASCII on the host. Then an empty result or a forbidden domain
 * code point is failure.
 */
function parseDomain(domain: string): string | null {
  const len = domain.length;
  let ascii = true;
  let upper = false;
  for (let i = 0; i < len; i++) {
    const c = StringPrototypeCharCodeAt(domain, i);
    if (c >= 0x80) {
      ascii = false;
    } else if ((FORBIDDEN[c]! & FORBIDDEN_DOMAIN) !== 0) {
      // ToASCII keeps ASCII code points as they are (UseSTD3ASCIIRules is false), so a
      // forbidden one here would be in the result too: fail without asking the host.
      return null;
    } else if (c >= 0x41 && c <= 0x5a) {
      upper = true;
    }
  }
  if (ascii) {
    if (len === 0) return null;
    return upper ? StringPrototypeToLowerCase(domain) : domain;
  }
  const result = syncCalls().domainToASCII(domain);
  if (result === null || result === "") return null;
  for (let i = 0; i < result.length; i++) {
    const c = StringPrototypeCharCodeAt(result, i);
    if (c >= 0x80 || (FORBIDDEN[c]! & FORBIDDEN_DOMAIN) !== 0) return null;
  }
  return result;
}

/** The opaque-host parser (URL §3.5). */
function parseOpaqueHost(input: string): string | null {
  for (let i = 0; i < input.length; i++) {
    const c = StringPrototypeCharCodeAt(input, i);
    if (c < 0x80 && (FORBIDDEN[c]! & FORBIDDEN_HOST) !== 0) return null;
  }
  return utf8PercentEncode(input, C0_CONTROL_SET);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexDigitValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  if (l >= 0x61 && l <= 0x66) return l - 0x61 + 10;
  return -1;
}

/**
 * The ends-in-a-number checker (URL §3.5): is the last label (ignoring one trailing empty
 * label) all ASCII digits, or "0x"/"0X" followed by hex digits?
 */
export function endsInANumber(input: string): boolean {
  let end = input.length;
  if (end !== 0 && StringPrototypeCharCodeAt(input, end - 1) === 0x2e) end--;
  let start = end;
  while (start > 0 && StringPrototypeCharCodeAt(input, start - 1) !== 0x2e) start--;
  if (start === end) return false;
  let allDigits = true;
  for (let i = start; i < end; i++) {
    if (!isDigit(StringPrototypeCharCodeAt(input, i))) {
      allDigits = false;
      break;
    }
  }
  if (allDigits) return true;
  return parseIPv4Number(input, start, end) >= 0;
}

/**
 * The IPv4 number parser (URL §3.5) on `input[start..end)`: the value, or -1 for failure.
 * Values beyond 2^53 lose precision, but only their being ≥ 2^32 matters, which survives.
 */
function parseIPv4Number(input: string, start: number, end: number): number {
  if (start === end) return -1;
  let radix = 10;
  if (end - start >= 2 && StringPrototypeCharCodeAt(input, start) === 0x30) {
    const x = StringPrototypeCharCodeAt(input, start + 1) | 0x20;
    if (x === 0x78 /* x */) {
      radix = 16;
      start += 2;
    } else {
      radix = 8;
      start += 1;
    }
  }
  let value = 0;
  for (let i = start; i < end; i++) {
    const d = hexDigitValue(StringPrototypeCharCodeAt(input, i));
    if (d < 0 || d >= radix) return -1;
    value = value * radix + d;
  }
  return value;
}

/** The IPv4 parser (URL §3.5), returning the IPv4 serializer's output, or null for failure. */
function parseIPv4(input: string): string | null {
  let end = input.length;
  // A single trailing empty part is dropped (an IPv4-empty-part validation error only).
  if (end > 1 && StringPrototypeCharCodeAt(input, end - 1) === 0x2e) end--;
  const numbers: number[] = [];
  let partStart = 0;
  for (let i = 0; i <= end; i++) {
    if (i !== end && StringPrototypeCharCodeAt(input, i) !== 0x2e) continue;
    if (numbers.length === 4) return null; // more than four parts
    const n = parseIPv4Number(input, partStart, i);
    if (n < 0) return null;
    numbers[numbers.length] = n;
    partStart = i + 1;
  }
  const count = numbers.length;
  for (let i = 0; i < count - 1; i++) if (numbers[i]! > 255) return null;
  let ipv4 = numbers[count - 1]!;
  if (ipv4 >= 256 ** (5 - count)) return null;
  for (let i = 0; i < count - 1; i++) ipv4 += numbers[i]! * 256 ** (3 - i);
  return serializeIPv4(ipv4);
}

/** The IPv4 serializer (URL §3.6). */
export function serializeIPv4(address: number): string {
  return `${(address / 16777216) >>> 0}.${(address >>> 16) & 255}.${(address >>> 8) & 255}.${address & 255}`;
}

/**
 * The IPv6 parser (URL §3.5) on `input[start..end)`: eight 16-bit pieces, or null for
 * failure. Follows the spec's pointer walk, with -1 standing for the EOF code point.
 */
export function parseIPv6(input: string, start: number, end: number): number[] | null {
  const address = [0, 0, 0, 0, 0, 0, 0, 0];
  let pieceIndex = 0;
  let compress = -1;
  let pointer = start;
  const at = (p: number): number => (p < end ? StringPrototypeCharCodeAt(input, p) : -1);

  if (at(pointer) === 0x3a) {
    if (at(pointer + 1) !== 0x3a) return null; // IPv6-invalid-compression
    pointer += 2;
    pieceIndex++;
    compress = pieceIndex;
  }
  while (at(pointer) !== -1) {
    if (pieceIndex === 8) return null; // IPv6-too-many-pieces
    if (at(pointer) === 0x3a) {
      if (compress !== -1) return null; // IPv6-multiple-compression
      pointer++;
      pieceIndex++;
      compress = pieceIndex;
      continue;
    }
    let value = 0;
    let length = 0;
    while (length < 4) {
      const d = hexDigitValue(at(pointer));
      if (d < 0) break;
      value = value * 0x10 + d;
      pointer++;
      length++;
    }
    if (at(pointer) === 0x2e) {
      // An IPv4 address in the last two pieces.
      if (length === 0) return null;
      pointer -= length;
      if (pieceIndex > 6) return null; // IPv4-in-IPv6-too-many-pieces
      let numbersSeen = 0;
      while (at(pointer) !== -1) {
        let ipv4Piece = -1;
        if (numbersSeen > 0) {
          if (at(pointer) === 0x2e && numbersSeen < 4) pointer++;
          else return null;
        }
        if (!isDigit(at(pointer))) return null;
        while (isDigit(at(pointer))) {
          const number = at(pointer) - 0x30;
          if (ipv4Piece === -1) ipv4Piece = number;
          else if (ipv4Piece === 0) return null; // leading zero
          else ipv4Piece = ipv4Piece * 10 + number;
          if (ipv4Piece > 255) return null;
          pointer++;
        }
        address[pieceIndex] = address[pieceIndex]! * 0x100 + ipv4Piece;
        numbersSeen++;
        if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
      }
      if (numbersSeen !== 4) return null; // IPv4-in-IPv6-too-few-parts
      break;
    } else if (at(pointer) === 0x3a) {
      pointer++;
      if (at(pointer) === -1) return null; // IPv6-invalid-code-point
    } else if (at(pointer) !== -1) {
      return null; // IPv6-invalid-code-point
    }
    address[pieceIndex] = value;
    pieceIndex++;
  }
  if (compress !== -1) {
    let swaps = pieceIndex - compress;
    pieceIndex = 7;
    while (pieceIndex !== 0 && swaps > 0) {
      const other = compress + swaps - 1;
      const tmp = address[pieceIndex]!;
      address[pieceIndex] = address[other]!;
      address[other] = tmp;
      pieceIndex--;
      swaps--;
    }
  } else if (pieceIndex !== 8) {
    return null; // IPv6-too-few-pieces
  }
  return address;
}

/** The IPv6 serializer (URL §3.6): lowercase hex, the first longest run of ≥ 2 zero pieces as "::". */
export function serializeIPv6(address: readonly number[]): string {
  // Find the IPv6 address compressed piece index.
  let longestIndex = -1;
  let longestSize = 1;
  let foundIndex = -1;
  let foundSize = 0;
  for (let i = 0; i < 8; i++) {
    if (address[i] !== 0) {
      if (foundSize > longestSize) {
        longestIndex = foundIndex;
        longestSize = foundSize;
      }
      foundIndex = -1;
      foundSize = 0;
    } else {
      if (foundIndex === -1) foundIndex = i;
      foundSize++;
    }
  }
  const compress = foundSize > longestSize ? foundIndex : longestIndex;

  let output = "";
  let ignore0 = false;
  for (let i = 0; i < 8; i++) {
    const piece = address[i]!;
    if (ignore0 && piece === 0) continue;
    ignore0 = false;
    if (compress === i) {
      output += i === 0 ? "::" : ":";
      ignore0 = true;
      continue;
    }
    output += hex16(piece);
    if (i !== 7) output += ":";
  }
  return output;
}

const LOWER_HEX = "0123456789abcdef";
function hex16(n: number): string {
  if (n < 0x10) return LOWER_HEX[n]!;
  let s = "";
  while (n > 0) {
    s = StringFromCharCode(StringPrototypeCharCodeAt(LOWER_HEX, n & 15)) + s;
    n >>>= 4;
  }
  return s;
}
