/**
 * Turning console.log arguments into one line of text: the Console Standard's Formatter
 * (https://console.spec.whatwg.org/#formatter) for the format specifiers, and a Node-like
 * inspection of everything else (the standard leaves "formatted for display" to us).
 *
 * The values are arbitrary user objects, so inspection must never throw and must never run
 * user code it can avoid: properties are read through descriptors (getters show as
 * [Getter] instead of being called), brand checks use the builtins' own internal-slot
 * methods captured at load, and anything that still throws (a Proxy trap, a revoked Proxy)
 * is caught and shown as <uninspectable>. Output is capped at 64 KiB.
 */
import {
  ArrayBufferPrototypeGetDetached,
  ArrayIsArray,
  ObjectGetOwnPropertyDescriptor,
  ObjectGetPrototypeOf,
  ObjectIs,
  ReflectApply,
  ReflectOwnKeys,
  StringPrototypeCharCodeAt,
  StringPrototypeSlice,
  Uint8ArrayCtor,
  isArrayBuffer,
  isDataView,
  isSharedArrayBuffer,
  typedArrayLength,
  typedArrayName,
  viewBuffer,
  viewByteLength,
  viewByteOffset,
} from "./intrinsics.ts";

// ---- Builtins captured at load (user code may replace the originals later) ----

function uncurry<T, A extends unknown[], R>(fn: (this: T, ...args: A) => R): (self: T, ...args: A) => R {
  return Function.prototype.call.bind(fn) as unknown as (self: T, ...args: A) => R;
}
function getter(proto: object, key: PropertyKey): (self: unknown) => unknown {
  const get = ObjectGetOwnPropertyDescriptor(proto, key)!.get!;
  return (self) => ReflectApply(get, self, []);
}

const FunctionPrototypeToString = uncurry(Function.prototype.toString);
const SymbolPrototypeToString = uncurry(Symbol.prototype.toString);
const NumberPrototypeValueOf = uncurry(Number.prototype.valueOf);
const StringPrototypeValueOf = uncurry(String.prototype.valueOf);
const BooleanPrototypeValueOf = uncurry(Boolean.prototype.valueOf);
const SymbolPrototypeValueOf = uncurry(Symbol.prototype.valueOf);
const BigIntPrototypeValueOf = uncurry(BigInt.prototype.valueOf);
const DatePrototypeGetTime = uncurry(Date.prototype.getTime);
const DatePrototypeToISOString = uncurry(Date.prototype.toISOString);
const RegExpSource = getter(RegExp.prototype, "source");
const RegExpFlags = getter(RegExp.prototype, "flags");
const RegExpGlobal = getter(RegExp.prototype, "global");
const MapSize = getter(Map.prototype, "size");
const SetSize = getter(Set.prototype, "size");
const MapPrototypeEntries = uncurry(Map.prototype.entries) as (self: unknown) => Iterator<[unknown, unknown]>;
const SetPrototypeValues = uncurry(Set.prototype.values) as (self: unknown) => Iterator<unknown>;
const MapIteratorNext = ObjectGetPrototypeOf(new Map().entries()).next as (this: Iterator<unknown>) => IteratorResult<unknown>;
const SetIteratorNext = ObjectGetPrototypeOf(new Set().values()).next as (this: Iterator<unknown>) => IteratorResult<unknown>;
const WeakMapPrototypeHas = uncurry(WeakMap.prototype.has) as (self: unknown, key: object) => boolean;
const WeakSetPrototypeHas = uncurry(WeakSet.prototype.has) as (self: unknown, key: object) => boolean;
const WeakMapCtor = WeakMap;
const WeakMapPrototypeGet = uncurry(WeakMap.prototype.get) as (self: WeakMap<object, unknown>, key: object) => unknown;
const WeakMapPrototypeSet = uncurry(WeakMap.prototype.set) as (self: WeakMap<object, unknown>, key: object, v: unknown) => void;
const ErrorIsError = (Error as unknown as { isError?: (v: unknown) => boolean }).isError;
const ErrorPrototype = Error.prototype;
const RegExpPrototype = RegExp.prototype;
const PromisePrototype = Promise.prototype;
const FunctionPrototype = Function.prototype;
const AsyncFunctionPrototype = ObjectGetPrototypeOf(async function () {}) as object;
const GeneratorFunctionPrototype = ObjectGetPrototypeOf(function* () {}) as object;
const AsyncGeneratorFunctionPrototype = ObjectGetPrototypeOf(async function* () {}) as object;
/** V8's own `stack` accessor, shared by every error: the one getter safe to call. */
const ErrorStackGetter = ObjectGetOwnPropertyDescriptor(new Error(), "stack")?.get;
const MathMax = Math.max;
const MathMin = Math.min;
const MathSqrt = Math.sqrt;
const MathRound = Math.round;
const MathFloor = Math.floor;
const NumberParseInt = Number.parseInt;
const NumberParseFloat = Number.parseFloat;
const StringCtor = String;
const SymbolToStringTag: symbol = Symbol.toStringTag;

// ---- Limits ----

