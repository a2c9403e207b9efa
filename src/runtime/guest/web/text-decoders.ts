/**
 * The decoders behind TextDecoder, by encoding name, and the label table that names them.
 * Here: UTF-16LE/BE (Encoding §14.2), the legacy single-byte encodings (Encoding §9) and
 * x-user-defined (Encoding §14.5); UTF-8 lives in utf8.ts, and the legacy multi-byte
 * encodings — GBK and gb18030, Big5, EUC-JP, ISO-2022-JP, Shift_JIS, EUC-KR (Encoding
 * §10–13) — in a file each, their indexes fetched from the host when the first decoder
 * needing one is constructed (multi-byte-indexes.ts). Each decoder is a resumable state
 * machine over byte chunks, so `decode(chunk, { stream: true })` needs no re-buffering.
 * The "replacement" encoding's labels are a RangeError, as TextDecoder's constructor must
 * make them (Encoding §7.2), like an unknown label's.
 */
import { Big5Decoder } from "./big5-decoder.ts";
import { EucJpDecoder } from "./euc-jp-decoder.ts";
import { EucKrDecoder } from "./euc-kr-decoder.ts";
import { Gb18030Decoder } from "./gb18030-decoder.ts";
import { StringFromCharCode, StringPrototypeCharCodeAt, Uint16ArrayCtor } from "./intrinsics.ts";
import { Iso2022JpDecoder } from "./iso-2022-jp-decoder.ts";
import { ShiftJisDecoder } from "./shift-jis-decoder.ts";
import { SINGLE_BYTE_INDEXES } from "./single-byte-indexes.ts";
import { firstNonASCII, latin1FromBytes, stringFromCodeUnits, Utf8Decoder } from "./utf8.ts";

/** What TextDecoder drives: decode a chunk, optionally flushing; null signals a fatal error. */
export interface StreamDecoder {
  reset(): void;
  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null;
}

const CHUNK = 4096;
const scratch = new Uint16ArrayCtor(CHUNK + 8);

/** The shared UTF-16 decoder (Encoding §14.2.1), little- or big-endian. */
export class Utf16Decoder implements StreamDecoder {
  readonly #bigEndian: boolean;
  readonly #fatal: boolean;
  #leadByte = -1;
  #leadSurrogate = -1;

  constructor(bigEndian: boolean, fatal: boolean) {
    this.#bigEndian = bigEndian;
    this.#fatal = fatal;
  }

  reset(): void {
    this.#leadByte = -1;
    this.#leadSurrogate = -1;
  }

