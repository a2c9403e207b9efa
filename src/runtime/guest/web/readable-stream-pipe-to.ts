/**
 * ReadableStreamPipeTo (Streams §4.9.1), behind `pipeTo()` and `pipeThrough()`.
 *
 * The spec describes piping in prose ("while … is or becomes errored"); this follows the
 * structure of its reference implementation, which the web-platform-tests were written
 * against: a read/write loop gated on the writer's ready promise, and watchers on both
 * ends' closed promises that start the shutdown.
 */
import { isAbortSignal } from "./abort.ts";
import { ReflectApply } from "./intrinsics.ts";
import {
  newDeferred,
  promiseResolvedWith,
  uponFulfillment,
  uponPromise,
  uponRejection,
  uponSettle,
} from "./promise-helpers.ts";
import {
  newDefaultReaderSlots,
  readableStreamCancel,
  readableStreamDefaultReaderRead,
  readableStreamDefaultReaderRelease,
} from "./readable-stream-ops.ts";
import type { ReadableStreamSlots } from "./readable-stream-slots.ts";
import {
  newWriterSlots,
  writableStreamAbort,
  writableStreamCloseQueuedOrInFlight,
  writerCloseWithErrorPropagation,
  writerRelease,
  writerWrite,
  type WritableStreamSlots,
} from "./writable-stream-ops.ts";

/**
 * The part of AbortSignal piping uses. TODO: once the runtime has AbortSignal, convert
 * with a real brand check instead of this structural one.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/** Structural stand-in for the WebIDL AbortSignal conversion. */
export function toAbortSignalLike(value: unknown, context: string): AbortSignalLike {
  if (!isAbortSignal(value)) {
    throw new TypeError(`${context}: Failed to read the 'signal' property from 'StreamPipeOptions': The provided value is not of type 'AbortSignal'.`);
  }
  return value as AbortSignalLike;
}

