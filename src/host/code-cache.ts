/**
 * V8 code cache per function version, made by the platform and trusted only with proof.
 *
 * Code cache bytes are compiled code: V8's own checks on them (magic, version, source
 * length) are sanity checks, not security, so bytes an attacker wrote would run as they
 * are. Flick therefore never takes them from a user (the deploy API has no field for
 * them) and keeps what it produces beside the bundle as `<bundle>.v8cache`, sealed with
 * an HMAC-SHA256 under a node key (derived from the data dir's secret key) over the V8
 * version, the bundle's SHA-256 and the bytes. A file whose MAC does not check out is
 * never handed to V8: it is reported, ignored, and replaced by a fresh one.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import ivm from "isolated-vm";

const magic = Buffer.from("FLKCC1\0\0");
const macBytes = 32;

export class CodeCache {
  private readonly key: Buffer;
  /** Verified caches by bundle path: one disk read per bundle per host process. */
  private readonly verified = new Map<string, ivm.ExternalCopy<ArrayBuffer> | null>();
  /** How many cache files failed authentication (tests and `flick info` read it). */
  rejected = 0;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error("the code cache key must be at least 32 bytes");
    this.key = key;
  }

  private mac(source: string, data: Uint8Array): Buffer {
    return createHmac("sha256", this.key)
      .update(`flick-code-cache-v1\0${process.versions.v8}\0`)
      .update(createHash("sha256").update(source).digest())
      .update(data)
      .digest();
  }

  /** The cached compile data for `bundlePath`, only if this node made it for exactly `source`. */
  load(bundlePath: string, source: string): ivm.ExternalCopy<ArrayBuffer> | undefined {
    if (bundlePath === "") return undefined;
    const known = this.verified.get(bundlePath);
    if (known !== undefined) return known ?? undefined;
    let file: Buffer;
    try {
      file = readFileSync(`${bundlePath}.v8cache`);
    } catch {
      return undefined;
    }
    const header = magic.length + macBytes;
    const data = file.subarray(header);
    const ok =
      file.length > header &&
      file.subarray(0, magic.length).equals(magic) &&
      timingSafeEqual(file.subarray(magic.length, header), this.mac(source, data));
    if (!ok) {
      this.rejected++;
      this.verified.set(bundlePath, null);
      process.emitWarning(`flick: code cache ${bundlePath}.v8cache failed authentication (altered, planted, or made by another node or V8); ignored and rebuilt`);
      return undefined;
    }
    const copy = new ivm.ExternalCopy(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    this.verified.set(bundlePath, copy);
    return copy;
  }

  /** Seals and writes what V8 produced for `source` (atomically: temp file, then rename). */
  store(bundlePath: string, source: string, produced: ivm.ExternalCopy<ArrayBuffer>): void {
    if (bundlePath === "") return;
    const data = new Uint8Array(produced.copy());
    const file = `${bundlePath}.v8cache`;
    const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      writeFileSync(temp, Buffer.concat([magic, this.mac(source, data), data]), { mode: 0o600 });
      renameSync(temp, file);
      this.verified.set(bundlePath, produced);
    } catch (err) {
      process.emitWarning(`flick: could not write the code cache ${file}: ${(err as Error).message}`);
    }
  }
}
