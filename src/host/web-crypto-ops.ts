/**
 * crypto.subtle's work, done by Node's own Web Crypto (node:crypto `webcrypto.subtle`) in
 * the host: one async op per SubtleCrypto call. Node's implementation follows the W3C spec
 * and passes web-platform-tests; ours would only be a slower, less correct copy.
 *
 * The wire (shared with runtime/guest/subtle-crypto.ts): the call's arguments as JSON text
 * plus a list of byte buffers. In the JSON, `{"$bytes": i}` stands for `buffers[i]` and
 * `{"$key": {type, extractable, algorithm, usages, format, data}}` for a CryptoKey, whose
 * material travels as raw (secret), pkcs8 (private) or spki (public) bytes. Keys live in
 * the guest; the host rebuilds a Node CryptoKey for each call and forgets it after, so no
 * key object outlives the call or is shared between instances.
 */
import { KeyObject, webcrypto } from "node:crypto";

type NodeKey = webcrypto.CryptoKey;

/** SubtleCrypto's methods, with the number of arguments each takes. */
const methods: Record<string, number> = {
  digest: 2, encrypt: 3, decrypt: 3, sign: 3, verify: 4, generateKey: 3, importKey: 5, exportKey: 2,
  deriveBits: 3, deriveKey: 5, wrapKey: 4, unwrapKey: 7,
};

// Work that would hold a shared libuv thread for seconds is refused up front.
const maxIterations = 10_000_000;
const maxModulusBits = 8192;

export interface SubtleResult {
  json: string;
  buffers: Uint8Array[];
}

/** A failed call: `name` is a DOMException name, or TypeError/RangeError. */
export class SubtleError extends Error {
  readonly errorName: string;
  constructor(errorName: string, message: string) {
    super(message);
    this.errorName = errorName;
  }
}

function decode(json: string, buffers: Uint8Array[]): { value: unknown; keys: { holder: Record<string, unknown> | unknown[]; at: string | number; wire: Record<string, unknown> }[] } {
  const keys: { holder: Record<string, unknown> | unknown[]; at: string | number; wire: Record<string, unknown> }[] = [];
  const value = JSON.parse(json, function (this: Record<string, unknown>, at, v: unknown) {
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      if (typeof o["$bytes"] === "number") {
        const b = buffers[o["$bytes"]];
        if (!(b instanceof Uint8Array)) throw new SubtleError("TypeError", "malformed crypto call");
        return b;
      }
      if (o["$key"] !== undefined) keys.push({ holder: this, at, wire: o["$key"] as Record<string, unknown> });
    }
    return v;
  });
  return { value, keys };
}

async function rebuildKey(wire: Record<string, unknown>): Promise<NodeKey> {
  const format = wire["format"];
  if ((format !== "raw" && format !== "pkcs8" && format !== "spki") || !(wire["data"] instanceof Uint8Array) || !Array.isArray(wire["usages"])) {
    throw new SubtleError("TypeError", "malformed CryptoKey");
  }
  const rebuild = (f: string) =>
    webcrypto.subtle.importKey(f as "raw", wire["data"] as Uint8Array, wire["algorithm"] as webcrypto.AlgorithmIdentifier, wire["extractable"] === true, wire["usages"] as webcrypto.KeyUsage[]);
  try {
    return await rebuild(format);
  } catch (err) {
    // The newer algorithms (ChaCha20-Poly1305, KMAC, AES-OCB) take secret bytes as "raw-secret".
    if (format === "raw") {
      try {
        return await rebuild("raw-secret");
      } catch {}
    }
    throw new SubtleError("DataError", `the key could not be rebuilt (${(err as Error).message})`);
  }
}

class Encoder {
  buffers: Uint8Array[] = [];
  bytes(b: ArrayBuffer | ArrayBufferView): { $bytes: number } {
    const u = b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
    this.buffers.push(u);
    return { $bytes: this.buffers.length - 1 };
  }
  key(k: NodeKey): { $key: Record<string, unknown> } {
    const object = KeyObject.from(k);
    const data =
      k.type === "secret" ? object.export() : object.export({ format: "der", type: k.type === "private" ? "pkcs8" : "spki" });
    return {
      $key: {
        type: k.type,
        extractable: k.extractable,
        algorithm: this.value(k.algorithm),
        usages: [...k.usages],
        format: k.type === "secret" ? "raw" : k.type === "private" ? "pkcs8" : "spki",
        data: this.bytes(data),
      },
    };
  }
  value(v: unknown): unknown {
    if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) return this.bytes(v);
    if (v instanceof globalThis.CryptoKey) return this.key(v);
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x)]));
    return v;
  }
}

function checkCost(args: unknown[]): void {
  for (const a of args) {
    if (a === null || typeof a !== "object" || a instanceof Uint8Array) continue;
    const alg = a as Record<string, unknown>;
    if (typeof alg["iterations"] === "number" && alg["iterations"] > maxIterations) {
      throw new SubtleError("OperationError", `PBKDF2 iterations above ${maxIterations} are refused: they would hold a shared host thread for seconds`);
    }
    if (typeof alg["modulusLength"] === "number" && alg["modulusLength"] > maxModulusBits) {
      throw new SubtleError("OperationError", `RSA keys above ${maxModulusBits} bits are refused: generating them takes minutes`);
    }
  }
}

function asSubtleError(err: unknown): SubtleError {
  if (err instanceof SubtleError) return err;
  if (err instanceof DOMException) return new SubtleError(err.name, err.message);
  if (err instanceof TypeError || err instanceof RangeError) return new SubtleError(err.name, err.message);
  return new SubtleError("OperationError", err instanceof Error ? err.message : String(err));
}

/** Runs `subtle[method]` on decoded arguments and encodes its result for the wire. */
export async function runSubtle(method: string, json: string, buffers: Uint8Array[]): Promise<SubtleResult> {
  try {
    const arity = Object.hasOwn(methods, method) ? methods[method] : undefined;
    if (arity === undefined) throw new SubtleError("NotSupportedError", `crypto.subtle has no method ${method}`);
    const { value, keys } = decode(json, buffers);
    if (!Array.isArray(value) || value.length !== arity) throw new SubtleError("TypeError", "malformed crypto call");
    checkCost(value);
    for (const { holder, at, wire } of keys) (holder as Record<string | number, unknown>)[at] = await rebuildKey(wire);
    const fn = (webcrypto.subtle as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!;
    const result = await fn.apply(webcrypto.subtle, value);
    const encoder = new Encoder();
    const encoded = encoder.value(result);
    return { json: JSON.stringify(encoded ?? null), buffers: encoder.buffers };
  } catch (err) {
    throw asSubtleError(err);
  }
}
