import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { hostCalls, installTestHostOps } from "../../../../test/support/guest-host-ops.ts";
import { readIndexes, referenceDecode, type Index } from "../../../../test/support/encoding-reference.ts";
import { TextDecoder } from "./text-encoding.ts";

installTestHostOps();

/** Node's own TextDecoder (ICU): a second opinion, not the reference. */
const IcuTextDecoder = globalThis.TextDecoder;
const indexes = readIndexes();
const ENCODINGS = ["gbk", "gb18030", "big5", "euc-jp", "iso-2022-jp", "shift_jis", "euc-kr"];

function hex(text: string): Uint8Array {
  return Uint8Array.from(text.replace(/\s+/g, "").match(/../g) ?? [], (h) => parseInt(h, 16));
}

function decode(encoding: string, bytes: string | Uint8Array, fatal = false): string {
  return new TextDecoder(encoding, { fatal }).decode(typeof bytes === "string" ? hex(bytes) : bytes);
}

/** Each byte sequence and what it decodes to, replacement and fatal mode both checked. */
function check(encoding: string, cases: [bytes: string, text: string][]): void {
  for (const [bytes, text] of cases) {
    assert.equal(decode(encoding, bytes), text, `${encoding} ${bytes}`);
    if (text.includes("\ufffd")) assert.throws(() => decode(encoding, bytes, true), TypeError, `${encoding} ${bytes} fatal`);
    else assert.equal(decode(encoding, bytes, true), text, `${encoding} ${bytes} fatal`);
  }
}

/** Deterministic PRNG so failures reproduce. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What decoding `chunks` (streamed, the last one flushing) gives; null for a TypeError. */
function decodeChunks(encoding: string, chunks: Uint8Array[], fatal: boolean): string | null {
  const decoder = new TextDecoder(encoding, { fatal });
  let text = "";
  try {
    for (let c = 0; c < chunks.length; c++) text += decoder.decode(chunks[c], { stream: c < chunks.length - 1 });
  } catch (error) {
    assert.ok(error instanceof TypeError);
    return null;
  }
  return text;
}

/** Every chunking of `bytes` in two, and one byte at a time, against the one-call result. */
function assertStreamsLikeOneCall(encoding: string, bytes: Uint8Array, fatal = false): void {
  const whole = decodeChunks(encoding, [bytes], fatal);
  for (let split = 0; split <= bytes.length; split++) {
    assert.equal(decodeChunks(encoding, [bytes.subarray(0, split), bytes.subarray(split)], fatal), whole, `${encoding}: split at ${split}`);
  }
  const bytewise = Array.from(bytes, (byte) => Uint8Array.of(byte));
  assert.equal(decodeChunks(encoding, [...bytewise, new Uint8Array(0)], fatal), whole, `${encoding}: one byte at a time`);
}