  decode(bytes: Uint8Array, start: number, end: number, flush: boolean): string | null {
    const buf = scratch;
    const bigEndian = this.#bigEndian;
    let leadByte = this.#leadByte;
    let leadSurrogate = this.#leadSurrogate;
    let out = "";
    let o = 0;
    for (let i = start; i < end; i++) {
      if (o >= CHUNK) {
        out += stringFromCodeUnits(buf, o);
        o = 0;
      }
      const byte = bytes[i]!;
      if (leadByte === -1) {
        leadByte = byte;
        continue;
      }
      const codeUnit = bigEndian ? (leadByte << 8) | byte : (byte << 8) | leadByte;
      leadByte = -1;
      if (leadSurrogate !== -1) {
        const lead = leadSurrogate;
        leadSurrogate = -1;
        if (codeUnit >= 0xdc00 && codeUnit <= 0xdfff) {
          buf[o++] = lead;
          buf[o++] = codeUnit;
          continue;
        }
        // Error for the lone lead surrogate; the code unit is then processed afresh.
        if (this.#fatal) return null;
        buf[o++] = 0xfffd;
      }
      if (codeUnit >= 0xd800 && codeUnit <= 0xdbff) {
        leadSurrogate = codeUnit;
      } else if (codeUnit >= 0xdc00 && codeUnit <= 0xdfff) {
        if (this.#fatal) return null;
        buf[o++] = 0xfffd;
      } else {
        buf[o++] = codeUnit;
      }
    }
    if (flush) {
      if (leadByte !== -1 || leadSurrogate !== -1) {
        leadByte = leadSurrogate = -1;
        if (this.#fatal) return null;
        buf[o++] = 0xfffd;
      }
    }
    this.#leadByte = leadByte;
    this.#leadSurrogate = leadSurrogate;
    return out + stringFromCodeUnits(buf, o);
  }
}

/**
 * A single-byte decoder (Encoding §9.2): ASCII bytes map to themselves, bytes 0x80–0xFF go
 * through `high` (128 code points; U+FFFD marks an unmapped byte, an error).
 */
export class SingleByteDecoder implements StreamDecoder {
  readonly #high: Uint16Array;
  readonly #fatal: boolean;

  constructor(high: Uint16Array, fatal: boolean) {
    this.#high = high;
    this.#fatal = fatal;
  }

  reset(): void {}

  decode(bytes: Uint8Array, start: number, end: number, _flush: boolean): string | null {
    const firstHigh = firstNonASCII(bytes, start, end);
    if (firstHigh === end) return latin1FromBytes(bytes, start, end);
    let out = latin1FromBytes(bytes, start, firstHigh);
    const buf = scratch;
    const high = this.#high;
    let o = 0;
    for (let i = firstHigh; i < end; i++) {
      if (o >= CHUNK) {
        out += stringFromCodeUnits(buf, o);
        o = 0;
      }
      const byte = bytes[i]!;
      if (byte < 0x80) {
        buf[o++] = byte;
        continue;
      }
      const cp = high[byte - 0x80]!;
      if (cp === 0xfffd && this.#fatal) return null;
      buf[o++] = cp;
    }
    return out + stringFromCodeUnits(buf, o);
  }
}

/** A table from a 128-character string: the code points for bytes 0x80–0xFF. */
function tableFrom(chars: string): Uint16Array {
  const table = new Uint16ArrayCtor(128);
  for (let i = 0; i < 128; i++) table[i] = StringPrototypeCharCodeAt(chars, i);
  return table;
}

/**
 * index-windows-1252 (Encoding §9 indexes): 0x80–0x9F are the CP1252 punctuation, with the
 * five bytes Windows leaves undefined mapping to the C1 controls of the same value;
 * 0xA0–0xFF are Latin-1.
 */
const WINDOWS_1252_HIGH = (() => {
  const c1 =
    "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
    "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";
  let chars = c1;
  for (let b = 0xa0; b <= 0xff; b++) chars += StringFromCharCode(b);
  return tableFrom(chars);
})();

/** x-user-defined (Encoding §14.5): bytes 0x80–0xFF map to U+F780–U+F7FF. */
const X_USER_DEFINED_HIGH = (() => {
  const table = new Uint16ArrayCtor(128);
  for (let i = 0; i < 128; i++) table[i] = 0xf780 + i;
  return table;
})();

/** Tables of the other single-byte encodings, built on first use. */
const singleByteTables: { [name: string]: Uint16Array } = { __proto__: null as unknown as Uint16Array };

function singleByteTable(name: string): Uint16Array {
  // ISO-8859-8-I differs from ISO-8859-8 only in name (and in how HTML lays out the text).
  const index = name === "iso-8859-8-i" ? "iso-8859-8" : name;
  return (singleByteTables[index] ??= tableFrom(SINGLE_BYTE_INDEXES[index]!));
}

/** A fresh decoder for an encoding name as returned by {@link getEncoding}. */
export function createDecoder(name: string, fatal: boolean): StreamDecoder {
  switch (name) {
    case "utf-8":
      return new Utf8Decoder(fatal);
    case "utf-16le":
      return new Utf16Decoder(false, fatal);
    case "utf-16be":
      return new Utf16Decoder(true, fatal);
    case "windows-1252":
      return new SingleByteDecoder(WINDOWS_1252_HIGH, fatal);
    case "x-user-defined":
      return new SingleByteDecoder(X_USER_DEFINED_HIGH, fatal);
    case "gbk":
    case "gb18030":
      return new Gb18030Decoder(fatal);
    case "big5":
      return new Big5Decoder(fatal);
    case "euc-jp":
      return new EucJpDecoder(fatal);
    case "iso-2022-jp":
      return new Iso2022JpDecoder(fatal);
    case "shift_jis":
      return new ShiftJisDecoder(fatal);
    case "euc-kr":
      return new EucKrDecoder(fatal);
    default:
      return new SingleByteDecoder(singleByteTable(name), fatal);
  }
}

/** Label → encoding name (Encoding §4.2 table), every encoding but "replacement". */
const LABELS: { readonly [label: string]: string } = {
  __proto__: null as unknown as string,
  "unicode-1-1-utf-8": "utf-8",
  unicode11utf8: "utf-8",
  unicode20utf8: "utf-8",
  "utf-8": "utf-8",
  utf8: "utf-8",
  "x-unicode20utf8": "utf-8",
  unicodefffe: "utf-16be",
  "utf-16be": "utf-16be",
  csunicode: "utf-16le",
  "iso-10646-ucs-2": "utf-16le",
  "ucs-2": "utf-16le",
  unicode: "utf-16le",
  unicodefeff: "utf-16le",
  "utf-16": "utf-16le",
  "utf-16le": "utf-16le",
  "ansi_x3.4-1968": "windows-1252",
  ascii: "windows-1252",
  cp1252: "windows-1252",
  cp819: "windows-1252",
  csisolatin1: "windows-1252",
  ibm819: "windows-1252",
  "iso-8859-1": "windows-1252",
  "iso-ir-100": "windows-1252",
  "iso8859-1": "windows-1252",
  iso88591: "windows-1252",
  "iso_8859-1": "windows-1252",
  "iso_8859-1:1987": "windows-1252",
  l1: "windows-1252",
  latin1: "windows-1252",
  "us-ascii": "windows-1252",
  "windows-1252": "windows-1252",
  "x-cp1252": "windows-1252",
  "x-user-defined": "x-user-defined",
  // The legacy single-byte encodings (tables in single-byte-indexes.ts).
  "866": "ibm866",
  cp866: "ibm866",
  csibm866: "ibm866",
  ibm866: "ibm866",
  csisolatin2: "iso-8859-2",
  "iso-8859-2": "iso-8859-2",
  "iso-ir-101": "iso-8859-2",
  "iso8859-2": "iso-8859-2",
  iso88592: "iso-8859-2",
  "iso_8859-2": "iso-8859-2",
  "iso_8859-2:1987": "iso-8859-2",
  l2: "iso-8859-2",
  latin2: "iso-8859-2",
  csisolatin3: "iso-8859-3",
  "iso-8859-3": "iso-8859-3",
  "iso-ir-109": "iso-8859-3",
  "iso8859-3": "iso-8859-3",
  iso88593: "iso-8859-3",
  "iso_8859-3": "iso-8859-3",
  "iso_8859-3:1988": "iso-8859-3",
  l3: "iso-8859-3",
  latin3: "iso-8859-3",
  csisolatin4: "iso-8859-4",
  "iso-8859-4": "iso-8859-4",
  "iso-ir-110": "iso-8859-4",
  "iso8859-4": "iso-8859-4",
  iso88594: "iso-8859-4",
  "iso_8859-4": "iso-8859-4",
  "iso_8859-4:1988": "iso-8859-4",
  l4: "iso-8859-4",
  latin4: "iso-8859-4",
  csisolatincyrillic: "iso-8859-5",
  cyrillic: "iso-8859-5",
  "iso-8859-5": "iso-8859-5",
  "iso-ir-144": "iso-8859-5",
  "iso8859-5": "iso-8859-5",
  iso88595: "iso-8859-5",
  "iso_8859-5": "iso-8859-5",
  "iso_8859-5:1988": "iso-8859-5",
  arabic: "iso-8859-6",
  "asmo-708": "iso-8859-6",
  csiso88596e: "iso-8859-6",
  csiso88596i: "iso-8859-6",
  csisolatinarabic: "iso-8859-6",
  "ecma-114": "iso-8859-6",
  "iso-8859-6": "iso-8859-6",
  "iso-8859-6-e": "iso-8859-6",
  "iso-8859-6-i": "iso-8859-6",
  "iso-ir-127": "iso-8859-6",
  "iso8859-6": "iso-8859-6",
  iso88596: "iso-8859-6",
  "iso_8859-6": "iso-8859-6",
  "iso_8859-6:1987": "iso-8859-6",
  csisolatingreek: "iso-8859-7",
  "ecma-118": "iso-8859-7",
  elot_928: "iso-8859-7",
  greek: "iso-8859-7",
  greek8: "iso-8859-7",
  "iso-8859-7": "iso-8859-7",
  "iso-ir-126": "iso-8859-7",
  "iso8859-7": "iso-8859-7",
  iso88597: "iso-8859-7",
  "iso_8859-7": "iso-8859-7",
  "iso_8859-7:1987": "iso-8859-7",
  sun_eu_greek: "iso-8859-7",
  csiso88598e: "iso-8859-8",
  csisolatinhebrew: "iso-8859-8",
  hebrew: "iso-8859-8",
  "iso-8859-8": "iso-8859-8",
  "iso-8859-8-e": "iso-8859-8",
  "iso-ir-138": "iso-8859-8",
  "iso8859-8": "iso-8859-8",
  iso88598: "iso-8859-8",
  "iso_8859-8": "iso-8859-8",
  "iso_8859-8:1988": "iso-8859-8",
  visual: "iso-8859-8",
  csiso88598i: "iso-8859-8-i",
  "iso-8859-8-i": "iso-8859-8-i",
  logical: "iso-8859-8-i",
  csisolatin6: "iso-8859-10",
  "iso-8859-10": "iso-8859-10",
  "iso-ir-157": "iso-8859-10",
  "iso8859-10": "iso-8859-10",
  iso885910: "iso-8859-10",
  l6: "iso-8859-10",
  latin6: "iso-8859-10",
  "iso-8859-13": "iso-8859-13",
  "iso8859-13": "iso-8859-13",
  iso885913: "iso-8859-13",
  "iso-8859-14": "iso-8859-14",
  "iso8859-14": "iso-8859-14",
  iso885914: "iso-8859-14",
  csisolatin9: "iso-8859-15",
  "iso-8859-15": "iso-8859-15",
  "iso8859-15": "iso-8859-15",
  iso885915: "iso-8859-15",
  "iso_8859-15": "iso-8859-15",
  l9: "iso-8859-15",
  "iso-8859-16": "iso-8859-16",
  cskoi8r: "koi8-r",
  koi: "koi8-r",
  koi8: "koi8-r",
  "koi8-r": "koi8-r",
  koi8_r: "koi8-r",
  "koi8-u": "koi8-u",
  "koi8-ru": "koi8-u",
  csmacintosh: "macintosh",
  mac: "macintosh",
  macintosh: "macintosh",
  "x-mac-roman": "macintosh",
  "dos-874": "windows-874",
  "iso-8859-11": "windows-874",
  "iso8859-11": "windows-874",
  iso885911: "windows-874",
  "tis-620": "windows-874",
  "windows-874": "windows-874",
  cp1250: "windows-1250",
  "windows-1250": "windows-1250",
  "x-cp1250": "windows-1250",
  cp1251: "windows-1251",
  "windows-1251": "windows-1251",
  "x-cp1251": "windows-1251",
  cp1253: "windows-1253",
  "windows-1253": "windows-1253",
  "x-cp1253": "windows-1253",
  cp1254: "windows-1254",
  csisolatin5: "windows-1254",
  "iso-8859-9": "windows-1254",
  "iso-ir-148": "windows-1254",
  "iso8859-9": "windows-1254",
  iso88599: "windows-1254",
  "iso_8859-9": "windows-1254",
  "iso_8859-9:1989": "windows-1254",
  l5: "windows-1254",
  latin5: "windows-1254",
  "windows-1254": "windows-1254",
  "x-cp1254": "windows-1254",
  cp1255: "windows-1255",
  "windows-1255": "windows-1255",
  "x-cp1255": "windows-1255",
  cp1256: "windows-1256",
  "windows-1256": "windows-1256",
  "x-cp1256": "windows-1256",
  cp1257: "windows-1257",
  "windows-1257": "windows-1257",
  "x-cp1257": "windows-1257",
  cp1258: "windows-1258",
  "windows-1258": "windows-1258",
  "x-cp1258": "windows-1258",
  "x-mac-cyrillic": "x-mac-cyrillic",
  "x-mac-ukrainian": "x-mac-cyrillic",
  // The legacy multi-byte encodings.
  chinese: "gbk",
  csgb2312: "gbk",
  csiso58gb231280: "gbk",
  gb2312: "gbk",
  gb_2312: "gbk",
  "gb_2312-80": "gbk",
  gbk: "gbk",
  "iso-ir-58": "gbk",
  "x-gbk": "gbk",
  gb18030: "gb18030",
  big5: "big5",
  "big5-hkscs": "big5",
  "cn-big5": "big5",
  csbig5: "big5",
  "x-x-big5": "big5",
  cseucpkdfmtjapanese: "euc-jp",
  "euc-jp": "euc-jp",
  "x-euc-jp": "euc-jp",
  csiso2022jp: "iso-2022-jp",
  "iso-2022-jp": "iso-2022-jp",
  csshiftjis: "shift_jis",
  ms932: "shift_jis",
  ms_kanji: "shift_jis",
  "shift-jis": "shift_jis",
  shift_jis: "shift_jis",
  sjis: "shift_jis",
  "windows-31j": "shift_jis",
  "x-sjis": "shift_jis",
  cseuckr: "euc-kr",
  csksc56011987: "euc-kr",
  "euc-kr": "euc-kr",
  "iso-ir-149": "euc-kr",
  korean: "euc-kr",
  "ks_c_5601-1987": "euc-kr",
  "ks_c_5601-1989": "euc-kr",
  ksc5601: "euc-kr",
  ksc_5601: "euc-kr",
  "windows-949": "euc-kr",
};

/**
 * Get an encoding (Encoding §4.2): trim ASCII whitespace, ASCII-lowercase, look up.
 * Undefined for an unknown label, and for the replacement encoding's labels.
 */
export function getEncoding(label: string): string | undefined {
  let start = 0;
  let end = label.length;
  const isWhitespace = (c: number): boolean => c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;
  while (start < end && isWhitespace(StringPrototypeCharCodeAt(label, start))) start++;
  while (end > start && isWhitespace(StringPrototypeCharCodeAt(label, end - 1))) end--;
  let key = "";
  for (let i = start; i < end; i++) {
    const c = StringPrototypeCharCodeAt(label, i);
    // No label has non-ASCII; String#toLowerCase would also fold e.g. U+212A KELVIN SIGN to "k".
    if (c >= 0x80) return undefined;
    key += StringFromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
  }
  return LABELS[key];
}
