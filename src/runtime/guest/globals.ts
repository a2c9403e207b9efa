/**
 * Puts the Web platform on the guest's global object, with the property attributes
 * WebIDL gives interface objects and operations (writable, configurable, not enumerable).
 */
import { AbortController, AbortSignal } from "./web/abort.ts";
import { atob, btoa } from "./web/base64.ts";
import { Blob } from "./web/blob.ts";
import { DOMException, QuotaExceededError } from "./web/dom-exception.ts";
import { CustomEvent, ErrorEvent, Event, PromiseRejectionEvent } from "./web/event.ts";
import { EventTarget, dispatch, globalEventTarget, makeEventTarget, setExceptionReporter } from "./web/event-target.ts";
import { File } from "./web/file.ts";
import { FormData } from "./web/form-data.ts";
import { MessageChannel, MessageEvent, MessagePort } from "./web/message-channel.ts";
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
import { structuredClone } from "./web/structured-clone.ts";
import { TextDecoderStream, TextEncoderStream } from "./web/text-encoding-streams.ts";
import { TextDecoder, TextEncoder } from "./web/text-encoding.ts";
import { TransformStreamDefaultController } from "./web/transform-stream-default-controller.ts";
import { TransformStream } from "./web/transform-stream.ts";
import { URLPattern } from "./web/url-pattern.ts";
import { URLSearchParams } from "./web/url-search-params.ts";
import { URL } from "./web/url.ts";
import { WritableStreamDefaultController } from "./web/writable-stream-default-controller.ts";
import { WritableStreamDefaultWriter } from "./web/writable-stream-default-writer.ts";
import { WritableStream } from "./web/writable-stream.ts";

const interfaces: Record<string, unknown> = {
  AbortController,
  AbortSignal,
  Blob,
  CustomEvent,
  ErrorEvent,
  Event,
  EventTarget,
  PromiseRejectionEvent,
  ByteLengthQueuingStrategy,
  CountQueuingStrategy,
  DOMException,
  QuotaExceededError,
  File,
  FormData,
  Headers,
  MessageChannel,
  MessageEvent,
  MessagePort,
  ReadableByteStreamController,
  ReadableStream,
  ReadableStreamBYOBReader,
  ReadableStreamBYOBRequest,
  ReadableStreamDefaultController,
  ReadableStreamDefaultReader,
  Request,
  Response,
  TextDecoder,
  TextDecoderStream,
  TextEncoder,
  TextEncoderStream,
  TransformStream,
  TransformStreamDefaultController,
  URL,
  URLPattern,
  URLSearchParams,
  WritableStream,
  WritableStreamDefaultController,
  WritableStreamDefaultWriter,
  atob,
  btoa,
  structuredClone,
};

/** Defines `values` on `target` the way WebIDL defines members of the global scope. */
export function defineGlobals(target: object, values: Record<string, unknown>): void {
  for (const name of Object.keys(values)) {
    Object.defineProperty(target, name, { value: values[name], writable: true, configurable: true, enumerable: false });
  }
}

/**
 * HTML "report the exception": an `error` event on the global scope; unless a listener
 * cancels it, the error goes to the function's logs through `log`.
 */
export function createReportError(log: (error: unknown) => void): (error: unknown) => void {
  return function reportError(error: unknown): void {
    const global = globalEventTarget();
    if (global === undefined) return log(error);
    let message = "";
    try {
      message = error instanceof Error ? `${error.name}: ${error.message}` : `Uncaught ${String(error)}`;
    } catch {
      message = "Uncaught exception";
    }
    const event = new ErrorEvent("error", { message, error, cancelable: true });
    if (dispatch(global, event, true)) log(error);
  };
}

/**
 * What refers to the global object itself must be set again in every context made from a
 * startup snapshot: the deserialized context has its own global proxy.
 */
export function bindGlobalIdentity(global: typeof globalThis): void {
  defineGlobals(global, { self: global });
  makeEventTarget(global, true);
}

export function installWebGlobals(global: typeof globalThis, log: (error: unknown) => void): void {
  defineGlobals(global, interfaces);
  defineGlobals(global, { self: global });
  // The global scope is an EventTarget (`addEventListener("error", …)` and friends).
  makeEventTarget(global, true);
  const proto = EventTarget.prototype as unknown as Record<string, unknown>;
  defineGlobals(global, {
    addEventListener: proto["addEventListener"],
    removeEventListener: proto["removeEventListener"],
    dispatchEvent: proto["dispatchEvent"],
  });
  const reportError = createReportError(log);
  setExceptionReporter(reportError);
  defineGlobals(global, { reportError });
  // A function is served over the platform's own origin, like a Worker: a secure context
  // (Web Crypto's `crypto.subtle` exists only in one).
  Object.defineProperty(global, "isSecureContext", { get: () => true, enumerable: true, configurable: true });
}
