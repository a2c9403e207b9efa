/**
 * ReadableStreamFromIterable (Streams §4.9.1), behind `ReadableStream.from()`.
 */
import { ReflectApply, SymbolAsyncIterator, SymbolIterator } from "./intrinsics.ts";
import { isObject } from "./idl.ts";
import { promiseRejectedWith, promiseResolvedWith, uponPromise } from "./promise-helpers.ts";
import { defaultControllerClose, defaultControllerEnqueue } from "./readable-stream-default-controller.ts";
import type { DefaultControllerSlots, ReadableStreamSlots } from "./readable-stream-slots.ts";
import { createReadableStream } from "./readable-stream.ts";

interface IteratorRecord {
  iterator: object;
  nextMethod: unknown;
}

/** ECMAScript GetMethod: undefined and null mean "absent", anything else must be callable. */
function getMethod(obj: unknown, key: PropertyKey): ((...args: unknown[]) => unknown) | undefined {
  const fn = (obj as Record<PropertyKey, unknown>)[key];
  if (fn === undefined || fn === null) return undefined;
  if (typeof fn !== "function") throw new TypeError(`${String(key)} is not a function`);
  return fn as (...args: unknown[]) => unknown;
}

/** ECMAScript GetIteratorFromMethod. */
function getIteratorFromMethod(obj: unknown, method: (...args: unknown[]) => unknown): IteratorRecord {
  const iterator = ReflectApply(method, obj, []);
  if (!isObject(iterator)) throw new TypeError("The iterator is not an object");
  return { iterator, nextMethod: (iterator as { next: unknown }).next };
}

/**
 * ECMAScript CreateAsyncFromSyncIterator, reduced to what from() uses: next() awaits the
 * value of a sync step, return() forwards to the sync iterator's return.
 */
function createAsyncFromSyncIterator(syncRecord: IteratorRecord): IteratorRecord {
  const closeSync = (): void => {
    // AsyncFromSyncIteratorContinuation closes the sync iterator when a yielded promise rejects.
    const ret = getMethod(syncRecord.iterator, "return");
    if (ret !== undefined) ReflectApply(ret, syncRecord.iterator, []);
  };
  const asyncIterator = {
    next(): Promise<IteratorResult<unknown>> {
      let result: unknown;
      try {
        result = ReflectApply(syncRecord.nextMethod as () => unknown, syncRecord.iterator, []);
        if (!isObject(result)) throw new TypeError("The iterator result is not an object");
      } catch (e) {
        return promiseRejectedWith(e);
      }
      return continuation(result as IteratorResult<unknown>, true);
    },
    return(value: unknown): Promise<IteratorResult<unknown>> {
      let result: unknown;
      try {
        const ret = getMethod(syncRecord.iterator, "return");
        if (ret === undefined) return promiseResolvedWith({ value, done: true });
        result = ReflectApply(ret, syncRecord.iterator, [value]);
        if (!isObject(result)) throw new TypeError("The iterator result is not an object");
      } catch (e) {
        return promiseRejectedWith(e);
      }
      return continuation(result as IteratorResult<unknown>, false);
    },
  };
  function continuation(result: IteratorResult<unknown>, closeOnRejection: boolean): Promise<IteratorResult<unknown>> {
    let done: boolean;
    let valueWrapper: Promise<unknown>;
    try {
      done = !!result.done;
      valueWrapper = promiseResolvedWith(result.value);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    return uponPromise(
      valueWrapper,
      (v) => ({ value: v, done }) as IteratorResult<unknown>,
      (e) => {
        if (!done && closeOnRejection) closeSync();
        throw e;
      },
    );
  }
  return { iterator: asyncIterator, nextMethod: asyncIterator.next };
}

/** ECMAScript GetIterator(obj, async). */
function getAsyncIterator(obj: unknown): IteratorRecord {
  const method = getMethod(obj, SymbolAsyncIterator);
  if (method === undefined) {
    const syncMethod = getMethod(obj, SymbolIterator);
    if (syncMethod === undefined) throw new TypeError("ReadableStream.from: the argument is not async iterable");
    return createAsyncFromSyncIterator(getIteratorFromMethod(obj, syncMethod));
  }
  return getIteratorFromMethod(obj, method);
}

/** ReadableStreamFromIterable. */
export function readableStreamFromIterable(asyncIterable: unknown): ReadableStreamSlots {
  if (asyncIterable === undefined || asyncIterable === null) {
    throw new TypeError("ReadableStream.from: the argument is not async iterable");
  }
  let stream!: ReadableStreamSlots;
  const iteratorRecord = getAsyncIterator(asyncIterable);
  const startAlgorithm = (): undefined => undefined;
  const pullAlgorithm = (): Promise<undefined> => {
    let nextResult: unknown;
    try {
      nextResult = ReflectApply(iteratorRecord.nextMethod as () => unknown, iteratorRecord.iterator, []);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    return uponPromise(promiseResolvedWith(nextResult), (iterResult) => {
      if (!isObject(iterResult)) throw new TypeError("The promise returned by the iterator.next() method must fulfill with an object");
      const done = !!(iterResult as IteratorResult<unknown>).done;
      if (done) defaultControllerClose(stream.controller as DefaultControllerSlots);
      else defaultControllerEnqueue(stream.controller as DefaultControllerSlots, (iterResult as IteratorResult<unknown>).value);
      return undefined;
    });
  };
  const cancelAlgorithm = (reason: unknown): Promise<undefined> => {
    const iterator = iteratorRecord.iterator;
    let returnResult: unknown;
    try {
      const returnMethod = getMethod(iterator, "return");
      if (returnMethod === undefined) return promiseResolvedWith(undefined);
      returnResult = ReflectApply(returnMethod, iterator, [reason]);
    } catch (e) {
      return promiseRejectedWith(e);
    }
    return uponPromise(promiseResolvedWith(returnResult), (iterResult) => {
      if (!isObject(iterResult)) throw new TypeError("The promise returned by the iterator.return() method must fulfill with an object");
      return undefined;
    });
  };
  stream = createReadableStream(startAlgorithm, pullAlgorithm, cancelAlgorithm, 0);
  return stream;
}
