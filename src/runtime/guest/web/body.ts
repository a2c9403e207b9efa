/**
 * Fetch's body (§2.2.x "body", §5.1 "extract a body", §5.3 the Body mixin) shared by
 * Request and Response.
 *
 * Performance: a body made from a string, bytes or a Blob keeps that content and makes no
 * ReadableStream until `.body` is read. Consuming it (text(), json(), …) before then reads
 * the content directly. Once a stream exists, everything goes through it as the spec says,
 * and a body consumed without a stream produces, if `.body` is read afterwards, the same
 * observable stream the spec would have left behind: closed, disturbed and locked.
 */
import { blobBytes, createBlob, isBlob, type Blob } from "./blob.ts";
import { createByteStreamFromBytes, readAllBytes } from "./body-stream.ts";
import { isURLSearchParams, serializeURLSearchParams } from "./fetch-url.ts";
import { formDataFromMultipart, formDataFromUrlencoded, isFormData, serializeMultipart, type FormData } from "./form-data.ts";
import type { HeaderList } from "./header-list.ts";
import type { URLSearchParams } from "./url-search-params.ts";
import { isBufferSource, toUSVString } from "./idl.ts";
import {
  ArrayBufferIsView,
  ArrayBufferPrototypeGetByteLength,
  ArrayBufferPrototypeSlice,
  JSONParse,
  StringPrototypeCharCodeAt,
  StringPrototypeSlice,
  Uint8ArrayCtor,
  Uint8ArrayPrototypeSlice,
  viewBuffer,
  viewByteLength,
  viewByteOffset,
} from "./intrinsics.ts";
import { extractMimeType, serializeMimeType } from "./mime-type.ts";
import { newDeferred, promiseRejectedWith } from "./promise-helpers.ts";
import { isReadableStreamLocked, newDefaultReaderSlots } from "./readable-stream-ops.ts";
import type { ReadableStreamSlots } from "./readable-stream-slots.ts";
import { isReadableStream, slotsOfReadableStream, type ReadableStream } from "./readable-stream.ts";
import { readableStreamTee } from "./readable-stream-tee.ts";
import { utf8Decode, utf8Encode } from "./utf8.ts";

/** WebIDL BodyInit (XMLHttpRequestBodyInit or ReadableStream). */
export type BodyInit = ReadableStream<Uint8Array> | ReadableStream<unknown> | Blob | ArrayBuffer | ArrayBufferView | FormData | URLSearchParams | string;

/** A BodyInit after WebIDL union conversion: a string, or an object of one of the member types. */
export type ConvertedBodyInit = string | ReadableStream | Blob | ArrayBuffer | ArrayBufferView | FormData | URLSearchParams;

/** WebIDL conversion of a non-null BodyInit: interface members by brand, else USVString. */
export function convertBodyInit(value: unknown): ConvertedBodyInit {
  if (typeof value === "string") return toUSVString(value);
  if (typeof value === "object" && value !== null) {
    if (isReadableStream(value) || isBlob(value) || isFormData(value) || isBufferSource(value) || isURLSearchParams(value)) {
      return value as ConvertedBodyInit;
    }
  }
  return toUSVString(value);
}

const EMPTY = new Uint8ArrayCtor(0);

/** Fetch's body: a stream (made lazily), its source and length. */
export class InnerBody {
  /** The body's stream once one exists. */
  stream: ReadableStreamSlots | null;
  /** Content not yet in a stream: a USVString (UTF-8 encoded on demand) or bytes. */
  pending: string | Uint8Array<ArrayBuffer> | null;
  /** `pending` bytes are shared (with a Blob or a clone): copy before handing them out. */
  pendingShared: boolean;
  /** Consumed while no stream existed. */
  consumed: boolean;
  /** Fetch's "source": null for a stream body (which is what makes `duplex` required). */
  source: unknown;
  length: number | null;

  constructor(stream: ReadableStreamSlots | null, pending: string | Uint8Array<ArrayBuffer> | null, pendingShared: boolean, source: unknown, length: number | null) {
    this.stream = stream;
    this.pending = pending;
    this.pendingShared = pendingShared;
    this.consumed = false;
    this.source = source;
    this.length = length;
  }
}

