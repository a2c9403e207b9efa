/**
 * TransformStream (Streams §6.2) and its abstract operations (§6.4).
 */
import { constructContext, defineInterface, dictGet, illegalInvocation, isObject, toCallback } from "./idl.ts";
import { ReflectApply } from "./intrinsics.ts";
import { newDeferred, promiseRejectedWith, promiseResolvedWith, uponPromise, uponSettle, type Deferred } from "./promise-helpers.ts";
import { convertQueuingStrategy, extractHighWaterMark, extractSizeAlgorithm, type QueuingStrategy, type QueuingStrategySize } from "./queuing-strategies.ts";
import {
  defaultControllerCanCloseOrEnqueue,
  defaultControllerClose,
  defaultControllerEnqueue,
  defaultControllerError,
  defaultControllerHasBackpressure,
  invokePromiseCallback,
  invokePromiseCallback2,
} from "./readable-stream-default-controller.ts";
import type { DefaultControllerSlots, ReadableStreamSlots } from "./readable-stream-slots.ts";
import { createReadableStream, type ReadableStream } from "./readable-stream.ts";
import { createTransformControllerObject, type TransformStreamDefaultController } from "./transform-stream-default-controller.ts";
import { controllerErrorIfNeeded, type WritableStreamSlots } from "./writable-stream-ops.ts";
import { createWritableStream, type WritableStream } from "./writable-stream.ts";

export interface Transformer<I = unknown, O = unknown> {
  start?: (controller: TransformStreamDefaultController<O>) => unknown;
  transform?: (chunk: I, controller: TransformStreamDefaultController<O>) => unknown;
  flush?: (controller: TransformStreamDefaultController<O>) => unknown;
  cancel?: (reason: unknown) => unknown;
  readableType?: undefined;
  writableType?: undefined;
}

/** §6.2.2 TransformStream internal slots. */
export interface TransformStreamSlots {
  backpressure: boolean | undefined;
  backpressureChangePromise: Deferred<undefined> | undefined;
  controller: TransformControllerSlots;
  readable: ReadableStreamSlots;
  writable: WritableStreamSlots;
}

/** §6.3.2 TransformStreamDefaultController internal slots. */
export interface TransformControllerSlots {
  stream: TransformStreamSlots;
  cancelAlgorithm: ((reason: unknown) => Promise<unknown>) | undefined;
  finishPromise: Deferred<undefined> | undefined;
  flushAlgorithm: (() => Promise<unknown>) | undefined;
  transformAlgorithm: ((chunk: unknown) => Promise<unknown>) | undefined;
  object: TransformStreamDefaultController;
}

let hasSlots!: (v: object) => boolean;

export class TransformStream<I = unknown, O = unknown> {
  #slots: TransformStreamSlots;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(
    transformer: Transformer<I, O> | undefined = undefined,
    writableStrategy: QueuingStrategy<I> | undefined = undefined,
    readableStrategy: QueuingStrategy<O> | undefined = undefined,
  ) {
    const context = constructContext("TransformStream");
    if (transformer !== undefined && !isObject(transformer)) throw new TypeError(`${context}: parameter 1 is not of type 'object'.`);
    const writableStrategyDict = convertQueuingStrategy(writableStrategy, context);
    const readableStrategyDict = convertQueuingStrategy(readableStrategy, context);
    const t = transformer as object | undefined;
    const member = (name: string): ((...args: never[]) => unknown) | undefined => {
      const v = dictGet(t, name);
      return v === undefined ? undefined : toCallback(v, `${context}: Failed to read the '${name}' property from 'Transformer'`);
    };
    // Transformer members in lexicographic order.
    const cancel = member("cancel") as ((reason: unknown) => unknown) | undefined;
    const flush = member("flush") as ((controller: never) => unknown) | undefined;
    const readableType = dictGet(t, "readableType");
    const start = member("start") as ((controller: never) => unknown) | undefined;
    const transform = member("transform") as ((chunk: never, controller: never) => unknown) | undefined;
    const writableType = dictGet(t, "writableType");
    if (readableType !== undefined) throw new RangeError(`${context}: Invalid readableType specified`);
    if (writableType !== undefined) throw new RangeError(`${context}: Invalid writableType specified`);
    const readableHighWaterMark = extractHighWaterMark(readableStrategyDict, 0);
    const readableSizeAlgorithm = extractSizeAlgorithm(readableStrategyDict);
    const writableHighWaterMark = extractHighWaterMark(writableStrategyDict, 1);
    const writableSizeAlgorithm = extractSizeAlgorithm(writableStrategyDict);
    const startPromise = newDeferred<unknown>();
    const slots = initializeTransformStream(startPromise.promise, writableHighWaterMark, writableSizeAlgorithm, readableHighWaterMark, readableSizeAlgorithm);
    this.#slots = slots;
    const controller = setUpControllerFromTransformer(slots, t, { cancel, flush, transform });
    if (start !== undefined) startPromise.resolve(ReflectApply(start, t, [controller.object]));
    else startPromise.resolve(undefined);
  }

  get readable(): ReadableStream<O> {
    if (!isTransformStream(this)) throw illegalInvocation();
    return this.#slots.readable.object as ReadableStream<O>;
  }

  get writable(): WritableStream<I> {
    if (!isTransformStream(this)) throw illegalInvocation();
    return this.#slots.writable.object as WritableStream<I>;
  }
}
defineInterface(TransformStream, "TransformStream");

