/**
 * ReadableStream (Streams §4.2): the public class, and the ways the runtime creates streams
 * internally (CreateReadableStream, CreateReadableByteStream).
 */
import {
  constructContext,
  defineInterface,
  dictGet,
  illegalInvocation,
  isObject,
  methodContext,
  requireArgs,
  toBoolean,
  toCallback,
  toDictionary,
  toEnforceRangeUnsignedLongLong,
  toEnum,
} from "./idl.ts";
import { ObjectDefineProperty, SymbolAsyncIterator } from "./intrinsics.ts";
import { promiseRejectedWith, setPromiseIsHandled } from "./promise-helpers.ts";
import {
  convertQueuingStrategy,
  extractHighWaterMark,
  extractSizeAlgorithm,
  type QueuingStrategy,
  type QueuingStrategySize,
} from "./queuing-strategies.ts";
import { setUpByteControllerFromUnderlyingSource, setUpByteController } from "./readable-byte-stream-controller-ops.ts";
import type { ReadableStreamBYOBReader } from "./readable-stream-byob-reader.ts";
import { acquireBYOBReader } from "./readable-stream-byob-reader.ts";
import { setUpDefaultController, setUpDefaultControllerFromUnderlyingSource } from "./readable-stream-default-controller.ts";
import type { ReadableStreamDefaultController } from "./readable-stream-default-controller.ts";
import type { ReadableByteStreamController } from "./readable-byte-stream-controller.ts";
import { acquireDefaultReader, type ReadableStreamDefaultReader } from "./readable-stream-default-reader.ts";
import { createAsyncIterator, type ReadableStreamAsyncIterator } from "./readable-stream-async-iterator.ts";
import { readableStreamFromIterable } from "./readable-stream-from.ts";
import { isReadableStreamLocked, newReadableStreamSlots, readableStreamCancel } from "./readable-stream-ops.ts";
import { readableStreamPipeTo, toAbortSignalLike, type AbortSignalLike } from "./readable-stream-pipe-to.ts";
import type { CancelAlgorithm, PullAlgorithm, ReadableStreamSlots, StartAlgorithm } from "./readable-stream-slots.ts";
import { readableStreamTee } from "./readable-stream-tee.ts";
import { isWritableStreamLocked } from "./writable-stream-ops.ts";
import { writableStreamSlotsOrUndefined, type WritableStream } from "./writable-stream.ts";

export interface UnderlyingSource<R = unknown> {
  start?: (controller: ReadableStreamDefaultController<R>) => unknown;
  pull?: (controller: ReadableStreamDefaultController<R>) => unknown;
  cancel?: (reason: unknown) => unknown;
  type?: undefined;
}
export interface UnderlyingByteSource {
  start?: (controller: ReadableByteStreamController) => unknown;
  pull?: (controller: ReadableByteStreamController) => unknown;
  cancel?: (reason: unknown) => unknown;
  type: "bytes";
  autoAllocateChunkSize?: number;
}
export interface ReadableStreamGetReaderOptions {
  mode?: "byob";
}
export interface ReadableStreamIteratorOptions {
  preventCancel?: boolean;
}
export interface StreamPipeOptions {
  preventAbort?: boolean;
  preventCancel?: boolean;
  preventClose?: boolean;
  signal?: AbortSignalLike;
}
export interface ReadableWritablePair<R = unknown, W = unknown> {
  readable: ReadableStream<R>;
  writable: WritableStream<W>;
}

const kInternal = Symbol("internal");

let getSlots!: (s: ReadableStream) => ReadableStreamSlots;
let hasSlots!: (s: object) => boolean;

