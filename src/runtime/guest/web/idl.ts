/**
 * The parts of WebIDL (https://webidl.spec.whatwg.org) the Fetch, Streams and File APIs
 * need: argument conversions, dictionary member access, enum checks, and making a
 * TypeScript class look like an interface object (enumerable members, @@toStringTag).
 *
 * Error messages follow the shape browsers use, e.g.
 * "Failed to execute 'append' on 'Headers': 2 arguments required, but only 1 present."
 */
import {
  ArrayBufferIsView,
  MathAbs,
  MathFloor,
  MathMax,
  MathMin,
  NumberIsFinite,
  NumberIsNaN,
  NumberMAX_SAFE_INTEGER,
  ObjectDefineProperty,
  ObjectGetOwnPropertyDescriptor,
  ReflectOwnKeys,
  StringPrototypeCharCodeAt,
  StringPrototypeIsWellFormed,
  StringPrototypeToWellFormed,
  SymbolToStringTag,
  isArrayBuffer,
} from "./intrinsics.ts";

/** Where a conversion happens, for messages: "Failed to construct 'Response'" and so on. */
export function constructContext(iface: string): string {
  return `Failed to construct '${iface}'`;
}
export function methodContext(iface: string, method: string): string {
  return `Failed to execute '${method}' on '${iface}'`;
}
export function getterContext(iface: string, attr: string): string {
  return `Failed to read the '${attr}' property from '${iface}'`;
}

export function illegalInvocation(): TypeError {
  return new TypeError("Illegal invocation");
}

/** Throws unless at least `required` arguments were passed. */
export function requireArgs(count: number, required: number, context: string): void {
  if (count < required) {
    throw new TypeError(
      `${context}: ${required} argument${required === 1 ? "" : "s"} required, but only ${count} present.`,
    );
  }
}

/** ECMAScript ToString, which throws on symbols (`String(sym)` would not). */
export function toStringES(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "symbol") throw new TypeError("Cannot convert a Symbol value to a string");
  return `${value as string}`;
}

/** WebIDL DOMString. */
export const toDOMString = toStringES;

/** WebIDL USVString: lone surrogates become U+FFFD. */
export function toUSVString(value: unknown): string {
  const s = toStringES(value);
  return StringPrototypeIsWellFormed(s) ? s : StringPrototypeToWellFormed(s);
}

/** WebIDL ByteString: every code unit must fit in a byte. */
export function toByteString(value: unknown, context: string): string {
  const s = toStringES(value);
  for (let i = 0; i < s.length; i++) {
    if (StringPrototypeCharCodeAt(s, i) > 0xff) {
      throw new TypeError(
        `${context}: Cannot convert argument to a ByteString because the character at index ${i} has a value of ${StringPrototypeCharCodeAt(s, i)} which is greater than 255.`,
      );
    }
  }
  return s;
}

/** ECMAScript ToNumber, which throws on BigInt and Symbol. */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  return +(value as number);
}

/** WebIDL boolean. */
export function toBoolean(value: unknown): boolean {
  return !!value;
}

/** WebIDL unrestricted double. */
export const toUnrestrictedDouble = toNumber;

/** WebIDL double: non-finite values throw. */
export function toRestrictedDouble(value: unknown, context: string): number {
  const x = toNumber(value);
  if (!NumberIsFinite(x)) throw new TypeError(`${context}: The provided double value is non-finite.`);
  return x;
}

function integerPart(x: number): number {
  const r = MathFloor(MathAbs(x));
  return x < 0 ? -r : r;
}

/** WebIDL integer conversion without extended attributes ("modulo" semantics), for unsigned types. */
export function toUnsignedModulo(value: unknown, bits: 16 | 32): number {
  const x = toNumber(value);
  if (!NumberIsFinite(x) || x === 0) return 0;
  const mod = bits === 16 ? 65536 : 4294967296;
  let r = integerPart(x) % mod;
  if (r < 0) r += mod;
  return r;
}

/** WebIDL [EnforceRange] unsigned long long. */
export function toEnforceRangeUnsignedLongLong(value: unknown, context: string): number {
  const x = toNumber(value);
  if (!NumberIsFinite(x)) throw new TypeError(`${context}: Value is not a finite number.`);
  const r = integerPart(x);
  if (r < 0 || r > NumberMAX_SAFE_INTEGER) {
    throw new TypeError(`${context}: Value is outside the 'unsigned long long' value range.`);
  }
  return r === 0 ? 0 : r;
}

