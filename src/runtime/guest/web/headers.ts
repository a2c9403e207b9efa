/**
 * Headers (Fetch §5.2).
 *
 * Deliberate deviation, as in Cloudflare Workers and other server runtimes: the
 * "forbidden request-header" and "forbidden response-header name" filters of the
 * "request" and "response" guards are not applied — a server must be able to set Host,
 * Cookie or Set-Cookie. Only the "immutable" guard restricts anything.
 */
import { HeaderList, isToken, isValidHeaderValue, lowercaseName, normalizeHeaderValue } from "./header-list.ts";
import {
  constructContext,
  defineInterface,
  illegalInvocation,
  isObject,
  methodContext,
  requireArgs,
  toByteString,
} from "./idl.ts";
import {
  ArrayIsArray,
  ArrayIteratorPrototypeNext,
  ArrayPrototypePush,
  ArrayPrototypeSymbolIterator,
  IteratorPrototype,
  ObjectDefineProperty,
  ObjectGetOwnPropertyDescriptor,
  ObjectSetPrototypeOf,
  ReflectApply,
  ReflectOwnKeys,
  SymbolIterator,
  SymbolToStringTag,
} from "./intrinsics.ts";

export type HeadersGuard = "immutable" | "request" | "request-no-cors" | "response" | "none";

/** WebIDL HeadersInit. */
export type HeadersInit = [string, string][] | Record<string, string> | Headers | Iterable<Iterable<string>>;

let getList!: (h: Headers) => HeaderList;
let getGuard!: (h: Headers) => HeadersGuard;
let setGuard!: (h: Headers, guard: HeadersGuard) => void;
let hasSlots!: (v: object) => boolean;
let replaceList!: (h: Headers, list: HeaderList) => void;
const kInternal = Symbol("internal");

function isHeaders(value: unknown): value is Headers {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** Validate and normalize a name/value pair as append() and set() do; returns the lowercased name. */
function checkNameAndValue(name: string, value: string, context: string): [string, string] {
  if (!isToken(name)) throw new TypeError(`${context}: Invalid name`);
  if (!isValidHeaderValue(value)) throw new TypeError(`${context}: Invalid value`);
  return [lowercaseName(name), value];
}

/** §5.2 "append" (name, value) to headers, with the guard check. */
function appendHeader(list: HeaderList, guard: HeadersGuard, name: string, value: string, context: string): void {
  value = normalizeHeaderValue(value);
  const [lname, v] = checkNameAndValue(name, value, context);
  if (guard === "immutable") throw new TypeError(`${context}: Headers are immutable`);
  list.append(lname, v);
}

/** WebIDL conversion of HeadersInit into pairs: `(sequence<sequence<ByteString>> or record<ByteString, ByteString>)`. */
export function convertHeadersInit(init: unknown, context: string): string[][] | HeaderList {
  if (!isObject(init)) throw new TypeError(`${context}: The provided value is not of type '(record<ByteString, ByteString> or sequence<sequence<ByteString>>)'.`);
  const method = (init as { [Symbol.iterator]?: unknown })[SymbolIterator];
  if (method !== undefined && method !== null) {
    if (typeof method !== "function") throw new TypeError(`${context}: The object must have a callable @@iterator property.`);
    // Fast path: an untouched Headers object iterates its sorted-and-combined list.
    if (isHeaders(init) && method === headersEntries && HeadersIteratorPrototype.next === headersIteratorNext) {
      const pairs = getList(init).sortAndCombine();
      const list = new HeaderList();
      for (let i = 0; i < pairs.length; i++) list.append(pairs[i]![0], pairs[i]![1]);
      return list;
    }
    return convertSequenceOfSequences(init, method as () => Iterator<unknown>, context);
  }
  return convertRecord(init, context);
}

function isPlainArrayIterable(value: unknown): value is unknown[] {
  return (
    ArrayIsArray(value) &&
    (value as unknown as { [Symbol.iterator]: unknown })[SymbolIterator] === ArrayPrototypeSymbolIterator &&
    (ArrayIteratorPrototype as { next: unknown }).next === ArrayIteratorPrototypeNext
  );
}
const ArrayIteratorPrototype = Object.getPrototypeOf([][Symbol.iterator]()) as object;

function iterate(value: object, method: () => Iterator<unknown>, each: (item: unknown) => void): void {
  const iterator = ReflectApply(method, value, []) as Iterator<unknown>;
  if (!isObject(iterator)) throw new TypeError("The iterator is not an object");
  const next = iterator.next;
  for (;;) {
    const result = ReflectApply(next, iterator, []) as IteratorResult<unknown>;
    if (!isObject(result)) throw new TypeError("The iterator result is not an object");
    if (result.done) return;
    each(result.value);
  }
}

function convertSequenceOfSequences(init: object, method: () => Iterator<unknown>, context: string): string[][] {
  const out: string[][] = [];
  const convertInner = (item: unknown): void => {
    if (!isObject(item)) throw new TypeError(`${context}: The provided value cannot be converted to a sequence.`);
    const inner: string[] = [];
    if (isPlainArrayIterable(item)) {
      for (let i = 0; i < item.length; i++) ArrayPrototypePush(inner, toByteString(item[i], context));
    } else {
      const innerMethod = (item as { [Symbol.iterator]?: unknown })[SymbolIterator];
      if (typeof innerMethod !== "function") throw new TypeError(`${context}: The provided value cannot be converted to a sequence.`);
      iterate(item, innerMethod as () => Iterator<unknown>, (v) => ArrayPrototypePush(inner, toByteString(v, context)));
    }
    ArrayPrototypePush(out, inner);
  };
  if (isPlainArrayIterable(init)) {
    for (let i = 0; i < init.length; i++) convertInner(init[i]);
  } else {
    iterate(init, method, convertInner);
  }
  return out;
}

function convertRecord(init: object, context: string): string[][] {
  const out: string[][] = [];
  const keys = ReflectOwnKeys(init);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const desc = ObjectGetOwnPropertyDescriptor(init, key);
    if (desc === undefined || !desc.enumerable) continue;
    const typedKey = toByteString(key, context);
    const typedValue = toByteString((init as Record<PropertyKey, unknown>)[key], context);
    ArrayPrototypePush(out, [typedKey, typedValue]);
  }
  return out;
}