/** Total output cap, and what marks a cut. */
export const MAX_OUTPUT = 64 * 1024;
const TRUNCATION_MARK = "…";
/** Array, typed array, Map and Set entries shown before "... n more items". */
const MAX_ITEMS = 100;
/** Nested strings longer than this are cut ("... n more characters"). */
const MAX_STRING = 10000;
/** Object properties shown before "... n more properties" (Node has no limit; huge objects are a DoS). */
const MAX_PROPERTIES = 1000;
/** Width under which an object is printed on one line. */
const BREAK_LENGTH = 80;
/** Default nesting depth: deeper objects print as [Object], [Array], [Foo]. */
const DEFAULT_DEPTH = 2;

// ---- Hooks for the runtime's own classes ----

/**
 * What a runtime class shows instead of its (accessor-only, hence empty) own properties:
 * a record of named values, like `URL { href: '…', … }`, or a list of pairs, like
 * `URLSearchParams { 'a' => '1' }`. The class name comes from the constructor as usual.
 */
export type InspectView =
  | { readonly record: object }
  | { readonly pairs: readonly (readonly [unknown, unknown])[] };
type Inspector = (value: object) => InspectView;
const inspectors = new WeakMapCtor<object, Inspector>();

/**
 * Give instances of a runtime class (URL, Headers, …) a custom display, like Node's
 * util.inspect.custom but invisible to user code: no property is added to the class.
 */
export function defineInspector(ctor: { prototype: object }, inspector: Inspector): void {
  WeakMapPrototypeSet(inspectors, ctor.prototype, inspector);
}

// ---- Entry points ----

/** Options for {@link inspect}. */
export interface InspectOptions {
  /** Levels of nesting shown before [Object]; default 2. */
  depth?: number;
}

interface Context {
  /** The objects being formatted, outermost first: seeing one again is a cycle. */
  seen: object[];
  /** Cycle targets and their "*n" reference numbers. */
  circular: WeakMap<object, number>;
  circularCount: number;
  depth: number;
  indentation: number;
  /** Characters left before the output cap; formatting stops adding entries below zero. */
  budget: number;
}

function newContext(depth: number): Context {
  return { seen: [], circular: new WeakMapCtor(), circularCount: 0, depth, indentation: 0, budget: MAX_OUTPUT };
}

/** A Node-like display of any value; strings come out quoted. Never throws. */
export function inspect(value: unknown, options?: InspectOptions): string {
  const depth = options?.depth ?? DEFAULT_DEPTH;
  return cap(formatValue(newContext(depth), value, 0));
}

/**
 * The Console Standard's Formatter and Printer rolled into one (Console §2.2.1): with a
 * string first argument and more arguments, the specifiers %s %d %i %f %o %O %c (and %%)
 * consume arguments in order; the rest are appended, separated by spaces, strings bare
 * and everything else inspected. Never throws.
 */
export function formatLogArgs(args: readonly unknown[]): string {
  const count = args.length;
  if (count === 0) return "";
  let out = "";
  let next = 0;
  const first = args[0];
  if (typeof first === "string" && count > 1) {
    out = applySpecifiers(first, args);
    next = lastConsumed;
  }
  for (let i = next; i < count; i++) {
    if (out.length > MAX_OUTPUT) break;
    if (i !== 0) out += " ";
    const arg = args[i];
    out += typeof arg === "string" ? arg : formatValue(newContext(DEFAULT_DEPTH), arg, 0);
  }
  return cap(out);
}

function cap(s: string): string {
  return s.length > MAX_OUTPUT ? StringPrototypeSlice(s, 0, MAX_OUTPUT) + TRUNCATION_MARK : s;
}

/** How many arguments the last applySpecifiers call consumed (the format string included). */
let lastConsumed = 1;

function applySpecifiers(format: string, args: readonly unknown[]): string {
  const len = format.length;
  let argIndex = 1;
  let out = "";
  let runStart = 0;
  for (let i = 0; i < len - 1; i++) {
    if (StringPrototypeCharCodeAt(format, i) !== 0x25 /* % */) continue;
    const spec = StringPrototypeCharCodeAt(format, i + 1);
    let replacement: string | undefined;
    if (spec === 0x25) {
      replacement = "%";
    } else if (argIndex < args.length) {
      const arg = args[argIndex];
      switch (spec) {
        case 0x73: // %s
          replacement = formatAsString(arg);
          break;
        case 0x64: // %d
        case 0x69: // %i
          replacement = formatAsInteger(arg);
          break;
        case 0x66: // %f
          replacement = formatAsFloat(arg);
          break;
        case 0x6f: // %o: "optimally useful formatting", a little deeper than %O
          replacement = formatValue(newContext(4), arg, 0);
          break;
        case 0x4f: // %O: "generic JavaScript object formatting"
          replacement = formatValue(newContext(DEFAULT_DEPTH), arg, 0);
          break;
        case 0x63: // %c: CSS, which a text log has no use for
          replacement = "";
          break;
      }
      if (replacement !== undefined) argIndex++;
    }
    if (replacement === undefined) continue;
    out += StringPrototypeSlice(format, runStart, i) + replacement;
    runStart = i + 2;
    i++;
    if (out.length > MAX_OUTPUT) break;
  }
  lastConsumed = argIndex;
  return runStart === 0 ? format : out + StringPrototypeSlice(format, runStart);
}

