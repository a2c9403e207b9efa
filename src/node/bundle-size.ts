/**
 * A deploy's bundle against its limits (docs/limits.md): at most
 * `limits.bundleMaxUncompressedBytes` as sent, and at most `limits.bundleMaxBytes` once
 * gzipped, as Workers counts a Worker's size. Compressed only when the plain size is over
 * the compressed limit, so an ordinary deploy pays nothing for the check.
 */
import { promisify } from "node:util";
import { gzip } from "node:zlib";
import { FlickError } from "../errors/index.ts";
import { limits } from "../model/index.ts";

const gzipAsync = promisify(gzip);

/** Compression runs on the thread pool: 64 MiB on the event loop would stall every other request. */
export async function checkBundleSize(code: string, wasm: Uint8Array[]): Promise<void> {
  const parts = [Buffer.from(code), ...wasm];
  const plain = parts.reduce((n, p) => n + p.byteLength, 0);
  if (plain > limits.bundleMaxUncompressedBytes) {
    throw new FlickError("validation_failed", `code and wasm: the bundle is ${plain} bytes, over the ${limits.bundleMaxUncompressedBytes}-byte limit before compression; ship less code or smaller modules`);
  }
  if (plain <= limits.bundleMaxBytes) return;
  // Level 1: the limit is about what a bundle holds, and the default level costs 3× the time for a few percent.
  const compressed = (await Promise.all(parts.map((p) => gzipAsync(p, { level: 1 })))).reduce((n, z) => n + z.byteLength, 0);
  if (compressed > limits.bundleMaxBytes) {
    throw new FlickError("validation_failed", `code and wasm: the bundle is ${compressed} bytes gzipped (${plain} plain), over the ${limits.bundleMaxBytes}-byte limit; ship less code or smaller modules`);
  }
}
