/**
 * Secret values are sealed with AES-256-GCM and opened only to start an instance. A digest
 * (HMAC, not a plain hash, so it cannot be brute-forced from a version id) lets redeploys
 * with the same secrets be no-ops. Keys for other purposes (the V8 code cache's HMAC) are
 * derived from the same key.
 *
 * The key is the operator's (`flick up --secret-key-file`: the same file on every node of a
 * cluster, so any node opens what another sealed) or, by default, one made in the data dir
 * (`secret.key`, mode 0600) on first start. The store keeps the key's fingerprint, so a node
 * started with another key stops at once instead of failing on every secret.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { FlickError } from "../errors/index.ts";

export class SecretBox {
  private readonly key: Buffer;
  /** Where the key came from, for messages: the operator's file or the data dir's. */
  readonly source: string;

  constructor(key: Buffer, source: string) {
    if (key.length !== 32) throw new FlickError("bad_request", `${source} is not a 32-byte key; restore it from a backup (sealed secrets cannot be opened without it)`);
    this.key = key;
    this.source = source;
  }

  /** The data dir's own key, made on first start. */
  static ofDataDir(dataDir: string): SecretBox {
    const file = path.join(dataDir, "secret.key");
    if (existsSync(file)) return new SecretBox(readFileSync(file), file);
    const key = randomBytes(32);
    writeFileSync(file, key, { mode: 0o600, flag: "wx" });
    return new SecretBox(key, file);
  }

  /** The data dir's key if it has one (a node from before `--secret-key-file`, or without it). */
  static existingIn(dataDir: string): SecretBox | undefined {
    return existsSync(path.join(dataDir, "secret.key")) ? SecretBox.ofDataDir(dataDir) : undefined;
  }

  /**
   * An operator's key file: 32 bytes, as they are, as 64 hex digits or in base64 (a line
   * end after the text is fine). `openssl rand -hex 32 > flick.key` makes one.
   */
  static ofFile(file: string): SecretBox {
    let raw: Buffer;
    try {
      raw = readFileSync(file);
    } catch (err) {
      throw new FlickError("bad_request", `--secret-key-file ${file}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}; make one with \`openssl rand -hex 32 > ${file}\` and give every node the same file`);
    }
    const text = raw.toString("latin1").trim();
    const key = raw.length === 32 ? raw
      : /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, "hex")
      : /^[A-Za-z0-9+/]{43}=$/.test(text) ? Buffer.from(text, "base64")
      : undefined;
    if (key === undefined) {
      throw new FlickError("bad_request", `--secret-key-file ${file}: expected a 32-byte key (raw, 64 hex digits or base64), found ${raw.length} bytes; make one with \`openssl rand -hex 32 > ${file}\``);
    }
    return new SecretBox(key, `--secret-key-file ${file}`);
  }

  /** Names the key without revealing it (an HMAC under the key itself). */
  get fingerprint(): string {
    return createHmac("sha256", this.key).update("flick key fingerprint").digest("hex").slice(0, 16);
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
