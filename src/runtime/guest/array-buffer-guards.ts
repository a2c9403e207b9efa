/**
 * Resizable ArrayBuffers reserve their `maxByteLength` from the instance's memory pool
 * (memory-reservations.ts). V8 makes them outside the allocator isolated-vm limits:
 * measured in a 32 MiB isolate, `new ArrayBuffer(8, { maxByteLength: 2 ** 30 })` resized
 * to 2 ** 29 commits 512 MiB while the heap statistics show no external memory.
 *
 * Every way to make one goes through here:
 * - the constructor (the global `ArrayBuffer` and `ArrayBuffer.prototype.constructor` are
 *   the guard; `options.maxByteLength` is read once and the native constructor gets a
 *   fresh object holding the number that was reserved);
 * - `resize` needs no guard: it cannot pass `maxByteLength`, which is reserved;
 * - `transfer` of a resizable buffer makes a resizable one over the same memory (measured:
 *   zero-copy, still uncounted), so the reservation moves to it; `transferToFixedLength`
 *   copies into a buffer the allocator counts (measured), so the reservation ends;
 * - `slice` and structuredClone (web/structured-clone.ts, which slices) make fixed-length
 *   copies, counted by the allocator; WebAssembly.Memory has no `toResizableBuffer` in
 *   this V8. The runtime's own transfers (byte streams) call `transferArrayBuffer`.
 */
import { holdUntilCollected, moveReservation, releaseReservation, reserve, type Reservation } from "./memory-reservations.ts";

const FunctionPrototypeCall = Function.prototype.call;
const NativeArrayBuffer = ArrayBuffer;
const ArrayBufferPrototype = ArrayBuffer.prototype;
const nativeTransfer = ArrayBufferPrototype.transfer;
const nativeTransferToFixedLength = ArrayBufferPrototype.transferToFixedLength;
const ResizableGetter = Object.getOwnPropertyDescriptor(ArrayBufferPrototype, "resizable")!.get!;
const MaxByteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBufferPrototype, "maxByteLength")!.get!;
const ReflectApply = Reflect.apply;
const ReflectConstruct = Reflect.construct;
const ReflectOwnKeys = Reflect.ownKeys;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const MathTrunc = Math.trunc;
const maxIndex = 2 ** 53 - 1;
const WeakMapCtor = WeakMap;
const WeakMapGet = FunctionPrototypeCall.bind(WeakMap.prototype.get) as unknown as (self: WeakMap<object, Reservation>, key: unknown) => Reservation | undefined;
const WeakMapSet = FunctionPrototypeCall.bind(WeakMap.prototype.set) as unknown as (self: WeakMap<object, Reservation>, key: object, value: Reservation) => WeakMap<object, Reservation>;
const WeakMapDelete = FunctionPrototypeCall.bind(WeakMap.prototype.delete) as unknown as (self: WeakMap<object, Reservation>, key: object) => boolean;

/** The reservation of each live resizable buffer. */
const reservations = new WeakMapCtor<object, Reservation>();

/** ToIndex of a number, or -1 when it is not one (the native constructor then throws its RangeError). */
function index(number: number): number {
  const integer = number !== number ? 0 : MathTrunc(number);
  return integer >= 0 && integer <= maxIndex ? integer : -1;
}

function reserveBuffer(maxByteLength: number): Reservation {
  return reserve(maxByteLength, `a resizable ArrayBuffer with maxByteLength ${maxByteLength}`);
}

function track(buffer: ArrayBuffer, reservation: Reservation): void {
  holdUntilCollected(reservation, [buffer]);
  WeakMapSet(reservations, buffer, reservation);
}

/** After `from` was transferred into `to`: its reservation follows the memory, or ends. */
function transferred(from: ArrayBuffer, to: ArrayBuffer): void {
  const reservation = WeakMapGet(reservations, from);
  const resizable = ReflectApply(ResizableGetter, to, []) as boolean;
  if (reservation !== undefined) {
    WeakMapDelete(reservations, from);
    if (!resizable) return releaseReservation(reservation);
    moveReservation(reservation, to);
    WeakMapSet(reservations, to, reservation);
  } else if (resizable) {
    // Not made by the guarded constructor (there is no such path today): count it now.
    track(to, reserveBuffer(ReflectApply(MaxByteLengthGetter, to, []) as number));
  }
}

