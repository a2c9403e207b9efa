/**
 * Blob (File API §3). A Blob's bytes are immutable, so a Blob keeps one Uint8Array it
 * never hands out, and `slice()` shares it through a subarray instead of copying.
 */
import { utf8Decode, utf8Encode } from "./utf8.ts";
import {
  constructContext,
  defineInterface,
  dictGet,
  illegalInvocation,
  isBufferSource,
  isObject,
  toClampLongLong,
  toDOMString,
  toDictionary,
  toEnum,
  toUSVString,
} from "./idl.ts";
import {
  ArrayBufferIsView,
  ArrayBufferPrototypeSlice,
  ArrayPrototypePush,
  MathMax,
  MathMin,
  ReflectApply,
  StringPrototypeCharCodeAt,
  StringPrototypeToLowerCase,
  SymbolIterator,
  Uint8ArrayCtor,
  Uint8ArrayPrototypeSet,
  Uint8ArrayPrototypeSlice,
  Uint8ArrayPrototypeSubarray,
  viewBuffer,
  viewByteLength,
  viewByteOffset,
} from "./intrinsics.ts";
import { promiseRejectedWith, promiseResolvedWith } from "./promise-helpers.ts";
import type { ReadableStream } from "./readable-stream.ts";
import { createByteStreamFromBytes } from "./body-stream.ts";

/** WebIDL BlobPart. */
export type BlobPart = ArrayBuffer | ArrayBufferView | Blob | string;

/** WebIDL BlobPropertyBag. */
export interface BlobPropertyBag {
  type?: string;
  endings?: "transparent" | "native";
}

const EMPTY = new Uint8ArrayCtor(0);

let getBytes!: (b: Blob) => Uint8Array<ArrayBuffer>;
let hasSlots!: (v: object) => boolean;
const kInternal = Symbol("internal");

/** True for a real Blob (or File). */
export function isBlob(value: unknown): value is Blob {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** A Blob's bytes, for internal readers only: callers must not modify or expose them. */
export function blobBytes(blob: Blob): Uint8Array<ArrayBuffer> {
  return getBytes(blob);
}

/** §3.1 the `type` normalisation: any character outside U+0020–U+007E empties it, else lowercase. */
function normalizeType(t: string): string {
  for (let i = 0; i < t.length; i++) {
    const c = StringPrototypeCharCodeAt(t, i);
    if (c < 0x20 || c > 0x7e) return "";
  }
  return StringPrototypeToLowerCase(t);
}

/** §3.1.1 "convert line endings to native" (LF here, as on every non-Windows platform). */
function convertLineEndingsToNative(s: string): string {
  let out = "";
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (StringPrototypeCharCodeAt(s, i) === 0x0d) {
      out += s.slice(start, i) + "\n";
      if (StringPrototypeCharCodeAt(s, i + 1) === 0x0a) i++;
      start = i + 1;
    }
  }
  return start === 0 ? s : out + s.slice(start);
}

/** WebIDL conversion of `sequence<BlobPart>`: strings are converted now, buffers read later. */
export function convertBlobParts(value: unknown, context: string): (string | Blob | ArrayBuffer | ArrayBufferView)[] {
  if (!isObject(value)) throw new TypeError(`${context}: The provided value cannot be converted to a sequence.`);
  const method = (value as { [Symbol.iterator]?: unknown })[SymbolIterator];
  if (typeof method !== "function") throw new TypeError(`${context}: The object must have a callable @@iterator property.`);
  const iterator = ReflectApply(method, value, []) as Iterator<unknown>;
  if (!isObject(iterator)) throw new TypeError(`${context}: The iterator is not an object.`);
  const next = iterator.next;
  const parts: (string | Blob | ArrayBuffer | ArrayBufferView)[] = [];
  for (;;) {
    const r = ReflectApply(next, iterator, []) as IteratorResult<unknown>;
    if (!isObject(r)) throw new TypeError(`${context}: The iterator result is not an object.`);
    if (r.done) break;
    const v = r.value;
    if (isBlob(v) || isBufferSource(v)) ArrayPrototypePush(parts, v);
    else ArrayPrototypePush(parts, toUSVString(v));
  }
  return parts;
}

/** §3.1.1 "process blob parts". */
function processBlobParts(parts: (string | Blob | ArrayBuffer | ArrayBufferView)[], endings: "transparent" | "native"): Uint8Array<ArrayBuffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    let bytes: Uint8Array;
    if (typeof part === "string") {
      bytes = utf8Encode(endings === "native" ? convertLineEndingsToNative(part) : part);
    } else if (isBlob(part)) {
      bytes = getBytes(part);
    } else if (ArrayBufferIsView(part)) {
      bytes = new Uint8ArrayCtor(viewBuffer(part), viewByteOffset(part), viewByteLength(part));
    } else {
      bytes = new Uint8ArrayCtor(part as ArrayBuffer);
    }
    ArrayPrototypePush(chunks, bytes);
    total += bytes.length;
  }
  if (chunks.length === 1 && typeof parts[0] === "string") return chunks[0] as Uint8Array<ArrayBuffer>;
  const out = new Uint8ArrayCtor(total);
  let offset = 0;
  for (let i = 0; i < chunks.length; i++) {
    Uint8ArrayPrototypeSet(out, chunks[i]!, offset);
    offset += chunks[i]!.length;
  }
  return out;
}

