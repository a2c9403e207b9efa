/**
 * WritableStream (Streams §5.2), and CreateWritableStream for internal use.
 */
import {
  constructContext,
  defineInterface,
  dictGet,
  illegalInvocation,
  isObject,
  methodContext,
} from "./idl.ts";
import { toCallback } from "./idl.ts";
import { promiseRejectedWith } from "./promise-helpers.ts";
import {
  convertQueuingStrategy,
  extractHighWaterMark,
  extractSizeAlgorithm,
  type QueuingStrategy,
  type QueuingStrategySize,
} from "./queuing-strategies.ts";
import { createWritableControllerObject, type WritableStreamDefaultController } from "./writable-stream-default-controller.ts";
import { acquireWriter, type WritableStreamDefaultWriter } from "./writable-stream-default-writer.ts";
import {
  isWritableStreamLocked,
  newWritableStreamSlots,
  setUpWritableController,
  sinkAlgorithmsFromUnderlyingSink,
  writableStreamAbort,
  writableStreamClose,
  writableStreamCloseQueuedOrInFlight,
  type SinkAlgorithms,
  type WritableStreamSlots,
} from "./writable-stream-ops.ts";

export interface UnderlyingSink<W = unknown> {
  start?: (controller: WritableStreamDefaultController) => unknown;
  write?: (chunk: W, controller: WritableStreamDefaultController) => unknown;
  close?: () => unknown;
  abort?: (reason: unknown) => unknown;
  type?: undefined;
}

const kInternal = Symbol("internal");
let getSlots!: (s: WritableStream) => WritableStreamSlots;
let hasSlots!: (s: object) => boolean;

export class WritableStream<W = unknown> {
  #slots: WritableStreamSlots;

  static {
    getSlots = (s) => s.#slots;
    hasSlots = (s) => #slots in s;
  }

  constructor(underlyingSink: UnderlyingSink<W> | undefined = undefined, strategy: QueuingStrategy<W> | undefined = undefined) {
    if ((underlyingSink as unknown) === kInternal) {
      this.#slots = strategy as unknown as WritableStreamSlots;
      return;
    }
    const context = constructContext("WritableStream");
    if (underlyingSink !== undefined && !isObject(underlyingSink)) {
      throw new TypeError(`${context}: parameter 1 is not of type 'object'.`);
    }
    const convertedStrategy = convertQueuingStrategy(strategy, context);
    const sink = underlyingSink as object | undefined;
    const member = (name: string): ((...args: never[]) => unknown) | undefined => {
      const v = dictGet(sink, name);
      return v === undefined ? undefined : toCallback(v, `${context}: Failed to read the '${name}' property from 'UnderlyingSink'`);
    };
    // UnderlyingSink members in lexicographic order: abort, close, start, type, write.
    const abort = member("abort") as ((reason: unknown) => unknown) | undefined;
    const close = member("close") as (() => unknown) | undefined;
    const start = member("start") as ((controller: never) => unknown) | undefined;
    const type = dictGet(sink, "type");
    const write = member("write") as ((chunk: never, controller: never) => unknown) | undefined;
    if (type !== undefined) throw new RangeError(`${context}: Invalid type is specified`);
    const slots = newWritableStreamSlots();
    slots.object = this as WritableStream;
    this.#slots = slots;
    const sizeAlgorithm = extractSizeAlgorithm(convertedStrategy);
    const highWaterMark = extractHighWaterMark(convertedStrategy, 1);
    let controllerObject!: WritableStreamDefaultController;
    const algorithms = sinkAlgorithmsFromUnderlyingSink(sink, { abort, close, start, write }, () => controllerObject);
    setUpWritableController(slots, algorithms, highWaterMark, sizeAlgorithm, (c) => (controllerObject = createWritableControllerObject(c)));
  }

  get locked(): boolean {
    if (!isWritableStream(this)) throw illegalInvocation();
    return isWritableStreamLocked(this.#slots);
  }

  abort(reason: unknown = undefined): Promise<undefined> {
    if (!isWritableStream(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    if (isWritableStreamLocked(slots)) {
      return promiseRejectedWith(new TypeError(`${methodContext("WritableStream", "abort")}: Cannot abort a locked stream`));
    }
    return writableStreamAbort(slots, reason);
  }

  close(): Promise<undefined> {
    if (!isWritableStream(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    const context = methodContext("WritableStream", "close");
    if (isWritableStreamLocked(slots)) return promiseRejectedWith(new TypeError(`${context}: Cannot close a locked stream`));
    if (writableStreamCloseQueuedOrInFlight(slots)) {
      return promiseRejectedWith(new TypeError(`${context}: Cannot close a stream that is already closing`));
    }
    return writableStreamClose(slots);
  }

  getWriter(): WritableStreamDefaultWriter<W> {
    if (!isWritableStream(this)) throw illegalInvocation();
    return acquireWriter(this.#slots) as WritableStreamDefaultWriter<W>;
  }
}
defineInterface(WritableStream, "WritableStream");

/** True for a real WritableStream. */
export function isWritableStream(value: unknown): value is WritableStream {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** The slots of a WritableStream, or undefined for anything else. */
export function writableStreamSlotsOrUndefined(value: unknown): WritableStreamSlots | undefined {
  return isWritableStream(value) ? getSlots(value) : undefined;
}

/** §5.5 CreateWritableStream. */
export function createWritableStream(
  algorithms: SinkAlgorithms,
  highWaterMark: number,
  sizeAlgorithm: QueuingStrategySize,
): WritableStreamSlots {
  const slots = newWritableStreamSlots();
  slots.object = new WritableStream(kInternal as never, slots as never);
  setUpWritableController(slots, algorithms, highWaterMark, sizeAlgorithm, createWritableControllerObject);
  return slots;
}