/** §5.2 "fill" headers with an already-converted HeadersInit. */
export function fillHeaders(headers: Headers, converted: string[][] | HeaderList, context: string): void {
  const list = getList(headers);
  const guard = getGuard(headers);
  if (converted instanceof HeaderList) {
    if (guard === "immutable" && converted.size > 0) throw new TypeError(`${context}: Headers are immutable`);
    for (let i = 0; i < converted.size; i++) list.append(converted.names[i]!, converted.values[i]!);
    return;
  }
  for (let i = 0; i < converted.length; i++) {
    const pair = converted[i]!;
    if (pair.length !== 2) throw new TypeError(`${context}: Invalid value`);
    appendHeader(list, guard, pair[0]!, pair[1]!, context);
  }
}

export class Headers {
  #list: HeaderList;
  #guard: HeadersGuard;

  static {
    getList = (h) => h.#list;
    getGuard = (h) => h.#guard;
    setGuard = (h, g) => {
      h.#guard = g;
    };
    hasSlots = (v) => #list in v;
    replaceList = (h, l) => {
      h.#list = l;
    };
  }

  constructor(init: HeadersInit | undefined = undefined) {
    if ((init as unknown) === kInternal) {
      // Internal construction: the caller installs the list and guard right after.
      this.#list = new HeaderList();
      this.#guard = "none";
      return;
    }
    this.#list = new HeaderList();
    this.#guard = "none";
    if (init !== undefined) {
      const context = constructContext("Headers");
      fillHeaders(this, convertHeadersInit(init, context), context);
    }
  }

