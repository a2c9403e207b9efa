/**
 * Guards the Array builtins whose work grows with an array's `length` rather than with
 * what it holds. V8 runs them in C++ or Torque loops without interrupt checks, so on a
 * sparse array (`new Array(1e9)`, `{ length: 2 ** 32 }`) neither the memory limit nor the
 * timeout can stop them: `fill`, `Array.from`, `toReversed`, `toSpliced` and `with` grow a
 * dictionary until V8 aborts the whole process ("invalid table size"), `sort` of a long
 * array-like allocates `length` slots (aborting at 2³² - 1), and `copyWithin`, `splice`,
 * `reverse`, `shift` and `unshift` walk every index for as long as that takes.
 *
 * Each guard works out, before the builtin runs, how many elements it would write (or
 * move); more than the instance's memory limit could hold at 8 bytes an element (the
 * least a JS value takes) is `memoryLimitReached`. No dense array that long can exist in
 * the instance, so only sparse arrays and array-likes are refused. Then the real builtin
 * runs on what was checked: every argument is read and converted once and handed over as
 * a number, ranges as absolute indices (so a `length` that changed meanwhile can only
 * shorten them), and an array-like or Proxy whose `length` was read goes in behind a view
 * that answers that same length again (a getter or trap cannot answer the builtin
 * differently). A real array whose length leaves no doubt takes the builtin directly.
 *
 * Not guarded: builtins that only read (`indexOf`, `forEach`, `map`, `join`, `flat`,
 * `concat`…) walk a long sparse array without interrupt checks too, but allocate nothing
 * per hole; they are bounded by time, not memory (see docs/limits.md).
 */
import { instanceMemoryLimitBytes, memoryLimitReached } from "./memory-limit.ts";
import { createUntrackedProxy, isProxy } from "./proxy-brand.ts";

/** The least memory an element takes (a tagged pointer, or a double in a double array). */
export const minBytesPerElement = 8;
const maxLength = 2 ** 53 - 1;

const ArrayPrototype = Array.prototype;
const nativeFill = ArrayPrototype.fill;
const nativeCopyWithin = ArrayPrototype.copyWithin;
const nativeSplice = ArrayPrototype.splice;
const nativeToSpliced = ArrayPrototype.toSpliced;
const nativeUnshift = ArrayPrototype.unshift;
const nativeFrom = Array.from;
const ArrayIsArray = Array.isArray;
const ObjectCtor = Object;
const ObjectDefineProperty = Object.defineProperty;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectHasOwn = Object.hasOwn;
const ReflectApply = Reflect.apply;
const ReflectGet = Reflect.get;
const ReflectSet = Reflect.set;
const MathFloor = Math.floor;
const MathMax = Math.max;
const MathMin = Math.min;
const MathTrunc = Math.trunc;
const SymbolIterator: typeof Symbol.iterator = Symbol.iterator;
const nativeReverse = ArrayPrototype.reverse;
const nativeShift = ArrayPrototype.shift;
const nativeSort = ArrayPrototype.sort;
const nativeToReversed = ArrayPrototype.toReversed;
const nativeToSorted = ArrayPrototype.toSorted;
const nativeWith = ArrayPrototype.with;
const FunctionPrototypeCall = Function.prototype.call;
const FillCall = FunctionPrototypeCall.bind(nativeFill) as (self: object, value: unknown, start: number, end: number) => object;
const ReverseCall = FunctionPrototypeCall.bind(nativeReverse) as (self: unknown) => unknown;
const ShiftCall = FunctionPrototypeCall.bind(nativeShift) as (self: unknown) => unknown;
const ToReversedCall = FunctionPrototypeCall.bind(nativeToReversed) as (self: unknown) => unknown;
const SortCall = FunctionPrototypeCall.bind(nativeSort) as (self: unknown, comparator: unknown) => unknown;
const ToSortedCall = FunctionPrototypeCall.bind(nativeToSorted) as (self: unknown, comparator: unknown) => unknown;
const WithCall = FunctionPrototypeCall.bind(nativeWith) as (self: unknown, index: unknown, value: unknown) => unknown;

type Receiver = { length?: unknown } & Record<PropertyKey, unknown>;

function maxElements(): number {
  return MathFloor(instanceMemoryLimitBytes() / minBytesPerElement);
}

