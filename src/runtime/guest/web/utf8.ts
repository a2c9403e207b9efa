/**
 * UTF-8 encoding and decoding shared by TextEncoder/TextDecoder, URL percent-encoding and
 * the urlencoded parser (Encoding §9.1, https://encoding.spec.whatwg.org/#utf-8).
 *
 * Strings are built with `String.fromCharCode.apply` over bounded chunks of a scratch
 * Uint16Array: far faster than per-character concatenation, and the chunk bound keeps the
 * argument count well below engine limits. Pure-ASCII input skips the scratch buffer.
 */
import {
  ReflectApply,
  StringFromCharCode,
  StringPrototypeCharCodeAt,
  Uint8ArrayCtor,
  Uint8ArrayPrototypeSet,
} from "./intrinsics.ts";

const Uint16ArrayCtor = Uint16Array;

/** Code units per `String.fromCharCode.apply` call. */
const CHUNK = 4096;

/** Scratch output shared by every decode; decoding is synchronous, so one buffer is enough. */
const scratch = new Uint16ArrayCtor(CHUNK + 8);

/** A string from code units `units[0..length)`, without species lookups or per-char concatenation. */
export function stringFromCodeUnits(units: Uint16Array<ArrayBuffer>, length: number): string {
  if (length === 0) return "";
  return ReflectApply(StringFromCharCode, null, new Uint16ArrayCtor(units.buffer, 0, length) as unknown as number[]);
}

/** A string whose code units are `bytes[start..end)` (isomorphic decode), chunked. */
export function latin1FromBytes(bytes: Uint8Array, start: number, end: number): string {
  let out = "";
  const buffer = bytes.buffer;
  const base = bytes.byteOffset;
  while (start < end) {
    const n = end - start < CHUNK ? end - start : CHUNK;
    out += ReflectApply(StringFromCharCode, null, new Uint8ArrayCtor(buffer, base + start, n) as unknown as number[]);
    start += n;
  }
  return out;
}

/** Index of the first byte ≥ 0x80 in `bytes[start..end)`, or `end`. */
export function firstNonASCII(bytes: Uint8Array, start: number, end: number): number {
  let i = start;
  // Eight at a time: OR-ing bytes is cheap and keeps the common all-ASCII case tight.
  while (i + 8 <= end) {
    if (
      (bytes[i]! | bytes[i + 1]! | bytes[i + 2]! | bytes[i + 3]! | bytes[i + 4]! | bytes[i + 5]! | bytes[i + 6]! |
        bytes[i + 7]!) &
      0x80
    ) {
      break;
    }
    i += 8;
  }
  while (i < end && bytes[i]! < 0x80) i++;
  return i;
}

/** Bytes in the UTF-8 encoding of `s` (from code unit `from`); lone surrogates count as U+FFFD (3 bytes). */
export function utf8Length(s: string, from = 0): number {
  const len = s.length;
  let n = len - from;
  for (let i = from; i < len; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < len) {
      const d = StringPrototypeCharCodeAt(s, i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        // A pair: 2 code units → 4 bytes.
        n += 2;
        i++;
      } else {
        n += 2;
      }
    } else {
      n += 2;
    }
  }
  return n;
}

/**
 * UTF-8 encode (Encoding §4.3 "UTF-8 encode"). Lone surrogates become U+FFFD, which is what
 * encoding a USVString-converted input gives.
 */
