/**
 * One runtime startup snapshot for every host of a node, kept in the data dir.
 *
 * V8 accepts a code cache only in isolates made from the same startup snapshot it was
 * made with, and a snapshot is not reproducible: two hosts that each made their own would
 * refuse each other's function code caches (measured: every cache refused, and a cold
 * start 0.6 ms slower than without one). So the first host makes the snapshot and seals it
 * (`<data-dir>/runtime.snapshot`, HMAC-SHA256 under the node key over the V8 version, the
 * runtime source's SHA-256 and the bytes, as code-cache.ts seals caches); the supervisor
 * starts the other hosts after it, and they, restarted hosts and later starts load it.
 * A file that does not check out (altered, or made for another runtime or V8) is made
 * again — bytes that fail the MAC never reach V8: a snapshot is code.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import ivm from "isolated-vm";

const magic = Buffer.from("FLKSS1\0\0");
const header = magic.length + 32 + 32;

function mac(key: Buffer, sourceHash: Buffer, data: Uint8Array): Buffer {
  return createHmac("sha256", key).update(`flick-runtime-snapshot-v1\0${process.versions.v8}\0`).update(sourceHash).update(data).digest();
}

/**
 * The sealed snapshot at `file` when this node made it for exactly `source`; else `make()`'s,
 * sealed and written there (atomically) for the other hosts. `make` returning undefined
 * (V8 could not snapshot) writes nothing.
 */
export function sharedSnapshot(
  file: string,
  key: Buffer,
  source: string,
  make: () => ivm.ExternalCopy<ArrayBuffer> | undefined,
): ivm.ExternalCopy<ArrayBuffer> | undefined {
  const sourceHash = createHash("sha256").update(source).digest();
  let stored: Buffer | undefined;
  try {
    stored = readFileSync(file);
  } catch {}
  if (stored !== undefined && stored.length > header && stored.subarray(0, magic.length).equals(magic)) {
    const data = stored.subarray(header);
    const sameSource = stored.subarray(magic.length, magic.length + 32).equals(sourceHash);
    if (sameSource && timingSafeEqual(stored.subarray(magic.length + 32, header), mac(key, sourceHash, data))) {
      return new ivm.ExternalCopy(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
    }
    if (sameSource) process.emitWarning(`flick: ${file} failed authentication (altered, or made by another node or V8); made again`);
  }
  const snapshot = make();
  if (snapshot === undefined) return undefined;
  const data = new Uint8Array(snapshot.copy());
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(temp, Buffer.concat([magic, sourceHash, mac(key, sourceHash, data), data]), { mode: 0o600 });
    renameSync(temp, file);
  } catch (err) {
    process.emitWarning(`flick: could not write ${file}: ${(err as Error).message}; each host makes its own snapshot`);
  }
  return snapshot;
}
