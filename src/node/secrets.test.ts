import assert from "node:assert/strict";
import { mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { SecretBox } from "./secrets.ts";

test("sealed secrets open with the same key file and not with another", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-secrets-"));
  const box = new SecretBox(dir);
  assert.equal(statSync(path.join(dir, "secret.key")).mode & 0o777, 0o600);
  const sealed = box.seal({ API_KEY: "s3cret" });
  assert.equal(sealed.includes("s3cret"), false);
  assert.notEqual(box.seal({ API_KEY: "s3cret" }), sealed, "a fresh IV each time");
  assert.deepEqual(new SecretBox(dir).open(sealed), { API_KEY: "s3cret" });
  assert.throws(() => new SecretBox(mkdtempSync(path.join(tmpdir(), "flick-other-"))).open(sealed));
  assert.equal(box.digest({ A: "1", B: "2" }), box.digest({ B: "2", A: "1" }), "digest ignores key order");
  assert.notEqual(box.digest({ A: "1" }), box.digest({ A: "2" }));
});

test("a damaged key file is refused with a clear message", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-secrets-"));
  writeFileSync(path.join(dir, "secret.key"), "short");
  assert.throws(() => new SecretBox(dir), /not a 32-byte key/);
});