export function utf8Encode(s: string): Uint8Array<ArrayBuffer> {
  const len = s.length;
  // Optimistically ASCII: one pass, and the buffer is exactly the string's length.
  let out = new Uint8ArrayCtor(len);
  let i = 0;
  for (; i < len; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c >= 0x80) break;
    out[i] = c;
  }
  if (i === len) return out;
  // Not ASCII after all: size the rest exactly and keep the prefix already written.
  const ascii = out;
  out = new Uint8ArrayCtor(i + utf8Length(s, i));
  Uint8ArrayPrototypeSet(out, new Uint8ArrayCtor(ascii.buffer, 0, i));
  let o = i;
  for (; i < len; i++) {
    let c = StringPrototypeCharCodeAt(s, i);
    if (c < 0x80) {
      out[o++] = c;
      continue;
    }
    if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < len ? StringPrototypeCharCodeAt(s, i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
        out[o++] = 0xf0 | (c >> 18);
        out[o++] = 0x80 | ((c >> 12) & 0x3f);
        out[o++] = 0x80 | ((c >> 6) & 0x3f);
        out[o++] = 0x80 | (c & 0x3f);
        continue;
      }
      c = 0xfffd;
    }
    out[o++] = 0xe0 | (c >> 12);
    out[o++] = 0x80 | ((c >> 6) & 0x3f);
    out[o++] = 0x80 | (c & 0x3f);
  }
  return out;
}

/**
 * TextEncoder.encodeInto's loop (Encoding §8.3.3): write whole code points into
 * `dest` while they fit. Returns [code units read, bytes written].
 */
export function utf8EncodeInto(s: string, dest: Uint8Array): [number, number] {
  const len = s.length;
  const cap = dest.length;
  let i = 0;
  let o = 0;
  while (i < len) {
    let c = StringPrototypeCharCodeAt(s, i);
    if (c < 0x80) {
      if (o >= cap) break;
      dest[o++] = c;
      i++;
      continue;
    }
    if (c < 0x800) {
      if (o + 2 > cap) break;
      dest[o++] = 0xc0 | (c >> 6);
      dest[o++] = 0x80 | (c & 0x3f);
      i++;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = c <= 0xdbff && i + 1 < len ? StringPrototypeCharCodeAt(s, i + 1) : 0;
      if (d >= 0xdc00 && d <= 0xdfff) {
        if (o + 4 > cap) break;
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        dest[o++] = 0xf0 | (c >> 18);
        dest[o++] = 0x80 | ((c >> 12) & 0x3f);
        dest[o++] = 0x80 | ((c >> 6) & 0x3f);
        dest[o++] = 0x80 | (c & 0x3f);
        i += 2;
        continue;
      }
      c = 0xfffd;
    }
    if (o + 3 > cap) break;
    dest[o++] = 0xe0 | (c >> 12);
    dest[o++] = 0x80 | ((c >> 6) & 0x3f);
    dest[o++] = 0x80 | (c & 0x3f);
    i++;
  }
  return [i, o];
}

/**
 * The UTF-8 decoder of Encoding §9.1.1 as a resumable state machine. An invalid sequence
 * yields one U+FFFD per maximal subpart (the spec's "restore byte" behaviour), which is
 * what makes `stream: true` across chunk boundaries give the same result as one call.
 */
export class Utf8Decoder {
  #codePoint = 0;
  #bytesSeen = 0;
  #bytesNeeded = 0;
  #lower = 0x80;
  #upper = 0xbf;
  readonly #fatal: boolean;

  constructor(fatal: boolean) {
    this.#fatal = fatal;
  }

  /** Forget any partial sequence (TextDecoder.decode without `stream` starts afresh). */
  reset(): void {
    this.#codePoint = 0;
    this.#bytesSeen = 0;
    this.#bytesNeeded = 0;
    this.#lower = 0x80;
    this.#upper = 0xbf;
  }

  /**
   * Decode `bytes[start..end)`; with `flush`, an unfinished sequence at the end is an error.
   * Returns null on the first error when fatal.
   */
  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null {
    // Whole input ASCII and nothing pending: no scratch buffer needed.
    if (this.#bytesNeeded === 0) {
      const firstHigh = firstNonASCII(bytes, start, end);
      if (firstHigh === end) return latin1FromBytes(bytes, start, end);
      return this.#decodeSlow(bytes, start, end, flush, firstHigh);
    }
    return this.#decodeSlow(bytes, start, end, flush, start);
  }