/** ReadableStreamPipeTo. */
export function readableStreamPipeTo(
  source: ReadableStreamSlots,
  dest: WritableStreamSlots,
  preventClose: boolean,
  preventAbort: boolean,
  preventCancel: boolean,
  signal: AbortSignalLike | undefined,
): Promise<undefined> {
  // A byte source could use a BYOB reader; a default reader is allowed for both (step 6).
  const reader = newDefaultReaderSlots(source);
  const writer = newWriterSlots(dest);
  source.disturbed = true;
  let shuttingDown = false;
  const promise = newDeferred<undefined>();
  // The last write started; shutdown waits for it (and any later one) to settle.
  let currentWrite: Promise<unknown> = promiseResolvedWith(undefined);
  let abortAlgorithm: (() => void) | undefined;

  if (signal !== undefined) {
    abortAlgorithm = () => {
      const error = signal.reason;
      const actions: (() => Promise<unknown>)[] = [];
      if (!preventAbort) {
        actions.push(() => (dest.state === "writable" ? writableStreamAbort(dest, error) : promiseResolvedWith(undefined)));
      }
      if (!preventCancel) {
        actions.push(() => (source.state === "readable" ? readableStreamCancel(source, error) : promiseResolvedWith(undefined)));
      }
      shutdownWithAction(() => waitForAll(actions.map((action) => action())), true, error);
    };
    if (signal.aborted) {
      abortAlgorithm();
      return promise.promise;
    }
    ReflectApply(signal.addEventListener, signal, ["abort", abortAlgorithm]);
  }

  /** One step of the loop: wait for the writer to be ready, read a chunk, start writing it. Resolves true when done. */
  function pipeStep(): Promise<boolean> {
    if (shuttingDown) return promiseResolvedWith(true);
    return uponPromise(writer.readyPromise.promise, () => {
      const d = newDeferred<boolean>();
      readableStreamDefaultReaderRead(reader, {
        chunkSteps: (chunk) => {
          // The write starts a microtask later, never inside the enqueue() that delivered
          // the chunk (as when reading through the reader's promises).
          currentWrite = uponPromise(promiseResolvedWith(undefined), () => uponPromise(writerWrite(writer, chunk), undefined, () => {}));
          d.resolve(false);
        },
        closeSteps: () => d.resolve(true),
        errorSteps: (e) => d.reject(e),
      });
      return d.promise;
    });
  }

  function pipeLoop(): void {
    const next = (done: boolean): void => {
      if (done) return;
      uponSettle(pipeStep(), next, () => {});
    };
    next(false);
  }

  function waitForWritesToFinish(): Promise<unknown> {
    const oldCurrentWrite = currentWrite;
    return uponPromise(currentWrite, () => (oldCurrentWrite !== currentWrite ? waitForWritesToFinish() : undefined));
  }

  function isOrBecomesErrored(stream: { state: string; storedError: unknown }, closed: Promise<unknown>, action: (e: unknown) => void): void {
    if (stream.state === "errored") action(stream.storedError);
    else uponRejection(closed, action);
  }

  function shutdownWithAction(action: () => Promise<unknown>, originalIsError: boolean, originalError?: unknown): void {
    if (shuttingDown) return;
    shuttingDown = true;
    const doTheRest = (): void => {
      uponSettle(
        action(),
        () => finalize(originalIsError, originalError),
        (newError) => finalize(true, newError),
      );
    };
    if (dest.state === "writable" && !writableStreamCloseQueuedOrInFlight(dest)) uponFulfillment(waitForWritesToFinish(), doTheRest);
    else doTheRest();
  }

  function shutdown(isError: boolean, error?: unknown): void {
    if (shuttingDown) return;
    shuttingDown = true;
    if (dest.state === "writable" && !writableStreamCloseQueuedOrInFlight(dest)) {
      uponFulfillment(waitForWritesToFinish(), () => finalize(isError, error));
    } else {
      finalize(isError, error);
    }
  }

  function finalize(isError: boolean, error?: unknown): void {
    writerRelease(writer);
    readableStreamDefaultReaderRelease(reader);
    if (signal !== undefined) ReflectApply(signal.removeEventListener, signal, ["abort", abortAlgorithm]);
    if (isError) promise.reject(error);
    else promise.resolve(undefined);
  }

  // Errors must be propagated forward.
  isOrBecomesErrored(source, reader.closedPromise.promise, (storedError) => {
    if (!preventAbort) shutdownWithAction(() => writableStreamAbort(dest, storedError), true, storedError);
    else shutdown(true, storedError);
  });
  // Errors must be propagated backward.
  isOrBecomesErrored(dest, writer.closedPromise.promise, (storedError) => {
    if (!preventCancel) shutdownWithAction(() => readableStreamCancel(source, storedError), true, storedError);
    else shutdown(true, storedError);
  });
  // Closing must be propagated forward.
  if (source.state === "closed") closeForward();
  else uponFulfillment(reader.closedPromise.promise, closeForward);
  function closeForward(): void {
    if (!preventClose) shutdownWithAction(() => writerCloseWithErrorPropagation(writer), false);
    else shutdown(false);
  }
  // Closing must be propagated backward.
  if (writableStreamCloseQueuedOrInFlight(dest) || dest.state === "closed") {
    const destClosed = new TypeError("the destination writable stream closed before all data could be piped to it");
    if (!preventCancel) shutdownWithAction(() => readableStreamCancel(source, destClosed), true, destClosed);
    else shutdown(true, destClosed);
  }

  pipeLoop();
  return promise.promise;
}

/** "Getting a promise to wait for all" of the given promises (WebIDL). */
function waitForAll(promises: Promise<unknown>[]): Promise<undefined> {
  const d = newDeferred<undefined>();
  let remaining = promises.length;
  if (remaining === 0) d.resolve(undefined);
  for (let i = 0; i < promises.length; i++) {
    uponSettle(
      promises[i]!,
      () => {
        if (--remaining === 0) d.resolve(undefined);
      },
      (e) => d.reject(e),
    );
  }
  return d.promise;
}
