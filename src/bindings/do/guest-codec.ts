/**
 * How a durable object's stored values become bytes and back, inside the isolate: what
 * structured clone keeps of a value (primitives with undefined, NaN, ±Infinity, -0 and
 * bigints; plain objects and arrays; Date, RegExp, Map, Set, Error; ArrayBuffer, typed
 * arrays and DataView) as JSON with tagged objects. Functions, symbols and cycles are
 * refused with a DataCloneError, as structured clone refuses functions and symbols.
 */
import { base64Decode, base64Encode } from "../../runtime/guest/web/base64.ts";
import { newDOMException } from "../../runtime/guest/web/dom-exception.ts";
import { TextDecoder, TextEncoder } from "../../runtime/guest/web/text-encoding.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const typedArrays: Record<string, new (buffer: ArrayBuffer, offset: number, length: number) => ArrayBufferView> = {
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array, Float32Array, Float64Array, BigInt64Array, BigUint64Array,
};

function cloneError(what: string): never {
  throw newDOMException(`${what} could not be cloned: durable object storage keeps what structured clone keeps`, "DataCloneError");
}

function toJson(value: unknown, seen: Set<object>): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) && !Object.is(value, -0) ? value : { $: "n", v: String(Object.is(value, -0) ? "-0" : value) };
    case "undefined":
      return { $: "u" };
    case "bigint":
      return { $: "b", v: value.toString() };
    case "function":
    case "symbol":
      return cloneError(`a ${typeof value}`);
  }
  if (value === null) return null;
  const o = value as object;
  if (seen.has(o)) cloneError("a value that contains itself");
  seen.add(o);
  try {
    if (Array.isArray(o)) return o.map((v) => toJson(v, seen));
    if (o instanceof Date) return { $: "d", v: o.getTime() };
    if (o instanceof RegExp) return { $: "r", v: [o.source, o.flags] };
    if (o instanceof Map) return { $: "m", v: [...o].map(([k, v]) => [toJson(k, seen), toJson(v, seen)]) };
    if (o instanceof Set) return { $: "s", v: [...o].map((v) => toJson(v, seen)) };
    if (o instanceof Error) return { $: "e", v: [o.name, o.message] };
    if (o instanceof ArrayBuffer) return { $: "ab", v: base64Encode(new Uint8Array(o)) };
    if (ArrayBuffer.isView(o)) {
      const bytes = new Uint8Array(o.buffer, o.byteOffset, o.byteLength);
      return { $: "ta", t: o instanceof DataView ? "DataView" : o.constructor.name, v: base64Encode(bytes) };
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(o)) out[key] = toJson((o as Record<string, unknown>)[key], seen);
    // A plain object that has a "$" key of its own is wrapped, so it is never read as a tag.
    return "$" in out ? { $: "o", v: out } : out;
  } finally {
    seen.delete(o);
  }
}

function fromJson(json: unknown): unknown {
  if (json === null || typeof json !== "object") return json;
  if (Array.isArray(json)) return json.map(fromJson);
  const o = json as Record<string, unknown>;
  if (!("$" in o)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(o)) out[key] = fromJson(o[key]);
    return out;
  }
  const v = o["v"];
  switch (o["$"]) {
    case "u":
      return undefined;
    case "n":
      return v === "-0" ? -0 : Number(v);
    case "b":
      return BigInt(v as string);
    case "d":
      return new Date(v as number);
    case "r":
      return new RegExp((v as string[])[0]!, (v as string[])[1]);
    case "m":
      return new Map((v as [unknown, unknown][]).map(([a, b]) => [fromJson(a), fromJson(b)]));
    case "s":
      return new Set((v as unknown[]).map(fromJson));
    case "e": {
      const err = new Error((v as string[])[1]);
      err.name = (v as string[])[0]!;
      return err;
    }
    case "ab":
      return (base64Decode(v as string) ?? new Uint8Array(0)).buffer;
    case "ta": {
      const bytes = base64Decode(v as string) ?? new Uint8Array(0);
      if (o["t"] === "DataView") return new DataView(bytes.buffer);
      const View = typedArrays[o["t"] as string] ?? Uint8Array;
      const size = (View as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
      return new View(bytes.buffer, 0, bytes.byteLength / size);
    }
    case "o": {
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v as object)) out[key] = fromJson((v as Record<string, unknown>)[key]);
      return out;
    }
  }
  return o;
}

export function encodeValue(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(toJson(value, new Set())));
}

export function decodeValue(bytes: Uint8Array): unknown {
  return fromJson(JSON.parse(decoder.decode(bytes)));
}