describe("TextDecoder with GBK and gb18030", () => {
  test("decodes ASCII, the euro byte and two-byte sequences through index gb18030, GBK alike", () => {
    for (const encoding of ["gbk", "gb18030"]) {
      check(encoding, [
        ["48 69", "Hi"],
        ["80", "€"],
        ["c4e3 bac3 cac0 bde7", "你好世界"],
        ["8140 817e 8180 81fe", "\u4e02\u4e8a\u4e90\u4fa2"],
        ["fe40 fefe", "\ufa0c\ue4c5"],
        // 0xA3 0xA0 is U+3000 for deployed content, not GB18030's U+E5E5.
        ["a3a0", "\u3000"],
      ]);
    }
  });

  test("decodes four-byte sequences through the ranges, up to U+10FFFF, and refuses pointers outside them", () => {
    check("gb18030", [
      ["81308130", "\u0080"],
      ["8135f436", "\u1e3e"],
      // Pointer 7457 is special-cased to U+E7C7 (its range would say U+1E3F, which 0xA8 0xBC has).
      ["8135f437", "\ue7c7"],
      ["8135f438", "\u1e40"],
      ["8431a439", "\uffff"],
      ["8431a530", "\ufffd"],
      ["8f39fe39", "\ufffd"],
      ["90308130", "\u{10000}"],
      ["e3329a35", "\u{10ffff}"],
      ["e3329a36", "\ufffd"],
      ["fe39fe39", "\ufffd"],
    ]);
  });

  test("the 18 characters GB18030-2022 moved out of the private use area decode from both their two- and four-byte forms", () => {
    const twoByte = "a6d9 a6da a6db a6dc a6dd a6de a6df a6ec a6ed a6f3 fe59 fe61 fe66 fe67 fe6d fe7e fe90 fea0";
    const expected = "\ufe10\ufe12\ufe11\ufe13\ufe14\ufe15\ufe16\ufe17\ufe18\ufe19\u9fb4\u9fb5\u9fb6\u9fb7\u9fb8\u9fb9\u9fba\u9fbb";
    check("gb18030", [[twoByte, expected]]);
    check("gbk", [[twoByte, expected]]);
    check("gb18030", [["84318236 84318238 84318237 84318239 82359037 82359134", "\ufe10\ufe12\ufe11\ufe13\u9fb4\u9fbb"]]);
  });

  test("a broken sequence gives back what it held: an ASCII byte is decoded, a digit output, a third byte starts anew", () => {
    check("gb18030", [
      ["81", "\ufffd"],
      ["8128", "\ufffd("],
      ["817f", "\ufffd\u007f"],
      ["81ff", "\ufffd"],
      ["8130", "\ufffd"],
      ["8130fe", "\ufffd"],
      // « second, byte » restored: the digit, then 0xFF (an error of its own).
      ["8130ff", "\ufffd0\ufffd"],
      // « second, third, byte » restored: the digit, then 0xFE 0x29 (an error, then ")").
      ["8130fe29", "\ufffd0\ufffd)"],
      // The restored third byte leads a valid two-byte sequence with the byte after.
      ["8130c4e3", "\ufffd0你"],
      ["ff41", "\ufffdA"],
    ]);
  });
});

describe("TextDecoder with Big5", () => {
  test("decodes two-byte sequences, supplementary-plane characters as surrogate pairs, and four pointers as two code points each", () => {
    check("big5", [
      ["a4a4 a4e5", "中文"],
      ["a140 a3e1", "\u3000\u20ac"],
      // HKSCS: 0x87 0x45 is U+27267, 0x88 0x40 U+31C0.
      ["8745 8840", "\u{27267}\u31c0"],
      ["8862 8864 88a3 88a5", "\u00ca\u0304\u00ca\u030c\u00ea\u0304\u00ea\u030c"],
      ["8863", "\u1ebe"],
    ]);
    const pair = decode("big5", "8745");
    assert.equal(pair.length, 2);
    assert.equal(pair.codePointAt(0), 0x27267);
  });

  test("an ASCII trail byte of a pointer without a code point is an error and is then decoded itself", () => {
    check("big5", [
      ["8140", "\ufffd@"],
      ["a1", "\ufffd"],
      ["80", "\ufffd"],
      ["ff", "\ufffd"],
      ["a17f", "\ufffd\u007f"],
      ["a1a0", "\ufffd"],
      ["a4a4a1", "中\ufffd"],
    ]);
  });
});

describe("TextDecoder with EUC-JP", () => {
  test("decodes JIS X 0208 pairs, halfwidth katakana after 0x8E and JIS X 0212 after 0x8F", () => {
    check("euc-jp", [
      ["a4b3 a4f3 a4cb a4c1 a4cf", "こんにちは"],
      ["8eb1 8edf", "\uff71\uff9f"],
      ["8fb0a1 8fa2af", "\u4e02\u02d8"],
      ["5c 7e", "\\~"],
    ]);
  });

  test("errors: a lead byte without its pair, an 0x8E or 0x8F prefix without what must follow", () => {
    check("euc-jp", [
      ["a4", "\ufffd"],
      ["a441", "\ufffdA"],
      ["8ee0", "\ufffd"],
      ["8e41", "\ufffdA"],
      ["8f41", "\ufffdA"],
      ["8fa1", "\ufffd"],
      ["8fa141", "\ufffdA"],
      // JIS X 0212 row 0x73 has no code points: an error, though JIS X 0208 would have one.
      ["8ff3a1", "\ufffd"],
      ["80 a0 ff", "\ufffd\ufffd\ufffd"],
    ]);
  });
});

