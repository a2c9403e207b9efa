/**
 * WritableStream internal slots and abstract operations (Streams §5.5–§5.7): the stream,
 * its default writer and its default controller.
 */
import { createAbortSignal, signalAbort as signalAbortSignal, type AbortSignal } from "./abort.ts";
import { newDOMException } from "./dom-exception.ts";
import { ReflectApply } from "./intrinsics.ts";
import {
  newDeferred,
  promiseRejectedWith,
  promiseResolvedWith,
  rejectedHandledDeferred,
  resolvedDeferred,
  setPromiseIsHandled,
  uponSettle,
  type Deferred,
} from "./promise-helpers.ts";
import type { QueuingStrategySize } from "./queuing-strategies.ts";
import { SimpleQueue, dequeueValue, enqueueValueWithSize, peekQueueValue, resetQueue, type ValueWithSize } from "./stream-queue.ts";
import type { WritableStream } from "./writable-stream.ts";
import type { WritableStreamDefaultController } from "./writable-stream-default-controller.ts";

export type WritableStreamState = "writable" | "closed" | "erroring" | "errored";

/** §5.2.2 pending abort request. */
interface PendingAbortRequest {
  promise: Deferred<undefined>;
  reason: unknown;
  wasAlreadyErroring: boolean;
}

/** §5.2.2 WritableStream internal slots. */
export interface WritableStreamSlots {
  state: WritableStreamState;
  storedError: unknown;
  writer: WriterSlots | undefined;
  controller: WritableControllerSlots;
  inFlightWriteRequest: Deferred<undefined> | undefined;
  closeRequest: Deferred<undefined> | undefined;
  inFlightCloseRequest: Deferred<undefined> | undefined;
  pendingAbortRequest: PendingAbortRequest | undefined;
  writeRequests: SimpleQueue<Deferred<undefined>>;
  backpressure: boolean;
  object: WritableStream;
}

/** §5.3.2 WritableStreamDefaultWriter internal slots. */
export interface WriterSlots {
  stream: WritableStreamSlots | undefined;
  closedPromise: Deferred<undefined>;
  readyPromise: Deferred<undefined>;
}

/**
 * The controller's [[abortController]]. Its AbortSignal is made when `controller.signal`
 * is first read (most streams never read it); until then the state is kept here.
 */
export interface AbortState {
  aborted: boolean;
  reason: unknown;
  signal: AbortSignal | undefined;
}

/** §5.4.2 WritableStreamDefaultController internal slots. */
export interface WritableControllerSlots {
  stream: WritableStreamSlots;
  queue: SimpleQueue<ValueWithSize<unknown>>;
  queueTotalSize: number;
  abortState: AbortState;
  started: boolean;
  strategyHWM: number;
  strategySizeAlgorithm: QueuingStrategySize | undefined;
  writeAlgorithm: ((chunk: unknown) => Promise<unknown>) | undefined;
  closeAlgorithm: (() => Promise<unknown>) | undefined;
  abortAlgorithm: ((reason: unknown) => Promise<unknown>) | undefined;
  object: WritableStreamDefaultController;
}

/** The close sentinel §5.4.1 puts in the queue. */
const closeSentinel = Symbol("close sentinel");

/** InitializeWritableStream; controller and object are set by the caller. */
export function newWritableStreamSlots(): WritableStreamSlots {
  return {
    state: "writable",
    storedError: undefined,
    writer: undefined,
    controller: undefined as never,
    inFlightWriteRequest: undefined,
    closeRequest: undefined,
    inFlightCloseRequest: undefined,
    pendingAbortRequest: undefined,
    writeRequests: new SimpleQueue(),
    backpressure: false,
    object: undefined as never,
  };
}

// --- §5.5 WritableStream abstract operations -------------------------------------------

/** IsWritableStreamLocked. */
export function isWritableStreamLocked(stream: WritableStreamSlots): boolean {
  return stream.writer !== undefined;
}

