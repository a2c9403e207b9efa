/**
 * Export over OTLP/HTTP (JSON) with the OpenTelemetry SDK: spans through its
 * BatchSpanProcessor and OTLPTraceExporter, log lines through its LoggerProvider and
 * OTLPLogExporter. `endpoint` is the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT:
 * traces go to `<endpoint>/v1/traces`, logs to `<endpoint>/v1/logs`. The exporters also
 * read OTEL_EXPORTER_OTLP_HEADERS (e.g. an API key) from the environment.
 *
 * Spans are made in worker hosts as plain data (invocation-trace.ts); here they become
 * the SDK's ReadableSpan. The SDK is loaded only when an endpoint is set, so a node that
 * does not export pays nothing for it at start.
 */
import type { Resource } from "@opentelemetry/resources";
import type { LogLevel, RequestFields } from "../model/index.ts";
import type { SpanData, SpanKindName } from "./invocation-trace.ts";

export interface OtlpExport {
  spans(spans: readonly SpanData[]): void;
  logs(lines: readonly OtlpLogLine[]): void;
  shutdown(): Promise<void>;
}

export interface OtlpLogLine {
  timeMs: number;
  level: LogLevel;
  message: string;
  tenant: string;
  function: string;
  invocationId: string;
  /** On an invocation's request line: what it was and how it went. */
  request?: RequestFields;
}

// OpenTelemetry's numeric enums (api: SpanKind, SpanStatusCode; logs: SeverityNumber).
const kinds: Record<SpanKindName, number> = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
const severities: Record<LogLevel, number> = { debug: 5, log: 9, info: 9, warn: 13, error: 17 };

function hrTime(ms: number): [number, number] {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

function normalizeEndpoint(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`--otlp-endpoint ${endpoint}: not a URL; give the collector's OTLP/HTTP base, e.g. http://127.0.0.1:4318`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new TypeError(`--otlp-endpoint ${endpoint}: only http:// and https:// (OTLP/HTTP) are supported; for gRPC, put a collector in between`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * One span as the SDK's ReadableSpan: the exporters read nothing else. A class, so the
 * per-span cost is one object (no closure per span for `spanContext`).
 */
class ExportedSpan {
  readonly name: string;
  readonly kind: number;
  readonly parentSpanContext: { traceId: string; spanId: string; traceFlags: number; isRemote: boolean } | undefined;
  readonly startTime: [number, number];
  readonly endTime: [number, number];
  readonly duration: [number, number];
  readonly status: { code: number; message?: string };
  readonly attributes: Record<string, string | number | boolean>;
  readonly links: never[] = [];
  readonly events: never[] = [];
  readonly ended = true;
  readonly resource: Resource;
  readonly instrumentationScope: { name: string; version: string };
  readonly droppedAttributesCount = 0;
  readonly droppedEventsCount = 0;
  readonly droppedLinksCount = 0;
  private readonly traceId: string;
  private readonly spanId: string;

  constructor(s: SpanData, resource: Resource, scope: { name: string; version: string }) {
    this.name = s.name;
    this.kind = kinds[s.kind];
    this.traceId = s.traceId;
    this.spanId = s.spanId;
    this.parentSpanContext = s.parentSpanId === undefined ? undefined : { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1, isRemote: true };
    this.startTime = hrTime(s.startMs);
    this.endTime = hrTime(s.endMs);
    this.duration = hrTime(s.endMs - s.startMs);
    this.status = s.error === undefined ? { code: 0 } : { code: 2, message: s.error };
    this.attributes = s.attributes;
    this.resource = resource;
    this.instrumentationScope = scope;
  }

  spanContext(): { traceId: string; spanId: string; traceFlags: number } {
    return { traceId: this.traceId, spanId: this.spanId, traceFlags: 1 };
  }
}

export async function startOtlpExport(endpoint: string, service: { name: string; version: string; instance: string }): Promise<OtlpExport> {
  const base = normalizeEndpoint(endpoint);
  const [{ BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { LoggerProvider, BatchLogRecordProcessor }, { OTLPLogExporter }] =
    await Promise.all([
      import("@opentelemetry/sdk-trace"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/resources"),
      import("@opentelemetry/sdk-logs"),
      import("@opentelemetry/exporter-logs-otlp-http"),
    ]);
  const resource = resourceFromAttributes({ "service.name": service.name, "service.version": service.version, "service.instance.id": service.instance });
  const scope = { name: "flick", version: service.version };
  // Bigger queue and a shorter delay than the SDK's defaults (2048, 5 s): a node makes spans in bursts of a few per request.
  const spanProcessor = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter({ url: `${base}/v1/traces` }),
    maxQueueSize: 32_768,
    maxExportBatchSize: 2048,
    scheduledDelayMillis: 1000,
  });
  const logProvider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${base}/v1/logs` }), maxQueueSize: 32_768, maxExportBatchSize: 2048, scheduledDelayMillis: 1000 })],
  });
  const logger = logProvider.getLogger("flick", service.version);

  return {
    spans(spans) {
      for (const s of spans) spanProcessor.onEnd(new ExportedSpan(s, resource, scope));
    },
    logs(lines) {
      for (const l of lines) {
        const attributes: Record<string, string | number | boolean> = { "flick.tenant": l.tenant, "flick.function": l.function, "flick.invocation_id": l.invocationId };
        if (l.request !== undefined) {
          attributes["http.request.method"] = l.request.method;
          attributes["url.path"] = l.request.path;
          attributes["http.response.status_code"] = l.request.status;
          attributes["flick.duration_ms"] = l.request.ms;
          attributes["flick.cpu_ms"] = l.request.cpuMs;
          attributes["flick.cold"] = l.request.cold;
          if (l.request.code !== undefined) attributes["flick.error_code"] = l.request.code;
        }
        logger.emit({
          timestamp: l.timeMs,
          severityNumber: severities[l.level],
          severityText: l.level.toUpperCase(),
          body: l.message,
          attributes,
        });
      }
    },
    async shutdown() {
      await Promise.all([spanProcessor.shutdown(), logProvider.shutdown()]);
    },
  };
}