describe("TextDecoder with ISO-2022-JP", () => {
  test("escape sequences switch between ASCII, JIS X 0201 Roman, katakana and JIS X 0208", () => {
    check("iso-2022-jp", [
      ["41 1b2442 2422 1b2842 42", "A\u3042B"],
      ["1b2440 2422 1b2842", "\u3042"],
      ["1b284a 5c 7e 41 1b2842 5c 7e", "\u00a5\u203eA\\~"],
      ["1b2849 21 5f 1b2842", "\uff61\uff9f"],
      // The state lasts to the end; nothing needs to switch back to ASCII.
      ["1b2442 2422", "\u3042"],
    ]);
  });

  test("an escape sequence with no text since the last one is an error (the output flag)", () => {
    check("iso-2022-jp", [
      ["1b284a 1b2842 41", "\ufffdA"],
      ["1b2442 1b2842", "\ufffd"],
      ["1b2842 41", "A"],
      ["1b2842 1b2842 41", "\ufffdA"],
      ["41 1b284a 42 1b2842 43", "ABC"],
    ]);
  });

  test("errors: SO, SI and 8-bit bytes, broken escapes restored to the input, broken double-byte characters", () => {
    check("iso-2022-jp", [
      ["0e 0f 80 41", "\ufffd\ufffd\ufffdA"],
      ["1b", "\ufffd"],
      ["1b 41", "\ufffdA"],
      // An unknown escape: ESC is the error, the two bytes after are decoded as text.
      ["1b2841", "\ufffd(A"],
      ["1b24", "\ufffd$"],
      ["1b28", "\ufffd("],
      // In JIS X 0208 the restored "(" and "A" make a pair: row 8, cell 33 has no code point.
      ["1b2442 1b2841", "\ufffd\ufffd"],
      ["1b2442 24", "\ufffd"],
      // A trail byte outside 0x21–0x7E is swallowed with the lead.
      ["1b2442 2420", "\ufffd"],
      ["1b2442 24 1b2842 41", "\ufffdA"],
      ["1b2849 60 1b2842", "\ufffd"],
      ["1b2442 7f 1b2842", "\ufffd"],
    ]);
  });

  test("escape sequences and characters split across chunks decode as in one call", () => {
    for (const bytes of ["41 1b2442 2422 2424 1b284a 5c 1b2849 21 1b2842 42", "1b2841 1b24 1b2442 1b2842 1b", "1b2442 24 1b2842 41 1b28"]) {
      assertStreamsLikeOneCall("iso-2022-jp", hex(bytes));
    }
  });
});

describe("TextDecoder with Shift_JIS", () => {
  test("decodes ASCII and 0x80 as themselves, halfwidth katakana, JIS X 0208 pairs and the EUDC range", () => {
    check("shift_jis", [
      ["82b1 82f1 82c9 82bf 82cd", "こんにちは"],
      ["41 5c 7e 80", "A\\~\u0080"],
      ["a1 b1 df", "\uff61\uff71\uff9f"],
      ["889f eaa4", "\u4e9c\u7199"],
      // Pointers 8836–10715: Windows' end-user-defined characters, U+E000–U+E757.
      ["f040 f9fc", "\ue000\ue757"],
    ]);
  });

  test("errors: a lone lead byte, a pair without a code point (its ASCII trail decoded after), unused bytes", () => {
    check("shift_jis", [
      ["82", "\ufffd"],
      ["8240", "\ufffd@"],
      ["81ad", "\ufffd"],
      ["817f", "\ufffd\u007f"],
      ["81fd", "\ufffd"],
      ["a0 fd fe ff", "\ufffd\ufffd\ufffd\ufffd"],
    ]);
  });
});

