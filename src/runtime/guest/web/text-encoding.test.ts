import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { TextDecoder, TextEncoder } from "./text-encoding.ts";
import { utf8Decode } from "./utf8.ts";

const NodeTextDecoder = globalThis.TextDecoder;
const NodeTextEncoder = globalThis.TextEncoder;

function bytes(...values: number[]): Uint8Array {
  return new Uint8Array(values);
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

/** Random bytes biased towards UTF-8 lead and continuation bytes, to hit every error path. */
function randomBytes(next: () => number, length: number): Uint8Array {
  const interesting = [0x00, 0x41, 0x7f, 0x80, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa0, 0x9f, 0x90, 0x8f];
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) {
    out[i] = next() < 0.6 ? interesting[Math.floor(next() * interesting.length)]! : Math.floor(next() * 256);
  }
  return out;
}

describe("TextEncoder", () => {
  test("encodes to UTF-8 and reports utf-8 as its encoding", () => {
    const encoder = new TextEncoder();
    assert.equal(encoder.encoding, "utf-8");
    assert.deepEqual(encoder.encode("A€😀"), bytes(0x41, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80));
    assert.deepEqual(encoder.encode(), bytes());
    assert.deepEqual(encoder.encode(undefined), bytes());
    assert.deepEqual(encoder.encode(12 as unknown as string), bytes(0x31, 0x32));
  });

  test("encodes lone surrogates as U+FFFD", () => {
    const encoder = new TextEncoder();
    assert.deepEqual(encoder.encode("\ud800"), bytes(0xef, 0xbf, 0xbd));
    assert.deepEqual(encoder.encode("a\udc00b"), bytes(0x61, 0xef, 0xbf, 0xbd, 0x62));
    assert.deepEqual(encoder.encode("\ud83d\ud83d\ude00"), bytes(0xef, 0xbf, 0xbd, 0xf0, 0x9f, 0x98, 0x80));
  });

  test("returns a fresh Uint8Array over its own buffer", () => {
    const out = new TextEncoder().encode("hello");
    assert.ok(out instanceof Uint8Array);
    assert.equal(out.byteOffset, 0);
    assert.equal(out.buffer.byteLength, 5);
  });

  test("matches Node's encoder on random strings", () => {
    const next = random(1);
    const ours = new TextEncoder();
    const theirs = new NodeTextEncoder();
    for (let i = 0; i < 500; i++) {
      let s = "";
      const n = Math.floor(next() * 40);
      for (let k = 0; k < n; k++) {
        const r = next();
        s += String.fromCharCode(r < 0.5 ? Math.floor(next() * 128) : r < 0.8 ? Math.floor(next() * 0x800) : Math.floor(next() * 0x10000));
      }
      assert.deepEqual(ours.encode(s), theirs.encode(s));
    }
  });

  test("encodeInto writes whole code points only and reports code units read", () => {
    const encoder = new TextEncoder();
    const dest = new Uint8Array(5);
    assert.deepEqual(encoder.encodeInto("A€😀", dest), { read: 2, written: 4 });
    assert.deepEqual(dest, bytes(0x41, 0xe2, 0x82, 0xac, 0));
    const big = new Uint8Array(8);
    assert.deepEqual(encoder.encodeInto("A€😀", big), { read: 4, written: 8 });
    assert.deepEqual(encoder.encodeInto("\ud800x", new Uint8Array(2)), { read: 0, written: 0 });
    assert.deepEqual(encoder.encodeInto("\ud800x", new Uint8Array(4)), { read: 2, written: 4 });
  });

  test("encodeInto writes into a view at its offset", () => {
    const buffer = new Uint8Array(6);
    const view = buffer.subarray(2, 5);
    assert.deepEqual(new TextEncoder().encodeInto("abcd", view), { read: 3, written: 3 });
    assert.deepEqual(buffer, bytes(0, 0, 0x61, 0x62, 0x63, 0));
  });

  test("encodeInto matches Node's on random strings and sizes", () => {
    const next = random(2);
    const ours = new TextEncoder();
    const theirs = new NodeTextEncoder();
    for (let i = 0; i < 300; i++) {
      let s = "";
      for (let k = 0; k < 10; k++) s += ["a", "é", "€", "😀", "\ud800", "\udc00"][Math.floor(next() * 6)];
      const size = Math.floor(next() * 24);
      const a = new Uint8Array(size);
      const b = new Uint8Array(size);
      assert.deepEqual(ours.encodeInto(s, a), theirs.encodeInto(s, b), s);
      assert.deepEqual(a, b);
    }
  });

  test("encodeInto requires a Uint8Array destination", () => {
    const encoder = new TextEncoder();
    assert.throws(() => encoder.encodeInto("a", new Uint16Array(2) as unknown as Uint8Array), TypeError);
    assert.throws(() => encoder.encodeInto("a", [] as unknown as Uint8Array), TypeError);
    assert.throws(() => (encoder.encodeInto as unknown as (s: string) => void)("a"), /2 arguments required/);
  });

  test("members throw Illegal invocation on other receivers", () => {
    assert.throws(() => TextEncoder.prototype.encode.call({}, "a"), /Illegal invocation/);
    assert.throws(() => Object.getOwnPropertyDescriptor(TextEncoder.prototype, "encoding")!.get!.call({}), TypeError);
  });
});

