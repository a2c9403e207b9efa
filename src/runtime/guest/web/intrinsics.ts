/**
 * ECMAScript builtins captured when the runtime loads, before user code runs.
 *
 * User code shares the isolate's globals with the runtime and may replace
 * `Promise.prototype.then`, `Array.prototype.push`, `Uint8Array.prototype.set` and friends.
 * The Web APIs must keep behaving per spec regardless (the specs say "perform
 * PerformPromiseThen", not "call the current value of .then"), so the hot paths call the
 * originals captured here instead of looking them up at call time.
 */
import { transferArrayBuffer } from "../array-buffer-guards.ts";
import { now } from "../clock.ts";

const FunctionPrototypeCall = Function.prototype.call;

/** Turns a method into a function taking the receiver first, immune to later patching. */
function uncurryThis<T, A extends unknown[], R>(fn: (this: T, ...args: A) => R): (self: T, ...args: A) => R {
  return FunctionPrototypeCall.bind(fn) as unknown as (self: T, ...args: A) => R;
}

export const ReflectApply = Reflect.apply;
export const ReflectGetPrototypeOf = Reflect.getPrototypeOf;
export const ReflectOwnKeys = Reflect.ownKeys;
export const ObjectCreate = Object.create;
export const ObjectDefineProperty = Object.defineProperty;
export const ObjectDefineProperties = Object.defineProperties;
export const ObjectFreeze = Object.freeze;
export const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const ObjectGetOwnPropertyNames = Object.getOwnPropertyNames;
export const ObjectGetPrototypeOf = Object.getPrototypeOf;
export const ObjectSetPrototypeOf = Object.setPrototypeOf;
export const ObjectIs = Object.is;
export const ArrayIsArray = Array.isArray;
export const ArrayPrototypePush = uncurryThis(Array.prototype.push) as <T>(self: T[], ...items: T[]) => number;
export const ArrayPrototypeSort = uncurryThis(Array.prototype.sort) as <T>(self: T[], cmp?: (a: T, b: T) => number) => T[];
export const ArrayPrototypeJoin = uncurryThis(Array.prototype.join) as (self: unknown[], sep?: string) => string;
export const ArrayPrototypeSymbolIterator = Array.prototype[Symbol.iterator];
export const ArrayIteratorPrototypeNext = (ObjectGetPrototypeOf([][Symbol.iterator]()) as Iterator<unknown>).next;
export const IteratorPrototype = ObjectGetPrototypeOf(ObjectGetPrototypeOf([][Symbol.iterator]())) as object;
// An async generator object's prototype is its function's `.prototype`, whose prototype is
// %AsyncGeneratorPrototype%, whose prototype is %AsyncIteratorPrototype%.
export const AsyncIteratorPrototype = ObjectGetPrototypeOf(
  ObjectGetPrototypeOf(ObjectGetPrototypeOf((async function* () {})())),
) as object;

export const SymbolIterator: typeof Symbol.iterator = Symbol.iterator;
export const SymbolAsyncIterator: typeof Symbol.asyncIterator = Symbol.asyncIterator;
export const SymbolToStringTag: typeof Symbol.toStringTag = Symbol.toStringTag;

export const MathMin = Math.min;
export const MathMax = Math.max;
export const MathFloor = Math.floor;
export const MathTrunc = Math.trunc;
export const MathAbs = Math.abs;
export const NumberIsNaN = Number.isNaN;
export const NumberIsFinite = Number.isFinite;
export const NumberIsInteger = Number.isInteger;
export const NumberMAX_SAFE_INTEGER = Number.MAX_SAFE_INTEGER;