  #decodeSlow(bytes: Uint8Array, start: number, end: number, flush: boolean, asciiEnd: number): string | null {
    let out = latin1FromBytes(bytes, start, asciiEnd);
    const buf = scratch;
    let o = 0;
    let codePoint = this.#codePoint;
    let bytesSeen = this.#bytesSeen;
    let bytesNeeded = this.#bytesNeeded;
    let lower = this.#lower;
    let upper = this.#upper;
    let i = asciiEnd;
    while (i < end) {
      if (o >= CHUNK) {
        out += stringFromCodeUnits(buf, o);
        o = 0;
      }
      const byte = bytes[i]!;
      if (bytesNeeded === 0) {
        if (byte < 0x80) {
          // ASCII run, bounded by the space left in the scratch chunk.
          const stop = end - i < CHUNK - o ? end : i + (CHUNK - o);
          buf[o++] = byte;
          i++;
          while (i < stop) {
            const b = bytes[i]!;
            if (b >= 0x80) break;
            buf[o++] = b;
            i++;
          }
          continue;
        }
        i++;
        if (byte >= 0xc2 && byte <= 0xdf) {
          bytesNeeded = 1;
          codePoint = byte & 0x1f;
        } else if (byte >= 0xe0 && byte <= 0xef) {
          if (byte === 0xe0) lower = 0xa0;
          else if (byte === 0xed) upper = 0x9f;
          bytesNeeded = 2;
          codePoint = byte & 0xf;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          if (byte === 0xf0) lower = 0x90;
          else if (byte === 0xf4) upper = 0x8f;
          bytesNeeded = 3;
          codePoint = byte & 0x7;
        } else {
          if (this.#fatal) return null;
          buf[o++] = 0xfffd;
        }
        continue;
      }
      if (byte < lower || byte > upper) {
        // Error, and the byte is processed again from the initial state ("restore byte").
        codePoint = bytesNeeded = bytesSeen = 0;
        lower = 0x80;
        upper = 0xbf;
        if (this.#fatal) return null;
        buf[o++] = 0xfffd;
        continue;
      }
      i++;
      lower = 0x80;
      upper = 0xbf;
      codePoint = (codePoint << 6) | (byte & 0x3f);
      if (++bytesSeen !== bytesNeeded) continue;
      if (codePoint > 0xffff) {
        codePoint -= 0x10000;
        buf[o++] = 0xd800 | (codePoint >> 10);
        buf[o++] = 0xdc00 | (codePoint & 0x3ff);
      } else {
        buf[o++] = codePoint;
      }
      codePoint = bytesNeeded = bytesSeen = 0;
    }
    if (flush && bytesNeeded !== 0) {
      codePoint = bytesNeeded = bytesSeen = 0;
      lower = 0x80;
      upper = 0xbf;
      if (this.#fatal) return null;
      buf[o++] = 0xfffd;
    }
    this.#codePoint = codePoint;
    this.#bytesSeen = bytesSeen;
    this.#bytesNeeded = bytesNeeded;
    this.#lower = lower;
    this.#upper = upper;
    return out + stringFromCodeUnits(buf, o);
  }
}

const replacingDecoder = new Utf8Decoder(false);

/** UTF-8 decode without BOM (Encoding §4.6): one-shot, errors become U+FFFD. */
export function utf8DecodeWithoutBOM(bytes: Uint8Array, start = 0, end: number = bytes.length): string {
  replacingDecoder.reset();
  return replacingDecoder.decode(bytes, start, end, true)!;
}

/**
 * UTF-8 decode (Encoding §4.6): one-shot, errors become U+FFFD, and a leading BOM is
 * dropped unless `stripBOM` is false ("UTF-8 decode without BOM"). Used by Body, Blob and
 * FormData.
 */
export function utf8Decode(bytes: Uint8Array, stripBOM = true): string {
  const len = bytes.length;
  const start = stripBOM && len >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  return utf8DecodeWithoutBOM(bytes, start, len);
}