/** "Signal abort" on the controller's abort state. */
function signalAbort(state: AbortState, reason: unknown): void {
  if (state.aborted) return;
  state.aborted = true;
  if (state.signal !== undefined) {
    signalAbortSignal(state.signal, reason);
    state.reason = state.signal.reason;
  } else {
    state.reason = reason === undefined ? newDOMException("signal is aborted without reason", "AbortError") : reason;
  }
}

/** The controller's AbortSignal, made on first use (already aborted if the stream was). */
export function abortSignalOf(state: AbortState): AbortSignal {
  if (state.signal === undefined) {
    state.signal = createAbortSignal();
    if (state.aborted) signalAbortSignal(state.signal, state.reason);
  }
  return state.signal;
}

/** WritableStreamAbort. */
export function writableStreamAbort(stream: WritableStreamSlots, reason: unknown): Promise<undefined> {
  if (stream.state === "closed" || stream.state === "errored") return promiseResolvedWith(undefined);
  signalAbort(stream.controller.abortState, reason);
  // Re-read: abort algorithms run above may have changed the state.
  const state = stream.state as WritableStreamState;
  if (state === "closed" || state === "errored") return promiseResolvedWith(undefined);
  if (stream.pendingAbortRequest !== undefined) return stream.pendingAbortRequest.promise.promise;
  let wasAlreadyErroring = false;
  if (state === "erroring") {
    wasAlreadyErroring = true;
    reason = undefined;
  }
  const promise = newDeferred<undefined>();
  stream.pendingAbortRequest = { promise, reason, wasAlreadyErroring };
  if (!wasAlreadyErroring) writableStreamStartErroring(stream, reason);
  return promise.promise;
}

/** WritableStreamClose. */
export function writableStreamClose(stream: WritableStreamSlots): Promise<undefined> {
  const state = stream.state;
  if (state === "closed" || state === "errored") {
    return promiseRejectedWith(new TypeError(`The stream is ${state === "closed" ? "closed" : "errored"} and cannot be closed`));
  }
  const promise = newDeferred<undefined>();
  stream.closeRequest = promise;
  const writer = stream.writer;
  if (writer !== undefined && stream.backpressure && state === "writable") writer.readyPromise.resolve(undefined);
  controllerClose(stream.controller);
  return promise.promise;
}

/** WritableStreamAddWriteRequest. */
function writableStreamAddWriteRequest(stream: WritableStreamSlots): Promise<undefined> {
  const promise = newDeferred<undefined>();
  stream.writeRequests.push(promise);
  return promise.promise;
}

/** WritableStreamCloseQueuedOrInFlight. */
export function writableStreamCloseQueuedOrInFlight(stream: WritableStreamSlots): boolean {
  return stream.closeRequest !== undefined || stream.inFlightCloseRequest !== undefined;
}

/** WritableStreamDealWithRejection. */
function writableStreamDealWithRejection(stream: WritableStreamSlots, error: unknown): void {
  if (stream.state === "writable") {
    writableStreamStartErroring(stream, error);
    return;
  }
  writableStreamFinishErroring(stream);
}

/** WritableStreamFinishErroring. */
function writableStreamFinishErroring(stream: WritableStreamSlots): void {
  stream.state = "errored";
  resetQueue(stream.controller); // [[ErrorSteps]]
  const storedError = stream.storedError;
  const writeRequests = stream.writeRequests;
  stream.writeRequests = new SimpleQueue();
  writeRequests.forEach((request) => request.reject(storedError));
  const abortRequest = stream.pendingAbortRequest;
  if (abortRequest === undefined) {
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    return;
  }
  stream.pendingAbortRequest = undefined;
  if (abortRequest.wasAlreadyErroring) {
    abortRequest.promise.reject(storedError);
    writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    return;
  }
  const promise = controllerAbortSteps(stream.controller, abortRequest.reason);
  uponSettle(
    promise,
    () => {
      abortRequest.promise.resolve(undefined);
      writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    },
    (reason) => {
      abortRequest.promise.reject(reason);
      writableStreamRejectCloseAndClosedPromiseIfNeeded(stream);
    },
  );
}