/** The body's stream, made now if it does not exist yet. */
export function bodyStream(body: InnerBody): ReadableStreamSlots {
  let stream = body.stream;
  if (stream !== null) return stream;
  if (body.consumed) {
    // What fully reading the stream would have left: closed, disturbed, and locked for good.
    stream = createByteStreamFromBytes(EMPTY, false);
    newDefaultReaderSlots(stream);
    stream.disturbed = true;
  } else {
    const pending = body.pending;
    const bytes = pending === null ? EMPTY : typeof pending === "string" ? utf8Encode(pending) : pending;
    stream = createByteStreamFromBytes(bytes, typeof pending !== "string" && body.pendingShared);
    body.pending = null;
  }
  body.stream = stream;
  return stream;
}

/** Fetch "body … is disturbed". */
function isDisturbed(body: InnerBody): boolean {
  return body.stream !== null ? body.stream.disturbed : body.consumed;
}

/** Fetch "unusable": the body is non-null and its stream is disturbed or locked. */
export function bodyUnusable(body: InnerBody | null): boolean {
  if (body === null) return false;
  if (body.stream !== null) return body.stream.disturbed || isReadableStreamLocked(body.stream);
  return body.consumed;
}

/** Body mixin `bodyUsed`: body non-null and its stream disturbed. */
export function bodyUsed(body: InnerBody | null): boolean {
  return body !== null && isDisturbed(body);
}

/** Fetch "clone a body": tee the stream (cloning chunks), or share the pending content. */
export function cloneBody(body: InnerBody): InnerBody {
  if (body.stream === null) {
    // Content is immutable while pending; both bodies copy it when they make a stream.
    if (typeof body.pending !== "string") body.pendingShared = true;
    return new InnerBody(null, body.pending, true, body.source, body.length);
  }
  const [out1, out2] = readableStreamTee(body.stream, true);
  body.stream = out1;
  return new InnerBody(out2, null, false, body.source, body.length);
}

/**
 * Take over `body` for a new Request (Request constructor step 41 "create a proxy"):
 * the new body carries the content, and the old one is left disturbed and locked.
 */
export function proxyBody(body: InnerBody, pipeThroughIdentity: (stream: ReadableStreamSlots) => ReadableStreamSlots): InnerBody {
  if (body.stream === null) {
    const moved = new InnerBody(null, body.pending, body.pendingShared, body.source, body.length);
    body.pending = null;
    body.consumed = true;
    return moved;
  }
  return new InnerBody(pipeThroughIdentity(body.stream), null, false, body.source, body.length);
}

/** Fetch §5.1 "extract a body": the body and its Content-Type (null when none). */
export function extractBody(object: ConvertedBodyInit, keepalive: boolean): { body: InnerBody; type: string | null } {
  if (typeof object === "string") {
    return { body: new InnerBody(null, object, false, object, null), type: "text/plain;charset=UTF-8" };
  }
  if (isReadableStream(object)) {
    if (keepalive) throw new TypeError("Cannot use a ReadableStream body with keepalive set");
    const stream = slotsOfReadableStream(object);
    if (stream.disturbed || isReadableStreamLocked(stream)) {
      throw new TypeError("Response body object should not be disturbed or locked");
    }
    return { body: new InnerBody(stream, null, false, null, null), type: null };
  }
  if (isBlob(object)) {
    const bytes = blobBytes(object);
    const type = object.type;
    return { body: new InnerBody(null, bytes, true, object, bytes.length), type: type === "" ? null : type };
  }
  if (isBufferSource(object)) {
    const copy = copyBufferSource(object);
    return { body: new InnerBody(null, copy, false, copy, copy.length), type: null };
  }
  if (isFormData(object)) {
    const { bytes, boundary } = serializeMultipart(object);
    return { body: new InnerBody(null, bytes, false, object, bytes.length), type: `multipart/form-data; boundary=${boundary}` };
  }
  // URLSearchParams
  const serialized = serializeURLSearchParams(object);
  return { body: new InnerBody(null, serialized, false, serialized, null), type: "application/x-www-form-urlencoded;charset=UTF-8" };
}

/** "A copy of the bytes held by" a BufferSource. */
function copyBufferSource(source: ArrayBuffer | ArrayBufferView): Uint8Array<ArrayBuffer> {
  if (ArrayBufferIsView(source)) {
    const offset = viewByteOffset(source);
    return new Uint8ArrayCtor(ArrayBufferPrototypeSlice(viewBuffer(source) as ArrayBuffer, offset, offset + viewByteLength(source)));
  }
  return new Uint8ArrayCtor(ArrayBufferPrototypeSlice(source as ArrayBuffer, 0, ArrayBufferPrototypeGetByteLength(source as ArrayBuffer)));
}

