/**
 * ReadableStreamDefaultController (Streams §4.7) and its abstract operations (§4.9.4).
 */
import { defineInterface, illegalInvocation, methodContext } from "./idl.ts";
import { ReflectApply } from "./intrinsics.ts";
import { promiseRejectedWith, promiseResolvedWith, uponSettle } from "./promise-helpers.ts";
import type { QueuingStrategySize } from "./queuing-strategies.ts";
import {
  isReadableStreamLocked,
  readableStreamAddReadRequest,
  readableStreamClose,
  readableStreamError,
  readableStreamFulfillReadRequest,
  readableStreamGetNumReadRequests,
} from "./readable-stream-ops.ts";
import type {
  CancelAlgorithm,
  DefaultControllerSlots,
  PullAlgorithm,
  ReadRequest,
  ReadableStreamSlots,
  StartAlgorithm,
} from "./readable-stream-slots.ts";
import { SimpleQueue, dequeueValue, enqueueValueWithSize, resetQueue } from "./stream-queue.ts";

const kInternal = Symbol("internal");

let slotsOf!: (c: ReadableStreamDefaultController) => DefaultControllerSlots;

/** The object handed to an underlying source's start/pull/cancel. */
export class ReadableStreamDefaultController<R = unknown> {
  #slots: DefaultControllerSlots;

  static {
    slotsOf = (c) => c.#slots;
  }

  /** Not constructible by user code ("Illegal constructor"), per the spec's lack of a constructor. */
  constructor(token?: unknown, slots?: DefaultControllerSlots) {
    if (token !== kInternal) throw new TypeError("Illegal constructor");
    this.#slots = slots!;
  }