/** ArrayBuffer.prototype.transfer, uncurried, keeping the pool right; for the runtime's own transfers. */
export function transferArrayBuffer(buffer: ArrayBuffer, newLength?: number): ArrayBuffer {
  const result = ReflectApply(nativeTransfer, buffer, [newLength]) as ArrayBuffer;
  transferred(buffer, result);
  return result;
}

const methods = {
  transfer(this: ArrayBuffer): ArrayBuffer {
    const result = ReflectApply(nativeTransfer, this, arguments) as ArrayBuffer;
    transferred(this, result);
    return result;
  },
  transferToFixedLength(this: ArrayBuffer): ArrayBuffer {
    const result = ReflectApply(nativeTransferToFixedLength, this, arguments) as ArrayBuffer;
    transferred(this, result);
    return result;
  },
};

// Named like what it replaces; `length` and `options` as in the spec (§25.1.4.1).
const GuardedArrayBuffer = function ArrayBuffer(this: unknown, length: unknown, options: unknown): ArrayBuffer {
  if (new.target === undefined) throw new TypeError("Constructor ArrayBuffer requires 'new'");
  const byteLength = +(length as number);
  if (options === null || (typeof options !== "object" && typeof options !== "function")) {
    return ReflectConstruct(NativeArrayBuffer, [byteLength], new.target) as ArrayBuffer;
  }
  const maxOption = (options as { maxByteLength?: unknown }).maxByteLength;
  if (maxOption === undefined) return ReflectConstruct(NativeArrayBuffer, [byteLength], new.target) as ArrayBuffer;
  const maxNumber = +(maxOption as number);
  const maxByteLength = index(maxNumber);
  const fresh = { __proto__: null, maxByteLength: maxNumber };
  const lengthIndex = index(byteLength);
  if (maxByteLength < 0 || lengthIndex < 0 || lengthIndex > maxByteLength) {
    // A RangeError from the native constructor, before it allocates anything.
    ReflectConstruct(NativeArrayBuffer, [byteLength, fresh], new.target);
    throw new RangeError("Invalid array buffer max length");
  }
  const reservation = reserveBuffer(maxByteLength);
  let buffer: ArrayBuffer;
  try {
    buffer = ReflectConstruct(NativeArrayBuffer, [byteLength, fresh], new.target) as ArrayBuffer;
  } catch (error) {
    releaseReservation(reservation);
    throw error;
  }
  track(buffer, reservation);
  return buffer;
};

/** Puts the guard in place of the global ArrayBuffer and of the transfer methods. Idempotent. */
export function installArrayBufferGuards(global: typeof globalThis): void {
  if (global.ArrayBuffer === (GuardedArrayBuffer as unknown)) return;
  for (const key of ReflectOwnKeys(NativeArrayBuffer)) {
    if (key === "prototype") continue;
    ObjectDefineProperty(GuardedArrayBuffer, key, ObjectGetOwnPropertyDescriptor(NativeArrayBuffer, key)!);
  }
  ObjectDefineProperty(GuardedArrayBuffer, "prototype", { value: ArrayBufferPrototype, writable: false, enumerable: false, configurable: false });
  ObjectDefineProperty(ArrayBufferPrototype, "constructor", { value: GuardedArrayBuffer, writable: true, enumerable: false, configurable: true });
  for (const name of ["transfer", "transferToFixedLength"] as const) {
    ObjectDefineProperty(methods[name], "length", { value: 0 });
    ObjectDefineProperty(ArrayBufferPrototype, name, { value: methods[name], writable: true, enumerable: false, configurable: true });
  }
  ObjectDefineProperty(global, "ArrayBuffer", { value: GuardedArrayBuffer, writable: true, enumerable: false, configurable: true });
}