/** Body data as consumed: a string when the content was a string, bytes otherwise. */
export type BodyData = string | Uint8Array<ArrayBuffer>;

/**
 * Fetch §5.3 "consume body": reject if unusable, otherwise fully read and convert.
 * `owned` tells the converter whether bytes may be handed to user code without a copy.
 */
export function consumeBody<T>(body: InnerBody | null, context: string, convert: (data: BodyData, owned: boolean) => T): Promise<T> {
  if (bodyUnusable(body)) return promiseRejectedWith(new TypeError(`${context}: body stream already read`));
  const d = newDeferred<T>();
  const success = (data: BodyData, owned: boolean): void => {
    try {
      d.resolve(convert(data, owned));
    } catch (e) {
      d.reject(e);
    }
  };
  if (body === null) {
    success(EMPTY, false);
  } else if (body.stream === null) {
    const pending = body.pending;
    body.pending = null;
    body.consumed = true;
    success(pending ?? EMPTY, pending !== null && typeof pending !== "string" && !body.pendingShared);
  } else {
    try {
      // readAllBytes always returns freshly concatenated bytes.
      readAllBytes(body.stream, (bytes) => success(bytes, true), (e) => d.reject(e));
    } catch (e) {
      d.reject(e);
    }
  }
  return d.promise;
}

/** UTF-8 decode, which drops a leading BOM (for a string: a leading U+FEFF). */
export function bodyToText(data: BodyData): string {
  if (typeof data === "string") return StringPrototypeCharCodeAt(data, 0) === 0xfeff ? StringPrototypeSlice(data, 1) : data;
  return utf8Decode(data);
}

/** "Parse JSON from bytes". */
export function bodyToJSON(data: BodyData): unknown {
  return JSONParse(bodyToText(data));
}

function toOwnedBytes(data: BodyData, owned: boolean): Uint8Array<ArrayBuffer> {
  if (typeof data === "string") return utf8Encode(data);
  return owned ? data : Uint8ArrayPrototypeSlice(data);
}

export function bodyToBytes(data: BodyData, owned: boolean): Uint8Array<ArrayBuffer> {
  return toOwnedBytes(data, owned);
}

export function bodyToArrayBuffer(data: BodyData, owned: boolean): ArrayBuffer {
  const bytes = toOwnedBytes(data, owned);
  if (bytes.byteOffset === 0 && bytes.length === ArrayBufferPrototypeGetByteLength(bytes.buffer)) return bytes.buffer;
  return ArrayBufferPrototypeSlice(bytes.buffer, bytes.byteOffset, bytes.byteOffset + bytes.length);
}

/** Body mixin "get the MIME type" serialized, or "" (for blob()). */
export function mimeTypeString(headers: HeaderList): string {
  const mimeType = extractMimeType(headers);
  return mimeType === null ? "" : serializeMimeType(mimeType);
}

export function bodyToBlob(data: BodyData, _owned: boolean, headers: HeaderList): Blob {
  // A Blob never exposes or mutates its bytes, so shared bytes need no copy.
  return createBlob(typeof data === "string" ? utf8Encode(data) : data, mimeTypeString(headers));
}

/** Body mixin formData(): multipart/form-data or application/x-www-form-urlencoded, else TypeError. */
export function bodyToFormData(data: BodyData, headers: HeaderList, context: string): FormData {
  const mimeType = extractMimeType(headers);
  if (mimeType !== null) {
    const bytes = typeof data === "string" ? utf8Encode(data) : data;
    if (mimeType.type === "multipart" && mimeType.subtype === "form-data") {
      const boundary = mimeType.parameters.get("boundary");
      const fd = boundary === undefined ? null : formDataFromMultipart(bytes, boundary);
      if (fd === null) throw new TypeError(`${context}: Failed to parse body as FormData.`);
      return fd;
    }
    if (mimeType.type === "application" && mimeType.subtype === "x-www-form-urlencoded") return formDataFromUrlencoded(bytes);
  }
  throw new TypeError(`${context}: Invalid MIME type`);
}