describe("TextDecoder labels", () => {
  test("labels are trimmed, case-insensitive, and map to the canonical names", () => {
    const cases: [string, string][] = [
      ["utf-8", "utf-8"],
      [" UTF8 \n", "utf-8"],
      ["unicode-1-1-utf-8", "utf-8"],
      ["x-unicode20utf8", "utf-8"],
      ["utf-16", "utf-16le"],
      ["UTF-16LE", "utf-16le"],
      ["ucs-2", "utf-16le"],
      ["unicodefffe", "utf-16be"],
      ["utf-16be", "utf-16be"],
      ["latin1", "windows-1252"],
      ["iso-8859-1", "windows-1252"],
      ["ascii", "windows-1252"],
      ["us-ascii", "windows-1252"],
      ["cp1252", "windows-1252"],
      ["x-user-defined", "x-user-defined"],
    ];
    for (const [label, name] of cases) assert.equal(new TextDecoder(label).encoding, name, label);
    assert.equal(new TextDecoder().encoding, "utf-8");
    assert.equal(new TextDecoder(undefined).encoding, "utf-8");
  });

  test("unknown labels, and the replacement encoding, are a RangeError", () => {
    for (const label of ["utf-9", "", "replacement", "iso-2022-kr", "\u212Aoi8-r", "utf-8\u0000"]) {
      assert.throws(() => new TextDecoder(label), RangeError, label);
    }
    assert.throws(() => new TextDecoder("nope"), {
      name: "RangeError",
      message: "Failed to construct 'TextDecoder': The encoding label provided ('nope') is invalid.",
    });
  });

  test("options are read as a dictionary", () => {
    const decoder = new TextDecoder("utf-8", { fatal: 1 as unknown as boolean, ignoreBOM: "" as unknown as boolean });
    assert.equal(decoder.fatal, true);
    assert.equal(decoder.ignoreBOM, false);
    assert.equal(new TextDecoder("utf-8", null as unknown as undefined).fatal, false);
    assert.throws(() => new TextDecoder("utf-8", 5 as unknown as undefined), TypeError);
  });
});

