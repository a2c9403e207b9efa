/**
 * A durable-object binding's calls on the binding channel, shared by its guest, host and
 * platform sides. A stub's `fetch` carries the object's id and name and then the request
 * as a service binding's does (method, URL, redirect mode, headers; the body as the one
 * buffer) and answers as a service call does. An object's own storage calls go through a
 * binding the platform gives the object's instance (`storageBinding`, never in env): keys
 * as strings, values as buffers the guest encodes (guest-codec.ts).
 *
 *   fetch          [id, name, method, url, redirect, ...headers], [body?] → as a service call
 *   get            [key, …]                     → per key "1" | "0"; [value, …] ("0": empty)
 *   put            [key, …], [value, …]         → nothing (one transaction)
 *   delete         [key, …]                     → [count deleted]
 *   deleteAll      []                           → nothing (alarm included)
 *   list           [start, startAfter, end, prefix, reverse "1"|"", limit] → [key, …], [value, …]
 *   write          [op, key, op, key, …], [value for each "put"]  → nothing (a transaction's writes)
 *   getAlarm       []                           → [epoch ms | ""]
 *   setAlarm       [epoch ms]                   → nothing
 *   deleteAlarm    []                           → nothing
 */
export const doContract = {
  kind: "do",
  fetch: "fetch",
  storageMethods: ["get", "put", "delete", "deleteAll", "list", "write", "getAlarm", "setAlarm", "deleteAlarm"] as readonly string[],
  /** The name of the binding an object's instance reaches its storage through (not a valid env name). */
  storageBinding: "$storage",
  /** A key's UTF-8 bytes (Workers' limit). */
  maxKeyBytes: 2048,
  /** A value's encoded bytes (Workers' limit). */
  maxValueBytes: 128 * 1024,
  /** Keys per get/put/delete of several. */
  maxKeysPerCall: 128,
  /** A name given to idFromName, UTF-8 bytes. */
  maxNameBytes: 2048,
  /** Storage calls one invocation may make. */
  operationsPerInvocation: 10_000,
} as const;

/** A durable object's id: 64 lowercase hex digits. */
export const objectIdPattern = /^[0-9a-f]{64}$/;

/** Why a stub's fetch names no valid object, or null. */
export function objectProblem(id: string | undefined, name: string | undefined): string | null {
  if (id === undefined || !objectIdPattern.test(id)) return "not a durable object id (64 hex digits, from idFromName, newUniqueId or idFromString)";
  if (name === undefined || name.length > doContract.maxNameBytes) return "malformed object name";
  return null;
}

const k = new Uint32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
  0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
  0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/**
 * SHA-256 of `bytes` as hex (FIPS 180-4), synchronous: `idFromName` is synchronous in Workers
 * and WebCrypto's digest is not. Names are short; this is not on a hot path.
 */
export function sha256Hex(bytes: Uint8Array): string {
  const h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
  const length = bytes.length;
  const padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
  padded.set(bytes);
  padded[length] = 0x80;
  const bits = length * 8;
  const view = new DataView(padded.buffer);
  view.setUint32(padded.length - 8, Math.floor(bits / 0x100000000));
  view.setUint32(padded.length - 4, bits >>> 0);
  const w = new Uint32Array(64);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
      const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
      w[i] = (w[i - 16]! + s0 + w[i - 7]! + s1) | 0;
    }
    let [a, b, c, d, e, f, g, hh] = [h[0]!, h[1]!, h[2]!, h[3]!, h[4]!, h[5]!, h[6]!, h[7]!];
    for (let i = 0; i < 64; i++) {
      const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
      const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + k[i]! + w[i]!) | 0;
      const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
      const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
      [hh, g, f, e, d, c, b, a] = [g, f, e, (d + t1) | 0, c, b, a, (t1 + t2) | 0];
    }
    h[0] = (h[0]! + a) | 0; h[1] = (h[1]! + b) | 0; h[2] = (h[2]! + c) | 0; h[3] = (h[3]! + d) | 0;
    h[4] = (h[4]! + e) | 0; h[5] = (h[5]! + f) | 0; h[6] = (h[6]! + g) | 0; h[7] = (h[7]! + hh) | 0;
  }
  let hex = "";
  for (const x of h) hex += (x >>> 0).toString(16).padStart(8, "0");
  return hex;
}
