/**
 * The spans a worker host records for one sampled invocation when it ends: the request
 * (its root here), admission and the execution when they have something to show, and the
 * cold start. Host operations added
 * their own spans while it ran (invocation-ops.ts). The tree is in telemetry/invocation-trace.ts.
 */
import type { ErrorData } from "../errors/index.ts";
import type { InvocationTrace, SpanAttributes } from "../telemetry/index.ts";
import type { WireRequest } from "./protocol.ts";
import { whatRan } from "./request-line.ts";

/** When each part of the invocation began and ended (performance.now() ms); absent parts did not happen. */
export interface InvocationTimes {
  arrival: number;
  admitted?: number;
  /** This request waited for the instance it started: [start begun, instance ready]. */
  coldStart?: [number, number];
  coldKind?: "pool" | "new_isolate";
  codeCache?: string;
  execution?: [number, number];
  end: number;
}

export interface InvocationFacts {
  tenant: string;
  function: string;
  version: string;
  invocationId: string;
  status: number | undefined;
  error: ErrorData | null;
  cpuMs?: number;
}

/** Admission shorter than this gets no span of its own. */
export const admissionSpanMinMs = 0.1;

export function recordInvocationSpans(trace: InvocationTrace, request: WireRequest, times: InvocationTimes, facts: InvocationFacts): void {
  // Only when admission took time (a wait for a slot, a placement, a throttle): on the warm
  // path it takes microseconds, and an empty span would cost a third of the export.
  if (times.admitted !== undefined && (times.admitted - times.arrival >= admissionSpanMinMs || facts.error !== null && times.execution === undefined)) {
    trace.add("flick.admission", "internal", times.arrival, times.admitted, {});
  }
  if (times.coldStart !== undefined) {
    const attributes: SpanAttributes = { "flick.cold_start.kind": times.coldKind ?? "new_isolate" };
    if (times.codeCache !== undefined) attributes["flick.code_cache"] = times.codeCache;
    // The instance may have started before this request arrived (it was placed for an earlier one).
    trace.add("flick.cold_start", "internal", Math.max(times.arrival, times.coldStart[0]), times.coldStart[1], attributes);
  }
  // The execution gets a span of its own when there is something to see in it: calls the
  // handler made (their spans hang under it), a failure, or a cold start before it. A warm
  // request that only ran would get a span that repeats the request's, and at 100 %
  // sampling that second span was half of what tracing cost; its CPU time goes on the
  // request span instead.
  const execution = times.execution;
  const executionSpan = execution !== undefined && (facts.error !== null || times.coldStart !== undefined || trace.hasExecutionChildren());
  if (executionSpan) {
    trace.add("flick.execution", "internal", execution[0], execution[1], facts.cpuMs === undefined ? {} : { "flick.cpu_ms": round(facts.cpuMs) }, {
      spanId: trace.executionSpanId,
      ...(facts.error === null ? {} : { error: `${facts.error.code}: ${facts.error.message}` }),
    });
  }
  const { method, path } = whatRan(request);
  const attributes: SpanAttributes = {
    "http.request.method": method,
    "url.path": path,
    "flick.tenant": facts.tenant,
    "flick.function": facts.function,
    "flick.version": facts.version,
    "flick.invocation_id": facts.invocationId,
    "flick.cold": times.coldStart !== undefined,
  };
  if (facts.status !== undefined) attributes["http.response.status_code"] = facts.status;
  if (!executionSpan && facts.cpuMs !== undefined) attributes["flick.cpu_ms"] = round(facts.cpuMs);
  if (facts.error !== null) attributes["flick.error_code"] = facts.error.code;
  // An async attempt says which it is (async-invocations.ts sets the header).
  for (let i = 0; i + 1 < request.headers.length; i += 2) {
    if (request.headers[i] === "x-flick-attempt") attributes["flick.attempt"] = Number(request.headers[i + 1]) || 0;
  }
  const error = facts.error !== null ? `${facts.error.code}: ${facts.error.message}` : facts.status !== undefined && facts.status >= 500 ? `HTTP ${facts.status}` : undefined;
  trace.addRoot(`${method} /fn/${facts.function}`, times.arrival, times.end, attributes, error);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
