/**
 * URLSearchParams (URL §6.2, https://url.spec.whatwg.org/#interface-urlsearchparams).
 *
 * A URL's query object is linked to its URL through an update callback the URL passes in
 * (the spec's "URL object"): every mutation here reserializes the list into the URL's query,
 * and the URL replaces this list when its href or search is set.
 */
import {
  constructContext,
  defineInterface,
  illegalInvocation,
  isObject,
  methodContext,
  requireArgs,
  toUSVString,
} from "./idl.ts";
import {
  ArrayPrototypeSort,
  IteratorPrototype,
  ObjectDefineProperty,
  ObjectGetOwnPropertyDescriptor,
  ObjectSetPrototypeOf,
  ReflectApply,
  ReflectOwnKeys,
  StringPrototypeCharCodeAt,
  StringPrototypeIsWellFormed,
  StringPrototypeSlice,
  SymbolIterator,
  SymbolToStringTag,
} from "./intrinsics.ts";
import { defineInspector } from "./console-format.ts";
import { parseFormURLEncoded, serializeFormURLEncoded, type FormEntry } from "./form-urlencoded.ts";

/** Receives the serialized list (null when empty) whenever a linked URLSearchParams changes. */
export type QueryUpdateSteps = (serializedQuery: string | null) => void;

export type URLSearchParamsInit =
  | Iterable<Iterable<string>>
  | Readonly<Record<string, string>>
  | string
  | URLSearchParams;

const ITERATOR_KEYS = 0;
const ITERATOR_VALUES = 1;
const ITERATOR_ENTRIES = 2;

let listOf!: (params: URLSearchParams) => FormEntry[];
let setListOf!: (params: URLSearchParams, list: FormEntry[]) => void;
let setUpdateSteps!: (params: URLSearchParams, steps: QueryUpdateSteps) => void;
let isURLSearchParamsImpl!: (value: unknown) => boolean;

function checkThis(self: unknown): URLSearchParams {
  if (!isURLSearchParamsImpl(self)) throw illegalInvocation();
  return self as URLSearchParams;
}

function sequenceError(): TypeError {
  return new TypeError(`${constructContext("URLSearchParams")}: The provided value cannot be converted to a sequence.`);
}

/**
 * Read an iterable the way WebIDL's "create a sequence from an iterable" does, with the
 * @@iterator method already fetched; `each` receives every value.
 */
function iterate(iterable: object, method: unknown, each: (value: unknown) => void): void {
  if (typeof method !== "function") throw sequenceError();
  const iterator: unknown = ReflectApply(method, iterable, []);
  if (!isObject(iterator)) throw new TypeError("Result of the Symbol.iterator method is not an object");
  const next = (iterator as Iterator<unknown>).next;
  for (;;) {
    const result: unknown = ReflectApply(next, iterator, []);
    if (!isObject(result)) throw new TypeError(`Iterator result ${String(result)} is not an object`);
    if ((result as IteratorResult<unknown>).done) return;
    each((result as IteratorResult<unknown>).value);
  }
}

/** sequence<sequence<USVString>> conversion plus the initialize steps' pair check. */
function listFromPairs(init: object, method: unknown): FormEntry[] {
  const list: FormEntry[] = [];
  iterate(init, method, (inner) => {
    if (!isObject(inner)) throw sequenceError();
    const pair: string[] = [];
    iterate(inner, (inner as Iterable<unknown>)[SymbolIterator], (item) => {
      pair[pair.length] = toUSVString(item);
    });
    if (pair.length !== 2) {
      throw new TypeError(
        `${constructContext("URLSearchParams")}: Sequence initializer must only contain pair elements`,
      );
    }
    list[list.length] = [pair[0]!, pair[1]!];
  });
  return list;
}

/**
 * record<USVString, USVString> conversion (WebIDL §3.2.22): own enumerable keys in order;
 * two keys that become equal after USVString conversion share the first one's position
 * and take the last one's value.
 */
function listFromRecord(init: object): FormEntry[] {
  const list: FormEntry[] = [];
  const keys = ReflectOwnKeys(init);
  let mayCollide = false;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const desc = ObjectGetOwnPropertyDescriptor(init, key);
    if (desc === undefined || !desc.enumerable) continue;
    if (typeof key === "string" && !StringPrototypeIsWellFormed(key)) mayCollide = true;
    const name = toUSVString(key);
    const value = toUSVString((init as Record<PropertyKey, unknown>)[key]);
    if (mayCollide) {
      let found = false;
      for (let j = 0; j < list.length; j++) {
        if (list[j]![0] === name) {
          list[j]![1] = value;
          found = true;
          break;
        }
      }
      if (found) continue;
    }
    list[list.length] = [name, value];
  }
  return list;
}