/** WebIDL long long without extended attributes (used by File's lastModified). */
export function toLongLong(value: unknown): number {
  const x = toNumber(value);
  if (!NumberIsFinite(x) || x === 0) return 0;
  const r = integerPart(x);
  // Beyond ±2^53 the spec's modulo arithmetic is not representable anyway; clamp like engines do.
  return MathMax(MathMin(r, NumberMAX_SAFE_INTEGER), -NumberMAX_SAFE_INTEGER);
}

/** WebIDL [Clamp] long long: clamp, then round half to even, and never −0. */
export function toClampLongLong(value: unknown): number {
  let x = toNumber(value);
  if (NumberIsNaN(x)) return 0;
  x = MathMin(MathMax(x, -NumberMAX_SAFE_INTEGER), NumberMAX_SAFE_INTEGER);
  let r = MathFloor(x);
  const diff = x - r;
  if (diff > 0.5 || (diff === 0.5 && r % 2 !== 0)) r += 1;
  return r === 0 ? 0 : r;
}

/** True for anything WebIDL treats as an object (functions included). */
export function isObject(value: unknown): value is object {
  return (typeof value === "object" && value !== null) || typeof value === "function";
}

/**
 * WebIDL dictionary conversion, first step: undefined and null are the empty dictionary,
 * other non-objects are a TypeError. Members are then read with {@link dictGet} in
 * lexicographic order, as the spec's dictionary conversion does.
 */
export function toDictionary(value: unknown, context: string, dictName: string): object | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) throw new TypeError(`${context}: The provided value is not of type '${dictName}'.`);
  return value;
}

/** One dictionary member; undefined when absent. */
export function dictGet(dict: object | undefined, key: string): unknown {
  return dict === undefined ? undefined : (dict as Record<string, unknown>)[key];
}

/** WebIDL callback function conversion. */
export function toCallback<F extends (...args: never[]) => unknown>(value: unknown, context: string): F {
  if (typeof value !== "function") throw new TypeError(`${context}: The provided value is not a function.`);
  return value as F;
}

/** WebIDL enumeration conversion. */
export function toEnum<T extends string>(value: unknown, allowed: readonly T[], context: string, enumName: string): T {
  const s = toStringES(value);
  for (let i = 0; i < allowed.length; i++) if (allowed[i] === s) return s as T;
  throw new TypeError(`${context}: The provided value '${s}' is not a valid enum value of type ${enumName}.`);
}

/** True for an ArrayBuffer or any ArrayBufferView (WebIDL BufferSource); SharedArrayBuffer excluded. */
export function isBufferSource(value: unknown): value is ArrayBuffer | ArrayBufferView {
  return ArrayBufferIsView(value) || isArrayBuffer(value);
}

/**
 * Make a class's prototype look like a WebIDL interface prototype: operations and
 * attributes enumerable, and `Symbol.toStringTag` set to the interface name.
 */
export function defineInterface(ctor: { prototype: object }, name: string): void {
  const proto = ctor.prototype;
  const keys = ReflectOwnKeys(proto);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key === "constructor") continue;
    const desc = ObjectGetOwnPropertyDescriptor(proto, key)!;
    if (typeof key === "symbol") continue; // @@iterator / @@asyncIterator stay non-enumerable
    desc.enumerable = true;
    ObjectDefineProperty(proto, key, desc);
  }
  // Static operations (Response.json, ReadableStream.from) are enumerable too.
  const statics = ReflectOwnKeys(ctor);
  for (let i = 0; i < statics.length; i++) {
    const key = statics[i]!;
    if (key === "prototype" || key === "length" || key === "name" || typeof key === "symbol") continue;
    const desc = ObjectGetOwnPropertyDescriptor(ctor, key)!;
    desc.enumerable = true;
    ObjectDefineProperty(ctor, key, desc);
  }
  ObjectDefineProperty(proto, SymbolToStringTag, { value: name, writable: false, enumerable: false, configurable: true });
}

/** Name the inner character that fails a byte check, for messages. */
export function firstCharCode(s: string): number {
  return StringPrototypeCharCodeAt(s, 0);
}
