/**
 * structuredClone (HTML §2.7): StructuredSerializeWithTransfer and StructuredDeserialize
 * fused into one copying walk, since both realms are the same isolate. Shared references
 * and cycles are kept; what HTML does not let cross (functions, symbols, promises, weak
 * collections, most platform objects) is a DataCloneError.
 */
import { blobBytes, createBlob, isBlob } from "./blob.ts";
import { newDOMException, isDOMException } from "./dom-exception.ts";
import { createFile, isFile } from "./file.ts";
import { isAbortSignal } from "./abort.ts";
import { isEvent } from "./event.ts";
import { isFormData } from "./form-data.ts";
import { isArrayBuffer, ArrayBufferPrototypeGetDetached } from "./intrinsics.ts";
import { dictGet, isObject, methodContext, requireArgs, toDictionary } from "./idl.ts";
import { isReadableStream } from "./readable-stream.ts";
import { isRequest } from "./request.ts";
import { isResponse } from "./response.ts";
import { isURL } from "./url.ts";
import { isURLSearchParams } from "./url-search-params.ts";
import { isWritableStream } from "./writable-stream.ts";

const context = methodContext("Window", "structuredClone");
const toStringTag = (v: object) => Object.prototype.toString.call(v).slice(8, -1);
const errorNames = new Set(["Error", "EvalError", "RangeError", "ReferenceError", "SyntaxError", "TypeError", "URIError"]);
const typedArrays: Record<string, new (buffer: ArrayBuffer, byteOffset: number, length: number) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};
const notCloneable: [(v: unknown) => boolean, string][] = [
  [isRequest, "Request"], [isResponse, "Response"], [isReadableStream, "ReadableStream"], [isWritableStream, "WritableStream"],
  [isFormData, "FormData"], [isURL, "URL"], [isURLSearchParams, "URLSearchParams"], [isAbortSignal, "AbortSignal"], [isEvent, "Event"],
];

function fail(what: string): never {
  throw newDOMException(`${context}: ${what} could not be cloned.`, "DataCloneError");
}

export function structuredClone<T>(value: T, options?: { transfer?: unknown[] }): T {
  requireArgs(arguments.length, 1, context);
  const transferList = dictGet(toDictionary(options, context, "StructuredSerializeOptions"), "transfer");
  const memory = new Map<object, unknown>();
  const transfers: ArrayBuffer[] = [];
  if (transferList !== undefined) {
    if (!isObject(transferList) || typeof (transferList as Iterable<unknown>)[Symbol.iterator] !== "function") {
      throw new TypeError(`${context}: The provided value cannot be converted to a sequence.`);
    }
    for (const item of transferList as Iterable<unknown>) {
      if (!isArrayBuffer(item)) fail("A transferable other than an ArrayBuffer");
      if (transfers.includes(item)) throw newDOMException(`${context}: ArrayBuffer at index ${transfers.indexOf(item)} is a duplicate of an earlier ArrayBuffer.`, "DataCloneError");
      if (ArrayBufferPrototypeGetDetached(item)) fail("A detached ArrayBuffer");
      transfers.push(item);
    }
  }
  // A transferred buffer's contents go to the clone and the original is detached. The
  // walk copies it like any buffer (views over it need its length while walking); the
  // original is detached once the walk succeeded, so a failed clone changes nothing.
  const result = copy(value, memory) as T;
  for (const buffer of transfers) buffer.transfer();
  return result;
}

/**
 * Serializable platform objects defined above the Web layer (CryptoKey): `clone` returns
 * a copy, or undefined when the value is not one of its objects.
 */
const serializables: ((value: object) => object | undefined)[] = [];
export function registerSerializable(clone: (value: object) => object | undefined): void {
  serializables.push(clone);
}

