export { NodeMetrics, type InvocationCounts, type MetricsSource } from "./metrics.ts";
export { epochMs, InvocationTrace, spanErrorMax, spanNameMax, TraceBudget, type SpanAttributes, type SpanData, type SpanKindName } from "./invocation-trace.ts";
export { startOtlpExport, type OtlpExport, type OtlpLogLine } from "./otlp-export.ts";
export { formatTraceparent, newSpanId, newTraceId, parseTraceparent, redactedUrl, traceParentOf, withTraceHeaders, type TraceParent } from "./trace-context.ts";
export { TraceSink } from "./trace-sink.ts";
export { apiQueueTrace, sendQueueTrace, type QueueTrace } from "./queue-trace.ts";
