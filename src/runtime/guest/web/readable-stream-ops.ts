/**
 * Abstract operations on readable streams and their readers: Streams §4.9.2 (interfacing
 * with controllers) and §4.9.3 (readers). Section numbers refer to
 * https://streams.spec.whatwg.org as of 2024.
 */
import { newDeferred, promiseRejectedWith, promiseResolvedWith, rejectedHandledDeferred, resolvedDeferred, setPromiseIsHandled, uponPromise } from "./promise-helpers.ts";
import { SimpleQueue } from "./stream-queue.ts";
import type {
  BYOBReaderSlots,
  DefaultReaderSlots,
  ReadIntoRequest,
  ReadRequest,
  ReadableStreamSlots,
  ReaderSlots,
} from "./readable-stream-slots.ts";
import { defaultControllerCancelSteps, defaultControllerPullSteps } from "./readable-stream-default-controller.ts";
import {
  byteControllerCancelSteps,
  byteControllerPullSteps,
  byteControllerReleaseSteps,
} from "./readable-byte-stream-controller-ops.ts";

/** InitializeReadableStream; `controller` and `object` are filled in by the caller right after. */
export function newReadableStreamSlots(): ReadableStreamSlots {
  return {
    state: "readable",
    storedError: undefined,
    disturbed: false,
    reader: undefined,
    controller: undefined as never,
    object: undefined as never,
  };
}

/** IsReadableStreamLocked. */
export function isReadableStreamLocked(stream: ReadableStreamSlots): boolean {
  return stream.reader !== undefined;
}

/** ReadableStreamAddReadIntoRequest. */
export function readableStreamAddReadIntoRequest(stream: ReadableStreamSlots, readRequest: ReadIntoRequest): void {
  (stream.reader as BYOBReaderSlots).readIntoRequests.push(readRequest);
}

/** ReadableStreamAddReadRequest. */
export function readableStreamAddReadRequest(stream: ReadableStreamSlots, readRequest: ReadRequest): void {
  (stream.reader as DefaultReaderSlots).readRequests.push(readRequest);
}

/** ReadableStreamCancel. */
export function readableStreamCancel(stream: ReadableStreamSlots, reason: unknown): Promise<undefined> {
  stream.disturbed = true;
  if (stream.state === "closed") return promiseResolvedWith(undefined);
  if (stream.state === "errored") return promiseRejectedWith(stream.storedError);
  readableStreamClose(stream);
  const reader = stream.reader;
  if (reader !== undefined && reader.kind === "byob") {
    const readIntoRequests = reader.readIntoRequests;
    reader.readIntoRequests = new SimpleQueue();
    readIntoRequests.forEach((request) => request.closeSteps(undefined));
  }
  const controller = stream.controller;
  const sourceCancelPromise =
    controller.kind === "default" ? defaultControllerCancelSteps(controller, reason) : byteControllerCancelSteps(controller, reason);
  return uponPromise(sourceCancelPromise, () => undefined);
}

/** ReadableStreamClose. */
export function readableStreamClose(stream: ReadableStreamSlots): void {
  stream.state = "closed";
  const reader = stream.reader;
  if (reader === undefined) return;
  reader.closedPromise.resolve(undefined);
  if (reader.kind === "default") {
    const readRequests = reader.readRequests;
    if (readRequests.length === 0) return;
    reader.readRequests = new SimpleQueue();
    readRequests.forEach((request) => request.closeSteps());
  }
}

/** ReadableStreamError. */
export function readableStreamError(stream: ReadableStreamSlots, e: unknown): void {
  stream.state = "errored";
  stream.storedError = e;
  const reader = stream.reader;
  if (reader === undefined) return;
  reader.closedPromise.reject(e);
  setPromiseIsHandled(reader.closedPromise.promise);
  if (reader.kind === "default") readableStreamDefaultReaderErrorReadRequests(reader, e);
  else readableStreamBYOBReaderErrorReadIntoRequests(reader, e);
}

/** ReadableStreamFulfillReadIntoRequest. */
export function readableStreamFulfillReadIntoRequest(stream: ReadableStreamSlots, chunk: ArrayBufferView | undefined, done: boolean): void {
  const reader = stream.reader as BYOBReaderSlots;
  const readIntoRequest = reader.readIntoRequests.shift();
  if (done) readIntoRequest.closeSteps(chunk);
  else readIntoRequest.chunkSteps(chunk!);
}

/** ReadableStreamFulfillReadRequest. */
export function readableStreamFulfillReadRequest(stream: ReadableStreamSlots, chunk: unknown, done: boolean): void {
  const reader = stream.reader as DefaultReaderSlots;
  const readRequest = reader.readRequests.shift();
  if (done) readRequest.closeSteps();
  else readRequest.chunkSteps(chunk);
}