function refuse(method: string, elements: number): never {
  return memoryLimitReached(`${method} of ${elements} elements`);
}

function toObject(value: unknown, method: string): Receiver {
  if (value === null || value === undefined) throw new TypeError(`${method} called on null or undefined`);
  return ObjectCtor(value) as Receiver;
}

/** ToIntegerOrInfinity (ECMA-262 §7.1.5); `+` is ToNumber, throwing for Symbols and BigInts. */
function toIntegerOrInfinity(value: unknown): number {
  const number = +(value as number);
  return number !== number ? 0 : MathTrunc(number) + 0;
}

function toLength(value: unknown): number {
  const integer = toIntegerOrInfinity(value);
  return integer <= 0 ? 0 : MathMin(integer, maxLength);
}

/** A relative index as `start`/`end` arguments resolve against `length`. */
function resolveIndex(relative: number, length: number): number {
  return relative < 0 ? MathMax(length + relative, 0) : MathMin(relative, length);
}

/** An array whose `length` is its own data property: no getter, no trap, the same answer twice. */
function isRealArray(value: object): boolean {
  return ArrayIsArray(value) && !isProxy(value);
}

/** True when reading `key` from `value` runs no user code: no Proxy and no getter on the way to it. */
function isPlainRead(value: object, key: PropertyKey): boolean {
  for (let object: object | null = value; object !== null; object = ObjectGetPrototypeOf(object) as object | null) {
    if (isProxy(object)) return false;
    const descriptor = ObjectGetOwnPropertyDescriptor(object, key);
    if (descriptor !== undefined) return ObjectHasOwn(descriptor, "value");
  }
  return true;
}

/**
 * `target` seen through a view whose `length` is the one already read and checked;
 * everything else goes to `target`, with `target` as receiver as if called on it directly.
 */
function lengthView(target: Receiver, length: number, hideIterator = false): Receiver {
  const handler: ProxyHandler<Receiver> = {
    __proto__: null,
    get(object, key) {
      if (key === "length") return length;
      if (hideIterator && key === SymbolIterator) return undefined;
      return ReflectGet(object, key, object);
    },
    set(object, key, value) {
      return ReflectSet(object, key, value, object);
    },
  } as ProxyHandler<Receiver>;
  return createUntrackedProxy(target, handler);
}

/**
 * The common case, decided without reading anything twice: a real array short enough
 * that `times` its length plus `extra` elements fit in the limit.
 */
function isSmallRealArray(value: unknown, extra: number, times = 1): value is unknown[] {
  return typeof value === "object" && value !== null && ArrayIsArray(value) && !isProxy(value) && times * (value as unknown[]).length + extra <= maxElements();
}

/** What to hand the builtin: a real array itself, anything else behind a view of the length read. */
function receiverFor(object: Receiver, length: number): Receiver {
  return isRealArray(object) ? object : lengthView(object, length);
}

/** Calls `builtin` on `receiver`, answering the caller's object where the builtin answers its receiver. */
function call(builtin: Function, object: Receiver, receiver: Receiver, args: ArrayLike<unknown>): unknown {
  const result = ReflectApply(builtin, receiver, args) as unknown;
  return result === receiver ? object : result;
}

/** A guard for a builtin that writes (or moves) every element up to `length`. */
function wholeLength(builtin: Function, method: string, args: readonly unknown[], self: unknown): unknown {
  const object = toObject(self, method);
  const length = toLength(object.length);
  if (length > maxElements()) refuse(method, length);
  return call(builtin, object, receiverFor(object, length), args);
}

function badComparator(comparator: unknown): boolean {
  return comparator !== undefined && typeof comparator !== "function";
}

function argumentList(args: IArguments, first: readonly number[]): unknown[] {
  // No prototype: writing an index must not reach a setter user code put on Array.prototype.
  const list = ObjectSetPrototypeOf([], null) as unknown[];
  for (let i = 0; i < args.length; i++) list[i] = i < first.length ? first[i] : args[i];
  return list;
}

/**
 * splice and toSpliced write what they remove or keep, and move everything after `start`
 * unless as many items go in as come out: at most twice the length plus the items.
 */
