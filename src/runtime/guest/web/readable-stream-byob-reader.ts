/**
 * ReadableStreamBYOBReader (Streams §4.6): reads into a caller-supplied buffer.
 */
import { constructContext, defineInterface, dictGet, illegalInvocation, methodContext, requireArgs, toDictionary, toEnforceRangeUnsignedLongLong } from "./idl.ts";
import { ArrayBufferIsView, ArrayBufferPrototypeGetByteLength, typedArrayLength, typedArrayName, viewBuffer, viewByteLength } from "./intrinsics.ts";
import { newDeferred, promiseRejectedWith } from "./promise-helpers.ts";
import { byteControllerPullInto, viewIsDetached } from "./readable-byte-stream-controller-ops.ts";
import {
  readableStreamBYOBReaderRelease,
  readableStreamReaderGenericCancel,
  readableStreamReaderGenericInitialize,
} from "./readable-stream-ops.ts";
import type { BYOBReaderSlots, ReadIntoRequest, ReadableStreamSlots } from "./readable-stream-slots.ts";
import { SimpleQueue } from "./stream-queue.ts";
import { readableStreamSlotsOf, type ReadableStream } from "./readable-stream.ts";

export interface ReadableStreamBYOBReaderReadOptions {
  min?: number;
}
export type ReadableStreamBYOBReadResult<T extends ArrayBufferView> = { done: false; value: T } | { done: true; value: T | undefined };

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;

function isReader(value: unknown): value is ReadableStreamBYOBReader {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** SetUpReadableStreamBYOBReader. */
export function newBYOBReaderSlots(stream: ReadableStreamSlots): BYOBReaderSlots {
  if (stream.reader !== undefined) {
    throw new TypeError("ReadableStreamBYOBReader constructor can only accept readable streams that are not yet locked to a reader");
  }
  if (stream.controller.kind !== "byte") {
    throw new TypeError("Cannot construct a ReadableStreamBYOBReader for a stream not constructed with a byte source");
  }
  const reader: BYOBReaderSlots = { kind: "byob", stream: undefined, closedPromise: undefined as never, readIntoRequests: new SimpleQueue() };
  readableStreamReaderGenericInitialize(reader, stream);
  return reader;
}

/** ReadableStreamBYOBReaderRead. */
export function readableStreamBYOBReaderRead(reader: BYOBReaderSlots, view: ArrayBufferView, min: number, readIntoRequest: ReadIntoRequest): void {
  const stream = reader.stream!;
  stream.disturbed = true;
  if (stream.state === "errored") readIntoRequest.errorSteps(stream.storedError);
  else byteControllerPullInto(stream.controller as never, view, min, readIntoRequest);
}

export class ReadableStreamBYOBReader {
  #slots: BYOBReaderSlots;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(stream: ReadableStream, slots?: BYOBReaderSlots) {
    if ((stream as unknown) === kInternal) {
      this.#slots = slots!;
      return;
    }
    const context = constructContext("ReadableStreamBYOBReader");
    requireArgs(arguments.length, 1, context);
    this.#slots = newBYOBReaderSlots(readableStreamSlotsOf(stream, context));
  }

  get closed(): Promise<undefined> {
    if (!isReader(this)) return promiseRejectedWith(illegalInvocation());
    return this.#slots.closedPromise.promise;
  }

  cancel(reason: unknown = undefined): Promise<undefined> {
    if (!isReader(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    if (slots.stream === undefined) return promiseRejectedWith(new TypeError("This readable stream reader has been released and cannot be used to cancel its previous owner stream"));
    return readableStreamReaderGenericCancel(slots, reason);
  }

  read<T extends ArrayBufferView>(view: T, options: ReadableStreamBYOBReaderReadOptions | undefined = undefined): Promise<ReadableStreamBYOBReadResult<T>> {
    if (!isReader(this)) return promiseRejectedWith(illegalInvocation());
    const context = methodContext("ReadableStreamBYOBReader", "read");
    let min: number;
    try {
      requireArgs(arguments.length, 1, context);
      if (!ArrayBufferIsView(view)) throw new TypeError(`${context}: parameter 1 is not of type 'ArrayBufferView'.`);
      const dict = toDictionary(options, context, "ReadableStreamBYOBReaderReadOptions");
      const rawMin = dictGet(dict, "min");
      min = rawMin === undefined ? 1 : toEnforceRangeUnsignedLongLong(rawMin, `${context}: Failed to read the 'min' property from 'ReadableStreamBYOBReaderReadOptions'`);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    if (viewIsDetached(view)) return promiseRejectedWith(new TypeError(`${context}: view's buffer has been detached`));
    if (viewByteLength(view) === 0) return promiseRejectedWith(new TypeError(`${context}: view must have non-zero byteLength`));
    if (ArrayBufferPrototypeGetByteLength(viewBuffer(view) as ArrayBuffer) === 0) {
      return promiseRejectedWith(new TypeError(`${context}: view's buffer must have non-zero byteLength`));
    }
    if (min === 0) return promiseRejectedWith(new TypeError(`${context}: options.min must be greater than 0`));
    if (typedArrayName(view) !== undefined) {
      if (min > typedArrayLength(view)) return promiseRejectedWith(new RangeError(`${context}: options.min must be less than or equal to view's length`));
    } else if (min > viewByteLength(view)) {
      return promiseRejectedWith(new RangeError(`${context}: options.min must be less than or equal to view's byteLength`));
    }
    const slots = this.#slots;
    if (slots.stream === undefined) return promiseRejectedWith(new TypeError("This readable stream reader has been released and cannot be used to read from its previous owner stream"));
    const d = newDeferred<ReadableStreamBYOBReadResult<T>>();
    readableStreamBYOBReaderRead(slots, view, min, {
      chunkSteps: (chunk) => d.resolve({ value: chunk as T, done: false }),
      closeSteps: (chunk) => d.resolve({ value: chunk as T | undefined, done: true }),
      errorSteps: (e) => d.reject(e),
    });
    return d.promise;
  }

  releaseLock(): void {
    if (!isReader(this)) throw illegalInvocation();
    const slots = this.#slots;
    if (slots.stream === undefined) return;
    readableStreamBYOBReaderRelease(slots);
  }
}
defineInterface(ReadableStreamBYOBReader, "ReadableStreamBYOBReader");

/** AcquireReadableStreamBYOBReader. */
export function acquireBYOBReader(stream: ReadableStreamSlots): ReadableStreamBYOBReader {
  return new ReadableStreamBYOBReader(kInternal as never, newBYOBReaderSlots(stream));
}