  get desiredSize(): number | null {
    if (!(#slots in (this as object))) throw illegalInvocation();
    return defaultControllerGetDesiredSize(this.#slots);
  }

  close(): void {
    if (!(#slots in (this as object))) throw illegalInvocation();
    const slots = this.#slots;
    if (!defaultControllerCanCloseOrEnqueue(slots)) {
      throw new TypeError(`${methodContext("ReadableStreamDefaultController", "close")}: The stream is not in a state that permits close`);
    }
    defaultControllerClose(slots);
  }

  enqueue(chunk: R = undefined as R): void {
    if (!(#slots in (this as object))) throw illegalInvocation();
    const slots = this.#slots;
    if (!defaultControllerCanCloseOrEnqueue(slots)) {
      throw new TypeError(`${methodContext("ReadableStreamDefaultController", "enqueue")}: The stream is not in a state that permits enqueue`);
    }
    defaultControllerEnqueue(slots, chunk);
  }

  error(e: unknown = undefined): void {
    if (!(#slots in (this as object))) throw illegalInvocation();
    defaultControllerError(this.#slots, e);
  }
}
defineInterface(ReadableStreamDefaultController, "ReadableStreamDefaultController");

/** The controller record behind a public controller object (for the TransformStream). */
export function defaultControllerSlotsOf(c: ReadableStreamDefaultController): DefaultControllerSlots {
  return slotsOf(c);
}

// --- [[CancelSteps]], [[PullSteps]] (§4.7.4) --------------------------------------------

export function defaultControllerCancelSteps(controller: DefaultControllerSlots, reason: unknown): Promise<unknown> {
  resetQueue(controller);
  const result = controller.cancelAlgorithm!(reason);
  defaultControllerClearAlgorithms(controller);
  return result;
}

export function defaultControllerPullSteps(controller: DefaultControllerSlots, readRequest: ReadRequest): void {
  const stream = controller.stream;
  if (controller.queue.length > 0) {
    const chunk = dequeueValue(controller);
    if (controller.closeRequested && controller.queue.length === 0) {
      defaultControllerClearAlgorithms(controller);
      readableStreamClose(stream);
    } else {
      defaultControllerCallPullIfNeeded(controller);
    }
    readRequest.chunkSteps(chunk);
  } else {
    readableStreamAddReadRequest(stream, readRequest);
    defaultControllerCallPullIfNeeded(controller);
  }
}

// --- §4.9.4 abstract operations ---------------------------------------------------------

/** ReadableStreamDefaultControllerCallPullIfNeeded. */
export function defaultControllerCallPullIfNeeded(controller: DefaultControllerSlots): void {
  if (!defaultControllerShouldCallPull(controller)) return;
  if (controller.pulling) {
    controller.pullAgain = true;
    return;
  }
  controller.pulling = true;
  const pullPromise = controller.pullAlgorithm!();
  uponSettle(
    pullPromise,
    () => {
      controller.pulling = false;
      if (controller.pullAgain) {
        controller.pullAgain = false;
        defaultControllerCallPullIfNeeded(controller);
      }
    },
    (e) => defaultControllerError(controller, e),
  );
}

/** ReadableStreamDefaultControllerShouldCallPull. */
function defaultControllerShouldCallPull(controller: DefaultControllerSlots): boolean {
  const stream = controller.stream;
  if (!defaultControllerCanCloseOrEnqueue(controller)) return false;
  if (!controller.started) return false;
  if (isReadableStreamLocked(stream) && stream.reader!.kind === "default" && readableStreamGetNumReadRequests(stream) > 0) {
    return true;
  }
  return defaultControllerGetDesiredSize(controller)! > 0;
}

/** ReadableStreamDefaultControllerClearAlgorithms. */
export function defaultControllerClearAlgorithms(controller: DefaultControllerSlots): void {
  controller.pullAlgorithm = undefined;
  controller.cancelAlgorithm = undefined;
  controller.strategySizeAlgorithm = undefined;
}

/** ReadableStreamDefaultControllerClose. */
export function defaultControllerClose(controller: DefaultControllerSlots): void {
  if (!defaultControllerCanCloseOrEnqueue(controller)) return;
  controller.closeRequested = true;
  if (controller.queue.length === 0) {
    defaultControllerClearAlgorithms(controller);
    readableStreamClose(controller.stream);
  }
}

/** ReadableStreamDefaultControllerEnqueue; rethrows a size() or queue error after erroring the stream. */
export function defaultControllerEnqueue(controller: DefaultControllerSlots, chunk: unknown): void {
  if (!defaultControllerCanCloseOrEnqueue(controller)) return;
  const stream = controller.stream;
  if (isReadableStreamLocked(stream) && stream.reader!.kind === "default" && readableStreamGetNumReadRequests(stream) > 0) {
    readableStreamFulfillReadRequest(stream, chunk, false);
  } else {
    let chunkSize: number;
    try {
      chunkSize = controller.strategySizeAlgorithm!(chunk);
    } catch (e) {
      defaultControllerError(controller, e);
      throw e;
    }
    try {
      enqueueValueWithSize(controller, chunk, chunkSize);
    } catch (e) {
      defaultControllerError(controller, e);
      throw e;
    }
  }
  defaultControllerCallPullIfNeeded(controller);
}

/** ReadableStreamDefaultControllerError. */
export function defaultControllerError(controller: DefaultControllerSlots, e: unknown): void {
  const stream = controller.stream;
  if (stream.state !== "readable") return;
  resetQueue(controller);
  defaultControllerClearAlgorithms(controller);
  readableStreamError(stream, e);
}

/** ReadableStreamDefaultControllerGetDesiredSize. */
export function defaultControllerGetDesiredSize(controller: DefaultControllerSlots): number | null {
  const state = controller.stream.state;
  if (state === "errored") return null;
  if (state === "closed") return 0;
  return controller.strategyHWM - controller.queueTotalSize;
}

/** ReadableStreamDefaultControllerHasBackpressure. */
export function defaultControllerHasBackpressure(controller: DefaultControllerSlots): boolean {
  return !defaultControllerShouldCallPull(controller);
}

/** ReadableStreamDefaultControllerCanCloseOrEnqueue. */
export function defaultControllerCanCloseOrEnqueue(controller: DefaultControllerSlots): boolean {
  return !controller.closeRequested && controller.stream.state === "readable";
}

/** SetUpReadableStreamDefaultController. */
export function setUpDefaultController(
  stream: ReadableStreamSlots,
  startAlgorithm: StartAlgorithm,
  pullAlgorithm: PullAlgorithm,
  cancelAlgorithm: CancelAlgorithm,
  highWaterMark: number,
  sizeAlgorithm: QueuingStrategySize,
): DefaultControllerSlots {
  const controller: DefaultControllerSlots = {
    kind: "default",
    stream,
    queue: new SimpleQueue(),
    queueTotalSize: 0,
    started: false,
    closeRequested: false,
    pullAgain: false,
    pulling: false,
    strategyHWM: highWaterMark,
    strategySizeAlgorithm: sizeAlgorithm,
    pullAlgorithm,
    cancelAlgorithm,
    object: undefined as never,
  };
  controller.object = new ReadableStreamDefaultController(kInternal, controller);
  stream.controller = controller;
  startDefaultController(controller, startAlgorithm());
  return controller;
}

function startDefaultController(controller: DefaultControllerSlots, startResult: unknown): void {
  uponSettle(
    promiseResolvedWith(startResult),
    () => {
      controller.started = true;
      defaultControllerCallPullIfNeeded(controller);
    },
    (r) => defaultControllerError(controller, r),
  );
}

/** The dictionary members of an UnderlyingSource after WebIDL conversion. */
export interface ConvertedUnderlyingSource {
  start: ((controller: never) => unknown) | undefined;
  pull: ((controller: never) => unknown) | undefined;
  cancel: ((reason: unknown) => unknown) | undefined;
}

/** SetUpReadableStreamDefaultControllerFromUnderlyingSource. */
export function setUpDefaultControllerFromUnderlyingSource(
  stream: ReadableStreamSlots,
  underlyingSource: unknown,
  dict: ConvertedUnderlyingSource,
  highWaterMark: number,
  sizeAlgorithm: QueuingStrategySize,
): void {
  const controller: DefaultControllerSlots = {
    kind: "default",
    stream,
    queue: new SimpleQueue(),
    queueTotalSize: 0,
    started: false,
    closeRequested: false,
    pullAgain: false,
    pulling: false,
    strategyHWM: highWaterMark,
    strategySizeAlgorithm: sizeAlgorithm,
    pullAlgorithm: undefined,
    cancelAlgorithm: undefined,
    object: undefined as never,
  };
  const object = new ReadableStreamDefaultController(kInternal, controller);
  controller.object = object;
  const { start, pull, cancel } = dict;
  controller.pullAlgorithm =
    pull === undefined ? () => promiseResolvedWith(undefined) : () => invokePromiseCallback(pull, underlyingSource, object);
  controller.cancelAlgorithm =
    cancel === undefined ? () => promiseResolvedWith(undefined) : (reason) => invokePromiseCallback(cancel, underlyingSource, reason);
  stream.controller = controller;
  const startResult = start === undefined ? undefined : ReflectApply(start, underlyingSource, [object]);
  startDefaultController(controller, startResult);
}

/**
 * Invoke a WebIDL callback whose return type is a promise: a synchronous throw becomes a
 * rejected promise and the return value is wrapped as "a promise resolved with" it.
 */
export function invokePromiseCallback(fn: (arg: never) => unknown, thisArg: unknown, arg: unknown): Promise<unknown> {
  try {
    return promiseResolvedWith(ReflectApply(fn, thisArg, [arg]));
  } catch (e) {
    return promiseRejectedWith(e);
  }
}

/** Same for callbacks with two arguments (a sink's write, a transformer's transform). */
export function invokePromiseCallback2(fn: (a: never, b: never) => unknown, thisArg: unknown, a: unknown, b: unknown): Promise<unknown> {
  try {
    return promiseResolvedWith(ReflectApply(fn, thisArg, [a, b]));
  } catch (e) {
    return promiseRejectedWith(e);
  }
}

/** Same for callbacks without arguments (a sink's close). */
export function invokePromiseCallback0(fn: () => unknown, thisArg: unknown): Promise<unknown> {
  try {
    return promiseResolvedWith(ReflectApply(fn, thisArg, []));
  } catch (e) {
    return promiseRejectedWith(e);
  }
}