function convertPipeOptions(value: unknown, context: string): {
  preventAbort: boolean;
  preventCancel: boolean;
  preventClose: boolean;
  signal: AbortSignalLike | undefined;
} {
  const dict = toDictionary(value, context, "StreamPipeOptions");
  const preventAbort = toBoolean(dictGet(dict, "preventAbort"));
  const preventCancel = toBoolean(dictGet(dict, "preventCancel"));
  const preventClose = toBoolean(dictGet(dict, "preventClose"));
  const rawSignal = dictGet(dict, "signal");
  const signal = rawSignal === undefined ? undefined : toAbortSignalLike(rawSignal, context);
  return { preventAbort, preventCancel, preventClose, signal };
}

export class ReadableStream<R = unknown> {
  #slots: ReadableStreamSlots;

  static {
    getSlots = (s) => s.#slots;
    hasSlots = (s) => #slots in s;
  }

  constructor(underlyingSource?: UnderlyingSource<R> | null, strategy?: QueuingStrategy<R>);
  constructor(underlyingSource: UnderlyingByteSource, strategy?: { highWaterMark?: number });
  constructor(underlyingSource: UnderlyingSource<R> | UnderlyingByteSource | null | undefined = undefined, strategy: QueuingStrategy<R> | undefined = undefined) {
    if ((underlyingSource as unknown) === kInternal) {
      this.#slots = strategy as unknown as ReadableStreamSlots;
      return;
    }
    const context = constructContext("ReadableStream");
    // WebIDL converts the arguments first: `optional object underlyingSource`, then the strategy dictionary.
    if (underlyingSource !== undefined && !isObject(underlyingSource)) {
      throw new TypeError(`${context}: parameter 1 is not of type 'object'.`);
    }
    const convertedStrategy = convertQueuingStrategy(strategy, context);
    // UnderlyingSource dictionary members, in lexicographic order.
    const src = underlyingSource as object | undefined;
    const rawAuto = dictGet(src, "autoAllocateChunkSize");
    const autoAllocateChunkSize = rawAuto === undefined ? undefined : toEnforceRangeUnsignedLongLong(rawAuto, `${context}: Failed to read the 'autoAllocateChunkSize' property from 'UnderlyingSource'`);
    const rawCancel = dictGet(src, "cancel");
    const cancel = rawCancel === undefined ? undefined : toCallback<(reason: unknown) => unknown>(rawCancel, `${context}: Failed to read the 'cancel' property from 'UnderlyingSource'`);
    const rawPull = dictGet(src, "pull");
    const pull = rawPull === undefined ? undefined : toCallback<(c: never) => unknown>(rawPull, `${context}: Failed to read the 'pull' property from 'UnderlyingSource'`);
    const rawStart = dictGet(src, "start");
    const start = rawStart === undefined ? undefined : toCallback<(c: never) => unknown>(rawStart, `${context}: Failed to read the 'start' property from 'UnderlyingSource'`);
    const rawType = dictGet(src, "type");
    const type = rawType === undefined ? undefined : toEnum(rawType, ["bytes"] as const, `${context}: Failed to read the 'type' property from 'UnderlyingSource'`, "ReadableStreamType");

    const slots = newReadableStreamSlots();
    slots.object = this as ReadableStream;
    this.#slots = slots;
    if (type === "bytes") {
      if (convertedStrategy.size !== undefined) {
        throw new RangeError(`${context}: The strategy for a byte stream cannot have a size function`);
      }
      const highWaterMark = extractHighWaterMark(convertedStrategy, 0);
      setUpByteControllerFromUnderlyingSource(slots, underlyingSource, { start, pull, cancel, autoAllocateChunkSize }, highWaterMark);
    } else {
      const sizeAlgorithm = extractSizeAlgorithm(convertedStrategy);
      const highWaterMark = extractHighWaterMark(convertedStrategy, 1);
      setUpDefaultControllerFromUnderlyingSource(slots, underlyingSource, { start, pull, cancel }, highWaterMark, sizeAlgorithm);
    }
  }

