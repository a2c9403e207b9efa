/**
 * The EUC-KR decoder (Encoding §13.1.1), which is Windows' code page 949 (Unified Hangul
 * Code): ASCII, and two bytes (0x81–0xFE then 0x41–0xFE) through index EUC-KR. Resumable:
 * an unfinished lead byte is carried to the next chunk.
 */
import { outputCodePoint, outputEnd, outputStart } from "./decoder-output.ts";
import { codePointTable, NO_CODE_POINT } from "./multi-byte-indexes.ts";
import type { StreamDecoder } from "./text-decoders.ts";

export class EucKrDecoder implements StreamDecoder {
  readonly #fatal: boolean;
  readonly #index: Uint16Array;
  #leading = 0;

  constructor(fatal: boolean) {
    this.#fatal = fatal;
    this.#index = codePointTable("euc-kr");
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
        if (byte >= 0x41 && byte <= 0xfe) {
          const codePoint = index[(lead - 0x81) * 190 + byte - 0x41]!;
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
      } else if (byte >= 0x81 && byte <= 0xfe) {
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