/** WritableStreamFinishInFlightClose. */
function writableStreamFinishInFlightClose(stream: WritableStreamSlots): void {
  stream.inFlightCloseRequest!.resolve(undefined);
  stream.inFlightCloseRequest = undefined;
  if (stream.state === "erroring") {
    stream.storedError = undefined;
    if (stream.pendingAbortRequest !== undefined) {
      stream.pendingAbortRequest.promise.resolve(undefined);
      stream.pendingAbortRequest = undefined;
    }
  }
  stream.state = "closed";
  const writer = stream.writer;
  if (writer !== undefined) writer.closedPromise.resolve(undefined);
}

/** WritableStreamFinishInFlightCloseWithError. */
function writableStreamFinishInFlightCloseWithError(stream: WritableStreamSlots, error: unknown): void {
  stream.inFlightCloseRequest!.reject(error);
  stream.inFlightCloseRequest = undefined;
  if (stream.pendingAbortRequest !== undefined) {
    stream.pendingAbortRequest.promise.reject(error);
    stream.pendingAbortRequest = undefined;
  }
  writableStreamDealWithRejection(stream, error);
}

/** WritableStreamFinishInFlightWrite. */
function writableStreamFinishInFlightWrite(stream: WritableStreamSlots): void {
  stream.inFlightWriteRequest!.resolve(undefined);
  stream.inFlightWriteRequest = undefined;
}

/** WritableStreamFinishInFlightWriteWithError. */
function writableStreamFinishInFlightWriteWithError(stream: WritableStreamSlots, error: unknown): void {
  stream.inFlightWriteRequest!.reject(error);
  stream.inFlightWriteRequest = undefined;
  writableStreamDealWithRejection(stream, error);
}

/** WritableStreamHasOperationMarkedInFlight. */
function writableStreamHasOperationMarkedInFlight(stream: WritableStreamSlots): boolean {
  return stream.inFlightWriteRequest !== undefined || stream.inFlightCloseRequest !== undefined;
}

/** WritableStreamMarkCloseRequestInFlight. */
function writableStreamMarkCloseRequestInFlight(stream: WritableStreamSlots): void {
  stream.inFlightCloseRequest = stream.closeRequest;
  stream.closeRequest = undefined;
}

/** WritableStreamMarkFirstWriteRequestInFlight. */
function writableStreamMarkFirstWriteRequestInFlight(stream: WritableStreamSlots): void {
  stream.inFlightWriteRequest = stream.writeRequests.shift();
}

/** WritableStreamRejectCloseAndClosedPromiseIfNeeded. */
function writableStreamRejectCloseAndClosedPromiseIfNeeded(stream: WritableStreamSlots): void {
  if (stream.closeRequest !== undefined) {
    stream.closeRequest.reject(stream.storedError);
    stream.closeRequest = undefined;
  }
  const writer = stream.writer;
  if (writer !== undefined) {
    writer.closedPromise.reject(stream.storedError);
    setPromiseIsHandled(writer.closedPromise.promise);
  }
}

/** WritableStreamStartErroring. */
function writableStreamStartErroring(stream: WritableStreamSlots, reason: unknown): void {
  const controller = stream.controller;
  stream.state = "erroring";
  stream.storedError = reason;
  const writer = stream.writer;
  if (writer !== undefined) writerEnsureReadyPromiseRejected(writer, reason);
  if (!writableStreamHasOperationMarkedInFlight(stream) && controller.started) writableStreamFinishErroring(stream);
}

/** WritableStreamUpdateBackpressure. */
function writableStreamUpdateBackpressure(stream: WritableStreamSlots, backpressure: boolean): void {
  const writer = stream.writer;
  if (writer !== undefined && backpressure !== stream.backpressure) {
    if (backpressure) writer.readyPromise = newDeferred();
    else writer.readyPromise.resolve(undefined);
  }
  stream.backpressure = backpressure;
}

// --- §5.6 Writer abstract operations ------------------------------------------------------