export class URLSearchParams {
  #list: FormEntry[] = [];
  #update: QueryUpdateSteps | null = null;

  constructor(init: unknown = "") {
    if (isObject(init)) {
      const method: unknown = (init as Partial<Iterable<unknown>>)[SymbolIterator];
      this.#list =
        method !== undefined && method !== null ? listFromPairs(init, method) : listFromRecord(init);
    } else {
      let query = toUSVString(init);
      if (query.length !== 0 && StringPrototypeCharCodeAt(query, 0) === 0x3f /* ? */) {
        query = StringPrototypeSlice(query, 1);
      }
      this.#list = parseFormURLEncoded(query);
    }
  }

  /** The update steps (URL §6.2): push the serialized list into the linked URL's query. */
  #runUpdate(): void {
    const update = this.#update;
    if (update === null) return;
    const serialized = serializeFormURLEncoded(this.#list);
    update(serialized === "" ? null : serialized);
  }

  get size(): number {
    return checkThis(this).#list.length;
  }

  append(name: string, value: string): void {
    const self = checkThis(this);
    requireArgs(arguments.length, 2, methodContext("URLSearchParams", "append"));
    const n = toUSVString(name);
    const v = toUSVString(value);
    self.#list[self.#list.length] = [n, v];
    self.#runUpdate();
  }

