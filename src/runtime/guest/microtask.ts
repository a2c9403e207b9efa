/**
 * queueMicrotask (HTML §8.7): V8 has the microtask queue but not this global. An
 * exception in the callback is reported (an `error` event on the global scope, then the
 * function's logs) and does not reject anything, as in browsers.
 */
import { reportException } from "./web/event-target.ts";

const resolved = Promise.resolve();
const then = Promise.prototype.then;

export function queueMicrotask(callback: unknown): void {
  if (typeof callback !== "function") {
    throw new TypeError("Failed to execute 'queueMicrotask': parameter 1 is not of type 'Function'.");
  }
  Reflect.apply(then, resolved, [
    () => {
      try {
        Reflect.apply(callback, undefined, []);
      } catch (err) {
        reportException(err);
      }
    },
  ]);
}