/** SetUpWritableStreamDefaultWriter, returning the new writer record. */
export function newWriterSlots(stream: WritableStreamSlots): WriterSlots {
  if (isWritableStreamLocked(stream)) {
    throw new TypeError("Cannot create writer when WritableStream is locked");
  }
  const writer: WriterSlots = { stream, closedPromise: undefined as never, readyPromise: undefined as never };
  stream.writer = writer;
  const state = stream.state;
  if (state === "writable") {
    writer.readyPromise =
      !writableStreamCloseQueuedOrInFlight(stream) && stream.backpressure ? newDeferred() : resolvedDeferred(undefined);
    writer.closedPromise = newDeferred();
  } else if (state === "erroring") {
    writer.readyPromise = rejectedHandledDeferred(stream.storedError);
    writer.closedPromise = newDeferred();
  } else if (state === "closed") {
    writer.readyPromise = resolvedDeferred(undefined);
    writer.closedPromise = resolvedDeferred(undefined);
  } else {
    writer.readyPromise = rejectedHandledDeferred(stream.storedError);
    writer.closedPromise = rejectedHandledDeferred(stream.storedError);
  }
  return writer;
}

/** WritableStreamDefaultWriterAbort. */
export function writerAbort(writer: WriterSlots, reason: unknown): Promise<undefined> {
  return writableStreamAbort(writer.stream!, reason);
}

/** WritableStreamDefaultWriterClose. */
export function writerClose(writer: WriterSlots): Promise<undefined> {
  return writableStreamClose(writer.stream!);
}

/** WritableStreamDefaultWriterCloseWithErrorPropagation. */
export function writerCloseWithErrorPropagation(writer: WriterSlots): Promise<undefined> {
  const stream = writer.stream!;
  const state = stream.state;
  if (writableStreamCloseQueuedOrInFlight(stream) || state === "closed") return promiseResolvedWith(undefined);
  if (state === "errored") return promiseRejectedWith(stream.storedError);
  return writerClose(writer);
}

/** WritableStreamDefaultWriterEnsureClosedPromiseRejected. */
function writerEnsureClosedPromiseRejected(writer: WriterSlots, error: unknown): void {
  if (writer.closedPromise.state === "pending") writer.closedPromise.reject(error);
  else writer.closedPromise = rejectedHandledDeferred(error);
  setPromiseIsHandled(writer.closedPromise.promise);
}

/** WritableStreamDefaultWriterEnsureReadyPromiseRejected. */
function writerEnsureReadyPromiseRejected(writer: WriterSlots, error: unknown): void {
  if (writer.readyPromise.state === "pending") writer.readyPromise.reject(error);
  else writer.readyPromise = rejectedHandledDeferred(error);
  setPromiseIsHandled(writer.readyPromise.promise);
}

/** WritableStreamDefaultWriterGetDesiredSize. */
export function writerGetDesiredSize(writer: WriterSlots): number | null {
  const stream = writer.stream!;
  const state = stream.state;
  if (state === "errored" || state === "erroring") return null;
  if (state === "closed") return 0;
  return controllerGetDesiredSize(stream.controller);
}

/** WritableStreamDefaultWriterRelease. */
export function writerRelease(writer: WriterSlots): void {
  const stream = writer.stream!;
  const releasedError = new TypeError("Writer was released and can no longer be used to monitor the stream's closedness");
  writerEnsureReadyPromiseRejected(writer, releasedError);
  writerEnsureClosedPromiseRejected(writer, releasedError);
  stream.writer = undefined;
  writer.stream = undefined;
}

/** WritableStreamDefaultWriterWrite. */
export function writerWrite(writer: WriterSlots, chunk: unknown): Promise<undefined> {
  const stream = writer.stream!;
  const controller = stream.controller;
  const chunkSize = controllerGetChunkSize(controller, chunk);
  // The size algorithm may have released the writer.
  if (stream !== writer.stream) return promiseRejectedWith(new TypeError("Cannot write to a stream using a released writer"));
  const state = stream.state;
  if (state === "errored") return promiseRejectedWith(stream.storedError);
  if (writableStreamCloseQueuedOrInFlight(stream) || state === "closed") {
    return promiseRejectedWith(new TypeError("Cannot write to a stream that is closed or closing"));
  }
  if (state === "erroring") return promiseRejectedWith(stream.storedError);
  const promise = writableStreamAddWriteRequest(stream);
  controllerWrite(controller, chunk, chunkSize);
  return promise;
}

