/**
 * `crypto`: `getRandomValues` and `randomUUID` from the host's CSPRNG (V8's Math.random
 * is not cryptographic), and `subtle` (subtle-crypto.ts).
 */
import { hostOps } from "./host-ops.ts";
import { QuotaExceededError, newDOMException } from "./web/dom-exception.ts";
import { CryptoKey, SubtleCrypto, createSubtle } from "./subtle-crypto.ts";

const integerArrayNames = new Set([
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array",
]);
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;
const QUOTA = 65536;

function getRandomValues<T extends ArrayBufferView | null>(array: T): T {
  const name = array === null || typeof array !== "object" ? undefined : (typedArrayTag.call(array) as string | undefined);
  if (name === undefined || !integerArrayNames.has(name)) {
    throw newDOMException(
      "Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is not an integer array type.",
      "TypeMismatchError",
    );
  }
  const view = array as unknown as ArrayBufferView;
  if (view.byteLength > QUOTA) {
    throw new QuotaExceededError(
      `Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (${view.byteLength}) exceeds the number of bytes of entropy available via this API (${QUOTA}).`,
    );
  }
  const bytes = hostOps().randomBytes(view.byteLength);
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(bytes);
  return array;
}

function randomUUID(): string {
  const b = hostOps().randomBytes(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  let hex = "";
  for (let i = 0; i < 16; i++) hex += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

class Crypto {
  constructor() {
    throw new TypeError("Illegal constructor");
  }
}
const subtle = createSubtle();
Object.defineProperties(Crypto.prototype, {
  subtle: {
    get(): SubtleCrypto {
      return subtle;
    },
    enumerable: true,
    configurable: true,
  },
  getRandomValues: { value: getRandomValues, writable: true, configurable: true, enumerable: true },
  randomUUID: { value: randomUUID, writable: true, configurable: true, enumerable: true },
  [Symbol.toStringTag]: { value: "Crypto", configurable: true },
});

export function createCrypto(): Record<string, unknown> {
  const crypto = Object.create(Crypto.prototype) as Crypto;
  return { Crypto, crypto, CryptoKey, SubtleCrypto };
}
