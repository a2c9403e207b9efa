/**
 * crypto.subtle (W3C Web Crypto): algorithm normalisation, key objects, usages and
 * formats are handled here, to the spec's error types; the primitives run in the host
 * (node:crypto) through one narrow op that takes and returns copies. Supported: digest
 * (SHA-1/256/384/512), HMAC, AES-GCM, ECDSA P-256, Ed25519, PBKDF2 and HKDF, keys in
 * raw and jwk formats.
 */
import { hostOps } from "./host-ops.ts";
import { base64Decode, base64Encode } from "./web/base64.ts";
import { newDOMException } from "./web/dom-exception.ts";
import { defineInterface, isObject, toStringES } from "./web/idl.ts";

type KeyType = "secret" | "public" | "private";
type Usage = "encrypt" | "decrypt" | "sign" | "verify" | "deriveKey" | "deriveBits" | "wrapKey" | "unwrapKey";
type Algorithm = Record<string, unknown> & { name: string };

interface KeySlots {
  type: KeyType;
  extractable: boolean;
  algorithm: Algorithm;
  usages: Usage[];
  /** Secret keys: the bytes. Asymmetric keys: the JWK (text), checked by the host. */
  material: Uint8Array | string;
  algorithmView?: object;
  usagesView?: Usage[];
}

const slots = new WeakMap<object, KeySlots>();
const kCreate = Symbol("create");

function slotsOf(key: unknown): KeySlots {
  const s = isObject(key) ? slots.get(key) : undefined;
  if (s === undefined) throw new TypeError("parameter is not of type 'CryptoKey'.");
  return s;
}

export class CryptoKey {
  constructor(key?: unknown) {
    if (key !== kCreate) throw new TypeError("Illegal constructor");
  }
  get type(): KeyType {
    return slotsOf(this).type;
  }
  get extractable(): boolean {
    return slotsOf(this).extractable;
  }
  get algorithm(): object {
    const s = slotsOf(this);
    return (s.algorithmView ??= deepFreeze(structuredCopy(s.algorithm)));
  }
  get usages(): Usage[] {
    const s = slotsOf(this);
    return (s.usagesView ??= Object.freeze(s.usages.slice()) as Usage[]);
  }
}
defineInterface(CryptoKey, "CryptoKey");

function structuredCopy(a: Algorithm): Algorithm {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(a)) out[k] = isObject(v) && !(v instanceof Uint8Array) ? { ...(v as object) } : v;
  return out as Algorithm;
}
function deepFreeze<T extends object>(o: T): T {
  for (const v of Object.values(o)) if (isObject(v)) Object.freeze(v);
  return Object.freeze(o);
}

function newKey(type: KeyType, extractable: boolean, algorithm: Algorithm, usages: Usage[], material: Uint8Array | string): CryptoKey {
  const key = new CryptoKey(kCreate);
  slots.set(key, { type, extractable, algorithm, usages, material });
  return key;
}

// — helpers —

const names = ["SHA-1", "SHA-256", "SHA-384", "SHA-512", "HMAC", "AES-GCM", "ECDSA", "Ed25519", "PBKDF2", "HKDF"];
const usageOrder: Usage[] = ["encrypt", "decrypt", "sign", "verify", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"];
const hashBlockBits: Record<string, number> = { "SHA-1": 512, "SHA-256": 512, "SHA-384": 1024, "SHA-512": 1024 };

function fail(name: string, message: string): never {
  throw newDOMException(message, name);
}

/** Web Crypto "normalize an algorithm": a name (case-insensitive) and its members. */
function normalize(algorithm: unknown): Algorithm {
  const dict = typeof algorithm === "string" ? { name: algorithm } : algorithm;
  if (!isObject(dict)) throw new TypeError("Algorithm: expected a string or an object with a name");
  const raw = (dict as { name?: unknown }).name;
  if (raw === undefined) throw new TypeError("Algorithm: name is required");
  const lower = toStringES(raw).toLowerCase();
  const name = names.find((n) => n.toLowerCase() === lower);
  if (name === undefined) fail("NotSupportedError", `Unrecognized algorithm name: ${toStringES(raw)}`);
  return { ...(dict as object), name } as Algorithm;
}

function hashOf(algorithm: Algorithm, required = true): string {
  const h = algorithm["hash"];
  if (h === undefined) {
    if (required) throw new TypeError(`${algorithm.name}: hash is required`);
    return "";
  }
  const name = normalize(h).name;
  if (!(name in hashBlockBits)) fail("NotSupportedError", `${name} is not a hash`);
  return name;
}

function bufferSource(value: unknown, what: string): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer);
  throw new TypeError(`${what} is not an ArrayBuffer or ArrayBufferView`);
}

function buffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

function usagesOf(value: unknown, allowed: readonly Usage[], what: string): Usage[] {
  if (!isObject(value) || typeof (value as Iterable<unknown>)[Symbol.iterator] !== "function") throw new TypeError("keyUsages is not a sequence");
  const out: Usage[] = [];
  for (const u of value as Iterable<unknown>) {
    const usage = toStringES(u) as Usage;
    if (!usageOrder.includes(usage)) throw new TypeError(`'${usage}' is not a valid KeyUsage`);
    if (!allowed.includes(usage)) fail("SyntaxError", `Cannot create a ${what} key with usage '${usage}'`);
    if (!out.includes(usage)) out.push(usage);
  }
  return out.sort((a, b) => usageOrder.indexOf(a) - usageOrder.indexOf(b));
}

function requireUsages(type: KeyType, usages: Usage[]): void {
  if ((type === "secret" || type === "private") && usages.length === 0) fail("SyntaxError", "Usages cannot be empty when creating a key.");
}

function host<T>(name: string, ...args: unknown[]): T {
  try {
    return hostOps().crypto(name, ...args) as T;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const m = /^(\w+Error): ([\s\S]*)$/.exec(message);
    if (m === null) fail("OperationError", message);
    if (m[1] === "TypeError") throw new TypeError(m[2]);
    if (m[1] === "RangeError") fail("OperationError", m[2]!);
    fail(m[1]!, m[2]!);
  }
}

const b64url = {
  encode: (b: Uint8Array) => base64Encode(b).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  decode(s: unknown, what: string): Uint8Array {
    if (typeof s !== "string" || !/^[A-Za-z0-9_-]*$/.test(s)) fail("DataError", `JWK member ${what} is not base64url`);
    const bytes = base64Decode(s.replace(/-/g, "+").replace(/_/g, "/"));
    if (bytes === null) fail("DataError", `JWK member ${what} is not base64url`);
    return bytes;
  },
};

function checkUsage(key: KeySlots, usage: Usage, name: string): void {
  if (key.algorithm.name !== name) fail("InvalidAccessError", `The key is a ${key.algorithm.name} key, not ${name}`);
  if (!key.usages.includes(usage)) fail("InvalidAccessError", `The key does not allow '${usage}'`);
}

// — per algorithm —

function generateSecret(alg: Algorithm, extractable: boolean, usages: unknown): CryptoKey {
  if (alg.name === "HMAC") {
    const hash = hashOf(alg);
    const length = alg["length"] === undefined ? hashBlockBits[hash]! : Number(alg["length"]);
    if (!Number.isInteger(length) || length <= 0 || length % 8 !== 0 || length > 65536 * 8) fail("OperationError", "HMAC length must be a positive multiple of 8");
    const u = usagesOf(usages, ["sign", "verify"], "HMAC");
    requireUsages("secret", u);
    return newKey("secret", extractable, { name: "HMAC", length, hash: { name: hash } }, u, hostOps().randomBytes(length / 8));
  }
  const length = Number(alg["length"]);
  if (length !== 128 && length !== 192 && length !== 256) fail("OperationError", "AES key length must be 128, 192 or 256");
  const u = usagesOf(usages, ["encrypt", "decrypt", "wrapKey", "unwrapKey"], "AES-GCM");
  requireUsages("secret", u);
  return newKey("secret", extractable, { name: "AES-GCM", length }, u, hostOps().randomBytes(length / 8));
}

function keyPairAlgorithm(alg: Algorithm): { kind: string; algorithm: Algorithm } {
  if (alg.name === "Ed25519") return { kind: "Ed25519", algorithm: { name: "Ed25519" } };
  const curve = alg["namedCurve"];
  if (curve !== "P-256") fail("NotSupportedError", `ECDSA curve ${String(curve)} is not supported (P-256 is)`);
  return { kind: "ECDSA-P-256", algorithm: { name: "ECDSA", namedCurve: "P-256" } };
}

