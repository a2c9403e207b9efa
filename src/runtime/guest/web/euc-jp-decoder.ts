/**
 * The EUC-JP decoder (Encoding §12.1.1): ASCII; 0x8E then 0xA1–0xDF for halfwidth
 * katakana; two bytes 0xA1–0xFE through index jis0208; and 0x8F then two such bytes through
 * index jis0212 (JIS X 0212, the supplementary kanji, which only EUC-JP reaches). Resumable:
 * the lead byte, and whether 0x8F came before it, are carried to the next chunk.
 */
import { outputCodePoint, outputEnd, outputStart } from "./decoder-output.ts";
import { codePointTable, NO_CODE_POINT } from "./multi-byte-indexes.ts";
import type { StreamDecoder } from "./text-decoders.ts";

export class EucJpDecoder implements StreamDecoder {
  readonly #fatal: boolean;
  readonly #jis0208: Uint16Array;
  readonly #jis0212: Uint16Array;
  #jis0212Next = false;
  #leading = 0;

  constructor(fatal: boolean) {
    this.#fatal = fatal;
    this.#jis0208 = codePointTable("jis0208");
    this.#jis0212 = codePointTable("jis0212");
  }

  reset(): void {
    this.#jis0212Next = false;
    this.#leading = 0;
  }

  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null {
    const fatal = this.#fatal;
    let jis0212 = this.#jis0212Next;
    let leading = this.#leading;
    outputStart();
    let i = start;
    while (i < end) {
      const byte = bytes[i++]!;
      if (leading === 0x8e && byte >= 0xa1 && byte <= 0xdf) {
        leading = 0;
        outputCodePoint(0xff61 - 0xa1 + byte);
        continue;
      }
      if (leading === 0x8f && byte >= 0xa1 && byte <= 0xfe) {
        jis0212 = true;
        leading = byte;
        continue;
      }
      if (leading !== 0) {
        const lead = leading;
        leading = 0;
        let codePoint = NO_CODE_POINT;
        if (lead >= 0xa1 && lead <= 0xfe && byte >= 0xa1 && byte <= 0xfe) {
          codePoint = (jis0212 ? this.#jis0212 : this.#jis0208)[(lead - 0xa1) * 94 + byte - 0xa1]!;
        }
        jis0212 = false;
        if (codePoint !== NO_CODE_POINT) {
          outputCodePoint(codePoint);
          continue;
        }
        // An ASCII byte is not swallowed by the broken sequence: it is read again.
        if (byte < 0x80) i--;
        if (fatal) return null;
        outputCodePoint(0xfffd);
        continue;
      }
      if (byte < 0x80) {
        outputCodePoint(byte);
      } else if (byte === 0x8e || byte === 0x8f || (byte >= 0xa1 && byte <= 0xfe)) {
        leading = byte;
      } else {
        if (fatal) return null;
        outputCodePoint(0xfffd);
      }
    }
    if (flush && leading !== 0) {
      leading = 0;
      jis0212 = false;
      if (fatal) return null;
      outputCodePoint(0xfffd);
    }
    this.#jis0212Next = jis0212;
    this.#leading = leading;
    return outputEnd();
  }
}
