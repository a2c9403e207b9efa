/**
 * V8 code cache kept on disk, made by the platform and trusted only with proof.
 *
 * Code cache bytes are compiled code: V8's own checks on them (magic, version, source
 * length) are sanity checks, not security, so bytes an attacker wrote would run as they
 * are. Flick never takes them from a user (no API has a field for them) and seals what
 * it writes (`<path>.v8cache`) with an HMAC-SHA256 under a node key (derived from the
 * data dir's secret key) over the V8 version, the source's SHA-256 and the bytes. A file
 * whose MAC does not check out is never handed to V8: it is reported, ignored, and
 * replaced; one made for other source (an upgrade) is quietly replaced.
 *
 * Used for the runtime script when a host cannot use a startup snapshot, and for every
 * function version's script form (build/script-form.ts; isolated-vm compiles ES modules
 * without V8's consume-code-cache option, so only a script can use a cache).
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import ivm from "isolated-vm";

// The file: magic, the source's SHA-256, the MAC, the bytes.
const magic = Buffer.from("FLKCC2\0\0");
const hashBytes = 32;
const macBytes = 32;

export class CodeCache {
  private readonly key: Buffer;
  /** Verified caches by bundle path: one disk read per bundle per host process. */
  private readonly verified = new Map<string, ivm.ExternalCopy<ArrayBuffer> | null>();
  /** How many cache files failed authentication (each is also reported as a warning). */
  rejected = 0;

  constructor(key: Buffer) {
    if (key.length < 32) throw new Error("the code cache key must be at least 32 bytes");
    this.key = key;
  }

  private mac(sourceHash: Buffer, data: Uint8Array): Buffer {
    return createHmac("sha256", this.key).update(`flick-code-cache-v2\0${process.versions.v8}\0`).update(sourceHash).update(data).digest();
  }

  /**
   * The cached compile data kept at `path`, only if this node made it for exactly `source`.
   * `identity` stands for the source when the caller knows it by a content hash already (a
   * version's script form, named by its bundle's SHA-256): no hashing of the source on the
   * cold path.
   */
  load(path: string, source: string, identity: string = source): ivm.ExternalCopy<ArrayBuffer> | undefined {
    const known = this.verified.get(path);
    if (known !== undefined) return known ?? undefined;
    let file: Buffer;
    try {
      file = readFileSync(`${path}.v8cache`);
    } catch {
      return undefined;
    }
    const sourceHash = createHash("sha256").update(identity).digest();
    const header = magic.length + hashBytes + macBytes;
    const data = file.subarray(header);
    const stored = file.subarray(magic.length, magic.length + hashBytes);
    if (file.length > header && file.subarray(0, magic.length).equals(magic) && !stored.equals(sourceHash)) return undefined; // stale
    const ok =
      file.length > header &&
      file.subarray(0, magic.length).equals(magic) &&
      timingSafeEqual(file.subarray(magic.length + hashBytes, header), this.mac(sourceHash, data));
    if (!ok) {
      this.rejected++;
      this.verified.set(path, null);
      process.emitWarning(`flick: code cache ${path}.v8cache failed authentication (altered, planted, or made by another node or V8); ignored and rebuilt`);
      return undefined;
    }
    const copy = new ivm.ExternalCopy(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    this.verified.set(path, copy);
    return copy;
  }

  /** Seals and writes what V8 produced for `source` (atomically: temp file, then rename). */
  store(path: string, source: string, produced: ivm.ExternalCopy<ArrayBuffer>, identity: string = source): void {
    const data = new Uint8Array(produced.copy());
    const sourceHash = createHash("sha256").update(identity).digest();
    const file = `${path}.v8cache`;
    const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
    try {
      writeFileSync(temp, Buffer.concat([magic, sourceHash, this.mac(sourceHash, data), data]), { mode: 0o600 });
      renameSync(temp, file);
      this.verified.set(path, produced);
    } catch (err) {
      process.emitWarning(`flick: could not write the code cache ${file}: ${(err as Error).message}`);
    }
  }
}
