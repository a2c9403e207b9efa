/**
 * queueMicrotask (HTML §8.7): V8 has the microtask queue but not this global. An
 * exception in the callback is reported — logged as an error of the invocation that
 * queued it — and does not reject anything, as in browsers.
 */
import { hostOps } from "./host-ops.ts";
import { currentInvocation } from "./invocation-scope.ts";

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
        const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : `Uncaught ${String(err)}`;
        hostOps().log(currentInvocation(), "error", text);
      }
    },
  ]);
}
