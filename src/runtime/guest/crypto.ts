/**
 * `crypto`: `getRandomValues` and `randomUUID` from the host's CSPRNG (V8's Math.random
 * is not cryptographic), and `subtle` (subtle-crypto.ts).
 *
 * Asking the host is a sync call — the isolate's thread waits for the host's event loop —
 * so bytes come 4 KiB at a time into a pool that belongs to this isolate alone (one
 * function of one tenant), and each byte is handed out once.
 */
import { syncCalls } from "./host-ops.ts";
import { QuotaExceededError, newDOMException } from "./web/dom-exception.ts";
import { CryptoKey, SubtleCrypto, createSubtle } from "./subtle-crypto.ts";

const integerArrayNames = new Set([
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array",
  "Int32Array", "Uint32Array", "BigInt64Array", "BigUint64Array",
]);
const typedArrayTag = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), Symbol.toStringTag)!.get!;
const QUOTA = 65536;
const poolBytes = 4096;
let pool: Uint8Array = new Uint8Array(0);
let used = 0;
const slice = Uint8Array.prototype.slice;
const fill = Uint8Array.prototype.fill;

/** Empties the pool: at connect, so nothing made before (a snapshot's warm-up) is ever handed out. */
export function resetRandomPool(): void {
  pool = new Uint8Array(0);
  used = 0;
}

/** `n` fresh CSPRNG bytes (n ≤ QUOTA), from the pool when it has them. */
export function randomBytes(n: number): Uint8Array {
  if (n > poolBytes) return syncCalls().randomBytes(n);
  if (pool.byteLength - used < n) {
    pool = syncCalls().randomBytes(poolBytes);
    used = 0;
  }
  const out = Reflect.apply(slice, pool, [used, used + n]) as Uint8Array;
  // Handed out once: wiped from the pool as it leaves.
  Reflect.apply(fill, pool, [0, used, used + n]);
  used += n;
  return out;
}

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
  const bytes = randomBytes(view.byteLength);
  new Uint8Array(view.buffer, view.byteOffset, view.byteLength).set(bytes);
  return array;
}

function randomUUID(): string {
  const b = randomBytes(16);
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