  /** §4.2.5 ReadableStream.from(asyncIterable). */
  static from<T>(asyncIterable: AsyncIterable<T> | Iterable<T | PromiseLike<T>>): ReadableStream<T> {
    requireArgs(arguments.length, 1, methodContext("ReadableStream", "from"));
    return readableStreamFromIterable(asyncIterable).object as ReadableStream<T>;
  }

  get locked(): boolean {
    if (!isReadableStream(this)) throw illegalInvocation();
    return isReadableStreamLocked(this.#slots);
  }

  cancel(reason: unknown = undefined): Promise<undefined> {
    if (!isReadableStream(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    if (isReadableStreamLocked(slots)) {
      return promiseRejectedWith(new TypeError(`${methodContext("ReadableStream", "cancel")}: Cannot cancel a locked stream`));
    }
    return readableStreamCancel(slots, reason);
  }

  getReader(options: { mode: "byob" }): ReadableStreamBYOBReader;
  getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamDefaultReader<R>;
  getReader(options: ReadableStreamGetReaderOptions | undefined = undefined): ReadableStreamDefaultReader<R> | ReadableStreamBYOBReader {
    if (!isReadableStream(this)) throw illegalInvocation();
    const context = methodContext("ReadableStream", "getReader");
    const dict = toDictionary(options, context, "ReadableStreamGetReaderOptions");
    const rawMode = dictGet(dict, "mode");
    const mode = rawMode === undefined ? undefined : toEnum(rawMode, ["byob"] as const, `${context}: Failed to read the 'mode' property from 'ReadableStreamGetReaderOptions'`, "ReadableStreamReaderMode");
    if (mode === undefined) return acquireDefaultReader(this.#slots) as ReadableStreamDefaultReader<R>;
    return acquireBYOBReader(this.#slots);
  }

  pipeThrough<T>(transform: ReadableWritablePair<T, R>, options: StreamPipeOptions | undefined = undefined): ReadableStream<T> {
    if (!isReadableStream(this)) throw illegalInvocation();
    const context = methodContext("ReadableStream", "pipeThrough");
    requireArgs(arguments.length, 1, context);
    // ReadableWritablePair: required members `readable` then `writable`.
    const pair = toDictionary(transform, context, "ReadableWritablePair");
    const readable = dictGet(pair, "readable");
    if (readable === undefined) throw new TypeError(`${context}: Failed to read the 'readable' property from 'ReadableWritablePair': Required member is undefined.`);
    const readableSlots = readableStreamSlotsOf(readable, `${context}: Failed to read the 'readable' property from 'ReadableWritablePair'`);
    const writable = dictGet(pair, "writable");
    if (writable === undefined) throw new TypeError(`${context}: Failed to read the 'writable' property from 'ReadableWritablePair': Required member is undefined.`);
    const writableSlots = writableStreamSlotsOrUndefined(writable);
    if (writableSlots === undefined) throw new TypeError(`${context}: Failed to read the 'writable' property from 'ReadableWritablePair': The provided value is not of type 'WritableStream'.`);
    const opts = convertPipeOptions(options, context);
    const slots = this.#slots;
    if (isReadableStreamLocked(slots)) throw new TypeError(`${context}: Cannot pipe a locked stream`);
    if (isWritableStreamLocked(writableSlots)) throw new TypeError(`${context}: Cannot pipe to a locked stream`);
    const promise = readableStreamPipeTo(slots, writableSlots, opts.preventClose, opts.preventAbort, opts.preventCancel, opts.signal);
    setPromiseIsHandled(promise);
    return readableSlots.object as ReadableStream<T>;
  }

  pipeTo(destination: WritableStream<R>, options: StreamPipeOptions | undefined = undefined): Promise<undefined> {
    if (!isReadableStream(this)) return promiseRejectedWith(illegalInvocation());
    const context = methodContext("ReadableStream", "pipeTo");
    let opts: ReturnType<typeof convertPipeOptions>;
    try {
      requireArgs(arguments.length, 1, context);
      if (writableStreamSlotsOrUndefined(destination) === undefined) {
        throw new TypeError(`${context}: parameter 1 is not of type 'WritableStream'.`);
      }
      opts = convertPipeOptions(options, context);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    const dest = writableStreamSlotsOrUndefined(destination)!;
    const slots = this.#slots;
    if (isReadableStreamLocked(slots)) return promiseRejectedWith(new TypeError(`${context}: Cannot pipe a locked stream`));
    if (isWritableStreamLocked(dest)) return promiseRejectedWith(new TypeError(`${context}: Cannot pipe to a locked stream`));
    return readableStreamPipeTo(slots, dest, opts.preventClose, opts.preventAbort, opts.preventCancel, opts.signal);
  }

  tee(): [ReadableStream<R>, ReadableStream<R>] {
    if (!isReadableStream(this)) throw illegalInvocation();
    const [a, b] = readableStreamTee(this.#slots, false);
    return [a.object as ReadableStream<R>, b.object as ReadableStream<R>];
  }

  values(options: ReadableStreamIteratorOptions | undefined = undefined): ReadableStreamAsyncIterator<R> {
    if (!isReadableStream(this)) throw illegalInvocation();
    const context = methodContext("ReadableStream", "values");
    const dict = toDictionary(options, context, "ReadableStreamIteratorOptions");
    const preventCancel = toBoolean(dictGet(dict, "preventCancel"));
    return createAsyncIterator(this.#slots, preventCancel) as ReadableStreamAsyncIterator<R>;
  }

  declare [Symbol.asyncIterator]: (options?: ReadableStreamIteratorOptions) => ReadableStreamAsyncIterator<R>;
}
defineInterface(ReadableStream, "ReadableStream");
// WebIDL: an async iterable's @@asyncIterator is the very same function object as `values`.
ObjectDefineProperty(ReadableStream.prototype, SymbolAsyncIterator, {
  value: ReadableStream.prototype.values,
  writable: true,
  enumerable: false,
  configurable: true,
});

/** True for a real ReadableStream (brand check, not instanceof). */
export function isReadableStream(value: unknown): value is ReadableStream {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** The slots of a ReadableStream argument; TypeError for anything else. */
export function readableStreamSlotsOf(value: unknown, context: string): ReadableStreamSlots {
  if (!isReadableStream(value)) throw new TypeError(`${context}: The provided value is not of type 'ReadableStream'.`);
  return getSlots(value);
}

/** The slots of a known ReadableStream. */
export function slotsOfReadableStream(stream: ReadableStream<unknown>): ReadableStreamSlots {
  return getSlots(stream as ReadableStream);
}

/** Give a slots record its public object. */
export function wrapReadableStream(slots: ReadableStreamSlots): ReadableStream {
  const object = new ReadableStream(kInternal as never, slots as never);
  slots.object = object;
  return object;
}

/** §4.9.1 CreateReadableStream. */
export function createReadableStream(
  startAlgorithm: StartAlgorithm,
  pullAlgorithm: PullAlgorithm,
  cancelAlgorithm: CancelAlgorithm,
  highWaterMark = 1,
  sizeAlgorithm: QueuingStrategySize = () => 1,
): ReadableStreamSlots {
  const slots = newReadableStreamSlots();
  wrapReadableStream(slots);
  setUpDefaultController(slots, startAlgorithm, pullAlgorithm, cancelAlgorithm, highWaterMark, sizeAlgorithm);
  return slots;
}

/** §4.9.1 CreateReadableByteStream. */
export function createReadableByteStream(
  startAlgorithm: StartAlgorithm,
  pullAlgorithm: PullAlgorithm,
  cancelAlgorithm: CancelAlgorithm,
): ReadableStreamSlots {
  const slots = newReadableStreamSlots();
  wrapReadableStream(slots);
  setUpByteController(slots, startAlgorithm, pullAlgorithm, cancelAlgorithm, 0, undefined);
  return slots;
}