function importSecret(format: string, keyData: unknown, alg: Algorithm, extractable: boolean, usages: unknown): CryptoKey {
  let bytes: Uint8Array;
  if (format === "raw") bytes = bufferSource(keyData, "keyData");
  else if (format === "jwk") {
    if (!isObject(keyData)) throw new TypeError("keyData is not a JsonWebKey");
    const jwk = keyData as Record<string, unknown>;
    if (jwk["kty"] !== "oct") fail("DataError", "JWK kty must be 'oct' for a secret key");
    if (jwk["ext"] === false && extractable) fail("DataError", "JWK ext is false but the key is requested extractable");
    bytes = b64url.decode(jwk["k"], "k");
  } else fail("NotSupportedError", `format ${format} is not supported for ${alg.name} (raw and jwk are)`);
  if (alg.name === "HMAC") {
    const hash = hashOf(alg);
    if (bytes.length === 0) fail("DataError", "HMAC key data is empty");
    const length = alg["length"] === undefined ? bytes.length * 8 : Number(alg["length"]);
    if (length > bytes.length * 8 || length <= (bytes.length - 1) * 8) fail("DataError", "HMAC length does not match the key data");
    const u = usagesOf(usages, ["sign", "verify"], "HMAC");
    requireUsages("secret", u);
    return newKey("secret", extractable, { name: "HMAC", length, hash: { name: hash } }, u, bytes);
  }
  if (alg.name === "AES-GCM") {
    if (![16, 24, 32].includes(bytes.length)) fail("DataError", "AES key data must be 16, 24 or 32 bytes");
    const u = usagesOf(usages, ["encrypt", "decrypt", "wrapKey", "unwrapKey"], "AES-GCM");
    requireUsages("secret", u);
    return newKey("secret", extractable, { name: "AES-GCM", length: bytes.length * 8 }, u, bytes);
  }
  // PBKDF2 / HKDF: a base key for derivation, never extractable.
  if (format !== "raw") fail("NotSupportedError", `${alg.name} keys are imported in raw format`);
  if (extractable) fail("SyntaxError", `${alg.name} keys cannot be extractable`);
  const u = usagesOf(usages, ["deriveKey", "deriveBits"], alg.name);
  requireUsages("secret", u);
  return newKey("secret", false, { name: alg.name }, u, bytes);
}

function importAsymmetric(format: string, keyData: unknown, alg: Algorithm, extractable: boolean, usages: unknown): CryptoKey {
  const { algorithm } = keyPairAlgorithm(alg);
  const ec = algorithm.name === "ECDSA";
  let jwk: Record<string, unknown>;
  if (format === "raw") {
    const raw = bufferSource(keyData, "keyData");
    if (ec) {
      if (raw.length !== 65 || raw[0] !== 4) fail("DataError", "a raw P-256 public key is a 65-byte uncompressed point");
      jwk = { kty: "EC", crv: "P-256", x: b64url.encode(raw.subarray(1, 33)), y: b64url.encode(raw.subarray(33)) };
    } else {
      if (raw.length !== 32) fail("DataError", "a raw Ed25519 public key is 32 bytes");
      jwk = { kty: "OKP", crv: "Ed25519", x: b64url.encode(raw) };
    }
  } else if (format === "jwk") {
    if (!isObject(keyData)) throw new TypeError("keyData is not a JsonWebKey");
    jwk = { ...(keyData as Record<string, unknown>) };
    if (ec ? jwk["kty"] !== "EC" || jwk["crv"] !== "P-256" : jwk["kty"] !== "OKP" || jwk["crv"] !== "Ed25519") {
      fail("DataError", `JWK kty/crv do not match ${algorithm.name}`);
    }
    if (jwk["ext"] === false && extractable) fail("DataError", "JWK ext is false but the key is requested extractable");
  } else fail("NotSupportedError", `format ${format} is not supported (raw and jwk are)`);
  const type: KeyType = jwk["d"] === undefined ? "public" : "private";
  const u = usagesOf(usages, type === "private" ? ["sign"] : ["verify"], `${algorithm.name} ${type}`);
  requireUsages(type, u);
  const members = ec ? ["kty", "crv", "x", "y", "d"] : ["kty", "crv", "x", "d"];
  const clean = JSON.stringify(Object.fromEntries(members.filter((m) => jwk[m] !== undefined).map((m) => [m, jwk[m]])));
  const checked = host<string>("checkJwk", clean, type);
  return newKey(type, type === "public" ? true : extractable, algorithm, u, checked);
}

