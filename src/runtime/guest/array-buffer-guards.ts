/**
 * Resizable ArrayBuffers count their byte length against the instance's memory limit
 * (memory-reservations.ts). V8 makes them outside the allocator isolated-vm limits:
 * measured in a 32 MiB isolate, `new ArrayBuffer(8, { maxByteLength: 2 ** 30 })` resized
 * to 2 ** 29 commits 512 MiB while the heap statistics show no external memory.
 *
 * Every way to make one or grow one goes through here, and is checked before it commits:
 * - the constructor (the global `ArrayBuffer` and `ArrayBuffer.prototype.constructor` are
 *   the guard; `options.maxByteLength` is read once and the native constructor gets a
 *   fresh object holding the number that was checked). A `maxByteLength` over the limit
 *   stops the instance: no such buffer could ever be filled, and its address space is
 *   reserved at once;
 * - `resize` (its length converted once, the native method given that number);
 * - `transfer` of a resizable buffer makes a resizable one over the same memory (measured:
 *   zero-copy, still uncounted), at the length asked for, so the count moves to it;
 *   `transferToFixedLength` copies into a buffer the allocator counts (measured), so the
 *   count ends;
 * - `slice` and structuredClone (web/structured-clone.ts, which slices) make fixed-length
 *   copies, counted by the allocator; WebAssembly.Memory has no `toResizableBuffer` in
 *   this V8. The runtime's own transfers (byte streams) call `transferArrayBuffer`.
 */
import { instanceMemoryLimitBytes, memoryLimitReached } from "./memory-limit.ts";
import { ensureRoom, setCommitted, track, untrack, type Committed } from "./memory-reservations.ts";

const FunctionPrototypeCall = Function.prototype.call;
const NativeArrayBuffer = ArrayBuffer;
const ArrayBufferPrototype = ArrayBuffer.prototype;
const nativeResize = ArrayBufferPrototype.resize;
const nativeTransfer = ArrayBufferPrototype.transfer;
const nativeTransferToFixedLength = ArrayBufferPrototype.transferToFixedLength;
const ByteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBufferPrototype, "byteLength")!.get!;
const ResizableGetter = Object.getOwnPropertyDescriptor(ArrayBufferPrototype, "resizable")!.get!;
const MaxByteLengthGetter = Object.getOwnPropertyDescriptor(ArrayBufferPrototype, "maxByteLength")!.get!;
const DetachedGetter = Object.getOwnPropertyDescriptor(ArrayBufferPrototype, "detached")!.get!;
const ReflectApply = Reflect.apply;
const ReflectConstruct = Reflect.construct;
const ReflectOwnKeys = Reflect.ownKeys;
const ObjectDefineProperty = Object.defineProperty;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const MathTrunc = Math.trunc;
const maxIndex = 2 ** 53 - 1;
const WeakMapCtor = WeakMap;
const WeakMapGet = FunctionPrototypeCall.bind(WeakMap.prototype.get) as unknown as (self: WeakMap<object, Committed>, key: unknown) => Committed | undefined;
const WeakMapSet = FunctionPrototypeCall.bind(WeakMap.prototype.set) as unknown as (self: WeakMap<object, Committed>, key: object, value: Committed) => WeakMap<object, Committed>;
const WeakMapDelete = FunctionPrototypeCall.bind(WeakMap.prototype.delete) as unknown as (self: WeakMap<object, Committed>, key: object) => boolean;

/** What each live resizable buffer is counted as. */
const counted = new WeakMapCtor<object, Committed>();

/** ToIndex of a number, or -1 when it is not one (the native method then throws its RangeError). */
function index(number: number): number {
  const integer = number !== number ? 0 : MathTrunc(number);
  return integer >= 0 && integer <= maxIndex ? integer : -1;
}

const byteLength = (buffer: object): number => ReflectApply(ByteLengthGetter, buffer, []) as number;

/** Counts a new resizable buffer; its length changes only through the guards below, which keep the count. */
function trackBuffer(buffer: ArrayBuffer): void {
  const reserved = ReflectApply(MaxByteLengthGetter, buffer, []) as number;
  WeakMapSet(counted, buffer, track([buffer], byteLength(buffer), undefined, reserved));
}

/**
 * Room for `buffer` (counted as `committed`) to hold `newLength` bytes, unless the native
 * method is about to refuse that length anyway (past `maxByteLength`, detached, not an
 * index: its own RangeError or TypeError, with nothing committed).
 */