describe("TextDecoder with UTF-8", () => {
  test("decodes ASCII, multi-byte sequences and supplementary code points", () => {
    const decoder = new TextDecoder();
    assert.equal(decoder.decode(bytes(0x68, 0x69)), "hi");
    assert.equal(decoder.decode(bytes(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80)), "é€😀");
    assert.equal(decoder.decode(), "");
    assert.equal(decoder.decode(undefined), "");
  });

  test("replaces each maximal invalid subpart with one U+FFFD", () => {
    const decoder = new TextDecoder();
    assert.equal(decoder.decode(bytes(0xff)), "\ufffd");
    assert.equal(decoder.decode(bytes(0xf0, 0x90, 0x80, 0x41)), "\ufffdA");
    assert.equal(decoder.decode(bytes(0xe0, 0x80, 0x80)), "\ufffd\ufffd\ufffd");
    assert.equal(decoder.decode(bytes(0xed, 0xa0, 0x80)), "\ufffd\ufffd\ufffd");
    assert.equal(decoder.decode(bytes(0xc0, 0xaf)), "\ufffd\ufffd");
    assert.equal(decoder.decode(bytes(0xf4, 0x90, 0x80, 0x80)), "\ufffd\ufffd\ufffd\ufffd");
    assert.equal(decoder.decode(bytes(0xe2, 0x82)), "\ufffd");
  });

  test("drops one leading BOM unless ignoreBOM", () => {
    const bom = bytes(0xef, 0xbb, 0xbf, 0x41, 0xef, 0xbb, 0xbf);
    assert.equal(new TextDecoder().decode(bom), "A\ufeff");
    assert.equal(new TextDecoder("utf-8", { ignoreBOM: true }).decode(bom), "\ufeffA\ufeff");
  });

  test("a BOM split across streamed chunks is still dropped, but only at the start of the stream", () => {
    const decoder = new TextDecoder();
    assert.equal(decoder.decode(bytes(0xef), { stream: true }), "");
    assert.equal(decoder.decode(bytes(0xbb), { stream: true }), "");
    assert.equal(decoder.decode(bytes(0xbf, 0x41), { stream: true }), "A");
    assert.equal(decoder.decode(bytes(0xef, 0xbb, 0xbf), { stream: true }), "\ufeff");
    assert.equal(decoder.decode(), "");
    // A non-streaming call starts a new stream.
    assert.equal(decoder.decode(bytes(0xef, 0xbb, 0xbf, 0x42)), "B");
  });

  test("streaming a sequence split at every position gives the one-shot result", () => {
    const input = new NodeTextEncoder().encode("aé€😀z");
    for (let split = 0; split <= input.length; split++) {
      const decoder = new TextDecoder();
      const out = decoder.decode(input.subarray(0, split), { stream: true }) + decoder.decode(input.subarray(split));
      assert.equal(out, "aé€😀z", `split at ${split}`);
    }
  });

  test("an incomplete sequence at the end of a stream becomes U+FFFD on flush", () => {
    const decoder = new TextDecoder();
    assert.equal(decoder.decode(bytes(0x41, 0xf0, 0x9f), { stream: true }), "A");
    assert.equal(decoder.decode(), "\ufffd");
  });

  test("fatal mode throws a TypeError instead of replacing", () => {
    const decoder = new TextDecoder("utf-8", { fatal: true });
    assert.throws(() => decoder.decode(bytes(0xff)), {
      name: "TypeError",
      message: "Failed to execute 'decode' on 'TextDecoder': The encoded data was not valid for encoding utf-8",
    });
    assert.equal(decoder.decode(bytes(0xe2, 0x82), { stream: true }), "");
    assert.throws(() => decoder.decode(), TypeError);
    assert.equal(decoder.decode(bytes(0x41)), "A");
  });

  test("accepts ArrayBuffer, SharedArrayBuffer, DataView and any typed array", () => {
    const decoder = new TextDecoder();
    const data = new NodeTextEncoder().encode("héllo!");
    assert.equal(decoder.decode(data.buffer), "héllo!");
    assert.equal(decoder.decode(new DataView(data.buffer, 1, 2)), "é");
    assert.equal(decoder.decode(new Uint16Array(data.buffer, 0, 3)), "héllo");
    const shared = new SharedArrayBuffer(2);
    new Uint8Array(shared).set([0x6f, 0x6b]);
    assert.equal(decoder.decode(shared), "ok");
    assert.equal(decoder.decode(new Uint8Array(shared)), "ok");
  });

  test("a detached buffer decodes as empty", () => {
    const buffer = new ArrayBuffer(4);
    const view = new Uint8Array(buffer);
    buffer.transfer();
    assert.equal(new TextDecoder().decode(buffer), "");
    assert.equal(new TextDecoder().decode(view), "");
  });

  test("rejects inputs that are not buffer sources", () => {
    const decoder = new TextDecoder();
    assert.throws(() => decoder.decode("abc" as unknown as Uint8Array), TypeError);
    assert.throws(() => decoder.decode([1, 2] as unknown as Uint8Array), TypeError);
    assert.throws(() => decoder.decode(null as unknown as Uint8Array), TypeError);
  });

  test("large inputs decode across internal chunks exactly like Node", () => {
    const text = `${"ascii only ".repeat(3000)}${"é€😀 mixed ".repeat(3000)}`;
    const data = new NodeTextEncoder().encode(text);
    assert.equal(new TextDecoder().decode(data), text);
    assert.equal(utf8Decode(data), text);
  });

  test("matches Node's decoder on random bytes, one-shot and streamed in random chunks", () => {
    const next = random(3);
    for (let i = 0; i < 2000; i++) {
      const input = randomBytes(next, Math.floor(next() * 24));
      const expected = new NodeTextDecoder().decode(input);
      assert.equal(new TextDecoder().decode(input), expected, `${[...input]}`);
      const decoder = new TextDecoder();
      let out = "";
      let at = 0;
      while (at < input.length) {
        const end = Math.min(input.length, at + 1 + Math.floor(next() * 4));
        out += decoder.decode(input.subarray(at, end), { stream: true });
        at = end;
      }
      out += decoder.decode();
      assert.equal(out, expected, `streamed ${[...input]}`);
      let fatalThrew = false;
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(input);
      } catch {
        fatalThrew = true;
      }
      assert.equal(fatalThrew, expected.includes("\ufffd") && !isValidUTF8(input));
    }
  });
});

