/**
 * crypto.subtle (W3C Web Crypto). The guest does the WebIDL part — brand checks, copying
 * BufferSources and dictionaries at call time, CryptoKey objects — and the host runs the
 * operation in Node's Web Crypto (host/web-crypto-ops.ts), one async op per call, so every
 * algorithm and format Node supports works here with Node's spec behaviour.
 *
 * The wire: arguments as JSON text plus byte buffers; `{"$bytes": i}` is buffers[i] and
 * `{"$key": {...}}` a CryptoKey with its material (raw, pkcs8 or spki bytes). The material
 * stays in a WeakMap here, out of user code's reach, and goes to the host only for a call.
 */
import { emit } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";
import { newDOMException } from "./web/dom-exception.ts";
import { defineInterface, isBufferSource, isObject, methodContext, requireArgs, toStringES } from "./web/idl.ts";
import { registerSerializable } from "./web/structured-clone.ts";

type KeyType = "secret" | "public" | "private";

interface KeySlots {
  type: KeyType;
  extractable: boolean;
  /** The key's algorithm as the host described it (a plain tree, bytes as Uint8Array). */
  algorithm: Record<string, unknown>;
  usages: string[];
  format: "raw" | "pkcs8" | "spki";
  data: Uint8Array;
  algorithmView?: object;
  usagesView?: string[];
}

const slots = new WeakMap<object, KeySlots>();
const kCreate = Symbol("create");

function slotsOf(key: unknown, context: string): KeySlots {
  const s = isObject(key) ? slots.get(key) : undefined;
  if (s === undefined) throw new TypeError(`${context}: parameter is not of type 'CryptoKey'.`);
  return s;
}

export class CryptoKey {
  constructor(key?: unknown) {
    if (key !== kCreate) throw new TypeError("Illegal constructor");
  }
  get type(): KeyType {
    return slotsOf(this, "CryptoKey.type").type;
  }
  get extractable(): boolean {
    return slotsOf(this, "CryptoKey.extractable").extractable;
  }
  /** The same frozen object every time ([[algorithm_cached]] in the spec). */
  get algorithm(): object {
    const s = slotsOf(this, "CryptoKey.algorithm");
    return (s.algorithmView ??= deepFreeze(copyTree(s.algorithm)));
  }
  get usages(): string[] {
    const s = slotsOf(this, "CryptoKey.usages");
    return (s.usagesView ??= Object.freeze(s.usages.slice()) as string[]);
  }
}
defineInterface(CryptoKey, "CryptoKey");

// CryptoKey is [Serializable]: structuredClone gives a new key with the same slots.
registerSerializable((value) => {
  const s = slots.get(value);
  if (s === undefined) return undefined;
  const key = new CryptoKey(kCreate);
  slots.set(key, { type: s.type, extractable: s.extractable, algorithm: s.algorithm, usages: s.usages, format: s.format, data: s.data });
  return key;
});

function copyTree(v: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v as object)) {
    out[k] = x instanceof Uint8Array ? x.slice() : isObject(x) ? copyTree(x) : x;
  }
  return out;
}
function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (isObject(v) && !(v instanceof Uint8Array)) deepFreeze(v);
  return Object.freeze(o);
}

// — arguments to the wire —

/** Members of Web Crypto's algorithm dictionaries, read in this order. */
const algorithmMembers = [
  "name", "hash", "namedCurve", "length", "iv", "additionalData", "tagLength", "counter", "salt", "info", "iterations",
  "publicExponent", "modulusLength", "saltLength", "label", "public", "context",
];
const bufferMembers = new Set(["iv", "additionalData", "counter", "salt", "info", "publicExponent", "label", "context"]);
const numberMembers = new Set(["length", "tagLength", "iterations", "modulusLength", "saltLength"]);
const jwkStrings = ["kty", "use", "alg", "crv", "x", "y", "d", "n", "e", "p", "q", "dp", "dq", "qi", "k"];

class WireWriter {
  buffers: Uint8Array[] = [];
  readonly context: string;
  constructor(context: string) {
    this.context = context;
  }

