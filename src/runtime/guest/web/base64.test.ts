import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { atob, base64Decode, base64Encode, btoa } from "./base64.ts";
import { DOMException } from "./dom-exception.ts";

function assertInvalidCharacter(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof DOMException);
    assert.equal(error.name, "InvalidCharacterError");
    assert.equal(error.code, 5);
    return true;
  });
}

describe("btoa", () => {
  test("encodes byte strings with padding", () => {
    assert.equal(btoa(""), "");
    assert.equal(btoa("f"), "Zg==");
    assert.equal(btoa("fo"), "Zm8=");
    assert.equal(btoa("foo"), "Zm9v");
    assert.equal(btoa("foobar"), "Zm9vYmFy");
    assert.equal(btoa("\u00ff\u00fe\u0000"), "//4A");
  });

  test("converts its argument to a string", () => {
    assert.equal(btoa(undefined as unknown as string), "dW5kZWZpbmVk");
    assert.equal(btoa(null as unknown as string), "bnVsbA==");
    assert.equal(btoa(12 as unknown as string), "MTI=");
  });

  test("rejects code units above U+00FF with an InvalidCharacterError", () => {
    assertInvalidCharacter(() => btoa("€"));
    assertInvalidCharacter(() => btoa("a\ud800"));
  });

  test("requires an argument", () => {
    assert.throws(() => (btoa as () => string)(), /1 argument required/);
  });
});

describe("atob", () => {
  test("decodes to a byte string", () => {
    assert.equal(atob("Zm9vYmFy"), "foobar");
    assert.equal(atob("//4A"), "\u00ff\u00fe\u0000");
    assert.equal(atob(""), "");
  });

  test("is forgiving about whitespace and missing padding", () => {
    assert.equal(atob(" Zm 9v\tYm\nFy\f\r"), "foobar");
    assert.equal(atob("Zg"), "f");
    assert.equal(atob("Zm8"), "fo");
    assert.equal(atob("Zg=="), "f");
    assert.equal(atob("Zm8="), "fo");
    assert.equal(atob("Zg= ="), "f");
    assert.equal(atob("ab"), "i");
  });

  test("discards the unused low bits of the last sextet", () => {
    assert.equal(atob("Zh=="), "f");
    assert.equal(atob("Zm9="), "fo");
  });

  test("rejects malformed input with an InvalidCharacterError", () => {
    for (const input of ["a", "abcde", "Zg=", "Zg===", "Z===", "=Zg=", "Zg==Zg==", "Zm9v!", "Zm9v\u00ff", "Zm\u000b9v", "ab=c", "-_-_"]) {
      assertInvalidCharacter(() => atob(input));
    }
  });

  test("converts its argument to a string first", () => {
    assertInvalidCharacter(() => atob(undefined as unknown as string));
    assert.equal(atob(null as unknown as string), "\u009e\u00e9\u0065");
  });
});

describe("the base64 byte codec", () => {
  test("round-trips random byte arrays exactly like Node's Buffer", () => {
    let seed = 11;
    for (let i = 0; i < 300; i++) {
      const length = (seed = (seed * 1103515245 + 12345) >>> 0) % 70;
      const input = new Uint8Array(length).map(() => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255);
      const encoded = base64Encode(input);
      assert.equal(encoded, Buffer.from(input).toString("base64"));
      assert.deepEqual(base64Decode(encoded), input);
    }
  });

  test("handles inputs larger than one internal chunk", () => {
    const input = new Uint8Array(100_000).map((_, i) => (i * 7) & 255);
    const encoded = base64Encode(input);
    assert.equal(encoded, Buffer.from(input).toString("base64"));
    assert.deepEqual(base64Decode(encoded), input);
  });

  test("returns null instead of throwing on malformed input", () => {
    assert.equal(base64Decode("a"), null);
    assert.equal(base64Decode("a*"), null);
  });
});
