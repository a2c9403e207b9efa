/**
 * ReadableStreamDefaultReader (Streams §4.3).
 */
import { constructContext, defineInterface, illegalInvocation, requireArgs } from "./idl.ts";
import { newDeferred, promiseRejectedWith } from "./promise-helpers.ts";
import {
  newDefaultReaderSlots,
  readableStreamDefaultReaderRead,
  readableStreamDefaultReaderRelease,
  readableStreamReaderGenericCancel,
} from "./readable-stream-ops.ts";
import type { DefaultReaderSlots, ReadableStreamSlots } from "./readable-stream-slots.ts";
import { readableStreamSlotsOf } from "./readable-stream.ts";
import type { ReadableStream } from "./readable-stream.ts";

/** The result of `read()`. */
export type ReadableStreamReadResult<T> = { done: false; value: T } | { done: true; value: T | undefined };

const kInternal = Symbol("internal");

let slotsOf!: (r: ReadableStreamDefaultReader) => DefaultReaderSlots;

function isReader(value: unknown): value is ReadableStreamDefaultReader {
  return typeof value === "object" && value !== null && hasSlots(value);
}
let hasSlots!: (value: object) => boolean;

export class ReadableStreamDefaultReader<R = unknown> {
  #slots: DefaultReaderSlots;

  static {
    slotsOf = (r) => r.#slots;
    hasSlots = (v) => #slots in v;
  }

  constructor(stream: ReadableStream<R>, slots?: DefaultReaderSlots) {
    if ((stream as unknown) === kInternal) {
      this.#slots = slots!;
      return;
    }
    const context = constructContext("ReadableStreamDefaultReader");
    requireArgs(arguments.length, 1, context);
    const streamSlots = readableStreamSlotsOf(stream as unknown, context);
    this.#slots = newDefaultReaderSlots(streamSlots);
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

  read(): Promise<ReadableStreamReadResult<R>> {
    if (!isReader(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    if (slots.stream === undefined) return promiseRejectedWith(new TypeError("This readable stream reader has been released and cannot be used to read from its previous owner stream"));
    const d = newDeferred<ReadableStreamReadResult<R>>();
    readableStreamDefaultReaderRead(slots, {
      chunkSteps: (chunk) => d.resolve({ value: chunk as R, done: false }),
      closeSteps: () => d.resolve({ value: undefined, done: true }),
      errorSteps: (e) => d.reject(e),
    });
    return d.promise;
  }

  releaseLock(): void {
    if (!isReader(this)) throw illegalInvocation();
    const slots = this.#slots;
    if (slots.stream === undefined) return;
    readableStreamDefaultReaderRelease(slots);
  }
}
defineInterface(ReadableStreamDefaultReader, "ReadableStreamDefaultReader");

/** AcquireReadableStreamDefaultReader, returning the public reader. */
export function acquireDefaultReader(stream: ReadableStreamSlots): ReadableStreamDefaultReader {
  const slots = newDefaultReaderSlots(stream);
  return new ReadableStreamDefaultReader(kInternal as never, slots);
}

/** The record behind a reader object. */
export function defaultReaderSlotsOf(reader: ReadableStreamDefaultReader): DefaultReaderSlots {
  return slotsOf(reader);
}
