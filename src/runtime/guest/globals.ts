/**
 * Puts the Web platform on the guest's global object, with the property attributes
 * WebIDL gives interface objects and operations (writable, configurable, not enumerable).
 */
import { atob, btoa } from "./web/base64.ts";
import { Blob } from "./web/blob.ts";
import { DOMException } from "./web/dom-exception.ts";
import { File } from "./web/file.ts";
import { FormData } from "./web/form-data.ts";
import { Headers } from "./web/headers.ts";
import { ByteLengthQueuingStrategy, CountQueuingStrategy } from "./web/queuing-strategies.ts";
import { ReadableByteStreamController } from "./web/readable-byte-stream-controller.ts";
import { ReadableStreamBYOBReader } from "./web/readable-stream-byob-reader.ts";
import { ReadableStreamBYOBRequest } from "./web/readable-stream-byob-request.ts";
import { ReadableStreamDefaultController } from "./web/readable-stream-default-controller.ts";
import { ReadableStreamDefaultReader } from "./web/readable-stream-default-reader.ts";
import { ReadableStream } from "./web/readable-stream.ts";
import { Request } from "./web/request.ts";
import { Response } from "./web/response.ts";
import { TextDecoder, TextEncoder } from "./web/text-encoding.ts";
import { TransformStreamDefaultController } from "./web/transform-stream-default-controller.ts";
import { TransformStream } from "./web/transform-stream.ts";
import { URLSearchParams } from "./web/url-search-params.ts";
import { URL } from "./web/url.ts";
import { WritableStreamDefaultController } from "./web/writable-stream-default-controller.ts";
import { WritableStreamDefaultWriter } from "./web/writable-stream-default-writer.ts";
import { WritableStream } from "./web/writable-stream.ts";

const interfaces: Record<string, unknown> = {
  Blob,
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  DOMException,
  File,
  FormData,
  Headers,
  ReadableByteStreamController,
  ReadableStream,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader,
  Request,
  Response,
  TextDecoder,
  TextEncoder,
  TransformStream,
  TransformStreamDefaultController,
  URL,
  URLSearchParams,
  WritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter,
  atob,
  btoa,
};

/** Defines `values` on `target` the way WebIDL defines members of the global scope. */
export function defineGlobals(target: object, values: Record<string, unknown>): void {
  for (const name of Object.keys(values)) {
    Object.defineProperty(target, name, { value: values[name], writable: true, configurable: true, enumerable: false });
  }
}

export function installWebGlobals(global: typeof globalThis): void {
  defineGlobals(global, interfaces);
  defineGlobals(global, { self: global });
}