function spliceLike(builtin: Function, method: string, self: unknown, args: IArguments, mutates: boolean): unknown {
  const object = toObject(self, method);
  const lengthBefore = toLength(object.length);
  const receiver = receiverFor(object, lengthBefore);
  const items = MathMax(args.length - 2, 0);
  if (2 * lengthBefore + items <= maxElements()) return call(builtin, object, receiver, args);
  const start = resolveIndex(toIntegerOrInfinity(args[0]), lengthBefore);
  const skip = args.length === 0 ? 0 : args.length === 1 ? lengthBefore - start : MathMin(MathMax(toIntegerOrInfinity(args[1]), 0), lengthBefore - start);
  // A real array's builtin reads its length after the conversions above: count with that.
  const length = receiver === object ? toLength(object.length) : lengthBefore;
  const from = MathMin(start, length);
  const removed = MathMin(skip, length - from);
  const written = mutates ? removed + items + (items === removed ? 0 : length - from) : length - removed + items;
  if (written > maxElements()) refuse(method, written);
  return call(builtin, object, receiver, argumentList(args, args.length === 1 ? [start] : [start, skip]));
}

// Methods (not constructors, as the builtins are) with named parameters, not `arguments`:
// reading `arguments[i]` past those given makes V8 deoptimise, which cost a small fill
// five times its time. `name` and `length` are set to the builtins' when installed.
const guards = {
  fill(this: unknown, value: unknown, startArgument?: unknown, endArgument?: unknown): unknown {
    const object = toObject(this, "Array.prototype.fill");
    const length = toLength(object.length);
    const start = resolveIndex(toIntegerOrInfinity(startArgument), length);
    const end = endArgument === undefined ? length : resolveIndex(toIntegerOrInfinity(endArgument), length);
    if (end - start > maxElements()) refuse("Array.prototype.fill", end - start);
    return FillCall(object, value, start, end);
  },

  copyWithin(this: unknown, target: unknown, start: unknown, endArgument?: unknown): unknown {
    const object = toObject(this, "Array.prototype.copyWithin");
    const length = toLength(object.length);
    const to = resolveIndex(toIntegerOrInfinity(target), length);
    const from = resolveIndex(toIntegerOrInfinity(start), length);
    const end = endArgument === undefined ? length : resolveIndex(toIntegerOrInfinity(endArgument), length);
    // The builtin reads `length` again: if that grew, it may copy up to `end - from`.
    const count = isRealArray(object) && object.length === length ? MathMin(end - from, length - to) : end - from;
    if (count > maxElements()) refuse("Array.prototype.copyWithin", count);
    return ReflectApply(nativeCopyWithin, object, [to, from, end]);
  },

  splice(this: unknown): unknown {
    if (isSmallRealArray(this, arguments.length, 2)) return ReflectApply(nativeSplice, this, arguments);
    return spliceLike(nativeSplice, "Array.prototype.splice", this, arguments, true);
  },

  toSpliced(this: unknown): unknown {
    if (isSmallRealArray(this, arguments.length, 2)) return ReflectApply(nativeToSpliced, this, arguments);
    return spliceLike(nativeToSpliced, "Array.prototype.toSpliced", this, arguments, false);
  },

  unshift(this: unknown): unknown {
    if (isSmallRealArray(this, arguments.length)) return ReflectApply(nativeUnshift, this, arguments);
    const object = toObject(this, "Array.prototype.unshift");
    const length = toLength(object.length);
    // With no items, unshift only sets the length.
    if (arguments.length > 0 && length + arguments.length > maxElements()) refuse("Array.prototype.unshift", length + arguments.length);
    return call(nativeUnshift, object, receiverFor(object, length), arguments);
  },

  reverse(this: unknown): unknown {
    if (isSmallRealArray(this, 0)) return ReverseCall(this);
    return wholeLength(nativeReverse, "Array.prototype.reverse", [], this);
  },

  shift(this: unknown): unknown {
    if (isSmallRealArray(this, 0)) return ShiftCall(this);
    return wholeLength(nativeShift, "Array.prototype.shift", [], this);
  },

  toReversed(this: unknown): unknown {
    if (isSmallRealArray(this, 0)) return ToReversedCall(this);
    return wholeLength(nativeToReversed, "Array.prototype.toReversed", [], this);
  },

  // A bad comparator is a TypeError before anything else, as the builtins have it.
  sort(this: unknown, comparator?: unknown): unknown {
    if (isSmallRealArray(this, 0) || badComparator(comparator)) return SortCall(this, comparator);
    return wholeLength(nativeSort, "Array.prototype.sort", [comparator], this);
  },

  toSorted(this: unknown, comparator?: unknown): unknown {
    if (isSmallRealArray(this, 0) || badComparator(comparator)) return ToSortedCall(this, comparator);
    return wholeLength(nativeToSorted, "Array.prototype.toSorted", [comparator], this);
  },

  with(this: unknown, index: unknown, value: unknown): unknown {
    if (isSmallRealArray(this, 0)) return WithCall(this, index, value);
    return wholeLength(nativeWith, "Array.prototype.with", [index, value], this);
  },
};