export const StringFromCharCode = String.fromCharCode;
export const StringPrototypeCharCodeAt = uncurryThis(String.prototype.charCodeAt);
export const StringPrototypeToLowerCase = uncurryThis(String.prototype.toLowerCase);
export const StringPrototypeToUpperCase = uncurryThis(String.prototype.toUpperCase);
export const StringPrototypeSlice = uncurryThis(String.prototype.slice);
export const StringPrototypeIndexOf = uncurryThis(String.prototype.indexOf);
export const StringPrototypeToWellFormed = uncurryThis(String.prototype.toWellFormed);
export const StringPrototypeIsWellFormed = uncurryThis(String.prototype.isWellFormed);
export const StringPrototypeReplace = uncurryThis(String.prototype.replace) as unknown as (
  self: string,
  pattern: RegExp | string,
  replacement: string,
) => string;
export const RegExpPrototypeTest = uncurryThis(RegExp.prototype.test);
export const RegExpPrototypeExec = uncurryThis(RegExp.prototype.exec);

export const JSONParse = JSON.parse;
export const JSONStringify = JSON.stringify;
/** The guest clock (frozen during synchronous execution), never the real one. */
export const DateNow: () => number = now;

export const PromiseCtor = Promise;
export const PromisePrototypeThen = uncurryThis(Promise.prototype.then) as <T, R1 = T, R2 = never>(
  self: Promise<T>,
  onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
  onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
) => Promise<R1 | R2>;
const PromiseResolveStatic = Promise.resolve;
const PromiseRejectStatic = Promise.reject;
export function PromiseResolve<T>(value: T): Promise<Awaited<T>> {
  return ReflectApply(PromiseResolveStatic, PromiseCtor, [value]) as Promise<Awaited<T>>;
}
export function PromiseReject<T = never>(reason: unknown): Promise<T> {
  return ReflectApply(PromiseRejectStatic, PromiseCtor, [reason]) as Promise<T>;
}

export const WeakMapCtor = WeakMap;
export const MapCtor = Map;
export const SetCtor = Set;

export const ArrayBufferCtor = ArrayBuffer;
export const Uint8ArrayCtor = Uint8Array;
export const Uint16ArrayCtor = Uint16Array;
export const Uint32ArrayCtor = Uint32Array;
export const DataViewCtor = DataView;
export const ArrayBufferIsView = ArrayBuffer.isView;
const ArrayBufferByteLengthGetter = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, "byteLength")!.get!;
export const ArrayBufferPrototypeGetByteLength = uncurryThis(ArrayBufferByteLengthGetter) as (
  self: ArrayBuffer,
) => number;
const ArrayBufferDetachedGetter = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, "detached")!.get!;
export const ArrayBufferPrototypeGetDetached = uncurryThis(ArrayBufferDetachedGetter) as (self: ArrayBuffer) => boolean;
export const ArrayBufferPrototypeSlice = uncurryThis(ArrayBuffer.prototype.slice) as (
  self: ArrayBuffer,
  begin?: number,
  end?: number,
) => ArrayBuffer;
/** Keeps the memory pool right when the buffer is resizable (array-buffer-guards.ts). */
export const ArrayBufferPrototypeTransfer: (self: ArrayBuffer, newLength?: number) => ArrayBuffer = transferArrayBuffer;
const ArrayBufferResizableGetter = ObjectGetOwnPropertyDescriptor(ArrayBuffer.prototype, "resizable")!.get!;
export const ArrayBufferPrototypeGetResizable = uncurryThis(ArrayBufferResizableGetter) as (
  self: ArrayBuffer,
) => boolean;
const SharedArrayBufferCtor: typeof SharedArrayBuffer | undefined =
  typeof SharedArrayBuffer === "function" ? SharedArrayBuffer : undefined;
const SharedArrayBufferByteLengthGetter =
  SharedArrayBufferCtor === undefined
    ? undefined
    : ObjectGetOwnPropertyDescriptor(SharedArrayBufferCtor.prototype, "byteLength")!.get!;

/** True for a real ArrayBuffer (not a SharedArrayBuffer, not a look-alike): brand check via its getter. */
export function isArrayBuffer(value: unknown): value is ArrayBuffer {
  if (typeof value !== "object" || value === null) return false;
  try {
    ArrayBufferPrototypeGetByteLength(value as ArrayBuffer);
    return true;
  } catch {
    return false;
  }
}