  /** WebIDL "get a copy of the bytes held by the buffer source": a detached buffer holds none. */
  bytes(value: unknown, what: string): { $bytes: number } {
    if (!isBufferSource(value)) throw new TypeError(`${this.context}: ${what} is not of type '(ArrayBuffer or ArrayBufferView)'.`);
    const buffer = (value instanceof ArrayBuffer ? value : value.buffer) as ArrayBuffer & { detached?: boolean };
    const copy =
      buffer.detached === true
        ? new Uint8Array(0)
        : value instanceof ArrayBuffer
          ? new Uint8Array(value.slice(0))
          : new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer);
    this.buffers.push(copy);
    return { $bytes: this.buffers.length - 1 };
  }

  key(value: unknown): { $key: Record<string, unknown> } {
    const s = slotsOf(value, this.context);
    return {
      $key: { type: s.type, extractable: s.extractable, algorithm: this.tree(s.algorithm), usages: s.usages, format: s.format, data: this.bytes(s.data, "key") },
    };
  }

  /** A key's stored algorithm back to the wire (its Uint8Arrays as buffers). */
  tree(v: Record<string, unknown>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = x instanceof Uint8Array ? this.bytes(x, k) : isObject(x) ? this.tree(x as Record<string, unknown>) : x;
    return out;
  }

  /** An AlgorithmIdentifier: a string, or a dictionary whose members are copied now. */
  algorithm(value: unknown): unknown {
    if (!isObject(value)) return toStringES(value);
    const out: Record<string, unknown> = {};
    for (const member of algorithmMembers) {
      const x = (value as Record<string, unknown>)[member];
      if (x === undefined) continue;
      if (member === "hash") out[member] = this.algorithm(x);
      else if (member === "public") out[member] = this.key(x);
      else if (bufferMembers.has(member)) out[member] = this.bytes(x, member);
      else if (numberMembers.has(member)) out[member] = typeof x === "number" ? x : Number(x);
      else out[member] = toStringES(x);
    }
    return out;
  }

  usages(value: unknown): string[] {
    if (!isObject(value) || typeof (value as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(`${this.context}: The provided value cannot be converted to a sequence.`);
    }
    return Array.from(value as Iterable<unknown>, (u) => toStringES(u));
  }

  jwk(value: unknown): Record<string, unknown> {
    if (value !== undefined && value !== null && !isObject(value)) throw new TypeError(`${this.context}: keyData is not a JsonWebKey dictionary.`);
    const src = (value ?? {}) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const m of jwkStrings) if (src[m] !== undefined) out[m] = toStringES(src[m]);
    if (src["ext"] !== undefined) out["ext"] = Boolean(src["ext"]);
    if (src["key_ops"] !== undefined) out["key_ops"] = this.usages(src["key_ops"]);
    if (src["oth"] !== undefined) {
      out["oth"] = Array.from(src["oth"] as Iterable<unknown>, (o) => {
        const r = (o ?? {}) as Record<string, unknown>;
        return Object.fromEntries(["r", "d", "t"].filter((m) => r[m] !== undefined).map((m) => [m, toStringES(r[m])]));
      });
    }
    return out;
  }
}

// — results from the wire —

function readKey(wire: Record<string, unknown>, buffers: Uint8Array[]): CryptoKey {
  const key = new CryptoKey(kCreate);
  slots.set(key, {
    type: wire["type"] as KeyType,
    extractable: wire["extractable"] === true,
    algorithm: readTree(wire["algorithm"], buffers) as Record<string, unknown>,
    usages: (wire["usages"] as string[]).slice(),
    format: wire["format"] as KeySlots["format"],
    data: buffers[(wire["data"] as { $bytes: number }).$bytes]!,
  });
  return key;
}

function readTree(v: unknown, buffers: Uint8Array[]): unknown {
  if (Array.isArray(v)) return v.map((x) => readTree(x, buffers));
  if (!isObject(v)) return v;
  const o = v as Record<string, unknown>;
  if (typeof o["$bytes"] === "number") return buffers[o["$bytes"]]!;
  if (isObject(o["$key"])) return readKey(o["$key"] as Record<string, unknown>, buffers);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(o)) out[k] = readTree(x, buffers);
  return out;
}

const arrayBufferOf = (u: Uint8Array) => u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength) as ArrayBuffer;

// — calls —

/** Bytes one call may carry to the host (host-ops.ts refuses more, after this clearer error). */
const maxCallBytes = 64 * 1024 * 1024;
const waiting = new Map<number, { invocation: number; resolve(value: unknown): void; reject(error: unknown): void; method: string }>();
let nextOp = 1;

const jsErrors: Record<string, new (message: string) => Error> = { TypeError, RangeError };

/** The host's answer to a crypto.subtle call (dispatcher's `subtleDone`). */
export function subtleDone(op: number, error: string, json: string, buffers: Uint8Array[]): void {
  const w = waiting.get(op);
  if (w === undefined) return;
  waiting.delete(op);
  enterInvocation(w.invocation);
  if (error !== "") {
    const m = /^(\w+): ([\s\S]*)$/.exec(error);
    const name = m?.[1] ?? "OperationError";
    const message = m?.[2] ?? error;
    const JsError = Object.hasOwn(jsErrors, name) ? jsErrors[name] : undefined;
    w.reject(JsError !== undefined ? new JsError(message) : newDOMException(message, name));
    return;
  }
  const value = readTree(JSON.parse(json), buffers);
  // ArrayBuffer results are whole buffers; a JWK or key pair is a plain object.
  w.resolve(value instanceof Uint8Array ? arrayBufferOf(value) : value);
}