/** %s: String(value) for primitives (with 1n and -0 as Node writes them); objects are inspected shallowly. */
function formatAsString(value: unknown): string {
  switch (typeof value) {
    case "string":
      return value;
    case "bigint":
      return `${value}n`;
    case "number":
      return ObjectIs(value, -0) ? "-0" : `${value}`;
    case "symbol":
      return SymbolPrototypeToString(value);
    case "object":
    case "function":
      if (value === null) return "null";
      return formatValue(newContext(0), value, 0);
    default:
      return `${value as undefined | boolean}`;
  }
}

/** %d and %i: %parseInt%(value, 10) per the spec; symbols and objects that cannot be stringified give NaN. */
function formatAsInteger(value: unknown): string {
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "symbol") return "NaN";
  if (typeof value === "number") return `${NumberParseInt(`${value}`, 10)}`;
  try {
    return `${NumberParseInt(StringCtor(value), 10)}`;
  } catch {
    return "NaN";
  }
}

/** %f: %parseFloat%(value). */
function formatAsFloat(value: unknown): string {
  if (typeof value === "symbol") return "NaN";
  try {
    const n = NumberParseFloat(typeof value === "number" ? `${value}` : StringCtor(value));
    return ObjectIs(n, -0) ? "-0" : `${n}`;
  } catch {
    return "NaN";
  }
}

// ---- Values ----

function formatValue(ctx: Context, value: unknown, recurseTimes: number): string {
  if (ctx.budget < 0) return TRUNCATION_MARK;
  let out: string;
  if ((typeof value !== "object" || value === null) && typeof value !== "function") {
    out = formatPrimitive(value, true);
  } else {
    try {
      out = formatObject(ctx, value, recurseTimes);
    } catch {
      out = "<uninspectable>";
    }
  }
  ctx.budget -= out.length;
  return out;
}

function formatPrimitive(value: unknown, quoteStrings: boolean): string {
  switch (typeof value) {
    case "string":
      return quoteStrings ? quote(value) : value;
    case "number":
      return ObjectIs(value, -0) ? "-0" : `${value}`;
    case "bigint":
      return `${value}n`;
    case "symbol":
      return SymbolPrototypeToString(value);
    default:
      return `${value as undefined | null | boolean}`;
  }
}

const HEX = "0123456789ABCDEF";
const LOWER_HEX = "0123456789abcdef";

