/**
 * Async iteration of a ReadableStream (Streams §4.2.6, on top of WebIDL §3.7.10
 * "asynchronous iterator prototype object"): `for await (const chunk of stream)`.
 *
 * WebIDL serialises calls: each next()/return() waits for the previous one (the
 * "ongoing promise"), so `it.next(); it.next(); it.return()` settle in order.
 */
import {
  AsyncIteratorPrototype,
  ObjectCreate,
  ObjectDefineProperty,
  SymbolToStringTag,
} from "./intrinsics.ts";
import { illegalInvocation } from "./idl.ts";
import { newDeferred, promiseRejectedWith, promiseResolvedWith, uponPromise } from "./promise-helpers.ts";
import {
  newDefaultReaderSlots,
  readableStreamCancel,
  readableStreamDefaultReaderRead,
  readableStreamDefaultReaderRelease,
} from "./readable-stream-ops.ts";
import type { DefaultReaderSlots, ReadableStreamSlots } from "./readable-stream-slots.ts";

export interface ReadableStreamAsyncIterator<R> extends AsyncIterator<R, undefined, undefined> {
  [Symbol.asyncIterator](): ReadableStreamAsyncIterator<R>;
}

interface IteratorState {
  reader: DefaultReaderSlots;
  preventCancel: boolean;
  isFinished: boolean;
  ongoingPromise: Promise<IteratorResult<unknown>> | null;
}

const END = Symbol("end of iteration");

const states = new WeakMap<object, IteratorState>();

function iterResult(value: unknown, done: boolean): IteratorResult<unknown> {
  return { value, done } as IteratorResult<unknown>;
}

/** Streams' "get the next iteration result". */
function nextIterationResult(state: IteratorState): Promise<unknown> {
  const reader = state.reader;
  const d = newDeferred<unknown>();
  readableStreamDefaultReaderRead(reader, {
    chunkSteps: (chunk) => d.resolve(chunk),
    closeSteps: () => {
      readableStreamDefaultReaderRelease(reader);
      d.resolve(END);
    },
    errorSteps: (e) => {
      readableStreamDefaultReaderRelease(reader);
      d.reject(e);
    },
  });
  return d.promise;
}

/** Streams' "asynchronous iterator return". */
function iteratorReturn(state: IteratorState, arg: unknown): Promise<undefined> {
  const reader = state.reader;
  if (reader.stream === undefined) return promiseResolvedWith(undefined);
  if (!state.preventCancel) {
    const stream = reader.stream;
    const result = readableStreamCancel(stream, arg);
    readableStreamDefaultReaderRelease(reader);
    return result;
  }
  readableStreamDefaultReaderRelease(reader);
  return promiseResolvedWith(undefined);
}

// %ReadableStreamAsyncIteratorPrototype%: inherits %AsyncIteratorPrototype%, so it gets
// [Symbol.asyncIterator]() { return this } from there.
const ReadableStreamAsyncIteratorPrototype = ObjectCreate(AsyncIteratorPrototype) as object;

function next(this: unknown): Promise<IteratorResult<unknown>> {
  const state = typeof this === "object" && this !== null ? states.get(this) : undefined;
  if (state === undefined) return promiseRejectedWith(illegalInvocation());
  const nextSteps = (): Promise<IteratorResult<unknown>> => {
    if (state.isFinished) return promiseResolvedWith(iterResult(undefined, true));
    return uponPromise(
      nextIterationResult(state),
      (value) => {
        state.ongoingPromise = null;
        if (value === END) {
          state.isFinished = true;
          return iterResult(undefined, true);
        }
        return iterResult(value, false);
      },
      (reason) => {
        state.ongoingPromise = null;
        state.isFinished = true;
        throw reason;
      },
    );
  };
  const ongoing = state.ongoingPromise;
  state.ongoingPromise = ongoing === null ? nextSteps() : uponPromise(ongoing, nextSteps, nextSteps);
  return state.ongoingPromise;
}

function return_(this: unknown, value: unknown = undefined): Promise<IteratorResult<unknown>> {
  const state = typeof this === "object" && this !== null ? states.get(this) : undefined;
  if (state === undefined) return promiseRejectedWith(illegalInvocation());
  const returnSteps = (): Promise<unknown> => {
    if (state.isFinished) return promiseResolvedWith(iterResult(value, true));
    state.isFinished = true;
    return iteratorReturn(state, value);
  };
  const ongoing = state.ongoingPromise;
  // WebIDL (since whatwg/webidl#1387): return() also becomes the ongoing promise, so a
  // later next() waits for the cancellation to finish.
  const afterOngoing = ongoing === null ? returnSteps() : uponPromise(ongoing, returnSteps, returnSteps);
  state.ongoingPromise = afterOngoing as Promise<IteratorResult<unknown>>;
  return uponPromise(afterOngoing, () => iterResult(value, true));
}

ObjectDefineProperty(next, "name", { value: "next" });
ObjectDefineProperty(return_, "name", { value: "return" });
// WebIDL's asynchronous iterator return(): SetFunctionLength(F, 1), though its argument is optional.
ObjectDefineProperty(return_, "length", { value: 1 });
ObjectDefineProperty(ReadableStreamAsyncIteratorPrototype, "next", { value: next, writable: true, enumerable: true, configurable: true });
ObjectDefineProperty(ReadableStreamAsyncIteratorPrototype, "return", { value: return_, writable: true, enumerable: true, configurable: true });
ObjectDefineProperty(ReadableStreamAsyncIteratorPrototype, SymbolToStringTag, {
  value: "ReadableStream AsyncIterator",
  configurable: true,
});

/** Create the iterator for `values()` / `[Symbol.asyncIterator]()`; acquiring the reader throws if locked. */
export function createAsyncIterator(stream: ReadableStreamSlots, preventCancel: boolean): ReadableStreamAsyncIterator<unknown> {
  const reader = newDefaultReaderSlots(stream);
  const iterator = ObjectCreate(ReadableStreamAsyncIteratorPrototype) as ReadableStreamAsyncIterator<unknown>;
  states.set(iterator, { reader, preventCancel, isFinished: false, ongoingPromise: null });
  return iterator;
}
