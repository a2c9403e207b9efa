/**
 * What a binding kind's host side (src/bindings/<kind>/host.ts) gets from the worker host
 * for one call on the binding channel, and answers. The host has already found the
 * binding's target (a function of the same tenant) and counted nothing yet: the kind counts
 * its subrequest, checks its arguments again, and makes its call to the platform.
 */
import type { SpanKindName } from "../telemetry/index.ts";
import type { Call, CallResult } from "../host/protocol.ts";

/** The trace context an outgoing call carries: the callee's work continues the caller's trace. */
export interface OutboundTrace {
  parent: string;
  state: string | undefined;
}

export interface BindingCallContext {
  /** `<tenant>/<function>` of the caller. */
  readonly caller: string;
  /** The queue hops of the event the caller runs; undefined for a request to /fn. */
  readonly hops: number | undefined;
  /** Counts one subrequest of the invocation: null, or why it is refused (`too many subrequests: …`). */
  subrequest(what: string): string | null;
  /**
   * Makes `call` to the platform as a child span `span` of the invocation (recorded when it
   * is sampled), handing `make` the trace context the callee continues; `errorOf` says
   * whether the result failed, for the span.
   */
  call(span: { name: string; kind: SpanKindName; attributes: Record<string, string | number | boolean> }, make: (trace: OutboundTrace) => Call, errorOf: (result: CallResult) => string | undefined): Promise<CallResult>;
}

/** A call's outcome: "" and the method's result, or an error message the guest rejects with. */
export interface BindingAnswer {
  error: string;
  strings: string[];
  buffers: Uint8Array[];
}

export interface BindingHost {
  readonly kind: string;
  call(ctx: BindingCallContext, name: string, target: string, method: string, strings: string[], buffers: Uint8Array[]): Promise<BindingAnswer>;
}

/** An answer with no result: "" when the call succeeded, else its error. */
export const answer = (error: string): BindingAnswer => ({ error, strings: [], buffers: [] });