/** A string literal: single quotes unless the text has some, control characters escaped. */
export function quote(s: string): string {
  let truncated = "";
  if (s.length > MAX_STRING) {
    truncated = `... ${s.length - MAX_STRING} more character${s.length - MAX_STRING === 1 ? "" : "s"}`;
    s = StringPrototypeSlice(s, 0, MAX_STRING);
  }
  let hasSingle = false;
  let hasDouble = false;
  let hasBacktick = false;
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    if (c === 0x27) hasSingle = true;
    else if (c === 0x22) hasDouble = true;
    else if (c === 0x60) hasBacktick = true;
  }
  let q = 0x27;
  if (hasSingle) {
    if (!hasDouble) q = 0x22;
    else if (!hasBacktick) q = 0x60;
  }
  let out = "";
  let runStart = 0;
  for (let i = 0; i < s.length; i++) {
    const c = StringPrototypeCharCodeAt(s, i);
    let escape: string | undefined;
    if (c < 0x20 || c === 0x7f) {
      switch (c) {
        case 0x08:
          escape = "\\b";
          break;
        case 0x09:
          escape = "\\t";
          break;
        case 0x0a:
          escape = "\\n";
          break;
        case 0x0b:
          escape = "\\v";
          break;
        case 0x0c:
          escape = "\\f";
          break;
        case 0x0d:
          escape = "\\r";
          break;
        default:
          escape = `\\x${HEX[c >> 4]}${HEX[c & 15]}`;
      }
    } else if (c === q || c === 0x5c) {
      escape = `\\${s[i]}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      // Lone surrogates are shown as escapes; pairs pass.
      const isPair =
        c <= 0xdbff
          ? i + 1 < s.length && (StringPrototypeCharCodeAt(s, i + 1) & 0xfc00) === 0xdc00
          : i > 0 && (StringPrototypeCharCodeAt(s, i - 1) & 0xfc00) === 0xd800;
      if (!isPair) escape = `\\u${HEX[c >> 12]}${HEX[(c >> 8) & 15]}${HEX[(c >> 4) & 15]}${HEX[c & 15]}`;
    }
    if (escape === undefined) continue;
    out += StringPrototypeSlice(s, runStart, i) + escape;
    runStart = i + 1;
  }
  const qs = q === 0x27 ? "'" : q === 0x22 ? '"' : "`";
  return qs + out + StringPrototypeSlice(s, runStart) + qs + truncated;
}

/** A property key as written in an object literal: bare when an identifier, else quoted. */
function formatKey(key: string | symbol): string {
  if (typeof key === "symbol") return `[${SymbolPrototypeToString(key)}]`;
  if (key.length === 0) return "''";
  for (let i = 0; i < key.length; i++) {
    const c = StringPrototypeCharCodeAt(key, i);
    const alpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
    const ok = alpha || c === 0x5f || c === 0x24 || (i > 0 && c >= 0x30 && c <= 0x39);
    if (!ok) return quote(key);
  }
  return key;
}

// ---- Objects ----

/** The name of the nearest `constructor` (read through descriptors), or null for a null-prototype chain. */
function constructorName(obj: object): string | null {
  let o: object | null = obj;
  for (let guard = 0; o !== null && guard < 1000; guard++) {
    const desc = ObjectGetOwnPropertyDescriptor(o, "constructor");
    if (desc !== undefined && typeof desc.value === "function") {
      const name = ObjectGetOwnPropertyDescriptor(desc.value as object, "name");
      if (name !== undefined && typeof name.value === "string" && name.value !== "") return name.value;
    }
    o = ObjectGetPrototypeOf(o) as object | null;
  }
  return o === null && ObjectGetPrototypeOf(obj) === null ? null : "Object";
}

/** A data property's value along the prototype chain, never calling getters. */
function dataProperty(obj: object, key: PropertyKey): unknown {
  let o: object | null = obj;
  for (let guard = 0; o !== null && guard < 1000; guard++) {
    const desc = ObjectGetOwnPropertyDescriptor(o, key);
    if (desc !== undefined) return "value" in desc ? desc.value : undefined;
    o = ObjectGetPrototypeOf(o) as object | null;
  }
  return undefined;
}

function protoChainIncludes(obj: object, proto: object): boolean {
  let o = ObjectGetPrototypeOf(obj) as object | null;
  for (let guard = 0; o !== null && guard < 1000; guard++) {
    if (o === proto) return true;
    o = ObjectGetPrototypeOf(o) as object | null;
  }
  return false;
}

function brand(check: () => unknown): boolean {
  try {
    check();
    return true;
  } catch {
    return false;
  }
}

function isError(value: object): boolean {
  return ErrorIsError !== undefined ? ErrorIsError(value) : protoChainIncludes(value, ErrorPrototype);
}

function findInspector(value: object): Inspector | undefined {
  let o: object | null = ObjectGetPrototypeOf(value) as object | null;
  for (let guard = 0; o !== null && guard < 1000; guard++) {
    const inspector = WeakMapPrototypeGet(inspectors, o) as Inspector | undefined;
    if (inspector !== undefined) return inspector;
    o = ObjectGetPrototypeOf(o) as object | null;
  }
  return undefined;
}

function formatObject(ctx: Context, value: object, recurseTimes: number): string {
  const seen = ctx.seen;
  for (let i = 0; i < seen.length; i++) {
    if (seen[i] === value) {
      let index = WeakMapPrototypeGet(ctx.circular, value) as number | undefined;
      if (index === undefined) {
        index = ++ctx.circularCount;
        WeakMapPrototypeSet(ctx.circular, value, index);
      }
      return `[Circular *${index}]`;
    }
  }

  const inspector = findInspector(value);
  seen[seen.length] = value;
  let out: string;
  try {
    out = inspector === undefined ? formatRaw(ctx, value, recurseTimes) : formatView(ctx, value, inspector(value), recurseTimes);
  } finally {
    seen.length--;
  }
  const index = WeakMapPrototypeGet(ctx.circular, value) as number | undefined;
  return index === undefined ? out : `<ref *${index}> ${out}`;
}

function formatView(ctx: Context, value: object, view: InspectView, recurseTimes: number): string {
  const name = constructorName(value) ?? "Object";
  if (recurseTimes > ctx.depth) return `[${name}]`;
  const braces: [string, string] = [`${name} {`, "}"];
  if ("record" in view) {
    return finish(ctx, view.record, [], ownEnumerableKeys(view.record), braces, "", recurseTimes, false);
  }
  const output: string[] = [];
  const pairs = view.pairs;
  for (let i = 0; i < pairs.length && ctx.budget >= 0; i++) {
    const pair = pairs[i]!;
    output[output.length] = `${formatNested(ctx, pair[0], recurseTimes)} => ${formatNested(ctx, pair[1], recurseTimes)}`;
  }
  return finish(ctx, value, output, [], braces, "", recurseTimes, false);
}

/** The part before the braces ("Foo ", "Map(2) ", "[Object: null prototype] "), with a toStringTag when it adds something. */
function prefixFor(name: string | null, tag: unknown, fallback: string, size = ""): string {
  const base = name ?? `[${fallback}${size}: null prototype]`;
  const tagPart = typeof tag === "string" && tag !== "" && tag !== (name ?? fallback) ? ` [${tag}]` : "";
  if (name === null) return `${base}${tagPart} `;
  return `${name}${size}${tagPart} `;
}

function formatRaw(ctx: Context, value: object, recurseTimes: number): string {
  const name = constructorName(value);
  const tag = dataProperty(value, SymbolToStringTag);
  let keys: (string | symbol)[] = isHugeIndexed(value) ? [] : ownEnumerableKeys(value);
  let output: string[];
  let braces: [string, string] = ["{", "}"];
  let base = "";
  let grouping = false;

  if (typeof value === "function") {
    base = functionBase(value);
    if (keys.length === 0) return base;
  } else if (ArrayIsArray(value)) {
    const prefix = name === "Array" ? "" : prefixFor(name, tag, "Array", `(${(value as unknown[]).length})`);
    braces = [`${prefix}[`, "]"];
    if ((value as unknown[]).length === 0 && keys.length === 0) return `${braces[0]}]`;
    if (recurseTimes > ctx.depth) return `[${name ?? "Array"}]`;
    output = formatArrayItems(ctx, value as unknown[], recurseTimes);
    keys = nonIndexKeys(keys);
    grouping = true;
    return finish(ctx, value, output, keys, braces, base, recurseTimes, grouping);
  } else if (typedArrayName(value) !== undefined) {
    const typeName = typedArrayName(value)!;
    const length = typedArrayLength(value as ArrayBufferView);
    const prefix = name === typeName ? `${typeName}(${length}) ` : prefixFor(name, undefined, typeName, `(${length})`);
    braces = [`${prefix}[`, "]"];
    if (length === 0 && keys.length === 0) return `${braces[0]}]`;
    if (recurseTimes > ctx.depth) return `[${name ?? typeName}]`;
    output = [];
    const shown = MathMin(length, MAX_ITEMS);
    const view = value as unknown as ArrayLike<number | bigint>;
    for (let i = 0; i < shown; i++) output[i] = formatPrimitive(view[i], true);
    if (length > shown) output[output.length] = moreItems(length - shown);
    keys = nonIndexKeys(keys);
    grouping = true;
    return finish(ctx, value, output, keys, braces, base, recurseTimes, grouping);
  } else if (isArrayBuffer(value) || isSharedArrayBuffer(value)) {
    const typeName = isArrayBuffer(value) ? "ArrayBuffer" : "SharedArrayBuffer";
    if (recurseTimes > ctx.depth) return `[${name ?? typeName}]`;
    if (isArrayBuffer(value) && ArrayBufferPrototypeGetDetached(value)) {
      return `${name === typeName ? typeName : StringPrototypeSlice(prefixFor(name, tag, typeName), 0, -1)} { (detached), byteLength: 0 }`;
    }
    const bytes = new Uint8ArrayCtor(value as ArrayBuffer);
    const shown = MathMin(bytes.length, MAX_ITEMS);
    let hex = "";
    for (let i = 0; i < shown; i++) hex += `${i === 0 ? "" : " "}${LOWER_HEX[bytes[i]! >> 4]}${LOWER_HEX[bytes[i]! & 15]}`;
    if (bytes.length > shown) hex += ` ... ${bytes.length - shown} more byte${bytes.length - shown === 1 ? "" : "s"}`;
    output = [`[Uint8Contents]: <${hex}>`, `byteLength: ${bytes.length}`];
    base = "";
    braces = [`${name === typeName ? `${typeName} ` : prefixFor(name, tag, typeName)}{`, "}"];
    return finish(ctx, value, output, keys, braces, base, recurseTimes, false);
  } else if (isDataView(value)) {
    if (recurseTimes > ctx.depth) return `[${name ?? "DataView"}]`;
    const view = value as DataView;
    output = [
      `byteLength: ${brand(() => viewByteLength(view)) ? viewByteLength(view) : 0}`,
      `byteOffset: ${brand(() => viewByteOffset(view)) ? viewByteOffset(view) : 0}`,
      `buffer: ${formatNested(ctx, viewBuffer(view), recurseTimes)}`,
    ];
    braces = [`${name === "DataView" ? "DataView " : prefixFor(name, tag, "DataView")}{`, "}"];
    return finish(ctx, value, output, keys, braces, base, recurseTimes, false);
  } else if (brand(() => MapSize(value))) {
    const size = MapSize(value) as number;
    const prefix = name === "Map" ? `Map(${size}) ` : prefixFor(name, tag, "Map", `(${size})`);
    braces = [`${prefix}{`, "}"];
    if (size === 0 && keys.length === 0) return `${braces[0]}}`;
    if (recurseTimes > ctx.depth) return `[${name ?? "Map"}]`;
    output = [];
    const iterator = MapPrototypeEntries(value);
    for (let i = 0; i < MAX_ITEMS && ctx.budget >= 0; i++) {
      const step = ReflectApply(MapIteratorNext, iterator, []) as IteratorResult<[unknown, unknown]>;
      if (step.done) break;
      const pair = step.value;
      output[output.length] = `${formatNested(ctx, pair[0], recurseTimes)} => ${formatNested(ctx, pair[1], recurseTimes)}`;
    }
    if (size > output.length) output[output.length] = moreItems(size - output.length);
    return finish(ctx, value, output, keys, braces, base, recurseTimes, false);
  } else if (brand(() => SetSize(value))) {
    const size = SetSize(value) as number;
    const prefix = name === "Set" ? `Set(${size}) ` : prefixFor(name, tag, "Set", `(${size})`);
    braces = [`${prefix}{`, "}"];
    if (size === 0 && keys.length === 0) return `${braces[0]}}`;
    if (recurseTimes > ctx.depth) return `[${name ?? "Set"}]`;
    output = [];
    const iterator = SetPrototypeValues(value);
    for (let i = 0; i < MAX_ITEMS && ctx.budget >= 0; i++) {
      const step = ReflectApply(SetIteratorNext, iterator, []);
      if (step.done) break;
      output[output.length] = formatNested(ctx, step.value, recurseTimes);
    }
    if (size > output.length) output[output.length] = moreItems(size - output.length);
    return finish(ctx, value, output, keys, braces, base, recurseTimes, true);
  } else if (brand(() => WeakMapPrototypeHas(value, {}))) {
    braces = [`${prefixFor(name, tag, "WeakMap")}{`, "}"];
    output = ["<items unknown>"];
    return finish(ctx, value, output, keys, braces, base, recurseTimes, false);
  } else if (brand(() => WeakSetPrototypeHas(value, {}))) {
    braces = [`${prefixFor(name, tag, "WeakSet")}{`, "}"];
    output = ["<items unknown>"];
    return finish(ctx, value, output, keys, braces, base, recurseTimes, false);
  } else if (brand(() => DatePrototypeGetTime(value))) {
    const time = DatePrototypeGetTime(value as Date);
    base = time === time ? DatePrototypeToISOString(value as Date) : "Invalid Date";
    if (name !== "Date") base = `${name ?? "[Date: null prototype]"} ${base}`;
    if (keys.length === 0) return base;
  } else if (value !== RegExpPrototype && brand(() => RegExpGlobal(value))) {
    base = `/${RegExpSource(value) as string}/${RegExpFlags(value) as string}`;
    if (name !== "RegExp") base = `${name ?? "[RegExp: null prototype]"} ${base}`;
    keys = withoutKeys(keys, "lastIndex", "lastIndex");
    if (keys.length === 0) return base;
  } else if (isError(value)) {
    base = errorBase(ctx, value);
    keys = withoutKeys(keys, "stack", "message");
    const cause = ObjectGetOwnPropertyDescriptor(value, "cause");
    if (cause !== undefined && !cause.enumerable && keys.length === 0 && "value" in cause) {
      if (recurseTimes > ctx.depth) return base;
      const causeText = formatNested(ctx, cause.value, recurseTimes);
      return finish(ctx, value, [`[cause]: ${causeText}`], keys, braces, base, recurseTimes, false);
    }
    if (keys.length === 0) return base;
  } else if (protoChainIncludes(value, PromisePrototype)) {
    // A Promise's state is not observable from JavaScript without V8 internals.
    braces = [`${name === "Promise" ? "Promise " : prefixFor(name, tag, "Promise")}{`, "}"];
    return finish(ctx, value, ["<unknown>"], keys, braces, base, recurseTimes, false);
  } else {
    const boxed = boxedPrimitive(value);
    if (boxed !== undefined) {
      base = boxed;
      // A String object's characters are index properties; the base already shows them.
      keys = nonIndexKeys(keys);
      if (keys.length === 0) return base;
    } else {
      // An ordinary object, a class instance, or a null-prototype object.
      const prefix = name === "Object" ? (typeof tag === "string" && tag !== "" ? `Object [${tag}] ` : "") : prefixFor(name, tag, "Object");
      braces = [`${prefix}{`, "}"];
      if (keys.length === 0) return `${braces[0]}}`;
      if (recurseTimes > ctx.depth) return `[${name ?? "Object"}]`;
    }
  }
  if (recurseTimes > ctx.depth) return base !== "" ? base : `[${name ?? "Object"}]`;
  return finish(ctx, value, [], keys, braces, base, recurseTimes, false);
}

/** Append the formatted properties, then lay the entries out on one line or several. */
function finish(
  ctx: Context,
  value: object,
  output: string[],
  keys: readonly (string | symbol)[],
  braces: [string, string],
  base: string,
  recurseTimes: number,
  grouping: boolean,
): string {
  const limit = MathMin(keys.length, MAX_PROPERTIES);
  for (let i = 0; i < limit; i++) {
    if (ctx.budget < 0) {
      output[output.length] = TRUNCATION_MARK;
      break;
    }
    output[output.length] = formatProperty(ctx, value, keys[i]!, recurseTimes);
  }
  if (keys.length > limit) {
    const more = keys.length - limit;
    output[output.length] = `... ${more} more propert${more === 1 ? "y" : "ies"}`;
  }
  if (grouping && output.length > 6) output = groupItems(ctx, output);
  return reduceToSingleString(ctx, output, base, braces);
}

function moreItems(n: number): string {
  return `... ${n} more item${n === 1 ? "" : "s"}`;
}

/** A value inside an object or collection: one level deeper, indented two more columns. */
function formatNested(ctx: Context, value: unknown, recurseTimes: number): string {
  ctx.indentation += 2;
  try {
    return formatValue(ctx, value, recurseTimes + 1);
  } finally {
    ctx.indentation -= 2;
  }
}

function formatProperty(ctx: Context, obj: object, key: string | symbol, recurseTimes: number): string {
  const desc = ObjectGetOwnPropertyDescriptor(obj, key);
  let valueString: string;
  if (desc === undefined) {
    valueString = "undefined";
  } else if ("value" in desc) {
    valueString = formatNested(ctx, desc.value, recurseTimes);
  } else if (desc.get !== undefined) {
    valueString = desc.set !== undefined ? "[Getter/Setter]" : "[Getter]";
  } else {
    valueString = desc.set !== undefined ? "[Setter]" : "undefined";
  }
  return `${formatKey(key)}: ${valueString}`;
}

/**
 * An array or typed array so long that listing its own keys (one string per index) would
 * cost more memory than the function has: its extra named properties are not shown.
 */
function isHugeIndexed(value: object): boolean {
  if (ArrayIsArray(value)) return (value as unknown[]).length > HUGE_INDEXED;
  return typedArrayName(value) !== undefined && typedArrayLength(value as ArrayBufferView) > HUGE_INDEXED;
}
const HUGE_INDEXED = 100_000;

/** Own enumerable keys, strings then symbols, read with descriptors (never Get). */
function ownEnumerableKeys(obj: object): (string | symbol)[] {
  const all = ReflectOwnKeys(obj);
  const keys: (string | symbol)[] = [];
  for (let i = 0; i < all.length; i++) {
    const desc = ObjectGetOwnPropertyDescriptor(obj, all[i]!);
    if (desc !== undefined && desc.enumerable) keys[keys.length] = all[i]!;
  }
  return keys;
}

/** Keys that are not array indices (for the "extra properties" of arrays). */
function nonIndexKeys(keys: readonly (string | symbol)[]): (string | symbol)[] {
  const out: (string | symbol)[] = [];
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (typeof k === "string" && isArrayIndex(k)) continue;
    out[out.length] = k;
  }
  return out;
}

