/**
 * Secret values are sealed with AES-256-GCM under a key kept in the data dir (mode 0600)
 * and opened only to start an instance. A digest (HMAC, not a plain hash, so it cannot be
 * brute-forced from a version id) lets redeploys with the same secrets be no-ops.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export class SecretBox {
  private readonly key: Buffer;

  constructor(dataDir: string) {
    const file = path.join(dataDir, "secret.key");
    if (existsSync(file)) this.key = readFileSync(file);
    else {
      this.key = randomBytes(32);
      writeFileSync(file, this.key, { mode: 0o600, flag: "wx" });
    }
    if (this.key.length !== 32) throw new Error(`${file} is not a 32-byte key; restore it from a backup (sealed secrets cannot be opened without it)`);
  }

  private static canonical(values: Record<string, string>): string {
    return JSON.stringify(Object.keys(values).sort().map((k) => [k, values[k]]));
  }

  /** A key for another purpose, derived from this one (so the data dir keeps one secret). */
  deriveKey(purpose: string): Buffer {
    return createHmac("sha256", this.key).update(`flick key: ${purpose}`).digest();
  }

  digest(values: Record<string, string>): string {
    return createHmac("sha256", this.key).update(SecretBox.canonical(values)).digest("hex");
  }

  seal(values: Record<string, string>): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.key, iv);
    const body = Buffer.concat([cipher.update(JSON.stringify(values), "utf8"), cipher.final()]);
    return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
  }

  open(sealed: string): Record<string, string> {
    const raw = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", this.key, raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return JSON.parse(Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8")) as Record<string, string>;
  }
}
