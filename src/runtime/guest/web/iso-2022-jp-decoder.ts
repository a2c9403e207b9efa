/**
 * The ISO-2022-JP decoder (Encoding §12.2.1): 7-bit text whose meaning is switched by escape
 * sequences — ESC ( B for ASCII, ESC ( J for JIS X 0201 Roman (0x5C is ¥, 0x7E is ‾),
 * ESC ( I for halfwidth katakana, ESC $ @ or ESC $ B for two-byte JIS X 0208 — as the state
 * machine of the spec, carried across chunks whole.
 *
 * The output flag makes an escape sequence that switches to a state without any text
 * decoded since the previous switch an error: two escapes in a row hide nothing by design
 * ("ESC ( J ESC ( B" decodes to U+FFFD), a guard against escape sequences used to smuggle
 * text past filters.
 *
 * Restored bytes: an unrecognised escape puts its second byte (0x24 or 0x28) and the
 * current byte back in the input. The current byte is read again; the other waits in
 * `pending`, read before it. Only the escape states restore, and they are only entered
 * from an input byte (0x1B), never from `pending`, so one slot is enough.
 */
import { outputCodePoint, outputEnd, outputStart } from "./decoder-output.ts";
import { codePointTable, NO_CODE_POINT } from "./multi-byte-indexes.ts";
import type { StreamDecoder } from "./text-decoders.ts";

// The decoder states (Encoding §12.2.1 "ISO-2022-JP decoder state").
const ASCII = 0;
const ROMAN = 1;
const KATAKANA = 2;
const LEADING_BYTE = 3;
const TRAILING_BYTE = 4;
const ESCAPE_START = 5;
const ESCAPE = 6;

/** The end of the queue, as a byte value no real byte has. */
const END = -1;

export class Iso2022JpDecoder implements StreamDecoder {
  readonly #fatal: boolean;
  readonly #index: Uint16Array;
  #state = ASCII;
  #outputState = ASCII;
  #leading = 0;
  #output = false;

  constructor(fatal: boolean) {
    this.#fatal = fatal;
    this.#index = codePointTable("jis0208");
  }

  reset(): void {
    this.#state = this.#outputState = ASCII;
    this.#leading = 0;
    this.#output = false;
  }

  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null {
    const fatal = this.#fatal;
    const index = this.#index;
    let state = this.#state;
    let outputState = this.#outputState;
    let leading = this.#leading;
    let output = this.#output;
    let pending = -1;
    outputStart();
    let i = start;
    for (;;) {
      let byte: number;
      if (pending !== -1) {
        byte = pending;
        pending = -1;
      } else if (i < end) {
        byte = bytes[i++]!;
      } else if (flush) {
        byte = END;
      } else {
        break;
      }
      // Each case either continues (a code point out, or nothing yet), breaks out of the
      // loop (finished: the end of the queue in a state with nothing pending), or falls
      // through to the error after the switch.
      switch (state) {
        case ASCII:
        case ROMAN:
          if (byte === 0x1b) {
            state = ESCAPE_START;
            continue;
          }
          if (byte === END) break;
          output = false;
          if (byte <= 0x7f && byte !== 0x0e && byte !== 0x0f) {
            outputCodePoint(state === ROMAN && byte === 0x5c ? 0x00a5 : state === ROMAN && byte === 0x7e ? 0x203e : byte);
            continue;
          }
          if (fatal) return null;
          outputCodePoint(0xfffd);
          continue;
        case KATAKANA:
          if (byte === 0x1b) {
            state = ESCAPE_START;
            continue;
          }
          if (byte === END) break;
          output = false;
          if (byte >= 0x21 && byte <= 0x5f) {
            outputCodePoint(0xff61 - 0x21 + byte);
            continue;
          }
          if (fatal) return null;
          outputCodePoint(0xfffd);
          continue;
        case LEADING_BYTE:
          if (byte === 0x1b) {
            state = ESCAPE_START;
            continue;
          }
          if (byte === END) break;
          output = false;
          if (byte >= 0x21 && byte <= 0x7e) {
            leading = byte;
            state = TRAILING_BYTE;
            continue;
          }
          if (fatal) return null;
          outputCodePoint(0xfffd);
          continue;
        case TRAILING_BYTE:
          if (byte === 0x1b) {
            // The ESC starts an escape sequence; the broken character is an error.
            state = ESCAPE_START;
          } else {
            state = LEADING_BYTE;
            if (byte >= 0x21 && byte <= 0x7e) {
              const codePoint = index[(leading - 0x21) * 94 + byte - 0x21]!;
              if (codePoint !== NO_CODE_POINT) {
                outputCodePoint(codePoint);
                continue;
              }
            }
          }
          if (fatal) return null;
          outputCodePoint(0xfffd);
          continue;
        case ESCAPE_START:
          if (byte === 0x24 || byte === 0x28) {
            leading = byte;
            state = ESCAPE;
            continue;
          }
          if (byte !== END) i--;
          output = false;
          state = outputState;
          if (fatal) return null;
          outputCodePoint(0xfffd);
          continue;
        default: {
          // ESCAPE
          const lead = leading;
          leading = 0;
          let next = -1;
          if (lead === 0x28) {
            if (byte === 0x42) next = ASCII;
            else if (byte === 0x4a) next = ROMAN;
            else if (byte === 0x49) next = KATAKANA;
          } else if (byte === 0x40 || byte === 0x42) {
            next = LEADING_BYTE;
          }
          if (next !== -1) {
            state = outputState = next;
            const hadOutput = output;
            output = true;
            if (!hadOutput) continue;
          } else {
            // Restore « lead, byte » (just « lead » at the end of the queue).
            if (byte !== END) i--;
            pending = lead;
            output = false;
            state = outputState;
          }
          if (fatal) return null;
          outputCodePoint(0xfffd);
          continue;
        }
      }
      break;
    }
    this.#state = state;
    this.#outputState = outputState;
    this.#leading = leading;
    this.#output = output;
    return outputEnd();
  }
}