function isTransformStream(value: unknown): value is TransformStream {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** InitializeTransformStream; the controller is attached by the caller. */
function initializeTransformStream(
  startPromise: Promise<unknown>,
  writableHighWaterMark: number,
  writableSizeAlgorithm: QueuingStrategySize,
  readableHighWaterMark: number,
  readableSizeAlgorithm: QueuingStrategySize,
): TransformStreamSlots {
  const stream = {
    backpressure: undefined,
    backpressureChangePromise: undefined,
    controller: undefined as never,
    readable: undefined as never,
    writable: undefined as never,
  } as TransformStreamSlots;
  const startAlgorithm = (): Promise<unknown> => startPromise;
  stream.writable = createWritableStream(
    {
      start: startAlgorithm,
      write: (chunk) => sinkWriteAlgorithm(stream, chunk),
      close: () => sinkCloseAlgorithm(stream),
      abort: (reason) => sinkAbortAlgorithm(stream, reason),
    },
    writableHighWaterMark,
    writableSizeAlgorithm,
  );
  stream.readable = createReadableStream(
    startAlgorithm,
    () => sourcePullAlgorithm(stream),
    (reason) => sourceCancelAlgorithm(stream, reason),
    readableHighWaterMark,
    readableSizeAlgorithm,
  );
  setBackpressure(stream, true);
  return stream;
}

function readableController(stream: TransformStreamSlots): DefaultControllerSlots {
  return stream.readable.controller as DefaultControllerSlots;
}

/** TransformStreamError. */
function transformStreamError(stream: TransformStreamSlots, e: unknown): void {
  defaultControllerError(readableController(stream), e);
  errorWritableAndUnblockWrite(stream, e);
}

/** TransformStreamErrorWritableAndUnblockWrite. */
function errorWritableAndUnblockWrite(stream: TransformStreamSlots, e: unknown): void {
  clearAlgorithms(stream.controller);
  controllerErrorIfNeeded(stream.writable.controller, e);
  unblockWrite(stream);
}

/** TransformStreamSetBackpressure. */
function setBackpressure(stream: TransformStreamSlots, backpressure: boolean): void {
  if (stream.backpressureChangePromise !== undefined) stream.backpressureChangePromise.resolve(undefined);
  stream.backpressureChangePromise = newDeferred();
  stream.backpressure = backpressure;
}

/** TransformStreamUnblockWrite. */
function unblockWrite(stream: TransformStreamSlots): void {
  if (stream.backpressure === true) setBackpressure(stream, false);
}

// --- §6.4.2 controller operations ----------------------------------------------------------

/** SetUpTransformStreamDefaultControllerFromTransformer (with SetUpTransformStreamDefaultController). */
function setUpControllerFromTransformer(
  stream: TransformStreamSlots,
  transformer: unknown,
  dict: {
    cancel: ((reason: unknown) => unknown) | undefined;
    flush: ((controller: never) => unknown) | undefined;
    transform: ((chunk: never, controller: never) => unknown) | undefined;
  },
): TransformControllerSlots {
  const controller = {
    stream,
    cancelAlgorithm: undefined,
    finishPromise: undefined,
    flushAlgorithm: undefined,
    transformAlgorithm: undefined,
    object: undefined as never,
  } as TransformControllerSlots;
  const object = createTransformControllerObject(controller);
  controller.object = object;
  const { cancel, flush, transform } = dict;
  controller.transformAlgorithm =
    transform === undefined
      ? (chunk) => {
          try {
            transformControllerEnqueue(controller, chunk);
          } catch (e) {
            return promiseRejectedWith(e);
          }
          return promiseResolvedWith(undefined);
        }
      : (chunk) => invokePromiseCallback2(transform, transformer, chunk, object);
  controller.flushAlgorithm = flush === undefined ? () => promiseResolvedWith(undefined) : () => invokePromiseCallback(flush, transformer, object);
  controller.cancelAlgorithm = cancel === undefined ? () => promiseResolvedWith(undefined) : (reason) => invokePromiseCallback(cancel, transformer, reason);
  stream.controller = controller;
  return controller;
}

/** TransformStreamDefaultControllerClearAlgorithms. */
function clearAlgorithms(controller: TransformControllerSlots): void {
  controller.transformAlgorithm = undefined;
  controller.flushAlgorithm = undefined;
  controller.cancelAlgorithm = undefined;
}

/** TransformStreamDefaultControllerEnqueue. */
export function transformControllerEnqueue(controller: TransformControllerSlots, chunk: unknown): void {
  const stream = controller.stream;
  const rc = readableController(stream);
  if (!defaultControllerCanCloseOrEnqueue(rc)) throw new TypeError("Readable side is not in a state that permits enqueue");
  try {
    defaultControllerEnqueue(rc, chunk);
  } catch (e) {
    errorWritableAndUnblockWrite(stream, e);
    throw stream.readable.storedError;
  }
  const backpressure = defaultControllerHasBackpressure(rc);
  if (backpressure !== stream.backpressure) setBackpressure(stream, true);
}

/** TransformStreamDefaultControllerError. */
export function transformControllerError(controller: TransformControllerSlots, e: unknown): void {
  transformStreamError(controller.stream, e);
}

/** TransformStreamDefaultControllerTerminate. */
export function transformControllerTerminate(controller: TransformControllerSlots): void {
  const stream = controller.stream;
  defaultControllerClose(readableController(stream));
  errorWritableAndUnblockWrite(stream, new TypeError("TransformStream terminated"));
}

/** TransformStreamDefaultControllerGetDesiredSize via the readable side. */
export function transformControllerDesiredSize(controller: TransformControllerSlots): number | null {
  const rc = readableController(controller.stream);
  const state = rc.stream.state;
  if (state === "errored") return null;
  if (state === "closed") return 0;
  return rc.strategyHWM - rc.queueTotalSize;
}

/** TransformStreamDefaultControllerPerformTransform. */
function performTransform(controller: TransformControllerSlots, chunk: unknown): Promise<undefined> {
  const transformPromise = controller.transformAlgorithm!(chunk);
  return uponPromise(transformPromise, () => undefined, (r) => {
    transformStreamError(controller.stream, r);
    throw r;
  });
}

// --- §6.4.3 sink and §6.4.4 source algorithms ------------------------------------------------

/** TransformStreamDefaultSinkWriteAlgorithm. */
function sinkWriteAlgorithm(stream: TransformStreamSlots, chunk: unknown): Promise<undefined> {
  const controller = stream.controller;
  if (stream.backpressure === true) {
    const backpressureChangePromise = stream.backpressureChangePromise!;
    return uponPromise(backpressureChangePromise.promise, () => {
      const writable = stream.writable;
      if (writable.state === "erroring") throw writable.storedError;
      return performTransform(controller, chunk);
    });
  }
  return performTransform(controller, chunk);
}

/** TransformStreamDefaultSinkAbortAlgorithm. */
function sinkAbortAlgorithm(stream: TransformStreamSlots, reason: unknown): Promise<undefined> {
  const controller = stream.controller;
  if (controller.finishPromise !== undefined) return controller.finishPromise.promise;
  const readable = stream.readable;
  const finish = (controller.finishPromise = newDeferred());
  const cancelPromise = controller.cancelAlgorithm!(reason);
  clearAlgorithms(controller);
  uponSettle(
    cancelPromise,
    () => {
      if (readable.state === "errored") finish.reject(readable.storedError);
      else {
        defaultControllerError(readable.controller as DefaultControllerSlots, reason);
        finish.resolve(undefined);
      }
    },
    (r) => {
      defaultControllerError(readable.controller as DefaultControllerSlots, r);
      finish.reject(r);
    },
  );
  return finish.promise;
}

/** TransformStreamDefaultSinkCloseAlgorithm. */
function sinkCloseAlgorithm(stream: TransformStreamSlots): Promise<undefined> {
  const controller = stream.controller;
  if (controller.finishPromise !== undefined) return controller.finishPromise.promise;
  const readable = stream.readable;
  const finish = (controller.finishPromise = newDeferred());
  const flushPromise = controller.flushAlgorithm!();
  clearAlgorithms(controller);
  uponSettle(
    flushPromise,
    () => {
      if (readable.state === "errored") finish.reject(readable.storedError);
      else {
        defaultControllerClose(readable.controller as DefaultControllerSlots);
        finish.resolve(undefined);
      }
    },
    (r) => {
      defaultControllerError(readable.controller as DefaultControllerSlots, r);
      finish.reject(r);
    },
  );
  return finish.promise;
}

/** TransformStreamDefaultSourceCancelAlgorithm. */
function sourceCancelAlgorithm(stream: TransformStreamSlots, reason: unknown): Promise<undefined> {
  const controller = stream.controller;
  if (controller.finishPromise !== undefined) return controller.finishPromise.promise;
  const writable = stream.writable;
  const finish = (controller.finishPromise = newDeferred());
  const cancelPromise = controller.cancelAlgorithm!(reason);
  clearAlgorithms(controller);
  uponSettle(
    cancelPromise,
    () => {
      if (writable.state === "errored") finish.reject(writable.storedError);
      else {
        controllerErrorIfNeeded(writable.controller, reason);
        unblockWrite(stream);
        finish.resolve(undefined);
      }
    },
    (r) => {
      controllerErrorIfNeeded(writable.controller, r);
      unblockWrite(stream);
      finish.reject(r);
    },
  );
  return finish.promise;
}

/** TransformStreamDefaultSourcePullAlgorithm. */
function sourcePullAlgorithm(stream: TransformStreamSlots): Promise<undefined> {
  setBackpressure(stream, false);
  return stream.backpressureChangePromise!.promise;
}
