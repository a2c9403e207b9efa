/**
 * Web Crypto's primitives as narrow, synchronous host ops: the guest's SubtleCrypto
 * (runtime/guest/subtle-crypto.ts) validates algorithms, usages and formats, and calls
 * these with copies of bytes and JWK text only. Every argument is checked again here; a
 * failure is an Error whose message starts with the DOMException name the guest throws.
 */
import {
  createHmac, createPrivateKey, createPublicKey, createCipheriv, createDecipheriv, createHash, generateKeyPairSync,
  hkdfSync, pbkdf2Sync, sign as cryptoSign, timingSafeEqual, verify as cryptoVerify, type KeyObject,
} from "node:crypto";

const maxBytes = 64 * 1024 * 1024;
const hashes: Record<string, string> = { "SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512" };

function bytes(value: unknown, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`TypeError: ${what} must be bytes`);
  if (value.byteLength > maxBytes) throw new RangeError(`OperationError: ${what} is over ${maxBytes} bytes`);
  return value;
}

function hashName(name: unknown): string {
  const h = typeof name === "string" ? hashes[name] : undefined;
  if (h === undefined) throw new Error(`NotSupportedError: unsupported hash ${String(name)}`);
  return h;
}

function jwkKey(text: unknown, type: "private" | "public"): KeyObject {
  if (typeof text !== "string" || text.length > 16384) throw new TypeError("DataError: malformed JWK");
  try {
    const key = JSON.parse(text) as object;
    return type === "private" ? createPrivateKey({ key: key as never, format: "jwk" }) : createPublicKey({ key: key as never, format: "jwk" });
  } catch (err) {
    throw new Error(`DataError: invalid key data (${(err as Error).message})`);
  }
}

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const cryptoOps = {
  digest(hash: string, data: Uint8Array): Uint8Array {
    return u8(createHash(hashName(hash)).update(bytes(data, "data")).digest());
  },
  hmacSign(hash: string, key: Uint8Array, data: Uint8Array): Uint8Array {
    return u8(createHmac(hashName(hash), bytes(key, "key")).update(bytes(data, "data")).digest());
  },
  hmacVerify(hash: string, key: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
    const mac = createHmac(hashName(hash), bytes(key, "key")).update(bytes(data, "data")).digest();
    const sig = bytes(signature, "signature");
    return sig.byteLength === mac.byteLength && timingSafeEqual(mac, sig);
  },
  aesGcm(encrypt: boolean, key: Uint8Array, iv: Uint8Array, data: Uint8Array, aad: Uint8Array | null, tagBits: number): Uint8Array {
    const k = bytes(key, "key");
    if (k.byteLength !== 16 && k.byteLength !== 24 && k.byteLength !== 32) throw new Error("DataError: AES key length must be 128, 192 or 256 bits");
    if (![32, 64, 96, 104, 112, 120, 128].includes(tagBits)) throw new Error("OperationError: invalid tagLength");
    const nonce = bytes(iv, "iv");
    if (nonce.byteLength === 0) throw new Error("OperationError: the iv must not be empty");
    const algorithm = (k.byteLength === 16 ? "aes-128-gcm" : k.byteLength === 24 ? "aes-192-gcm" : "aes-256-gcm") as "aes-256-gcm";
    const tagLength = tagBits / 8;
    const input = bytes(data, "data");
    if (encrypt) {
      const cipher = createCipheriv(algorithm, k, nonce, { authTagLength: tagLength });
      if (aad !== null) cipher.setAAD(bytes(aad, "additionalData"));
      return u8(Buffer.concat([cipher.update(input), cipher.final(), cipher.getAuthTag()]));
    }
    if (input.byteLength < tagLength) throw new Error("OperationError: the data is shorter than the tag");
    const decipher = createDecipheriv(algorithm, k, nonce, { authTagLength: tagLength });
    if (aad !== null) decipher.setAAD(bytes(aad, "additionalData"));
    decipher.setAuthTag(input.subarray(input.byteLength - tagLength));
    try {
      return u8(Buffer.concat([decipher.update(input.subarray(0, input.byteLength - tagLength)), decipher.final()]));
    } catch {
      throw new Error("OperationError: decryption failed (wrong key, iv, additional data or tampered data)");
    }
  },
  /** A new key pair as [private JWK, public JWK] text. */
  generateKeyPair(kind: string): string[] {
    const pair = kind === "ECDSA-P-256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : kind === "Ed25519" ? generateKeyPairSync("ed25519") : undefined;
    if (pair === undefined) throw new Error(`NotSupportedError: cannot generate ${kind} keys`);
    return [JSON.stringify(pair.privateKey.export({ format: "jwk" })), JSON.stringify(pair.publicKey.export({ format: "jwk" }))];
  },
  /** Checks a JWK and returns it normalised (the public part for a public key). */
  checkJwk(text: string, type: "private" | "public"): string {
    const key = jwkKey(text, type === "private" ? "private" : "public");
    return JSON.stringify(key.export({ format: "jwk" }));
  },
  sign(kind: string, privateJwk: string, hash: string, data: Uint8Array): Uint8Array {
    const key = jwkKey(privateJwk, "private");
    if (kind === "Ed25519") return u8(cryptoSign(null, bytes(data, "data"), key));
    return u8(cryptoSign(hashName(hash), bytes(data, "data"), { key, dsaEncoding: "ieee-p1363" }));
  },
  verify(kind: string, publicJwk: string, hash: string, data: Uint8Array, signature: Uint8Array): boolean {
    const key = jwkKey(publicJwk, "public");
    if (kind === "Ed25519") return cryptoVerify(null, bytes(data, "data"), key, bytes(signature, "signature"));
    return cryptoVerify(hashName(hash), bytes(data, "data"), { key, dsaEncoding: "ieee-p1363" }, bytes(signature, "signature"));
  },
  pbkdf2(hash: string, password: Uint8Array, salt: Uint8Array, iterations: number, lengthBits: number): Uint8Array {
    if (!Number.isInteger(iterations) || iterations < 1 || iterations > 10_000_000) throw new Error("OperationError: iterations must be 1..10000000");
    if (!Number.isInteger(lengthBits) || lengthBits <= 0 || lengthBits % 8 !== 0 || lengthBits > 8 * 65536) throw new Error("OperationError: length must be a positive multiple of 8");
    return u8(pbkdf2Sync(bytes(password, "password"), bytes(salt, "salt"), iterations, lengthBits / 8, hashName(hash)));
  },
  hkdf(hash: string, ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, lengthBits: number): Uint8Array {
    if (!Number.isInteger(lengthBits) || lengthBits <= 0 || lengthBits % 8 !== 0) throw new Error("OperationError: length must be a positive multiple of 8");
    try {
      return new Uint8Array(hkdfSync(hashName(hash), bytes(ikm, "key"), bytes(salt, "salt"), bytes(info, "info"), lengthBits / 8));
    } catch (err) {
      throw new Error(`OperationError: ${(err as Error).message}`);
    }
  },
};