// --- §5.7 Controller abstract operations --------------------------------------------------

/** [[AbortSteps]]. */
function controllerAbortSteps(controller: WritableControllerSlots, reason: unknown): Promise<unknown> {
  const result = controller.abortAlgorithm!(reason);
  controllerClearAlgorithms(controller);
  return result;
}

export interface SinkAlgorithms {
  start: () => unknown;
  write: (chunk: unknown) => Promise<unknown>;
  close: () => Promise<unknown>;
  abort: (reason: unknown) => Promise<unknown>;
}

/** SetUpWritableStreamDefaultController (the controller object is made by the caller's factory). */
export function setUpWritableController(
  stream: WritableStreamSlots,
  algorithms: SinkAlgorithms,
  highWaterMark: number,
  sizeAlgorithm: QueuingStrategySize,
  makeObject: (slots: WritableControllerSlots) => WritableStreamDefaultController,
): WritableControllerSlots {
  const controller: WritableControllerSlots = {
    stream,
    queue: new SimpleQueue(),
    queueTotalSize: 0,
    abortState: { aborted: false, reason: undefined, signal: undefined },
    started: false,
    strategyHWM: highWaterMark,
    strategySizeAlgorithm: sizeAlgorithm,
    writeAlgorithm: algorithms.write,
    closeAlgorithm: algorithms.close,
    abortAlgorithm: algorithms.abort,
    object: undefined as never,
  };
  controller.object = makeObject(controller);
  stream.controller = controller;
  writableStreamUpdateBackpressure(stream, controllerGetBackpressure(controller));
  const startResult = algorithms.start();
  uponSettle(
    promiseResolvedWith(startResult),
    () => {
      controller.started = true;
      controllerAdvanceQueueIfNeeded(controller);
    },
    (r) => {
      controller.started = true;
      writableStreamDealWithRejection(stream, r);
    },
  );
  return controller;
}

/** Set up the algorithms from an UnderlyingSink dictionary (SetUpWritableStreamDefaultControllerFromUnderlyingSink). */
export function sinkAlgorithmsFromUnderlyingSink(
  sink: unknown,
  dict: {
    abort: ((reason: unknown) => unknown) | undefined;
    close: (() => unknown) | undefined;
    start: ((controller: never) => unknown) | undefined;
    write: ((chunk: never, controller: never) => unknown) | undefined;
  },
  getController: () => WritableStreamDefaultController,
): SinkAlgorithms {
  const { abort, close, start, write } = dict;
  return {
    start: start === undefined ? () => undefined : () => ReflectApply(start, sink, [getController()]),
    write:
      write === undefined
        ? () => promiseResolvedWith(undefined)
        : (chunk) => {
            try {
              return promiseResolvedWith(ReflectApply(write, sink, [chunk, getController()]));
            } catch (e) {
              return promiseRejectedWith(e);
            }
          },
    close:
      close === undefined
        ? () => promiseResolvedWith(undefined)
        : () => {
            try {
              return promiseResolvedWith(ReflectApply(close, sink, []));
            } catch (e) {
              return promiseRejectedWith(e);
            }
          },
    abort:
      abort === undefined
        ? () => promiseResolvedWith(undefined)
        : (reason) => {
            try {
              return promiseResolvedWith(ReflectApply(abort, sink, [reason]));
            } catch (e) {
              return promiseRejectedWith(e);
            }
          },
  };
}

/** WritableStreamDefaultControllerAdvanceQueueIfNeeded. */
function controllerAdvanceQueueIfNeeded(controller: WritableControllerSlots): void {
  const stream = controller.stream;
  if (!controller.started) return;
  if (stream.inFlightWriteRequest !== undefined) return;
  if (stream.state === "erroring") {
    writableStreamFinishErroring(stream);
    return;
  }
  if (controller.queue.length === 0) return;
  const value = peekQueueValue(controller);
  if (value === closeSentinel) controllerProcessClose(controller);
  else controllerProcessWrite(controller, value);
}

