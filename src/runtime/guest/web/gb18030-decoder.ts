/**
 * The gb18030 decoder (Encoding §10.2.1), which GBK shares (§10.1.1): ASCII, 0x80 for the
 * euro sign, two bytes (0x81–0xFE then 0x40–0x7E or 0x80–0xFE) through index gb18030, and
 * four bytes (0x81–0xFE, 0x30–0x39, 0x81–0xFE, 0x30–0x39) through index gb18030 ranges,
 * which reach every code point. A resumable state machine: the bytes of an unfinished
 * sequence are its state, so a sequence split across `stream: true` chunks decodes whole.
 *
 * The spec's "restore" steps put bytes back in the input. Here they need no buffer: the
 * restored second byte of a broken four-byte sequence is always an ASCII digit, which the
 * decoder would output at once, and the restored third byte always becomes the next
 * sequence's first; so the decoder outputs the one, keeps the other as `first`, and reads
 * the current byte again (the spec's implementation note says as much).
 */
import { outputCodePoint, outputEnd, outputStart } from "./decoder-output.ts";
import { codePointTable, gb18030Ranges, NO_CODE_POINT, type Gb18030Ranges } from "./multi-byte-indexes.ts";
import type { StreamDecoder } from "./text-decoders.ts";

/** The index gb18030 ranges code point for `pointer` (Encoding §5), or -1 for null. */
export function gb18030RangesCodePoint(ranges: Gb18030Ranges, pointer: number): number {
  if ((pointer > 39419 && pointer < 189000) || pointer > 1237575) return -1;
  // GB18030-2005 swapped this one with 0xA8 0xBC's U+1E3F; the ranges would give U+1E3F.
  if (pointer === 7457) return 0xe7c7;
  const pointers = ranges.pointers;
  // The last range starting at or before `pointer` (pointers[0] is 0).
  let low = 0;
  let high = ranges.count - 1;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (pointers[mid]! <= pointer) low = mid;
    else high = mid - 1;
  }
  return ranges.codePoints[low]! + pointer - pointers[low]!;
}

export class Gb18030Decoder implements StreamDecoder {
  readonly #fatal: boolean;
  readonly #index: Uint16Array;
  readonly #ranges: Gb18030Ranges;
  #first = 0;
  #second = 0;
  #third = 0;

  constructor(fatal: boolean) {
    this.#fatal = fatal;
    this.#index = codePointTable("gb18030");
    this.#ranges = gb18030Ranges();
  }

  reset(): void {
    this.#first = this.#second = this.#third = 0;
  }

  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null {
    const fatal = this.#fatal;
    const index = this.#index;
    let first = this.#first;
    let second = this.#second;
    let third = this.#third;
    outputStart();
    let i = start;
    while (i < end) {
      const byte = bytes[i++]!;
      if (third !== 0) {
        if (byte < 0x30 || byte > 0x39) {
          // Restore « second, third, byte » and return error.
          if (fatal) return null;
          outputCodePoint(0xfffd);
          outputCodePoint(second);
          first = third;
          second = third = 0;
          i--;
          continue;
        }
        const pointer = (first - 0x81) * 12600 + (second - 0x30) * 1260 + (third - 0x81) * 10 + byte - 0x30;
        const codePoint = gb18030RangesCodePoint(this.#ranges, pointer);
        first = second = third = 0;
        if (codePoint < 0) {
          if (fatal) return null;
          outputCodePoint(0xfffd);
        } else {
          outputCodePoint(codePoint);
        }
        continue;
      }
      if (second !== 0) {
        if (byte >= 0x81 && byte <= 0xfe) {
          third = byte;
          continue;
        }
        // Restore « second, byte » and return error.
        if (fatal) return null;
        outputCodePoint(0xfffd);
        outputCodePoint(second);
        first = second = 0;
        i--;
        continue;
      }
      if (first !== 0) {
        if (byte >= 0x30 && byte <= 0x39) {
          second = byte;
          continue;
        }
        const leading = first;
        first = 0;
        if ((byte >= 0x40 && byte <= 0x7e) || (byte >= 0x80 && byte <= 0xfe)) {
          const codePoint = index[(leading - 0x81) * 190 + byte - (byte < 0x7f ? 0x40 : 0x41)]!;
          if (codePoint !== NO_CODE_POINT) {
            outputCodePoint(codePoint);
            continue;
          }
        }
        // An ASCII byte is not swallowed by the broken sequence: it is read again.
        if (byte < 0x80) i--;
        if (fatal) return null;
        outputCodePoint(0xfffd);
        continue;
      }
      if (byte < 0x80) {
        outputCodePoint(byte);
      } else if (byte === 0x80) {
        outputCodePoint(0x20ac);
      } else if (byte <= 0xfe) {
        first = byte;
      } else {
        if (fatal) return null;
        outputCodePoint(0xfffd);
      }
    }
    if (flush && (first !== 0 || second !== 0 || third !== 0)) {
      // End of the queue inside a sequence: one error for all of it.
      first = second = third = 0;
      if (fatal) return null;
      outputCodePoint(0xfffd);
    }
    this.#first = first;
    this.#second = second;
    this.#third = third;
    return outputEnd();
  }
}