function withoutKeys(keys: readonly (string | symbol)[], a: string, b: string): (string | symbol)[] {
  const out: (string | symbol)[] = [];
  for (let i = 0; i < keys.length; i++) if (keys[i] !== a && keys[i] !== b) out[out.length] = keys[i]!;
  return out;
}

function isArrayIndex(k: string): boolean {
  if (k.length === 0 || k.length > 10) return false;
  if (k.length > 1 && StringPrototypeCharCodeAt(k, 0) === 0x30) return false;
  for (let i = 0; i < k.length; i++) {
    const c = StringPrototypeCharCodeAt(k, i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return +k < 4294967295;
}

/** Array items, holes as "<n empty items>", cut after MAX_ITEMS. */
function formatArrayItems(ctx: Context, array: unknown[], recurseTimes: number): string[] {
  const length = array.length;
  const output: string[] = [];
  let i = 0;
  let shown = 0;
  while (i < length && shown < MAX_ITEMS && ctx.budget >= 0) {
    const desc = ObjectGetOwnPropertyDescriptor(array, `${i}`);
    if (desc === undefined) {
      let holes = 1;
      while (i + holes < length && ObjectGetOwnPropertyDescriptor(array, `${i + holes}`) === undefined) holes++;
      output[output.length] = `<${holes} empty item${holes === 1 ? "" : "s"}>`;
      i += holes;
    } else {
      output[output.length] =
        "value" in desc
          ? formatNested(ctx, desc.value, recurseTimes)
          : desc.get !== undefined
            ? desc.set !== undefined
              ? "[Getter/Setter]"
              : "[Getter]"
            : "[Setter]";
      i++;
    }
    shown++;
  }
  if (i < length) output[output.length] = moreItems(length - i);
  return output;
}

function functionBase(fn: object): string {
  let source = "";
  try {
    source = FunctionPrototypeToString(fn as () => void);
  } catch {
    // A revoked Proxy, for example: fall through to the generic form.
  }
  const nameDesc = ObjectGetOwnPropertyDescriptor(fn, "name");
  const name = nameDesc !== undefined && typeof nameDesc.value === "string" ? nameDesc.value : "";
  const afterClass = source.length > 5 ? StringPrototypeCharCodeAt(source, 5) : 0;
  if (
    StringPrototypeSlice(source, 0, 5) === "class" &&
    (afterClass === 0x20 || afterClass === 0x7b || (afterClass >= 0x09 && afterClass <= 0x0d))
  ) {
    let out = `[class ${name === "" ? "(anonymous)" : name}`;
    const parent = ObjectGetPrototypeOf(fn) as object | null;
    if (parent !== null && parent !== FunctionPrototype && typeof parent === "function") {
      const parentName = ObjectGetOwnPropertyDescriptor(parent, "name");
      if (parentName !== undefined && typeof parentName.value === "string" && parentName.value !== "") {
        out += ` extends ${parentName.value}`;
      }
    }
    return `${out}]`;
  }
  const proto = ObjectGetPrototypeOf(fn);
  const type =
    proto === AsyncFunctionPrototype
      ? "AsyncFunction"
      : proto === GeneratorFunctionPrototype
        ? "GeneratorFunction"
        : proto === AsyncGeneratorFunctionPrototype
          ? "AsyncGeneratorFunction"
          : "Function";
  return name === "" ? `[${type} (anonymous)]` : `[${type}: ${name}]`;
}

function errorBase(ctx: Context, err: object): string {
  let stack: unknown;
  const desc = ObjectGetOwnPropertyDescriptor(err, "stack");
  if (desc !== undefined) {
    if ("value" in desc) stack = desc.value;
    else if (desc.get !== undefined && desc.get === ErrorStackGetter) stack = ReflectApply(desc.get, err, []);
  }
  let text: string;
  if (typeof stack === "string" && stack !== "") {
    text = stack;
  } else {
    const name = dataProperty(err, "name");
    const message = dataProperty(err, "message");
    const n = typeof name === "string" ? name : "Error";
    text = `[${typeof message === "string" && message !== "" ? `${n}: ${message}` : n}]`;
  }
  if (ctx.indentation === 0) return text;
  // Continuation lines of a nested stack line up under the property.
  let indent = "";
  for (let i = 0; i < ctx.indentation; i++) indent += " ";
  let out = "";
  let runStart = 0;
  for (let i = 0; i < text.length; i++) {
    if (StringPrototypeCharCodeAt(text, i) !== 0x0a) continue;
    out += `${StringPrototypeSlice(text, runStart, i + 1)}${indent}`;
    runStart = i + 1;
  }
  return out + StringPrototypeSlice(text, runStart);
}

function boxedPrimitive(value: object): string | undefined {
  if (brand(() => NumberPrototypeValueOf(value))) return `[Number: ${formatPrimitive(NumberPrototypeValueOf(value), true)}]`;
  if (brand(() => StringPrototypeValueOf(value))) return `[String: ${quote(StringPrototypeValueOf(value))}]`;
  if (brand(() => BooleanPrototypeValueOf(value))) return `[Boolean: ${BooleanPrototypeValueOf(value)}]`;
  if (brand(() => SymbolPrototypeValueOf(value))) return `[Symbol: ${SymbolPrototypeToString(SymbolPrototypeValueOf(value))}]`;
  if (brand(() => BigIntPrototypeValueOf(value))) return `[BigInt: ${BigIntPrototypeValueOf(value)}n]`;
  return undefined;
}

/**
 * Lay out many short items (numbers, mostly) in aligned columns, as Node does, instead of
 * one per line. Items that are long or contain newlines are left alone.
 */
function groupItems(ctx: Context, output: string[]): string[] {
  let count = output.length;
  // A trailing "... n more items" stays on its own line.
  const last = output[count - 1]!;
  const more = StringPrototypeSlice(last, 0, 4) === "... " ? last : undefined;
  if (more !== undefined) count--;
  let total = 0;
  let maxLength = 0;
  for (let i = 0; i < count; i++) {
    const len = output[i]!.length;
    if (len > 16 || hasNewline(output[i]!)) return output;
    total += len + 2;
    maxLength = MathMax(maxLength, len);
  }
  const columnWidth = maxLength + 2;
  if (columnWidth * 3 + ctx.indentation >= BREAK_LENGTH) return output;
  const bias = MathSqrt(columnWidth - total / count);
  const biased = MathMax(columnWidth - 3 - bias, 1);
  const columns = MathMin(
    MathRound(MathSqrt(2.5 * biased * count) / biased),
    MathFloor((BREAK_LENGTH - ctx.indentation) / columnWidth),
    16,
  );
  if (columns <= 1) return output;
  const widths: number[] = [];
  for (let c = 0; c < columns; c++) {
    let w = 0;
    for (let j = c; j < count; j += columns) w = MathMax(w, output[j]!.length);
    widths[c] = w;
  }
  const numeric = isNumericLike(output[0]!);
  const rows: string[] = [];
  for (let i = 0; i < count; i += columns) {
    const end = MathMin(i + columns, count);
    let row = "";
    for (let j = i; j < end; j++) {
      const item = output[j]!;
      const pad = widths[j - i]! - item.length;
      let spaces = "";
      for (let p = 0; p < pad; p++) spaces += " ";
      const cell = numeric ? spaces + item : item + (j === end - 1 ? "" : spaces);
      row += j === end - 1 ? cell : `${cell}, `;
    }
    rows[rows.length] = row;
  }
  if (more !== undefined) rows[rows.length] = more;
  return rows;
}

function isNumericLike(s: string): boolean {
  const c = StringPrototypeCharCodeAt(s, 0);
  return (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x4e /* NaN */ || c === 0x49 /* Infinity */;
}

function hasNewline(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (StringPrototypeCharCodeAt(s, i) === 0x0a) return true;
  return false;
}

/** One line when it fits in BREAK_LENGTH and nothing inside spans lines; otherwise one entry per line. */
function reduceToSingleString(ctx: Context, output: readonly string[], base: string, braces: [string, string]): string {
  const head = base === "" ? braces[0] : `${base} ${braces[0]}`;
  if (output.length === 0) return `${head}${braces[1]}`;
  let total = output.length + ctx.indentation + head.length + 10;
  let multiline = hasNewline(base);
  for (let i = 0; i < output.length && !multiline; i++) {
    total += output[i]!.length;
    if (hasNewline(output[i]!)) multiline = true;
  }
  if (!multiline && total <= BREAK_LENGTH) {
    let inner = "";
    for (let i = 0; i < output.length; i++) inner += i === 0 ? output[i] : `, ${output[i]}`;
    return `${head} ${inner} ${braces[1]}`;
  }
  let indent = "\n";
  for (let i = 0; i < ctx.indentation; i++) indent += " ";
  let inner = "";
  for (let i = 0; i < output.length; i++) inner += `${i === 0 ? "" : ","}${indent}  ${output[i]}`;
  return `${head}${inner}${indent}${braces[1]}`;
}