  append(name: string, value: string): void {
    if (!isHeaders(this)) throw illegalInvocation();
    const context = methodContext("Headers", "append");
    requireArgs(arguments.length, 2, context);
    const n = toByteString(name, context);
    const v = toByteString(value, context);
    appendHeader(this.#list, this.#guard, n, v, context);
  }

  delete(name: string): void {
    if (!isHeaders(this)) throw illegalInvocation();
    const context = methodContext("Headers", "delete");
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (!isToken(n)) throw new TypeError(`${context}: Invalid name`);
    if (this.#guard === "immutable") throw new TypeError(`${context}: Headers are immutable`);
    this.#list.delete(lowercaseName(n));
  }

  get(name: string): string | null {
    if (!isHeaders(this)) throw illegalInvocation();
    const context = methodContext("Headers", "get");
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (!isToken(n)) throw new TypeError(`${context}: Invalid name`);
    return this.#list.get(lowercaseName(n));
  }

  getSetCookie(): string[] {
    if (!isHeaders(this)) throw illegalInvocation();
    return this.#list.getAll("set-cookie");
  }

  has(name: string): boolean {
    if (!isHeaders(this)) throw illegalInvocation();
    const context = methodContext("Headers", "has");
    requireArgs(arguments.length, 1, context);
    const n = toByteString(name, context);
    if (!isToken(n)) throw new TypeError(`${context}: Invalid name`);
    return this.#list.contains(lowercaseName(n));
  }

  set(name: string, value: string): void {
    if (!isHeaders(this)) throw illegalInvocation();
    const context = methodContext("Headers", "set");
    requireArgs(arguments.length, 2, context);
    const n = toByteString(name, context);
    const v = normalizeHeaderValue(toByteString(value, context));
    const [lname, nv] = checkNameAndValue(n, v, context);
    if (this.#guard === "immutable") throw new TypeError(`${context}: Headers are immutable`);
    this.#list.set(lname, nv);
  }

  forEach(callback: (value: string, key: string, parent: Headers) => void, thisArg: unknown = undefined): void {
    if (!isHeaders(this)) throw illegalInvocation();
    const context = methodContext("Headers", "forEach");
    requireArgs(arguments.length, 1, context);
    if (typeof callback !== "function") throw new TypeError(`${context}: The callback provided as parameter 1 is not a function.`);
    // WebIDL §3.7.9: the pairs are re-read after every call, so the callback sees its own mutations.
    let pairs = this.#list.sortAndCombine();
    for (let i = 0; i < pairs.length; i++) {
      const pair = pairs[i]!;
      ReflectApply(callback, thisArg, [pair[1], pair[0], this]);
      pairs = this.#list.sortAndCombine();
    }
  }

  entries(): HeadersIterator<[string, string]> {
    if (!isHeaders(this)) throw illegalInvocation();
    return createHeadersIterator(this, "key+value") as HeadersIterator<[string, string]>;
  }

  keys(): HeadersIterator<string> {
    if (!isHeaders(this)) throw illegalInvocation();
    return createHeadersIterator(this, "key") as HeadersIterator<string>;
  }

  values(): HeadersIterator<string> {
    if (!isHeaders(this)) throw illegalInvocation();
    return createHeadersIterator(this, "value") as HeadersIterator<string>;
  }

  declare [Symbol.iterator]: () => HeadersIterator<[string, string]>;
}
defineInterface(Headers, "Headers");
const headersEntries = Headers.prototype.entries;
// WebIDL: a pair iterable's @@iterator is the same function object as `entries`.
ObjectDefineProperty(Headers.prototype, SymbolIterator, { value: headersEntries, writable: true, enumerable: false, configurable: true });

export interface HeadersIterator<T> extends IterableIterator<T> {
  next(): IteratorResult<T, undefined>;
}

type IteratorKind = "key" | "value" | "key+value";

/** The "Headers Iterator" objects (WebIDL default iterator objects). */
class HeadersIteratorImpl {
  #target: Headers;
  #kind: IteratorKind;
  #index = 0;

  constructor(target: Headers, kind: IteratorKind) {
    this.#target = target;
    this.#kind = kind;
  }

  next(): IteratorResult<unknown, undefined> {
    if (typeof this !== "object" || this === null || !(#target in this)) {
      throw new TypeError(`${methodContext("Headers Iterator", "next")}: Illegal invocation`);
    }
    const pairs = getList(this.#target).sortAndCombine();
    const index = this.#index;
    if (index >= pairs.length) return { value: undefined, done: true };
    this.#index = index + 1;
    const pair = pairs[index]!;
    const kind = this.#kind;
    const value = kind === "key" ? pair[0] : kind === "value" ? pair[1] : [pair[0], pair[1]];
    return { value, done: false };
  }
}
const HeadersIteratorPrototype = HeadersIteratorImpl.prototype as unknown as { next: unknown };
const headersIteratorNext = HeadersIteratorPrototype.next;
ObjectSetPrototypeOf(HeadersIteratorPrototype, IteratorPrototype);
delete (HeadersIteratorPrototype as { constructor?: unknown }).constructor;
ObjectDefineProperty(HeadersIteratorPrototype, "next", { enumerable: true });
ObjectDefineProperty(HeadersIteratorPrototype, SymbolToStringTag, { value: "Headers Iterator", configurable: true });

function createHeadersIterator(target: Headers, kind: IteratorKind): HeadersIterator<unknown> {
  return new HeadersIteratorImpl(target, kind) as unknown as HeadersIterator<unknown>;
}

// --- internal API for Request and Response -------------------------------------------------

/** A Headers object over `list` with `guard` (Fetch "new Headers object … with guard"). */
export function headersFromList(list: HeaderList, guard: HeadersGuard): Headers {
  const h = new Headers(kInternal as never);
  setGuard(h, guard);
  replaceList(h, list);
  return h;
}


/** The header list behind a Headers object. */
export function headerListOf(headers: Headers): HeaderList {
  return getList(headers);
}

/** The guard of a Headers object. */
export function headersGuardOf(headers: Headers): HeadersGuard {
  return getGuard(headers);
}

/** Change the guard (Request sets "request-no-cors" after construction). */
export function setHeadersGuard(headers: Headers, guard: HeadersGuard): void {
  setGuard(headers, guard);
}