function call(method: string, argCount: number, required: number, build: (w: WireWriter) => unknown[]): Promise<unknown> {
  const context = methodContext("SubtleCrypto", method);
  try {
    requireArgs(argCount, required, context);
    const writer = new WireWriter(`Failed to execute '${method}' on 'SubtleCrypto'`);
    const args = build(writer);
    let total = 0;
    for (const b of writer.buffers) total += b.byteLength;
    if (total > maxCallBytes) {
      throw newDOMException(`${context}: the data is ${total} bytes; Flick takes at most 64 MiB per crypto.subtle call (digest or encrypt it in parts).`, "OperationError");
    }
    const invocation = currentInvocation();
    if (invocation === 0) throw new TypeError(`${context}: crypto.subtle works during a request; call it inside fetch() or another handler, not at module scope.`);
    const op = nextOp++;
    return new Promise((resolve, reject) => {
      waiting.set(op, { invocation, resolve, reject, method });
      emit(["subtle", invocation, op, method, JSON.stringify(args), writer.buffers]);
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * Each method normalises its algorithm before it copies its buffers (as the spec orders
 * the steps): a buffer changed or transferred by a getter on the algorithm is seen changed.
 */
export class SubtleCrypto {
  constructor(key?: unknown) {
    if (key !== kCreate) throw new TypeError("Illegal constructor");
  }
  digest(algorithm: unknown, data: unknown): Promise<unknown> {
    return call("digest", arguments.length, 2, (w) => [w.algorithm(algorithm), w.bytes(data, "data")]);
  }
  encrypt(algorithm: unknown, key: unknown, data: unknown): Promise<unknown> {
    return call("encrypt", arguments.length, 3, (w) => [w.algorithm(algorithm), w.key(key), w.bytes(data, "data")]);
  }
  decrypt(algorithm: unknown, key: unknown, data: unknown): Promise<unknown> {
    return call("decrypt", arguments.length, 3, (w) => [w.algorithm(algorithm), w.key(key), w.bytes(data, "data")]);
  }
  sign(algorithm: unknown, key: unknown, data: unknown): Promise<unknown> {
    return call("sign", arguments.length, 3, (w) => [w.algorithm(algorithm), w.key(key), w.bytes(data, "data")]);
  }
  verify(algorithm: unknown, key: unknown, signature: unknown, data: unknown): Promise<unknown> {
    return call("verify", arguments.length, 4, (w) => [w.algorithm(algorithm), w.key(key), w.bytes(signature, "signature"), w.bytes(data, "data")]);
  }
  generateKey(algorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<unknown> {
    return call("generateKey", arguments.length, 3, (w) => [w.algorithm(algorithm), Boolean(extractable), w.usages(keyUsages)]);
  }
  importKey(format: unknown, keyData: unknown, algorithm: unknown, extractable: unknown, keyUsages: unknown): Promise<unknown> {
    return call("importKey", arguments.length, 5, (w) => {
      // The spec normalises the algorithm before it copies the key data.
      const f = toStringES(format);
      const alg = w.algorithm(algorithm);
      const data = f === "jwk" ? w.jwk(keyData) : w.bytes(keyData, "keyData");
      return [f, data, alg, Boolean(extractable), w.usages(keyUsages)];
    });
  }
  exportKey(format: unknown, key: unknown): Promise<unknown> {
    return call("exportKey", arguments.length, 2, (w) => [toStringES(format), w.key(key)]);
  }
  deriveBits(algorithm: unknown, baseKey: unknown, length: unknown = null): Promise<unknown> {
    return call("deriveBits", arguments.length, 2, (w) => [w.algorithm(algorithm), w.key(baseKey), length === null || length === undefined ? null : Number(length)]);
  }
  deriveKey(algorithm: unknown, baseKey: unknown, derivedKeyType: unknown, extractable: unknown, keyUsages: unknown): Promise<unknown> {
    return call("deriveKey", arguments.length, 5, (w) => [w.algorithm(algorithm), w.key(baseKey), w.algorithm(derivedKeyType), Boolean(extractable), w.usages(keyUsages)]);
  }
  wrapKey(format: unknown, key: unknown, wrappingKey: unknown, wrapAlgorithm: unknown): Promise<unknown> {
    return call("wrapKey", arguments.length, 4, (w) => [toStringES(format), w.key(key), w.key(wrappingKey), w.algorithm(wrapAlgorithm)]);
  }
  unwrapKey(
    format: unknown, wrappedKey: unknown, unwrappingKey: unknown, unwrapAlgorithm: unknown, unwrappedKeyAlgorithm: unknown, extractable: unknown, keyUsages: unknown,
  ): Promise<unknown> {
    return call("unwrapKey", arguments.length, 7, (w) => {
      const f = toStringES(format);
      const unwrapAlg = w.algorithm(unwrapAlgorithm);
      const keyAlg = w.algorithm(unwrappedKeyAlgorithm);
      return [f, w.bytes(wrappedKey, "wrappedKey"), w.key(unwrappingKey), unwrapAlg, keyAlg, Boolean(extractable), w.usages(keyUsages)];
    });
  }
}
defineInterface(SubtleCrypto, "SubtleCrypto");

export function createSubtle(): SubtleCrypto {
  return new SubtleCrypto(kCreate);
}