function exportKeyData(format: string, key: KeySlots): ArrayBuffer | Record<string, unknown> {
  if (!key.extractable) fail("InvalidAccessError", "The key is not extractable");
  const alg = key.algorithm;
  if (typeof key.material !== "string") {
    if (format === "raw") return buffer(key.material);
    if (format !== "jwk") fail("NotSupportedError", `format ${format} is not supported (raw and jwk are)`);
    const jwk: Record<string, unknown> = { kty: "oct", k: b64url.encode(key.material), key_ops: key.usages.slice(), ext: true };
    if (alg.name === "HMAC") jwk["alg"] = `HS${((alg["hash"] as { name: string }).name).slice(4)}`;
    if (alg.name === "AES-GCM") jwk["alg"] = `A${alg["length"] as number}GCM`;
    return jwk;
  }
  const jwk = JSON.parse(key.material) as Record<string, unknown>;
  if (format === "jwk") return { ...jwk, key_ops: key.usages.slice(), ext: true };
  if (format !== "raw") fail("NotSupportedError", `format ${format} is not supported (raw and jwk are)`);
  if (key.type !== "public") fail("InvalidAccessError", "Only public keys export in raw format");
  if (alg.name === "Ed25519") return buffer(b64url.decode(jwk["x"], "x"));
  const x = b64url.decode(jwk["x"], "x");
  const y = b64url.decode(jwk["y"], "y");
  const out = new Uint8Array(65);
  out[0] = 4;
  out.set(x, 1);
  out.set(y, 33);
  return out.buffer;
}

function deriveBitsOf(alg: Algorithm, key: KeySlots, length: number): ArrayBuffer {
  checkUsage(key, "deriveBits", alg.name);
  if (!Number.isInteger(length) || length <= 0 || length % 8 !== 0) fail("OperationError", "length must be a positive multiple of 8");
  const hash = hashOf(alg);
  const salt = bufferSource(alg["salt"], `${alg.name} salt`);
  if (alg.name === "PBKDF2") return buffer(host<Uint8Array>("pbkdf2", hash, key.material, salt, Number(alg["iterations"]), length));
  return buffer(host<Uint8Array>("hkdf", hash, key.material, salt, bufferSource(alg["info"], "HKDF info"), length));
}

// — SubtleCrypto —

/** Runs `work` and turns a throw into a rejection, as every SubtleCrypto method must. */
function promised<T>(work: () => T): Promise<T> {
  try {
    return Promise.resolve(work());
  } catch (err) {
    return Promise.reject(err);
  }
}

export class SubtleCrypto {
  constructor(key?: unknown) {
    if (key !== kCreate) throw new TypeError("Illegal constructor");
  }

  digest(algorithm: unknown, data: unknown): Promise<ArrayBuffer> {
    return promised(() => {
      const alg = normalize(algorithm);
      if (!(alg.name in hashBlockBits)) fail("NotSupportedError", `${alg.name} is not a digest algorithm`);
      return buffer(host<Uint8Array>("digest", alg.name, bufferSource(data, "data")));
    });
  }

  generateKey(algorithm: unknown, extractable: boolean, keyUsages: unknown): Promise<CryptoKey | { publicKey: CryptoKey; privateKey: CryptoKey }> {
    return promised(() => {
      const alg = normalize(algorithm);
      if (alg.name === "HMAC" || alg.name === "AES-GCM") return generateSecret(alg, Boolean(extractable), keyUsages);
      if (alg.name !== "ECDSA" && alg.name !== "Ed25519") fail("NotSupportedError", `cannot generate ${alg.name} keys`);
      const { kind, algorithm: keyAlg } = keyPairAlgorithm(alg);
      const u = usagesOf(keyUsages, ["sign", "verify"], keyAlg.name);
      const [priv, pub] = host<string[]>("generateKeyPair", kind);
      const privateKey = newKey("private", Boolean(extractable), keyAlg, u.filter((x) => x === "sign"), priv!);
      requireUsages("private", u.filter((x) => x === "sign"));
      const publicKey = newKey("public", true, keyAlg, u.filter((x) => x === "verify"), pub!);
      return { publicKey, privateKey };
    });
  }

  importKey(format: string, keyData: unknown, algorithm: unknown, extractable: boolean, keyUsages: unknown): Promise<CryptoKey> {
    return promised(() => {
      const alg = normalize(algorithm);
      const f = toStringES(format);
      if (alg.name === "ECDSA" || alg.name === "Ed25519") return importAsymmetric(f, keyData, alg, Boolean(extractable), keyUsages);
      if (alg.name in hashBlockBits) fail("NotSupportedError", `${alg.name} is not a key algorithm`);
      return importSecret(f, keyData, alg, Boolean(extractable), keyUsages);
    });
  }

