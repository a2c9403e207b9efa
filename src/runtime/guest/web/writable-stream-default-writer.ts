/**
 * WritableStreamDefaultWriter (Streams §5.3).
 */
import { constructContext, defineInterface, illegalInvocation, requireArgs } from "./idl.ts";
import { promiseRejectedWith } from "./promise-helpers.ts";
import {
  newWriterSlots,
  writableStreamCloseQueuedOrInFlight,
  writerAbort,
  writerClose,
  writerGetDesiredSize,
  writerRelease,
  writerWrite,
  type WritableStreamSlots,
  type WriterSlots,
} from "./writable-stream-ops.ts";
import { writableStreamSlotsOrUndefined, type WritableStream } from "./writable-stream.ts";

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;

function isWriter(value: unknown): value is WritableStreamDefaultWriter {
  return typeof value === "object" && value !== null && hasSlots(value);
}

function releasedError(action: string): TypeError {
  return new TypeError(`This writable stream writer has been released and cannot be used to ${action}`);
}

export class WritableStreamDefaultWriter<W = unknown> {
  #slots: WriterSlots;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(stream: WritableStream<W>, slots?: WriterSlots) {
    if ((stream as unknown) === kInternal) {
      this.#slots = slots!;
      return;
    }
    const context = constructContext("WritableStreamDefaultWriter");
    requireArgs(arguments.length, 1, context);
    const streamSlots = writableStreamSlotsOrUndefined(stream);
    if (streamSlots === undefined) throw new TypeError(`${context}: parameter 1 is not of type 'WritableStream'.`);
    this.#slots = newWriterSlots(streamSlots);
  }

  get closed(): Promise<undefined> {
    if (!isWriter(this)) return promiseRejectedWith(illegalInvocation());
    return this.#slots.closedPromise.promise;
  }

  get desiredSize(): number | null {
    if (!isWriter(this)) throw illegalInvocation();
    const slots = this.#slots;
    if (slots.stream === undefined) throw releasedError("get the desired size");
    return writerGetDesiredSize(slots);
  }

  get ready(): Promise<undefined> {
    if (!isWriter(this)) return promiseRejectedWith(illegalInvocation());
    return this.#slots.readyPromise.promise;
  }

  abort(reason: unknown = undefined): Promise<undefined> {
    if (!isWriter(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    if (slots.stream === undefined) return promiseRejectedWith(releasedError("abort the stream"));
    return writerAbort(slots, reason);
  }

  close(): Promise<undefined> {
    if (!isWriter(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    const stream = slots.stream;
    if (stream === undefined) return promiseRejectedWith(releasedError("close the stream"));
    if (writableStreamCloseQueuedOrInFlight(stream)) {
      return promiseRejectedWith(new TypeError("Cannot close a stream that is already closing"));
    }
    return writerClose(slots);
  }

  releaseLock(): void {
    if (!isWriter(this)) throw illegalInvocation();
    const slots = this.#slots;
    if (slots.stream === undefined) return;
    writerRelease(slots);
  }

  write(chunk: W = undefined as W): Promise<undefined> {
    if (!isWriter(this)) return promiseRejectedWith(illegalInvocation());
    const slots = this.#slots;
    if (slots.stream === undefined) return promiseRejectedWith(releasedError("write to the stream"));
    return writerWrite(slots, chunk);
  }
}
defineInterface(WritableStreamDefaultWriter, "WritableStreamDefaultWriter");

/** AcquireWritableStreamDefaultWriter. */
export function acquireWriter(stream: WritableStreamSlots): WritableStreamDefaultWriter {
  return new WritableStreamDefaultWriter(kInternal as never, newWriterSlots(stream));
}
