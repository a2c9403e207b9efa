/**
 * The promise vocabulary of the WebIDL and Streams specs ("a new promise", "a promise
 * resolved with", "upon fulfillment", "set [[PromiseIsHandled]]"), built on the captured
 * originals so user code patching `Promise.prototype.then` cannot change stream behaviour.
 */
import { PromiseCtor, PromisePrototypeThen, PromiseReject, PromiseResolve } from "./intrinsics.ts";

/** A promise together with its resolving functions and whether it has settled yet. */
export interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason: unknown) => void;
  /** "pending" until resolve or reject is called (resolving with a thenable counts as settled here). */
  state: "pending" | "fulfilled" | "rejected";
}

/** "A new promise", with its resolve/reject functions and settled state at hand. */
export function newDeferred<T>(): Deferred<T> {
  let res!: (value: T | PromiseLike<T>) => void;
  let rej!: (reason: unknown) => void;
  const promise = new PromiseCtor<T>((resolve, reject) => {
    res = resolve;
    rej = reject;
  });
  const deferred: Deferred<T> = {
    promise,
    resolve(value) {
      if (deferred.state !== "pending") return;
      deferred.state = "fulfilled";
      res(value);
    },
    reject(reason) {
      if (deferred.state !== "pending") return;
      deferred.state = "rejected";
      rej(reason);
    },
    state: "pending",
  };
  return deferred;
}

/** A deferred already resolved with `value`. */
export function resolvedDeferred<T>(value: T): Deferred<T> {
  const d = newDeferred<T>();
  d.resolve(value);
  return d;
}

/** A deferred already rejected with `reason`, marked as handled. */
export function rejectedHandledDeferred<T>(reason: unknown): Deferred<T> {
  const d = newDeferred<T>();
  d.reject(reason);
  setPromiseIsHandled(d.promise);
  return d;
}

/**
 * WebIDL "a promise resolved with x": a new promise even when x already is one (unlike
 * `Promise.resolve`, which returns x itself), so callers never hand out a shared object.
 */
export function promiseResolvedWith<T>(value: T | PromiseLike<T>): Promise<T> {
  if ((typeof value !== "object" || value === null) && typeof value !== "function") {
    // Promise.resolve of a non-object cannot observe anything and allocates no closure.
    return PromiseResolve(value) as Promise<T>;
  }
  return new PromiseCtor<T>((resolve) => resolve(value));
}

/** WebIDL "a promise rejected with r". */
export function promiseRejectedWith<T = never>(reason: unknown): Promise<T> {
  return PromiseReject<T>(reason);
}

/** WebIDL "react to promise" / "upon fulfillment" / "upon rejection", on the original `then`. */
export function uponPromise<T, R1 = undefined, R2 = never>(
  promise: Promise<T>,
  onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
  onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
): Promise<R1 | R2> {
  return PromisePrototypeThen(promise, onFulfilled, onRejected);
}

function noop(): void {}

/** Mark a promise as handled so its rejection is never reported as unhandled. */
export function setPromiseIsHandled(promise: Promise<unknown>): void {
  PromisePrototypeThen(promise, undefined, noop);
}

/** "Upon fulfillment", with the derived promise marked handled (the spec creates none). */
export function uponFulfillment<T>(promise: Promise<T>, onFulfilled: (value: T) => unknown): void {
  setPromiseIsHandled(PromisePrototypeThen(promise, onFulfilled));
}

/** "Upon rejection", with the derived promise marked handled. */
export function uponRejection(promise: Promise<unknown>, onRejected: (reason: unknown) => unknown): void {
  setPromiseIsHandled(PromisePrototypeThen(promise, undefined, onRejected));
}

/** "Upon fulfillment / upon rejection" of the same promise, result ignored. */
export function uponSettle<T>(
  promise: Promise<T>,
  onFulfilled: (value: T) => unknown,
  onRejected: (reason: unknown) => unknown,
): void {
  setPromiseIsHandled(PromisePrototypeThen(promise, onFulfilled, onRejected));
}

/** "Queue a microtask" without the host's queueMicrotask (not present in a bare isolate). */
export function queueMicrotaskSteps(steps: () => void): void {
  PromisePrototypeThen(PromiseResolve(undefined), steps);
}
