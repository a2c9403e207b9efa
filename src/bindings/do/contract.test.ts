// idFromName hashes names with the guest's own SHA-256 (WebCrypto's is asynchronous): it must
// be SHA-256, or two names could share an object.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { sha256Hex } from "./contract.ts";

test("sha256Hex is SHA-256 at every padding boundary and for non-ASCII text", () => {
  for (const text of ["", "abc", "a".repeat(55), "a".repeat(56), "a".repeat(63), "a".repeat(64), "a".repeat(1000), "héllo wörld ✓ 😀"]) {
    assert.equal(sha256Hex(new TextEncoder().encode(text)), createHash("sha256").update(text).digest("hex"), `${text.length} characters`);
  }
});