  delete(name: string, value: string | undefined = undefined): void {
    const self = checkThis(this);
    requireArgs(arguments.length, 1, methodContext("URLSearchParams", "delete"));
    const n = toUSVString(name);
    const v = value === undefined ? undefined : toUSVString(value);
    const list = self.#list;
    const kept: FormEntry[] = [];
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (entry[0] === n && (v === undefined || entry[1] === v)) continue;
      kept[kept.length] = entry;
    }
    self.#list = kept;
    self.#runUpdate();
  }

  get(name: string): string | null {
    const self = checkThis(this);
    requireArgs(arguments.length, 1, methodContext("URLSearchParams", "get"));
    const n = toUSVString(name);
    const list = self.#list;
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n) return list[i]![1];
    return null;
  }

  getAll(name: string): string[] {
    const self = checkThis(this);
    requireArgs(arguments.length, 1, methodContext("URLSearchParams", "getAll"));
    const n = toUSVString(name);
    const list = self.#list;
    const out: string[] = [];
    for (let i = 0; i < list.length; i++) if (list[i]![0] === n) out[out.length] = list[i]![1];
    return out;
  }

  has(name: string, value: string | undefined = undefined): boolean {
    const self = checkThis(this);
    requireArgs(arguments.length, 1, methodContext("URLSearchParams", "has"));
    const n = toUSVString(name);
    const v = value === undefined ? undefined : toUSVString(value);
    const list = self.#list;
    for (let i = 0; i < list.length; i++) {
      if (list[i]![0] === n && (v === undefined || list[i]![1] === v)) return true;
    }
    return false;
  }

  set(name: string, value: string): void {
    const self = checkThis(this);
    requireArgs(arguments.length, 2, methodContext("URLSearchParams", "set"));
    const n = toUSVString(name);
    const v = toUSVString(value);
    const list = self.#list;
    const out: FormEntry[] = [];
    let found = false;
    for (let i = 0; i < list.length; i++) {
      const entry = list[i]!;
      if (entry[0] !== n) {
        out[out.length] = entry;
      } else if (!found) {
        found = true;
        out[out.length] = [n, v];
      }
    }
    if (!found) out[out.length] = [n, v];
    self.#list = out;
    self.#runUpdate();
  }

  sort(): void {
    const self = checkThis(this);
    // Array.prototype.sort is stable; "<" on strings compares code units, as the spec wants.
    ArrayPrototypeSort(self.#list, (a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    self.#runUpdate();
  }

  forEach(
    callback: (value: string, key: string, parent: URLSearchParams) => void,
    thisArg: unknown = undefined,
  ): void {
    const self = checkThis(this);
    requireArgs(arguments.length, 1, methodContext("URLSearchParams", "forEach"));
    if (typeof callback !== "function") {
      throw new TypeError(
        `${methodContext("URLSearchParams", "forEach")}: The callback provided as parameter 1 is not a function.`,
      );
    }
    // The list is read afresh each step: the callback may change it.
    for (let i = 0; i < self.#list.length; i++) {
      const entry = self.#list[i]!;
      ReflectApply(callback, thisArg, [entry[1], entry[0], self]);
    }
  }

  keys(): URLSearchParamsIterator<string> {
    return createIterator(checkThis(this), ITERATOR_KEYS) as URLSearchParamsIterator<string>;
  }

  values(): URLSearchParamsIterator<string> {
    return createIterator(checkThis(this), ITERATOR_VALUES) as URLSearchParamsIterator<string>;
  }

  entries(): URLSearchParamsIterator<[string, string]> {
    return createIterator(checkThis(this), ITERATOR_ENTRIES) as URLSearchParamsIterator<[string, string]>;
  }

  declare [Symbol.iterator]: () => URLSearchParamsIterator<[string, string]>;

  toString(): string {
    return serializeFormURLEncoded(checkThis(this).#list);
  }

  static {
    listOf = (params) => params.#list;
    setListOf = (params, list) => {
      params.#list = list;
    };
    setUpdateSteps = (params, steps) => {
      params.#update = steps;
    };
    isURLSearchParamsImpl = (value) => typeof value === "object" && value !== null && #list in value;
  }
}

/** The "URLSearchParams Iterator" objects of WebIDL's pair iterators (WebIDL §3.7.10). */
export interface URLSearchParamsIterator<T> extends IteratorObject<T, undefined, unknown> {
  next(): IteratorResult<T, undefined>;
}

class PairIterator {
  #params: URLSearchParams;
  #kind: number;
  #index = 0;

  constructor(params: URLSearchParams, kind: number) {
    this.#params = params;
    this.#kind = kind;
  }

  next(): IteratorResult<string | [string, string], undefined> {
    if (!(typeof this === "object" && this !== null && #kind in this)) throw illegalInvocation();
    const list = listOf(this.#params);
    const index = this.#index;
    if (index >= list.length) return { value: undefined, done: true };
    this.#index = index + 1;
    const entry = list[index]!;
    const kind = this.#kind;
    return {
      value: kind === ITERATOR_KEYS ? entry[0] : kind === ITERATOR_VALUES ? entry[1] : [entry[0], entry[1]],
      done: false,
    };
  }
}

// %URLSearchParamsIteratorPrototype%: next and @@toStringTag, inheriting %IteratorPrototype%,
// and no reachable constructor.
const PairIteratorPrototype = PairIterator.prototype;
ObjectSetPrototypeOf(PairIteratorPrototype, IteratorPrototype);
delete (PairIteratorPrototype as { constructor?: unknown }).constructor;
{
  const desc = ObjectGetOwnPropertyDescriptor(PairIteratorPrototype, "next")!;
  desc.enumerable = true;
  ObjectDefineProperty(PairIteratorPrototype, "next", desc);
}
ObjectDefineProperty(PairIteratorPrototype, SymbolToStringTag, {
  value: "URLSearchParams Iterator",
  writable: false,
  enumerable: false,
  configurable: true,
});

function createIterator(params: URLSearchParams, kind: number): object {
  return new PairIterator(params, kind);
}

defineInterface(URLSearchParams, "URLSearchParams");
// @@iterator is the same function object as entries (WebIDL §3.7.9).
ObjectDefineProperty(URLSearchParams.prototype, SymbolIterator, {
  value: URLSearchParams.prototype.entries,
  writable: true,
  enumerable: false,
  configurable: true,
});

// console.log(params) shows the pairs in order, duplicates included.
defineInspector(URLSearchParams, (value) => ({ pairs: listOf(value as URLSearchParams) }));

// ---- Internal operations for URL, fetch and Body ----

/** A URL's query object (URL §6.1 "initialize"): parsed from `query`, linked via `update`. */
export function createLinkedSearchParams(query: string, update: QueryUpdateSteps): URLSearchParams {
  const params = new URLSearchParams();
  setListOf(params, parseFormURLEncoded(query));
  setUpdateSteps(params, update);
  return params;
}

/** The URL's side of the link: replace the list after the URL's query changed. */
export function resetSearchParamsList(params: URLSearchParams, query: string | null): void {
  setListOf(params, query === null ? [] : parseFormURLEncoded(query));
}

/** Brand check (not instanceof: user code can fake prototypes). */
export function isURLSearchParams(value: unknown): value is URLSearchParams {
  return isURLSearchParamsImpl(value);
}

/** The urlencoded serialization of a URLSearchParams' list, e.g. as a request body. */
export function serializeURLSearchParams(params: URLSearchParams): string {
  return serializeFormURLEncoded(listOf(params));
}

/** A copy of the name-value list, for FormData and Body. */
export function urlSearchParamsEntries(params: URLSearchParams): FormEntry[] {
  const list = listOf(params);
  const out: FormEntry[] = [];
  for (let i = 0; i < list.length; i++) out[i] = [list[i]![0], list[i]![1]];
  return out;
}