describe("TextDecoder with EUC-KR", () => {
  test("decodes KS X 1001 pairs and the Unified Hangul Code extension of Windows 949", () => {
    check("euc-kr", [
      ["c7d1 b1b9 be ee", "한국어"],
      ["8141 a0fe", "\uac02\uc8a4"],
      // KS X 1001:1998 added the euro sign and the registered sign.
      ["a2e6 a2e7", "\u20ac\u00ae"],
      ["a1a1", "\u3000"],
    ]);
  });

  test("errors: a lone lead byte, a pair without a code point (its ASCII trail decoded after), unused bytes", () => {
    check("euc-kr", [
      ["81", "\ufffd"],
      ["815b", "\ufffd["],
      ["8140", "\ufffd@"],
      ["c9a1", "\ufffd"],
      ["80 ff", "\ufffd\ufffd"],
    ]);
  });
});

describe("the legacy multi-byte decoders together", () => {
  /** Text with multi-byte sequences and errors of each kind, per encoding. */
  const samples: Record<string, string> = {
    gbk: "41 c4e3 80 81 30 ff 8130fe29 bac3 a6d9 ff 81",
    gb18030: "41 c4e3 8135f437 90308130 e3329a35 8130c4e3 8431a530 81 30 81",
    big5: "41 a4a4 8745 8862 88a5 8140 a1 ff a4e5 87",
    "euc-jp": "41 a4b3 8eb1 8fb0a1 8ff3a1 a441 8e41 8fa1 a4",
    "iso-2022-jp": "41 1b2442 2422 1b284a 5c 1b2849 21 1b2842 1b2841 0e 1b2442 24",
    shift_jis: "41 82b1 a1 f040 80 8240 a0 889f 82",
    "euc-kr": "41 c7d1 8141 815b c9a1 80 b1b9 c7",
  };

  test("split at every point of a stream, or fed a byte at a time, each input decodes as in one call", () => {
    for (const encoding of ENCODINGS) {
      assertStreamsLikeOneCall(encoding, hex(samples[encoding]!));
      assertStreamsLikeOneCall(encoding, hex(samples[encoding]!), true);
    }
  });

  test("a fatal decoder throws a TypeError at the first error and leaves the next decode unaffected", () => {
    for (const encoding of ENCODINGS) {
      const decoder = new TextDecoder(encoding, { fatal: true });
      assert.throws(() => decoder.decode(hex(samples[encoding]!)), TypeError, encoding);
      assert.equal(decoder.decode(hex("41 42")), "AB", encoding);
      assert.equal(decoder.fatal, true);
    }
  });

  test("an unfinished sequence is held while streaming and is an error at the end", () => {
    for (const [encoding, lead] of [["gb18030", "81 30 81"], ["big5", "a4"], ["euc-jp", "8f a1"], ["iso-2022-jp", "1b 24"], ["shift_jis", "82"], ["euc-kr", "c7"]] as const) {
      const decoder = new TextDecoder(encoding);
      assert.equal(decoder.decode(hex(lead), { stream: true }), "", encoding);
      assert.equal(decoder.decode(), encoding === "iso-2022-jp" ? "\ufffd$" : "\ufffd", encoding);
      const fatal = new TextDecoder(encoding, { fatal: true });
      assert.equal(fatal.decode(hex(lead), { stream: true }), "", encoding);
      assert.throws(() => fatal.decode(), TypeError, encoding);
    }
  });

  test("match a literal transcription of the spec's handlers on random bytes in random chunks", () => {
    const next = random(15);
    // Bytes each encoding gives meaning to, so most sequences are valid or nearly so.
    const alphabets: Record<string, number[]> = {
      gb18030: [0x30, 0x35, 0x39, 0x41, 0x7e, 0x7f, 0x80, 0x81, 0x84, 0x8f, 0x90, 0xa6, 0xd9, 0xe3, 0xfe, 0xff],
      big5: [0x40, 0x41, 0x7e, 0x7f, 0x80, 0x81, 0x87, 0x88, 0x62, 0xa1, 0xa4, 0xa3, 0xc6, 0xf9, 0xfe, 0xff],
      "euc-jp": [0x41, 0x7f, 0x80, 0x8e, 0x8f, 0xa1, 0xa4, 0xb0, 0xdf, 0xe0, 0xf3, 0xfe, 0xff],
      "iso-2022-jp": [0x0e, 0x1b, 0x1b, 0x21, 0x22, 0x24, 0x24, 0x28, 0x28, 0x40, 0x42, 0x42, 0x49, 0x4a, 0x5c, 0x5f, 0x7e, 0x80],
      shift_jis: [0x40, 0x7e, 0x7f, 0x80, 0x81, 0x82, 0x9f, 0xa0, 0xa1, 0xdf, 0xe0, 0xea, 0xf0, 0xfc, 0xfd],
      "euc-kr": [0x41, 0x5a, 0x61, 0x7f, 0x80, 0x81, 0xa0, 0xa1, 0xc6, 0xc7, 0xc9, 0xfe, 0xff],
    };
    alphabets["gbk"] = alphabets["gb18030"]!;
    for (const encoding of ENCODINGS) {
      const alphabet = alphabets[encoding]!;
      for (let round = 0; round < 300; round++) {
        const bytes = Uint8Array.from({ length: Math.floor(next() * 24) }, () => (next() < 0.85 ? alphabet[Math.floor(next() * alphabet.length)]! : Math.floor(next() * 256)));
        const chunks: Uint8Array[] = [];
        for (let at = 0; at < bytes.length; ) {
          const size = Math.floor(next() * 5);
          chunks.push(bytes.subarray(at, at + size));
          at += size;
        }
        chunks.push(bytes.subarray(bytes.length));
        for (const fatal of [false, true]) {
          const expected = referenceDecode(indexes, encoding, chunks, fatal);
          assert.equal(decodeChunks(encoding, chunks, fatal), expected, `${encoding} ${fatal ? "fatal " : ""}${Buffer.from(bytes).toString("hex")} in chunks of ${chunks.map((c) => c.length).join(",")}`);
        }
      }
    }
  });

  /** Every pointer of an index as bytes, and what the decoder must make of them. */
  interface Pointers {
    bytes: number[];
    text: string;
  }

  function everyPointer(index: Index, bytesOf: (pointer: number) => number[] | null, special: (pointer: number) => string | undefined = () => undefined): Pointers {
    const out: Pointers = { bytes: [], text: "" };
    for (let pointer = 0; pointer < index.length; pointer++) {
      const bytes = bytesOf(pointer);
      if (bytes === null) continue;
      out.bytes.push(...bytes);
      const cp = index[pointer] ?? null;
      const last = bytes[bytes.length - 1]!;
      // No code point: an error, and an ASCII trail byte decoded after it.
      out.text += special(pointer) ?? (cp !== null ? String.fromCodePoint(cp) : last < 0x80 ? `\ufffd${String.fromCharCode(last)}` : "\ufffd");
    }
    return out;
  }

  test("every pointer of every index decodes to the index's code point", () => {
    const gb = everyPointer(indexes.gb18030, (p) => [Math.floor(p / 190) + 0x81, (p % 190) + (p % 190 < 0x3f ? 0x40 : 0x41)]);
    const big5 = everyPointer(
      indexes.big5,
      (p) => [Math.floor(p / 157) + 0x81, (p % 157) + (p % 157 < 0x3f ? 0x40 : 0x62)],
      (p) => ({ 1133: "\u00ca\u0304", 1135: "\u00ca\u030c", 1164: "\u00ea\u0304", 1166: "\u00ea\u030c" })[p],
    );
    const jis0208 = everyPointer(indexes.jis0208, (p) => (p < 8836 ? [Math.floor(p / 94) + 0xa1, (p % 94) + 0xa1] : null));
    const jis0212 = everyPointer(indexes.jis0212, (p) => [0x8f, Math.floor(p / 94) + 0xa1, (p % 94) + 0xa1]);
    const sjis = everyPointer(
      indexes.jis0208,
      (p) => [Math.floor(p / 188) + (Math.floor(p / 188) < 0x1f ? 0x81 : 0xc1), (p % 188) + (p % 188 < 0x3f ? 0x40 : 0x41)],
      (p) => (p >= 8836 && p <= 10715 ? String.fromCharCode(0xe000 - 8836 + p) : undefined),
    );
    // In ISO-2022-JP a broken pair is one error: its trail byte is not read again.
    const iso = everyPointer(indexes.jis0208, (p) => (p < 8836 ? [Math.floor(p / 94) + 0x21, (p % 94) + 0x21] : null), (p) => (indexes.jis0208[p] === null ? "\ufffd" : undefined));
    const kr = everyPointer(indexes.eucKr, (p) => [Math.floor(p / 190) + 0x81, (p % 190) + 0x41]);
    assert.equal(decode("gbk", Uint8Array.from(gb.bytes)), gb.text);
    assert.equal(decode("gb18030", Uint8Array.from(gb.bytes)), gb.text);
    assert.equal(decode("big5", Uint8Array.from(big5.bytes)), big5.text);
    assert.equal(decode("euc-jp", Uint8Array.from(jis0208.bytes)), jis0208.text);
    assert.equal(decode("euc-jp", Uint8Array.from(jis0212.bytes)), jis0212.text);
    assert.equal(decode("shift_jis", Uint8Array.from(sjis.bytes)), sjis.text);
    assert.equal(decode("iso-2022-jp", Uint8Array.from([0x1b, 0x24, 0x42, ...iso.bytes])), iso.text);
    assert.equal(decode("euc-kr", Uint8Array.from(kr.bytes)), kr.text);
  });

  test("every four-byte gb18030 pointer decodes through index gb18030 ranges", () => {
    const ranges = indexes.gb18030Ranges;
    const bytes: number[] = [];
    let text = "";
    let r = 0;
    for (let pointer = 0; pointer <= 1237576; pointer++) {
      if (pointer === 39420) pointer = 189000 - 1; // the unassigned gap, checked at its ends only
      while (r + 1 < ranges.length && ranges[r + 1]![0] <= pointer) r++;
      bytes.push(Math.floor(pointer / 12600) + 0x81, Math.floor((pointer % 12600) / 1260) + 0x30, Math.floor((pointer % 1260) / 10) + 0x81, (pointer % 10) + 0x30);
      const invalid = (pointer > 39419 && pointer < 189000) || pointer > 1237575;
      text += invalid ? "\ufffd" : pointer === 7457 ? "\ue7c7" : String.fromCodePoint(ranges[r]![1] + pointer - ranges[r]![0]);
    }
    assert.equal(decode("gb18030", Uint8Array.from(bytes)), text);
  });

  test("agree with Node's ICU on every pointer except where ICU does not follow the Encoding Standard", (t) => {
    const differences: Record<string, number> = {};
    const cases: [string, Index, (p: number) => number[] | null, (p: number, bytes: number[], ours: string, icu: string) => boolean][] = [
      // Node's ICU has GB18030-2022 as the standard does: no difference expected.
      ["gb18030", indexes.gb18030, (p) => [Math.floor(p / 190) + 0x81, (p % 190) + (p % 190 < 0x3f ? 0x40 : 0x41)], () => false],
      ["gbk", indexes.gb18030, (p) => [Math.floor(p / 190) + 0x81, (p % 190) + (p % 190 < 0x3f ? 0x40 : 0x41)], () => false],
      // ICU's big5 is Big5 with HKSCS in the private use area and without the standard's
      // additions (control pictures at 0xA3C0–0xA3E1), and 0xF9FE is U+2593 rather than U+FFED.
      ["big5", indexes.big5, (p) => [Math.floor(p / 157) + 0x81, (p % 157) + (p % 157 < 0x3f ? 0x40 : 0x62)],
        (_p, bytes, _ours, icu) => /[\ue000-\uf8ff\ufffd]/u.test(icu) || (bytes[0] === 0xf9 && bytes[1] === 0xfe && icu === "\u2593")],
      // ICU maps row 0x73 of JIS X 0212 (small roman numerals and more), where the standard has nothing.
      ["euc-jp", indexes.jis0212, (p) => [0x8f, Math.floor(p / 94) + 0xa1, (p % 94) + 0xa1], (_p, bytes, ours) => bytes[1] === 0xf3 && ours === "\ufffd"],
      ["euc-jp", indexes.jis0208, (p) => (p < 8836 ? [Math.floor(p / 94) + 0xa1, (p % 94) + 0xa1] : null), () => false],
      ["iso-2022-jp", indexes.jis0208, (p) => (p < 8836 ? [0x1b, 0x24, 0x42, Math.floor(p / 94) + 0x21, (p % 94) + 0x21] : null), () => false],
      // Where a pair has no code point, ICU swallows an ASCII trail byte; the standard decodes it after the U+FFFD.
      ["shift_jis", indexes.jis0208, (p) => [Math.floor(p / 188) + (Math.floor(p / 188) < 0x1f ? 0x81 : 0xc1), (p % 188) + (p % 188 < 0x3f ? 0x40 : 0x41)],
        (_p, bytes, ours, icu) => bytes[1]! < 0x80 && ours === `\ufffd${String.fromCharCode(bytes[1]!)}` && icu === "\ufffd"],
      // ICU's euc-kr is KS X 1001 alone (lead and trail 0xA1–0xFE, user-defined rows 0xC9 and
      // 0xFE in the private use area) as of before 1998 (no € and ® at 0xA2E6–0xA2E7); the
      // standard's is Windows 949, with its Hangul extension.
      ["euc-kr", indexes.eucKr, (p) => [Math.floor(p / 190) + 0x81, (p % 190) + 0x41],
        (_p, bytes) => bytes[0]! < 0xa1 || bytes[1]! < 0xa1 || bytes[0] === 0xc9 || bytes[0] === 0xfe || (bytes[0] === 0xa2 && (bytes[1] === 0xe6 || bytes[1] === 0xe7))],
    ];
    for (const [encoding, index, bytesOf, explained] of cases) {
      const icu = new IcuTextDecoder(encoding);
      for (let pointer = 0; pointer < index.length; pointer++) {
        const bytes = bytesOf(pointer);
        if (bytes === null) continue;
        const input = Uint8Array.from(bytes);
        const ours = decode(encoding, input);
        const theirs = icu.decode(input);
        if (ours === theirs) continue;
        differences[encoding] = (differences[encoding] ?? 0) + 1;
        assert.ok(explained(pointer, bytes, ours, theirs), `${encoding} ${Buffer.from(bytes).toString("hex")}: ours ${JSON.stringify(ours)}, ICU ${JSON.stringify(theirs)}`);
      }
    }
    t.diagnostic(`pointers where ICU differs: ${JSON.stringify(differences)}`);
    assert.deepEqual(Object.keys(differences).sort(), ["big5", "euc-jp", "euc-kr", "shift_jis"]);
  });

  test("all labels of the Encoding Standard's table name these encodings; the replacement encoding's are a RangeError", () => {
    const labels: Record<string, string[]> = {
      gbk: ["chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "gbk", "iso-ir-58", "x-gbk"],
      gb18030: ["gb18030"],
      big5: ["big5", "big5-hkscs", "cn-big5", "csbig5", "x-x-big5"],
      "euc-jp": ["cseucpkdfmtjapanese", "euc-jp", "x-euc-jp"],
      "iso-2022-jp": ["csiso2022jp", "iso-2022-jp"],
      shift_jis: ["csshiftjis", "ms932", "ms_kanji", "shift-jis", "shift_jis", "sjis", "windows-31j", "x-sjis"],
      "euc-kr": ["cseuckr", "csksc56011987", "euc-kr", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989", "ksc5601", "ksc_5601", "windows-949"],
    };
    for (const [name, list] of Object.entries(labels)) {
      for (const label of list) {
        assert.equal(new TextDecoder(label).encoding, name, label);
        assert.equal(new TextDecoder(` ${label.toUpperCase()}\n`).encoding, name, label);
      }
    }
    for (const label of ["replacement", "csiso2022kr", "hz-gb-2312", "iso-2022-cn", "iso-2022-cn-ext", "iso-2022-kr"]) {
      assert.throws(() => new TextDecoder(label), RangeError, label);
    }
  });

  test("the tables come from the host once each, whatever the number of decoders", () => {
    // Earlier tests loaded every table; constructing more decoders asks for nothing new.
    const before = hostCalls.encodingIndex;
    for (const encoding of ENCODINGS) new TextDecoder(encoding).decode(hex("41"));
    assert.equal(hostCalls.encodingIndex, before);
    assert.ok(before <= 6, `${before} host calls for 6 tables`);
  });
});