/** ReadableStreamGetNumReadIntoRequests. */
export function readableStreamGetNumReadIntoRequests(stream: ReadableStreamSlots): number {
  return (stream.reader as BYOBReaderSlots).readIntoRequests.length;
}

/** ReadableStreamGetNumReadRequests. */
export function readableStreamGetNumReadRequests(stream: ReadableStreamSlots): number {
  return (stream.reader as DefaultReaderSlots).readRequests.length;
}

/** ReadableStreamHasBYOBReader. */
export function readableStreamHasBYOBReader(stream: ReadableStreamSlots): boolean {
  return stream.reader !== undefined && stream.reader.kind === "byob";
}

/** ReadableStreamHasDefaultReader. */
export function readableStreamHasDefaultReader(stream: ReadableStreamSlots): boolean {
  return stream.reader !== undefined && stream.reader.kind === "default";
}

// --- §4.9.3 Readers --------------------------------------------------------------------

/** ReadableStreamReaderGenericCancel. */
export function readableStreamReaderGenericCancel(reader: ReaderSlots, reason: unknown): Promise<undefined> {
  return readableStreamCancel(reader.stream!, reason);
}

/** ReadableStreamReaderGenericInitialize. */
export function readableStreamReaderGenericInitialize(reader: ReaderSlots, stream: ReadableStreamSlots): void {
  reader.stream = stream;
  stream.reader = reader;
  if (stream.state === "readable") reader.closedPromise = newDeferred();
  else if (stream.state === "closed") reader.closedPromise = resolvedDeferred(undefined);
  else reader.closedPromise = rejectedHandledDeferred(stream.storedError);
}

/** ReadableStreamReaderGenericRelease. */
export function readableStreamReaderGenericRelease(reader: ReaderSlots): void {
  const stream = reader.stream!;
  const releasedError = new TypeError("Reader was released and can no longer be used to monitor the stream's closedness");
  if (stream.state === "readable") reader.closedPromise.reject(releasedError);
  else reader.closedPromise = rejectedHandledDeferred(releasedError);
  setPromiseIsHandled(reader.closedPromise.promise);
  const controller = stream.controller;
  if (controller.kind === "byte") byteControllerReleaseSteps(controller);
  stream.reader = undefined;
  reader.stream = undefined;
}

/** ReadableStreamDefaultReaderErrorReadRequests. */
export function readableStreamDefaultReaderErrorReadRequests(reader: DefaultReaderSlots, e: unknown): void {
  const readRequests = reader.readRequests;
  if (readRequests.length === 0) return;
  reader.readRequests = new SimpleQueue();
  readRequests.forEach((request) => request.errorSteps(e));
}

/** ReadableStreamBYOBReaderErrorReadIntoRequests. */
export function readableStreamBYOBReaderErrorReadIntoRequests(reader: BYOBReaderSlots, e: unknown): void {
  const readIntoRequests = reader.readIntoRequests;
  if (readIntoRequests.length === 0) return;
  reader.readIntoRequests = new SimpleQueue();
  readIntoRequests.forEach((request) => request.errorSteps(e));
}

/** ReadableStreamDefaultReaderRead. */
export function readableStreamDefaultReaderRead(reader: DefaultReaderSlots, readRequest: ReadRequest): void {
  const stream = reader.stream!;
  stream.disturbed = true;
  if (stream.state === "closed") readRequest.closeSteps();
  else if (stream.state === "errored") readRequest.errorSteps(stream.storedError);
  else {
    const controller = stream.controller;
    if (controller.kind === "default") defaultControllerPullSteps(controller, readRequest);
    else byteControllerPullSteps(controller, readRequest);
  }
}

/** ReadableStreamDefaultReaderRelease. */
export function readableStreamDefaultReaderRelease(reader: DefaultReaderSlots): void {
  readableStreamReaderGenericRelease(reader);
  readableStreamDefaultReaderErrorReadRequests(reader, new TypeError("Reader was released"));
}

/** ReadableStreamBYOBReaderRelease. */
export function readableStreamBYOBReaderRelease(reader: BYOBReaderSlots): void {
  readableStreamReaderGenericRelease(reader);
  readableStreamBYOBReaderErrorReadIntoRequests(reader, new TypeError("Reader was released"));
}

/** SetUpReadableStreamDefaultReader (also AcquireReadableStreamDefaultReader minus the object). */
export function newDefaultReaderSlots(stream: ReadableStreamSlots): DefaultReaderSlots {
  if (stream.reader !== undefined) {
    throw new TypeError("ReadableStreamDefaultReader constructor can only accept readable streams that are not yet locked to a reader");
  }
  const reader: DefaultReaderSlots = {
    kind: "default",
    stream: undefined,
    closedPromise: undefined as never,
    readRequests: new SimpleQueue(),
  };
  readableStreamReaderGenericInitialize(reader, stream);
  return reader;
}
