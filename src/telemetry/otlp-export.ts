/**
 * Export over OTLP/HTTP: spans encoded by Flick's own code (otlp-span-batch.ts), in
 * protobuf unless OTEL_EXPORTER_OTLP_TRACES_PROTOCOL or OTEL_EXPORTER_OTLP_PROTOCOL says
 * `http/json`; log lines through the OpenTelemetry SDK's LoggerProvider and
 * OTLPLogExporter (JSON). `endpoint` is the collector's base URL, as OTEL_EXPORTER_OTLP_ENDPOINT:
 * traces go to `<endpoint>/v1/traces`, logs to `<endpoint>/v1/logs`. The exporters also
 * read OTEL_EXPORTER_OTLP_HEADERS (e.g. an API key) from the environment.
 *
 * Spans are made in worker hosts as plain data (invocation-trace.ts). The SDK is loaded
 * only when an endpoint is set, so a node that does not export pays nothing for it at start.
 */
import type { LogLevel, RequestFields } from "../model/index.ts";
import type { SpanData } from "./invocation-trace.ts";
import { OtlpSpanBatch, type OtlpProtocol } from "./otlp-span-batch.ts";
import type { SpanRecord } from "./span-ring.ts";

export interface OtlpExport {
  spans(spans: readonly SpanData[]): void;
  /**
   * A span already in protobuf, as a ScopeSpans.spans field (trace-sink.ts keeps its window
   * so): copied, not encoded again. Absent when spans go as JSON.
   */
  spanRecord?(record: SpanRecord): void;
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

// OpenTelemetry's logs SeverityNumber.
const severities: Record<LogLevel, number> = { debug: 5, log: 9, info: 9, warn: 13, error: 17 };

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

/** The span protocol the standard OpenTelemetry variables ask for; what Flick cannot speak is an error at start. */
export function otlpSpanProtocol(env: Readonly<Record<string, string | undefined>> = process.env): OtlpProtocol {
  const name = env["OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] !== undefined ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const value = (env[name] ?? "").trim();
  if (value === "" || value === "http/protobuf") return "http/protobuf";
  if (value === "http/json") return "http/json";
  throw new TypeError(`${name}=${value}: Flick exports spans over OTLP/HTTP only; set it to http/protobuf (the default) or http/json, and for gRPC put a collector in between`);
}

export async function startOtlpExport(endpoint: string, service: { name: string; version: string; instance: string }): Promise<OtlpExport> {
  const base = normalizeEndpoint(endpoint);
  const protocol = otlpSpanProtocol();
  const [{ resourceFromAttributes }, { LoggerProvider, BatchLogRecordProcessor }, { OTLPLogExporter }] = await Promise.all([
    import("@opentelemetry/resources"),
    import("@opentelemetry/sdk-logs"),
    import("@opentelemetry/exporter-logs-otlp-http"),
  ]);
  const attributes = { "service.name": service.name, "service.version": service.version, "service.instance.id": service.instance };
  const resource = resourceFromAttributes(attributes);
  // Spans encoded by Flick's own code (otlp-span-batch.ts says why); a bigger queue and a
  // shorter delay than the SDK's defaults (2048, 5 s): spans come a few per request.
  const spanBatch = new OtlpSpanBatch({ url: `${base}/v1/traces`, protocol, resource: attributes, scope: { name: "flick", version: service.version } });
  const logProvider = new LoggerProvider({
    resource,
    processors: [new BatchLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${base}/v1/logs` }), maxQueueSize: 32_768, maxExportBatchSize: 2048, scheduledDelayMillis: 1000 })],
  });
  const logger = logProvider.getLogger("flick", service.version);

  return {
    spans(spans) {
      spanBatch.add(spans);
    },
    ...(protocol === "http/protobuf" ? { spanRecord: (record: SpanRecord) => spanBatch.addRecord(record) } : {}),
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
      await Promise.all([spanBatch.shutdown(), logProvider.shutdown()]);
    },
  };
}