function isValidUTF8(input: Uint8Array): boolean {
  try {
    new NodeTextDecoder("utf-8", { fatal: true }).decode(input);
    return true;
  } catch {
    return false;
  }
}

describe("TextDecoder with UTF-16", () => {
  test("decodes little- and big-endian code units, pairs included", () => {
    assert.equal(new TextDecoder("utf-16le").decode(bytes(0x41, 0x00, 0x3d, 0xd8, 0x00, 0xde)), "A😀");
    assert.equal(new TextDecoder("utf-16be").decode(bytes(0x00, 0x41, 0xd8, 0x3d, 0xde, 0x00)), "A😀");
  });

  test("lone surrogates and an odd trailing byte become U+FFFD", () => {
    const decoder = new TextDecoder("utf-16le");
    assert.equal(decoder.decode(bytes(0x00, 0xd8, 0x41, 0x00)), "\ufffdA");
    assert.equal(decoder.decode(bytes(0x00, 0xdc)), "\ufffd");
    assert.equal(decoder.decode(bytes(0x41, 0x00, 0x42)), "A\ufffd");
    assert.equal(decoder.decode(bytes(0x3d, 0xd8)), "\ufffd");
  });

  test("drops a BOM in the decoder's own byte order only", () => {
    assert.equal(new TextDecoder("utf-16le").decode(bytes(0xff, 0xfe, 0x41, 0x00)), "A");
    assert.equal(new TextDecoder("utf-16be").decode(bytes(0xfe, 0xff, 0x00, 0x41)), "A");
    assert.equal(new TextDecoder("utf-16le").decode(bytes(0xfe, 0xff, 0x00, 0x41)), "\ufffe\u4100");
  });

  test("streams across odd chunk boundaries and split surrogate pairs", () => {
    const data = bytes(0x41, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x42, 0x00);
    for (let split = 0; split <= data.length; split++) {
      const decoder = new TextDecoder("utf-16le");
      assert.equal(decoder.decode(data.subarray(0, split), { stream: true }) + decoder.decode(data.subarray(split)), "A😀B");
    }
  });

  test("fatal mode follows WPT's streaming cases", () => {
    const decoder = new TextDecoder("utf-16le", { fatal: true });
    const odd = bytes(0x00);
    const even = bytes(0x00, 0x00);
    assert.equal(decoder.decode(odd, { stream: true }), "");
    assert.equal(decoder.decode(odd), "\u0000");
    assert.throws(() => {
      decoder.decode(even, { stream: true });
      decoder.decode(odd);
    }, TypeError);
    assert.throws(() => {
      decoder.decode(odd, { stream: true });
      decoder.decode(even);
    }, TypeError);
    assert.equal(decoder.decode(even, { stream: true }), "\u0000");
    assert.equal(decoder.decode(even), "\u0000");
  });

  test("matches Node's decoder on random bytes", () => {
    const next = random(4);
    for (const label of ["utf-16le", "utf-16be"]) {
      for (let i = 0; i < 1000; i++) {
        const input = new Uint8Array(Math.floor(next() * 12));
        for (let k = 0; k < input.length; k++) input[k] = [0x00, 0x41, 0xd8, 0xdc, 0xdb, 0xdf, 0xff, 0xfe][Math.floor(next() * 8)]!;
        assert.equal(new TextDecoder(label).decode(input), new NodeTextDecoder(label).decode(input), `${label} ${[...input]}`);
      }
    }
  });
});