const fromGuard = {
  from(this: unknown, items: unknown, mapper?: unknown, thisArg?: unknown): unknown {
    if (items === null || items === undefined || (mapper !== undefined && typeof mapper !== "function")) {
      return ReflectApply(nativeFrom, this, [items, mapper, thisArg]);
    }
    // Without a mapper, pass none: an explicit `undefined` takes V8 off its fast path.
    const rest = (first: unknown) => (mapper === undefined ? [first] : [first, mapper, thisArg]);
    // A real array or a string: whichever way the builtin reads it (iterating, or as an
    // array-like if a getter hid its iterator meanwhile), it writes at most `length`.
    if (typeof items === "string" || (typeof items === "object" && isRealArray(items))) {
      const length = (items as unknown[]).length;
      if (length > maxElements()) refuse("Array.from", length);
      return ReflectApply(nativeFrom, this, rest(items));
    }
    const iteratorMethod = (items as Receiver)[SymbolIterator];
    if (iteratorMethod !== undefined && iteratorMethod !== null) {
      // Iterating runs steps the limits can stop. The builtin reads the iterator method
      // again: where that read could run user code (a getter, a Proxy), it gets an object
      // that answers with the method read above, so it cannot find none and fall back to
      // the array-like path with an unchecked `length`. The object itself keeps V8's fast
      // paths (a small Set: 35 ns, against 790 ns through the stand-in).
      if (isPlainRead(items as object, SymbolIterator)) return ReflectApply(nativeFrom, this, rest(items));
      const once = { __proto__: null, [SymbolIterator]: () => ReflectApply(iteratorMethod as Function, items, []) as unknown };
      return ReflectApply(nativeFrom, this, rest(once));
    }
    const arrayLike = ObjectCtor(items) as Receiver;
    const length = toLength(arrayLike.length);
    if (length > maxElements()) refuse("Array.from", length);
    // An ordinary object read without user code answers the builtin as it answered here.
    if (isPlainRead(arrayLike, SymbolIterator) && isPlainRead(arrayLike, "length")) return ReflectApply(nativeFrom, this, rest(arrayLike));
    return ReflectApply(nativeFrom, this, rest(lengthView(arrayLike, length, true)));
  },
}.from;

/** Replaces each guarded builtin with its guard, keeping its name, length and attributes. */
export function installArrayGuards(global: typeof globalThis): void {
  const ArrayCtor = global.Array;
  if (ArrayCtor.from === fromGuard) return;
  const replace = (target: object, name: string, guard: Function, original: Function) => {
    ObjectDefineProperty(guard, "name", { value: original.name });
    ObjectDefineProperty(guard, "length", { value: original.length });
    ObjectDefineProperty(target, name, { value: guard, writable: true, enumerable: false, configurable: true });
  };
  replace(ArrayPrototype, "fill", guards.fill, nativeFill);
  replace(ArrayPrototype, "copyWithin", guards.copyWithin, nativeCopyWithin);
  replace(ArrayPrototype, "splice", guards.splice, nativeSplice);
  replace(ArrayPrototype, "toSpliced", guards.toSpliced, nativeToSpliced);
  replace(ArrayPrototype, "unshift", guards.unshift, nativeUnshift);
  replace(ArrayPrototype, "reverse", guards.reverse, nativeReverse);
  replace(ArrayPrototype, "shift", guards.shift, nativeShift);
  replace(ArrayPrototype, "toReversed", guards.toReversed, nativeToReversed);
  replace(ArrayPrototype, "sort", guards.sort, nativeSort);
  replace(ArrayPrototype, "toSorted", guards.toSorted, nativeToSorted);
  replace(ArrayPrototype, "with", guards.with, nativeWith);
  replace(ArrayCtor, "from", fromGuard, nativeFrom);
}