function roomFor(buffer: ArrayBuffer, committed: Committed, newLength: number, what: string): void {
  if (newLength < 0 || (ReflectApply(DetachedGetter, buffer, []) as boolean)) return;
  if (newLength > (ReflectApply(MaxByteLengthGetter, buffer, []) as number)) return;
  ensureRoom(newLength - committed.bytes, what);
}

/** After `from` was transferred into `to`: its count follows the memory, or ends. */
function transferred(from: ArrayBuffer, to: ArrayBuffer): void {
  const committed = WeakMapGet(counted, from);
  if (committed !== undefined) {
    WeakMapDelete(counted, from);
    untrack(committed);
  }
  // A resizable result holds the memory at its own length: counted from now (also one
  // whose source was never counted, which no path makes today).
  if (ReflectApply(ResizableGetter, to, []) as boolean) trackBuffer(to);
}

/** `buffer.transfer(newLength)`: the new length converted once, checked before the native method commits it. */
function guardedTransfer(buffer: ArrayBuffer, newLength: unknown): ArrayBuffer {
  const committed = WeakMapGet(counted, buffer);
  if (committed === undefined) {
    const result = ReflectApply(nativeTransfer, buffer, newLength === undefined ? [] : [newLength]) as ArrayBuffer;
    transferred(buffer, result);
    return result;
  }
  let length = byteLength(buffer);
  let argument: number | undefined;
  if (newLength !== undefined) {
    argument = +(newLength as number);
    length = index(argument);
  }
  roomFor(buffer, committed, length, `ArrayBuffer.prototype.transfer to ${length} bytes`);
  const result = ReflectApply(nativeTransfer, buffer, argument === undefined ? [] : [argument]) as ArrayBuffer;
  transferred(buffer, result);
  return result;
}

/** ArrayBuffer.prototype.transfer, uncurried, keeping the count right; for the runtime's own transfers. */
export function transferArrayBuffer(buffer: ArrayBuffer, newLength?: number): ArrayBuffer {
  return guardedTransfer(buffer, newLength);
}

const methods = {
  resize(this: ArrayBuffer, newLength: unknown): undefined {
    const committed = WeakMapGet(counted, this);
    if (committed === undefined) return ReflectApply(nativeResize, this, [newLength]) as undefined;
    const number = +(newLength as number);
    const length = index(number);
    roomFor(this, committed, length, `ArrayBuffer.prototype.resize to ${length} bytes`);
    ReflectApply(nativeResize, this, [number]);
    setCommitted(committed, byteLength(this));
    return undefined;
  },
  transfer(this: ArrayBuffer, newLength?: unknown): ArrayBuffer {
    return guardedTransfer(this, newLength);
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
  if (maxByteLength > instanceMemoryLimitBytes()) memoryLimitReached(`a resizable ArrayBuffer with maxByteLength ${maxByteLength}`);
  ensureRoom(lengthIndex, `a resizable ArrayBuffer of ${lengthIndex} bytes (maxByteLength ${maxByteLength})`, maxByteLength);
  const buffer = ReflectConstruct(NativeArrayBuffer, [byteLength, fresh], new.target) as ArrayBuffer;
  trackBuffer(buffer);
  return buffer;
};

/** Puts the guard in place of the global ArrayBuffer and of the methods that grow or move one. Idempotent. */
export function installArrayBufferGuards(global: typeof globalThis): void {
  if (global.ArrayBuffer === (GuardedArrayBuffer as unknown)) return;
  for (const key of ReflectOwnKeys(NativeArrayBuffer)) {
    if (key === "prototype") continue;
    ObjectDefineProperty(GuardedArrayBuffer, key, ObjectGetOwnPropertyDescriptor(NativeArrayBuffer, key)!);
  }
  ObjectDefineProperty(GuardedArrayBuffer, "prototype", { value: ArrayBufferPrototype, writable: false, enumerable: false, configurable: false });
  ObjectDefineProperty(ArrayBufferPrototype, "constructor", { value: GuardedArrayBuffer, writable: true, enumerable: false, configurable: true });
  for (const name of ["resize", "transfer", "transferToFixedLength"] as const) {
    ObjectDefineProperty(methods[name], "length", { value: name === "resize" ? 1 : 0 });
    ObjectDefineProperty(ArrayBufferPrototype, name, { value: methods[name], writable: true, enumerable: false, configurable: true });
  }
  ObjectDefineProperty(global, "ArrayBuffer", { value: GuardedArrayBuffer, writable: true, enumerable: false, configurable: true });
}