/** True for a real SharedArrayBuffer. */
export function isSharedArrayBuffer(value: unknown): value is SharedArrayBuffer {
  if (SharedArrayBufferByteLengthGetter === undefined || typeof value !== "object" || value === null) return false;
  try {
    ReflectApply(SharedArrayBufferByteLengthGetter, value, []);
    return true;
  } catch {
    return false;
  }
}

const TypedArrayPrototype = ObjectGetPrototypeOf(Uint8Array.prototype) as object;
const TypedArrayBufferGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, "buffer")!.get!;
const TypedArrayByteOffsetGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, "byteOffset")!.get!;
const TypedArrayByteLengthGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, "byteLength")!.get!;
const TypedArrayLengthGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, "length")!.get!;
const TypedArrayToStringTagGetter = ObjectGetOwnPropertyDescriptor(TypedArrayPrototype, SymbolToStringTag)!.get!;
const DataViewBufferGetter = ObjectGetOwnPropertyDescriptor(DataView.prototype, "buffer")!.get!;
const DataViewByteOffsetGetter = ObjectGetOwnPropertyDescriptor(DataView.prototype, "byteOffset")!.get!;
const DataViewByteLengthGetter = ObjectGetOwnPropertyDescriptor(DataView.prototype, "byteLength")!.get!;
export const Uint8ArrayPrototypeSet = uncurryThis(Uint8Array.prototype.set) as (
  self: Uint8Array,
  source: ArrayLike<number>,
  offset?: number,
) => void;
export const Uint8ArrayPrototypeSubarray = uncurryThis(Uint8Array.prototype.subarray) as (
  self: Uint8Array,
  begin?: number,
  end?: number,
) => Uint8Array<ArrayBuffer>;
export const Uint8ArrayPrototypeSlice = uncurryThis(Uint8Array.prototype.slice) as (
  self: Uint8Array,
  begin?: number,
  end?: number,
) => Uint8Array<ArrayBuffer>;

/** The name of a typed array's type ("Uint8Array", …), or undefined for anything else. */
export function typedArrayName(value: unknown): string | undefined {
  return ReflectApply(TypedArrayToStringTagGetter, value, []) as string | undefined;
}

export function isUint8Array(value: unknown): value is Uint8Array<ArrayBuffer> {
  return typedArrayName(value) === "Uint8Array";
}

export function isDataView(value: unknown): value is DataView<ArrayBuffer> {
  if (typeof value !== "object" || value === null) return false;
  try {
    ReflectApply(DataViewByteLengthGetter, value, []);
    return true;
  } catch {
    // A DataView over a detached buffer throws on byteLength too; buffer still works.
    try {
      ReflectApply(DataViewBufferGetter, value, []);
      return true;
    } catch {
      return false;
    }
  }
}

/** The ArrayBuffer, offset and length of any ArrayBufferView, read through the original getters. */
export function viewBuffer(view: ArrayBufferView): ArrayBuffer {
  return (typedArrayName(view) !== undefined
    ? ReflectApply(TypedArrayBufferGetter, view, [])
    : ReflectApply(DataViewBufferGetter, view, [])) as ArrayBuffer;
}
export function viewByteOffset(view: ArrayBufferView): number {
  return (typedArrayName(view) !== undefined
    ? ReflectApply(TypedArrayByteOffsetGetter, view, [])
    : ReflectApply(DataViewByteOffsetGetter, view, [])) as number;
}
export function viewByteLength(view: ArrayBufferView): number {
  return (typedArrayName(view) !== undefined
    ? ReflectApply(TypedArrayByteLengthGetter, view, [])
    : ReflectApply(DataViewByteLengthGetter, view, [])) as number;
}
export function typedArrayLength(view: ArrayBufferView): number {
  return ReflectApply(TypedArrayLengthGetter, view, []) as number;
}
