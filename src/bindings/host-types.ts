/**
 * What a binding kind's host side (src/bindings/<kind>/host.ts) gets from the worker host
 * for one call on the binding channel, and answers. The host has already found the
 * binding's target (a function of the same tenant) and counted nothing yet: the kind counts
 * its subrequest, checks its arguments again, and makes its call to the platform.
 */
import type { SpanKindName } from "../telemetry/index.ts";
import type { CallResult } from "../host/protocol.ts";

/** The trace context an outgoing call carries: the callee's work continues the caller's trace. */
export interface BindingCallContext {
  /** `<tenant>/<function>` of the caller, and the invocation making the call. */
  readonly caller: string;
  readonly invocationId: string;
  /** How deep in binding calls the caller runs (a request to /fn: 0). */
  readonly depth: number;
  /** The queue hops of the event the caller runs; undefined for a request to /fn. */
  readonly hops: number | undefined;
  /** Counts one subrequest of the invocation: null, or why it is refused (`too many subrequests: …`). */
  subrequest(what: string): string | null;
  /**
   * Counts one operation of the invocation on `counter` (a kind's own budget, e.g. KV's 1,000
   * operations per request, which are not subrequests): false once `limit` were counted.
   */
  count(counter: string, limit: number): boolean;
  /** Why an outbound request is malformed or over fetch()'s limits (URL, headers, body), or null. */
  checkRequest(url: string, headers: readonly string[], body: Uint8Array | null, redirect: string): string | null;
  /** Runs `work` in one of the invocation's outbound connections (fetch() and service calls share them). */
  connection<T>(work: () => Promise<T>): Promise<T>;
  /** A line in the function's logs. */
  log(level: "info" | "warn", message: string): void;
  /**
   * Calls the kind's platform side (./platform.ts) with `method`, `strings` and `buffers` as a
   * child span `span` of the invocation (recorded when it is sampled). The call carries the
   * caller, the binding's target, depth, hops and the trace context the platform's work
   * continues; `errorOf` says whether the result failed, `attributes` what the span records.
   */
  call(
    span: { name: string; kind: SpanKindName; attributes: (result: CallResult | undefined) => Record<string, string | number | boolean> },
    method: string,
    strings: string[],
    buffers: Uint8Array[],
    errorOf: (result: CallResult) => string | undefined,
  ): Promise<CallResult>;
}

/**
 * A call's outcome: no error name and the method's result, or the error the guest rejects
 * with. The same shape as the platform's answer (host/protocol.ts `CallResult`), so a kind
 * may pass that on as it is.
 */
export type BindingAnswer = CallResult;

export interface BindingHost {
  readonly kind: string;
  call(ctx: BindingCallContext, name: string, target: string, method: string, strings: string[], buffers: Uint8Array[]): Promise<BindingAnswer>;
}

/** An answer with no result: "" when the call succeeded, else its error (an `Error`, or `name`). */
export const answer = (error: string, name = "Error"): BindingAnswer => ({ errorName: error === "" ? "" : name, error, strings: [], buffers: [] });