function readBlobOptions(options: unknown, context: string, dictName: string): { endings: "transparent" | "native"; type: string; dict: object | undefined } {
  const dict = toDictionary(options, context, dictName);
  const rawEndings = dictGet(dict, "endings");
  const endings = rawEndings === undefined ? "transparent" : toEnum(rawEndings, ["transparent", "native"] as const, context, "EndingType");
  const rawType = dictGet(dict, "type");
  const type = rawType === undefined ? "" : toDOMString(rawType);
  return { endings, type, dict };
}

export class Blob {
  #bytes: Uint8Array<ArrayBuffer>;
  #type: string;

  static {
    getBytes = (b) => b.#bytes;
    hasSlots = (v) => #bytes in v;
  }

  constructor(blobParts: BlobPart[] | undefined = undefined, options: BlobPropertyBag | undefined = undefined) {
    if ((blobParts as unknown) === kInternal) {
      const init = options as unknown as { bytes: Uint8Array<ArrayBuffer>; type: string };
      this.#bytes = init.bytes;
      this.#type = init.type;
      return;
    }
    const context = constructContext("Blob");
    const parts = blobParts === undefined ? [] : convertBlobParts(blobParts, context);
    const { endings, type } = readBlobOptions(options, context, "BlobPropertyBag");
    this.#bytes = parts.length === 0 ? EMPTY : processBlobParts(parts, endings);
    this.#type = normalizeType(type);
  }

  get size(): number {
    if (!isBlob(this)) throw illegalInvocation();
    return this.#bytes.length;
  }

  get type(): string {
    if (!isBlob(this)) throw illegalInvocation();
    return this.#type;
  }

  slice(start: number | undefined = undefined, end: number | undefined = undefined, contentType: string | undefined = undefined): Blob {
    if (!isBlob(this)) throw illegalInvocation();
    const size = this.#bytes.length;
    const s = start === undefined ? 0 : toClampLongLong(start);
    const e = end === undefined ? size : toClampLongLong(end);
    const ct = contentType === undefined ? "" : normalizeType(toDOMString(contentType));
    const relativeStart = s < 0 ? MathMax(size + s, 0) : MathMin(s, size);
    const relativeEnd = e < 0 ? MathMax(size + e, 0) : MathMin(e, size);
    const span = MathMax(relativeEnd - relativeStart, 0);
    return createBlob(Uint8ArrayPrototypeSubarray(this.#bytes, relativeStart, relativeStart + span), ct);
  }

  stream(): ReadableStream<Uint8Array<ArrayBuffer>> {
    if (!isBlob(this)) throw illegalInvocation();
    return createByteStreamFromBytes(this.#bytes, true).object as ReadableStream<Uint8Array<ArrayBuffer>>;
  }

  text(): Promise<string> {
    if (!isBlob(this)) return promiseRejectedWith(illegalInvocation());
    return promiseResolvedWith(utf8Decode(this.#bytes));
  }

  arrayBuffer(): Promise<ArrayBuffer> {
    if (!isBlob(this)) return promiseRejectedWith(illegalInvocation());
    const b = this.#bytes;
    return promiseResolvedWith(ArrayBufferPrototypeSlice(b.buffer, b.byteOffset, b.byteOffset + b.length));
  }

  bytes(): Promise<Uint8Array<ArrayBuffer>> {
    if (!isBlob(this)) return promiseRejectedWith(illegalInvocation());
    return promiseResolvedWith(Uint8ArrayPrototypeSlice(this.#bytes));
  }
}
defineInterface(Blob, "Blob");

/** A Blob over `bytes` (not copied: the caller hands over ownership) with an already-normalized type. */
export function createBlob(bytes: Uint8Array<ArrayBuffer>, type: string): Blob {
  return new Blob(kInternal as never, { bytes, type } as never);
}

/** The arguments that make the Blob constructor adopt `bytes` and `type` (for File's super call). */
export function blobInitArgs(bytes: Uint8Array<ArrayBuffer>, type: string): [BlobPart[], BlobPropertyBag] {
  return [kInternal as never, { bytes, type } as never];
}

/** Run the Blob constructor steps on converted parts and options; returns super() arguments and the options dictionary. */
export function prepareBlobInit(
  parts: (string | Blob | ArrayBuffer | ArrayBufferView)[],
  options: unknown,
  context: string,
  dictName: string,
): { args: [BlobPart[], BlobPropertyBag]; dict: object | undefined } {
  const { endings, type, dict } = readBlobOptions(options, context, dictName);
  const bytes = parts.length === 0 ? EMPTY : processBlobParts(parts, endings);
  return { args: blobInitArgs(bytes, normalizeType(type)), dict };
}

/** Normalize a type string as the Blob constructor does (for Body's blob()). */
export { normalizeType as normalizeBlobType };
