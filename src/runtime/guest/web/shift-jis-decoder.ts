/**
 * The Shift_JIS decoder (Encoding §12.3.1), Windows' code page 932: ASCII and 0x80 as
 * themselves, 0xA1–0xDF as halfwidth katakana, and two bytes (0x81–0x9F or 0xE0–0xFC, then
 * 0x40–0x7E or 0x80–0xFC) through index jis0208 — except pointers 8836–10715, Windows'
 * end-user-defined characters, which map to the private use area from U+E000. Resumable:
 * an unfinished lead byte is carried to the next chunk.
 */
import { outputCodePoint, outputEnd, outputStart } from "./decoder-output.ts";
import { codePointTable, NO_CODE_POINT } from "./multi-byte-indexes.ts";
import type { StreamDecoder } from "./text-decoders.ts";

export class ShiftJisDecoder implements StreamDecoder {
  readonly #fatal: boolean;
  readonly #index: Uint16Array;
  #leading = 0;

  constructor(fatal: boolean) {
    this.#fatal = fatal;
    this.#index = codePointTable("jis0208");
  }

  reset(): void {
    this.#leading = 0;
  }

  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null {
    const fatal = this.#fatal;
    const index = this.#index;
    let leading = this.#leading;
    outputStart();
    let i = start;
    while (i < end) {
      const byte = bytes[i++]!;
      if (leading !== 0) {
        const lead = leading;
        leading = 0;
        if ((byte >= 0x40 && byte <= 0x7e) || (byte >= 0x80 && byte <= 0xfc)) {
          const pointer = (lead - (lead < 0xa0 ? 0x81 : 0xc1)) * 188 + byte - (byte < 0x7f ? 0x40 : 0x41);
          if (pointer >= 8836 && pointer <= 10715) {
            outputCodePoint(0xe000 - 8836 + pointer);
            continue;
          }
          const codePoint = index[pointer]!;
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
      if (byte <= 0x80) {
        outputCodePoint(byte);
      } else if (byte >= 0xa1 && byte <= 0xdf) {
        outputCodePoint(0xff61 - 0xa1 + byte);
      } else if ((byte >= 0x81 && byte <= 0x9f) || (byte >= 0xe0 && byte <= 0xfc)) {
        leading = byte;
      } else {
        if (fatal) return null;
        outputCodePoint(0xfffd);
      }
    }
    if (flush && leading !== 0) {
      leading = 0;
      if (fatal) return null;
      outputCodePoint(0xfffd);
    }
    this.#leading = leading;
    return outputEnd();
  }
}