  exportKey(format: string, key: CryptoKey): Promise<ArrayBuffer | Record<string, unknown>> {
    return promised(() => exportKeyData(toStringES(format), slotsOf(key)));
  }

  sign(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    return promised(() => {
      const alg = normalize(algorithm);
      const k = slotsOf(key);
      checkUsage(k, "sign", alg.name);
      const bytes = bufferSource(data, "data");
      if (alg.name === "HMAC") return buffer(host<Uint8Array>("hmacSign", (k.algorithm["hash"] as { name: string }).name, k.material, bytes));
      if (alg.name === "ECDSA") return buffer(host<Uint8Array>("sign", "ECDSA-P-256", k.material, hashOf(alg), bytes));
      if (alg.name === "Ed25519") return buffer(host<Uint8Array>("sign", "Ed25519", k.material, "", bytes));
      return fail("NotSupportedError", `${alg.name} cannot sign`);
    });
  }

  verify(algorithm: unknown, key: CryptoKey, signature: unknown, data: unknown): Promise<boolean> {
    return promised(() => {
      const alg = normalize(algorithm);
      const k = slotsOf(key);
      checkUsage(k, "verify", alg.name);
      const sig = bufferSource(signature, "signature");
      const bytes = bufferSource(data, "data");
      if (alg.name === "HMAC") return host<boolean>("hmacVerify", (k.algorithm["hash"] as { name: string }).name, k.material, bytes, sig);
      if (alg.name === "ECDSA") return host<boolean>("verify", "ECDSA-P-256", k.material, hashOf(alg), bytes, sig);
      if (alg.name === "Ed25519") return host<boolean>("verify", "Ed25519", k.material, "", bytes, sig);
      return fail("NotSupportedError", `${alg.name} cannot verify`);
    });
  }

  encrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    return promised(() => this.#aes(true, algorithm, key, data));
  }

  decrypt(algorithm: unknown, key: CryptoKey, data: unknown): Promise<ArrayBuffer> {
    return promised(() => this.#aes(false, algorithm, key, data));
  }

  #aes(encrypt: boolean, algorithm: unknown, key: CryptoKey, data: unknown): ArrayBuffer {
    const alg = normalize(algorithm);
    if (alg.name !== "AES-GCM") fail("NotSupportedError", `${alg.name} cannot ${encrypt ? "encrypt" : "decrypt"}`);
    const k = slotsOf(key);
    checkUsage(k, encrypt ? "encrypt" : "decrypt", "AES-GCM");
    const iv = bufferSource(alg["iv"], "iv");
    const aad = alg["additionalData"] === undefined ? null : bufferSource(alg["additionalData"], "additionalData");
    const tagLength = alg["tagLength"] === undefined ? 128 : Number(alg["tagLength"]);
    return buffer(host<Uint8Array>("aesGcm", encrypt, k.material, iv, bufferSource(data, "data"), aad, tagLength));
  }

  deriveBits(algorithm: unknown, baseKey: CryptoKey, length: number): Promise<ArrayBuffer> {
    return promised(() => deriveBitsOf(normalize(algorithm), slotsOf(baseKey), Number(length)));
  }

  deriveKey(algorithm: unknown, baseKey: CryptoKey, derivedKeyType: unknown, extractable: boolean, keyUsages: unknown): Promise<CryptoKey> {
    return promised(() => {
      const alg = normalize(algorithm);
      const target = normalize(derivedKeyType);
      const k = slotsOf(baseKey);
      checkUsage(k, "deriveKey", alg.name);
      let length: number;
      if (target.name === "AES-GCM") length = Number(target["length"]);
      else if (target.name === "HMAC") length = target["length"] === undefined ? hashBlockBits[hashOf(target)]! : Number(target["length"]);
      else return fail("NotSupportedError", `cannot derive ${target.name} keys`);
      const bits = deriveBitsOf(alg, { ...k, usages: ["deriveBits"] }, length);
      return importSecret("raw", bits, target, Boolean(extractable), keyUsages);
    });
  }
}
defineInterface(SubtleCrypto, "SubtleCrypto");

export function createSubtle(): SubtleCrypto {
  return new SubtleCrypto(kCreate);
}

export function isCryptoKey(value: unknown): boolean {
  return isObject(value) && slots.has(value);
}


