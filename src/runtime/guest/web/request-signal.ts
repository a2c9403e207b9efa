/**
 * Request's `signal` (Fetch §5.4 step 30): a dependent AbortSignal following the signal
 * the Request was built from (init.signal, or the input Request's signal), or a signal
 * that never aborts. Requests the host hands to `fetch()` handlers get the latter.
 */
import { createAbortSignal, createDependentAbortSignal, isAbortSignal, type AbortSignal } from "./abort.ts";

export type RequestSignal = AbortSignal;

/** A signal for a Request, following `parent` when it is an AbortSignal. */
export function createRequestSignal(parent: unknown): RequestSignal {
  return isAbortSignal(parent) ? createDependentAbortSignal([parent]) : createAbortSignal();
}
