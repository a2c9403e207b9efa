/**
 * The Big5 decoder (Encoding §11.1.1): ASCII, and two bytes (0x81–0xFE then 0x40–0x7E or
 * 0xA1–0xFE) through index Big5, which is Big5 with the HKSCS extensions and so includes
 * 1,713 code points above U+FFFF (output as surrogate pairs). Four pointers decode to two
 * code points each, a letter and a combining mark, which have no precomposed form.
 * Resumable: an unfinished lead byte is carried to the next chunk.
 */
import { outputCodePoint, outputEnd, outputStart } from "./decoder-output.ts";
import { big5Index, NO_CODE_POINT, type Big5Index } from "./multi-byte-indexes.ts";
import type { StreamDecoder } from "./text-decoders.ts";

export class Big5Decoder implements StreamDecoder {
  readonly #fatal: boolean;
  readonly #index: Big5Index;
  #leading = 0;

  constructor(fatal: boolean) {
    this.#fatal = fatal;
    this.#index = big5Index();
  }

  reset(): void {
    this.#leading = 0;
  }

  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null {
    const fatal = this.#fatal;
    const { low, plane2 } = this.#index;
    let leading = this.#leading;
    outputStart();
    let i = start;
    while (i < end) {
      const byte = bytes[i++]!;
      if (leading !== 0) {
        const lead = leading;
        leading = 0;
        if ((byte >= 0x40 && byte <= 0x7e) || (byte >= 0xa1 && byte <= 0xfe)) {
          const pointer = (lead - 0x81) * 157 + byte - (byte < 0x7f ? 0x40 : 0x62);
          // Ê̄, Ê̌, ê̄, ê̌: an index holds one code point per pointer, so these four are here.
          if (pointer === 1133 || pointer === 1135 || pointer === 1164 || pointer === 1166) {
            outputCodePoint(pointer < 1164 ? 0x00ca : 0x00ea);
            outputCodePoint(pointer === 1133 || pointer === 1164 ? 0x0304 : 0x030c);
            continue;
          }
          const bits = low[pointer]!;
          if (bits !== NO_CODE_POINT) {
            outputCodePoint((plane2[pointer >> 3]! >> (pointer & 7)) & 1 ? 0x20000 + bits : bits);
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