/** WritableStreamDefaultControllerClearAlgorithms. */
function controllerClearAlgorithms(controller: WritableControllerSlots): void {
  controller.writeAlgorithm = undefined;
  controller.closeAlgorithm = undefined;
  controller.abortAlgorithm = undefined;
  controller.strategySizeAlgorithm = undefined;
}

/** WritableStreamDefaultControllerClose. */
function controllerClose(controller: WritableControllerSlots): void {
  enqueueValueWithSize(controller, closeSentinel, 0);
  controllerAdvanceQueueIfNeeded(controller);
}

/** WritableStreamDefaultControllerError. */
export function controllerError(controller: WritableControllerSlots, error: unknown): void {
  controllerClearAlgorithms(controller);
  writableStreamStartErroring(controller.stream, error);
}

/** WritableStreamDefaultControllerErrorIfNeeded. */
export function controllerErrorIfNeeded(controller: WritableControllerSlots, error: unknown): void {
  if (controller.stream.state === "writable") controllerError(controller, error);
}

/** WritableStreamDefaultControllerGetBackpressure. */
function controllerGetBackpressure(controller: WritableControllerSlots): boolean {
  return controllerGetDesiredSize(controller) <= 0;
}

/** WritableStreamDefaultControllerGetChunkSize. */
function controllerGetChunkSize(controller: WritableControllerSlots, chunk: unknown): number {
  const size = controller.strategySizeAlgorithm;
  if (size === undefined) return 1; // the stream is no longer writable; the caller rejects
  try {
    return size(chunk);
  } catch (e) {
    controllerErrorIfNeeded(controller, e);
    return 1;
  }
}

/** WritableStreamDefaultControllerGetDesiredSize. */
function controllerGetDesiredSize(controller: WritableControllerSlots): number {
  return controller.strategyHWM - controller.queueTotalSize;
}

/** WritableStreamDefaultControllerProcessClose. */
function controllerProcessClose(controller: WritableControllerSlots): void {
  const stream = controller.stream;
  writableStreamMarkCloseRequestInFlight(stream);
  dequeueValue(controller);
  const sinkClosePromise = controller.closeAlgorithm!();
  controllerClearAlgorithms(controller);
  uponSettle(
    sinkClosePromise,
    () => writableStreamFinishInFlightClose(stream),
    (reason) => writableStreamFinishInFlightCloseWithError(stream, reason),
  );
}

/** WritableStreamDefaultControllerProcessWrite. */
function controllerProcessWrite(controller: WritableControllerSlots, chunk: unknown): void {
  const stream = controller.stream;
  writableStreamMarkFirstWriteRequestInFlight(stream);
  const sinkWritePromise = controller.writeAlgorithm!(chunk);
  uponSettle(
    sinkWritePromise,
    () => {
      writableStreamFinishInFlightWrite(stream);
      dequeueValue(controller);
      if (!writableStreamCloseQueuedOrInFlight(stream) && stream.state === "writable") {
        writableStreamUpdateBackpressure(stream, controllerGetBackpressure(controller));
      }
      controllerAdvanceQueueIfNeeded(controller);
    },
    (reason) => {
      if (stream.state === "writable") controllerClearAlgorithms(controller);
      writableStreamFinishInFlightWriteWithError(stream, reason);
    },
  );
}

/** WritableStreamDefaultControllerWrite. */
function controllerWrite(controller: WritableControllerSlots, chunk: unknown, chunkSize: number): void {
  try {
    enqueueValueWithSize(controller, chunk, chunkSize);
  } catch (e) {
    controllerErrorIfNeeded(controller, e);
    return;
  }
  const stream = controller.stream;
  if (!writableStreamCloseQueuedOrInFlight(stream) && stream.state === "writable") {
    writableStreamUpdateBackpressure(stream, controllerGetBackpressure(controller));
  }
  controllerAdvanceQueueIfNeeded(controller);
}

