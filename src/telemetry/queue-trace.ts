/**
 * Trace context for what the primary queues: an async invocation from the API, messages a
 * queue binding sends. The context is stored with each invocation (`InvocationRecord.trace`)
 * and every attempt carries it as its `traceparent`, so a retry, a dead letter's replay and
 * the first try all sit in one trace, under the span that queued them. When sampled, the
 * primary records that span and the store commit under it.
 */
import type { SpanAttributes, SpanData } from "./invocation-trace.ts";
import { formatTraceparent, newSpanId, newTraceId, parseTraceparent, type TraceParent } from "./trace-context.ts";
import type { TraceSink } from "./trace-sink.ts";

export interface QueueTrace {
  /** What the queued invocations store. */
  trace: string;
  traceState: string | null;
  /** Records the queueing span and its commit (sampled traces only); times are epoch ms. */
  record(start: number, commitStart: number, end: number, attributes: SpanAttributes, error: string | undefined): void;
}

/**
 * For an API request with these headers: the caller's trace (its sampled flag decides) or a
 * new one sampled at `ratio`. The queueing span is a server span under the caller's.
 */
export function apiQueueTrace(sink: TraceSink | undefined, ratio: number, traceparent: string | undefined, tracestate: string | undefined, name: string): QueueTrace {
  const caller = parseTraceparent(traceparent, tracestate);
  const sampled = caller !== undefined ? caller.sampled : ratio > 0 && Math.random() < ratio;
  return queueTrace(sink, caller ?? { traceId: newTraceId(), spanId: "", sampled, state: undefined }, sampled, name, "server");
}

/**
 * For a queue binding's send: the sender's host made a span for it (the parent here); the
 * commit is its child. Nothing else is recorded: the host records the send itself.
 */
export function sendQueueTrace(sink: TraceSink | undefined, traceparent: string | undefined, tracestate: string | undefined): QueueTrace | undefined {
  const sender = parseTraceparent(traceparent, tracestate);
  if (sender === undefined) return undefined;
  return {
    trace: formatTraceparent(sender.traceId, sender.spanId, sender.sampled),
    traceState: sender.state ?? null,
    record(_start, commitStart, end, attributes, error) {
      if (!sender.sampled || sink === undefined) return;
      sink.add([span(sender.traceId, newSpanId(), sender.spanId, "flick.store.commit", "internal", commitStart, end, attributes, error)]);
    },
  };
}

function queueTrace(sink: TraceSink | undefined, parent: TraceParent, sampled: boolean, name: string, kind: "server" | "internal"): QueueTrace {
  const spanId = newSpanId();
  return {
    trace: formatTraceparent(parent.traceId, spanId, sampled),
    traceState: parent.state ?? null,
    record(start, commitStart, end, attributes, error) {
      if (!sampled || sink === undefined) return;
      sink.add([
        span(parent.traceId, spanId, parent.spanId === "" ? undefined : parent.spanId, name, kind, start, end, attributes, error),
        span(parent.traceId, newSpanId(), spanId, "flick.store.commit", "internal", commitStart, end, {}, error),
      ]);
    },
  };
}

function span(
  traceId: string, spanId: string, parent: string | undefined, name: string, kind: SpanData["kind"], startMs: number, endMs: number, attributes: SpanAttributes, error: string | undefined,
): SpanData {
  const s: SpanData = { traceId, spanId, name, kind, startMs, endMs, attributes };
  if (parent !== undefined) s.parentSpanId = parent;
  if (error !== undefined) s.error = error;
  return s;
}