describe("TextDecoder with single-byte encodings", () => {
  test("windows-1252 maps 0x80–0x9F to its punctuation and the rest to Latin-1", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    assert.equal(new TextDecoder("windows-1252").decode(all), new NodeTextDecoder("windows-1252").decode(all));
    assert.equal(new TextDecoder("latin1").decode(bytes(0x80, 0x81, 0x9f, 0xe9)), "€\u0081Ÿé");
  });

  test("windows-1252 never fails, even when fatal", () => {
    const all = new Uint8Array(256).map((_, i) => i);
    assert.equal(new TextDecoder("ascii", { fatal: true }).decode(all).length, 256);
  });

  test("windows-1252 does not strip a UTF-8 BOM", () => {
    assert.equal(new TextDecoder("latin1").decode(bytes(0xef, 0xbb, 0xbf)), "ï»¿");
  });

  test("every legacy single-byte encoding decodes all bytes like Node's ICU, unmapped bytes included", () => {
    const names = [
      "ibm866", "iso-8859-2", "iso-8859-3", "iso-8859-4", "iso-8859-5", "iso-8859-6", "iso-8859-7", "iso-8859-8",
      "iso-8859-8-i", "iso-8859-10", "iso-8859-13", "iso-8859-14", "iso-8859-15", "iso-8859-16", "koi8-r", "koi8-u",
      "macintosh", "windows-874", "windows-1250", "windows-1251", "windows-1253", "windows-1254", "windows-1255",
      "windows-1256", "windows-1257", "windows-1258", "x-mac-cyrillic",
    ];
    const all = new Uint8Array(256).map((_, i) => i);
    for (const name of names) {
      assert.equal(new TextDecoder(name).encoding, name);
      assert.equal(new TextDecoder(name).decode(all), new NodeTextDecoder(name).decode(all), name);
      for (let b = 0x80; b < 0x100; b++) {
        const one = bytes(b);
        let nodeThrew = false;
        try {
          new NodeTextDecoder(name, { fatal: true }).decode(one);
        } catch {
          nodeThrew = true;
        }
        let oursThrew = false;
        try {
          new TextDecoder(name, { fatal: true }).decode(one);
        } catch {
          oursThrew = true;
        }
        assert.equal(oursThrew, nodeThrew, `${name} byte ${b}`);
      }
    }
  });

  test("labels of the legacy single-byte encodings resolve like the Encoding Standard's table", () => {
    const cases: [string, string][] = [
      ["866", "ibm866"], ["latin2", "iso-8859-2"], ["cyrillic", "iso-8859-5"], ["arabic", "iso-8859-6"],
      ["greek", "iso-8859-7"], ["hebrew", "iso-8859-8"], ["logical", "iso-8859-8-i"], ["l9", "iso-8859-15"],
      ["koi", "koi8-r"], ["koi8-ru", "koi8-u"], ["mac", "macintosh"], ["tis-620", "windows-874"],
      ["iso-8859-9", "windows-1254"], ["latin5", "windows-1254"], ["x-mac-ukrainian", "x-mac-cyrillic"],
    ];
    for (const [label, name] of cases) assert.equal(new TextDecoder(label).encoding, name, label);
  });

  test("x-user-defined maps high bytes to the private use area", () => {
    assert.equal(new TextDecoder("x-user-defined").decode(bytes(0x41, 0x80, 0xff)), "A\uf780\uf7ff");
  });
});

describe("the TextDecoder interface object", () => {
  test("has accessors on the prototype, a toStringTag, and brand-checked members", () => {
    assert.equal(Object.prototype.toString.call(new TextDecoder()), "[object TextDecoder]");
    assert.equal(Object.prototype.toString.call(new TextEncoder()), "[object TextEncoder]");
    assert.deepEqual(Object.keys(new TextDecoder()), []);
    assert.throws(() => TextDecoder.prototype.decode.call({}), /Illegal invocation/);
    assert.equal(TextDecoder.length, 0);
    assert.equal(TextDecoder.prototype.decode.length, 0);
  });
});
