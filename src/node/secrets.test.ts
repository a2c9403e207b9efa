import assert from "node:assert/strict";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { SecretBox } from "./secrets.ts";

test("sealed secrets open with the same key file and not with another", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-secrets-"));
  const box = SecretBox.ofDataDir(dir);
  assert.equal(statSync(path.join(dir, "secret.key")).mode & 0o777, 0o600);
  const sealed = box.seal({ API_KEY: "s3cret" });
  assert.equal(sealed.includes("s3cret"), false);
  assert.notEqual(box.seal({ API_KEY: "s3cret" }), sealed, "a fresh IV each time");
  assert.deepEqual(SecretBox.ofDataDir(dir).open(sealed), { API_KEY: "s3cret" });
  assert.throws(() => SecretBox.ofDataDir(mkdtempSync(path.join(tmpdir(), "flick-other-"))).open(sealed));
  assert.equal(box.digest({ A: "1", B: "2" }), box.digest({ B: "2", A: "1" }), "digest ignores key order");
  assert.notEqual(box.digest({ A: "1" }), box.digest({ A: "2" }));
});

test("a damaged key file is refused with a clear message", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-secrets-"));
  writeFileSync(path.join(dir, "secret.key"), "short");
  assert.throws(() => SecretBox.ofDataDir(dir), /not a 32-byte key/);
});

test("an operator's key file is read raw, as hex or as base64, and names itself by a fingerprint", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-secrets-"));
  const key = Buffer.alloc(32, 7);
  const files = { raw: key, hex: `${key.toString("hex")}\n`, base64: `${key.toString("base64")}\n` };
  const boxes = Object.entries(files).map(([name, content]) => {
    writeFileSync(path.join(dir, name), content);
    return SecretBox.ofFile(path.join(dir, name));
  });
  const sealed = boxes[0]!.seal({ K: "v" });
  for (const box of boxes) {
    assert.deepEqual(box.open(sealed), { K: "v" }, "the same key however written");
    assert.equal(box.fingerprint, boxes[0]!.fingerprint);
  }
  assert.match(boxes[0]!.fingerprint, /^[0-9a-f]{16}$/);
  assert.notEqual(SecretBox.ofDataDir(dir).fingerprint, boxes[0]!.fingerprint);
  writeFileSync(path.join(dir, "short"), "abc\n");
  assert.throws(() => SecretBox.ofFile(path.join(dir, "short")), /expected a 32-byte key \(raw, 64 hex digits or base64\), found 4 bytes; make one with `openssl rand -hex 32/);
  assert.throws(() => SecretBox.ofFile(path.join(dir, "missing")), /--secret-key-file .*missing: no such file; make one with/);
});