function copy(value: unknown, memory: Map<object, unknown>): unknown {
  if (typeof value === "symbol") fail("Symbol()");
  if (typeof value === "function") fail(`function ${value.name || "(anonymous)"}`);
  if (!isObject(value)) return value;
  if (memory.has(value)) return memory.get(value);
  const tag = toStringTag(value);

  const remember = <T>(clone: T): T => {
    memory.set(value, clone);
    return clone;
  };

  if (isFile(value)) return remember(createFile(blobBytes(value), value.type, value.name, value.lastModified));
  if (isBlob(value)) return remember(createBlob(blobBytes(value), value.type));
  if (isDOMException(value)) return remember(newDOMException(value.message, value.name));
  for (const clone of serializables) {
    const cloned = clone(value);
    if (cloned !== undefined) return remember(cloned);
  }
  for (const [brand, name] of notCloneable) if (brand(value)) fail(name);
  switch (tag) {
    case "Boolean":
      return remember(Object(Boolean.prototype.valueOf.call(value)));
    case "Number":
      return remember(Object(Number.prototype.valueOf.call(value)));
    case "String":
      return remember(Object(String.prototype.valueOf.call(value)));
    case "BigInt":
      return remember(Object(BigInt.prototype.valueOf.call(value)));
    case "Date":
      return remember(new Date(Date.prototype.getTime.call(value)));
    case "RegExp": {
      const r = value as RegExp;
      return remember(new RegExp(r.source, r.flags));
    }
    case "ArrayBuffer": {
      const buffer = value as ArrayBuffer;
      if (ArrayBufferPrototypeGetDetached(buffer)) fail("A detached ArrayBuffer");
      return remember(buffer.resizable ? buffer.slice(0, buffer.byteLength) : buffer.slice(0));
    }
    case "SharedArrayBuffer":
      return fail("SharedArrayBuffer");
    case "DataView": {
      const view = value as DataView;
      const buffer = copy(view.buffer, memory) as ArrayBuffer;
      return remember(new DataView(buffer, view.byteOffset, view.byteLength));
    }
    case "Map": {
      const clone = remember(new Map());
      for (const [k, v] of [...(value as Map<unknown, unknown>)]) clone.set(copy(k, memory), copy(v, memory));
      return clone;
    }
    case "Set": {
      const clone = remember(new Set());
      for (const v of [...(value as Set<unknown>)]) clone.add(copy(v, memory));
      return clone;
    }
    case "Error": {
      const error = value as Error;
      const nameValue = (error as { name?: unknown }).name;
      const name = typeof nameValue === "string" && errorNames.has(nameValue) ? nameValue : "Error";
      const Ctor = (globalThis as unknown as Record<string, ErrorConstructor>)[name]!;
      const desc = Object.getOwnPropertyDescriptor(error, "message");
      const clone = remember(desc === undefined ? new Ctor() : new Ctor(String(desc.value)));
      const stack = Object.getOwnPropertyDescriptor(error, "stack");
      if (stack !== undefined && typeof stack.value === "string") Object.defineProperty(clone, "stack", { value: stack.value, writable: true, configurable: true });
      if (Object.hasOwn(error, "cause")) Object.defineProperty(clone, "cause", { value: copy(error.cause, memory), writable: true, configurable: true });
      return clone;
    }
    case "Array": {
      const array = value as unknown[];
      const clone = remember(new Array(array.length));
      for (const key of Object.keys(array)) (clone as unknown as Record<string, unknown>)[key] = copy((array as unknown as Record<string, unknown>)[key], memory);
      return clone;
    }
    case "Object": {
      if (value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof WeakRef) fail(tag);
      const clone = remember({} as Record<string, unknown>);
      for (const key of Object.keys(value)) clone[key] = copy((value as Record<string, unknown>)[key], memory);
      return clone;
    }
  }
  const Typed = typedArrays[tag];
  if (Typed !== undefined && ArrayBuffer.isView(value)) {
    const view = value as unknown as { buffer: ArrayBuffer; byteOffset: number; length: number };
    const buffer = copy(view.buffer, memory) as ArrayBuffer;
    return remember(new Typed(buffer, view.byteOffset, view.length));
  }
  return fail(tag === "Function" ? "function" : `#<${tag}>`);
}
