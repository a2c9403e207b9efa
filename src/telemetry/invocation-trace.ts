/**
 * The spans of one sampled invocation, recorded where it runs (the worker host), which
 * keeps them for `flick trace` and exports them over OTLP (trace-sink.ts). Spans are
 * plain data here: the hot path pays for a few objects per sampled request, nothing per
 * unsampled one.
 *
 * The tree of one invocation (docs/observability.md lists every span and attribute):
 *   flick.request (server)          arrival → end of the answer; parent: the caller's span
 *   ├─ flick.admission              arrival → a slot (queue wait, a cold start's placement)
 *   ├─ flick.cold_start             the instance's start, when this request made one
 *   └─ flick.execution              the handler, until the answer ended
 *      ├─ fetch <METHOD> (client)   each outbound fetch; its id is the traceparent sent
 *      ├─ flick.service <name>      each service-binding call (the callee's flick.request is its child)
 *      ├─ flick.queue.send          each queue-binding send (the messages' attempts are its children)
 *      └─ crypto.subtle.<method>    each crypto.subtle call
 *   flick.logs.commit               the wait for the invocation's log lines to be stored
 */
import { formatTraceparent, newSpanId, newTraceId, type TraceParent } from "./trace-context.ts";

export type SpanKindName = "server" | "client" | "internal" | "producer" | "consumer";
export type SpanAttributes = Record<string, string | number | boolean>;

export interface SpanData {
  traceId: string;
  spanId: string;
  /** Absent for a trace's root. */
  parentSpanId?: string;
  name: string;
  kind: SpanKindName;
  /** Unix epoch, ms (fractional). */
  startMs: number;
  endMs: number;
  attributes: SpanAttributes;
  /** The work failed: the status message (OTLP status ERROR). */
  error?: string;
}

/**
 * How many invocations a host may record per second (`flick up --trace-max-rate`, split
 * over its hosts), as a token bucket with a second's worth of burst. Recording and
 * exporting a trace costs a hello-world request about a tenth of its throughput; the cap bounds
 * what sampling, or clients that mark their requests sampled, can take from everyone.
 */
export class TraceBudget {
  private tokens: number;
  private at = performance.now();
  private readonly perSecond: number;

  constructor(perSecond: number) {
    this.perSecond = perSecond;
    this.tokens = perSecond;
  }

  take(): boolean {
    const now = performance.now();
    this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.at) * this.perSecond) / 1000);
    this.at = now;
    if (this.tokens < 1) return false;
    this.tokens--;
    return true;
  }
}

/** Characters of a span's name and error message kept. */
export const spanNameMax = 128;
export const spanErrorMax = 512;

/** `performance.now()` ms → Unix epoch ms. */
export function epochMs(perfMs: number): number {
  return performance.timeOrigin + perfMs;
}

export class InvocationTrace {
  readonly traceId: string;
  readonly state: string | undefined;
  readonly parentSpanId: string | undefined;
  /** The invocation's own span (flick.request): the parent of the rest. */
  readonly spanId = newSpanId();
  private executionSpan: string | undefined;
  spans: SpanData[] = [];

  constructor(traceId: string, parentSpanId: string | undefined, state: string | undefined) {
    this.traceId = traceId;
    this.parentSpanId = parentSpanId;
    this.state = state;
  }

  /**
   * A trace for an invocation that arrived with `parent` (or none), if it is sampled (see
   * trace-context.ts) and `budget` has room: a client that marks every request sampled
   * gets as many recorded as the budget allows, not all of them.
   */
  static start(parent: TraceParent | undefined, ratio: number, budget?: TraceBudget): InvocationTrace | undefined {
    const sampled = parent !== undefined ? parent.sampled : ratio > 0 && Math.random() < ratio;
    if (!sampled || (budget !== undefined && !budget.take())) return undefined;
    return parent !== undefined ? new InvocationTrace(parent.traceId, parent.spanId, parent.state) : new InvocationTrace(newTraceId(), undefined, undefined);
  }

  /** The execution span's id: the parent of host operations. Made when first asked for (most warm requests never do). */
  get executionSpanId(): string {
    return (this.executionSpan ??= newSpanId());
  }

  /** Whether a host operation recorded a span under the execution (invocation-ops.ts). */
  hasExecutionChildren(): boolean {
    if (this.executionSpan === undefined) return false;
    for (const span of this.spans) if (span.parentSpanId === this.executionSpan) return true;
    return false;
  }

  /** Records a span under the request span (or `options.parent`); times are `performance.now()` ms. */
  add(
    name: string,
    kind: SpanKindName,
    startPerfMs: number,
    endPerfMs: number,
    attributes: SpanAttributes,
    options: { parent?: string; spanId?: string; error?: string } = {},
  ): void {
    this.push(options.spanId ?? newSpanId(), options.parent ?? this.spanId, name, kind, startPerfMs, endPerfMs, attributes, options.error);
  }

  /** The invocation's own span, with the caller's span as its parent. Call once, at the end. */
  addRoot(name: string, startPerfMs: number, endPerfMs: number, attributes: SpanAttributes, error: string | undefined): void {
    this.push(this.spanId, this.parentSpanId, name, "server", startPerfMs, endPerfMs, attributes, error);
  }

  /**
   * Names and errors come from what a tenant controls (a fetch's method, a failure that
   * quotes a 16 KiB URL): cut, so each span kept in the host's window stays small.
   */
  private push(
    spanId: string, parent: string | undefined, name: string, kind: SpanKindName, startPerfMs: number, endPerfMs: number, attributes: SpanAttributes, error: string | undefined,
  ): void {
    const span: SpanData = {
      traceId: this.traceId,
      spanId,
      name: name.length > spanNameMax ? name.slice(0, spanNameMax) : name,
      kind,
      startMs: epochMs(startPerfMs),
      endMs: epochMs(Math.max(startPerfMs, endPerfMs)),
      attributes,
    };
    if (parent !== undefined) span.parentSpanId = parent;
    if (error !== undefined) span.error = error.length > spanErrorMax ? `${error.slice(0, spanErrorMax)}…` : error;
    this.spans.push(span);
  }

  /** The `traceparent` an outbound call whose span is `spanId` carries. */
  traceparent(spanId: string): string {
    return formatTraceparent(this.traceId, spanId, true);
  }
}
