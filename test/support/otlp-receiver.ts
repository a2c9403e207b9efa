/**
 * An OTLP/HTTP receiver for tests: a real HTTP server that takes what an OpenTelemetry
 * exporter posts to `/v1/traces` (OTLP protobuf or JSON) and `/v1/logs` (JSON), decodes it
 * as the spec says (ids as hex strings, times as nanosecond strings, attributes as typed
 * values) and lets a test wait for what it expects, event by event.
 */
import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { decodeTraceRequest } from "./otlp-proto-decode.ts";

export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, string | number | boolean>;
  status: { code: number; message?: string };
  resource: Record<string, string | number | boolean>;
}

export interface ReceivedLog {
  timeNs: bigint;
  severityText: string;
  body: string;
  attributes: Record<string, string | number | boolean>;
}

type AnyValue = { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number };
type KeyValue = { key: string; value: AnyValue };

function attributesOf(list: KeyValue[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of list ?? []) {
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly logs: ReceivedLog[] = [];
  /** Requests that were not OTLP (a test asserts there are none). */
  readonly rejected: string[] = [];
  /** How each trace export request was encoded, by its content type. */
  readonly traceEncodings: string[] = [];
  private readonly events = new EventEmitter();
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        try {
          const type = String(req.headers["content-type"]);
          const proto = type.startsWith("application/x-protobuf");
          if (req.method !== "POST" || !(type.startsWith("application/json") || (proto && req.url === "/v1/traces"))) throw new Error(`${req.method} ${req.url} ${type}`);
          const raw = Buffer.concat(chunks);
          const body = proto ? decodeTraceRequest(raw) : (JSON.parse(raw.toString("utf8")) as Record<string, unknown>);
          if (req.url === "/v1/traces") {
            this.traceEncodings.push(proto ? "protobuf" : "json");
            this.takeSpans(body);
          } else if (req.url === "/v1/logs") this.takeLogs(body);
          else throw new Error(`unexpected path ${req.url}`);
          // An empty Export…ServiceResponse in the request's encoding: full success.
          if (proto) res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
          else res.writeHead(200, { "content-type": "application/json" }).end("{}");
        } catch (err) {
          this.rejected.push(String(err));
          res.writeHead(400).end();
        }
        this.events.emit("batch");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private takeSpans(body: Record<string, unknown>): void {
    for (const rs of (body["resourceSpans"] as { resource?: { attributes?: KeyValue[] }; scopeSpans: { spans: Record<string, unknown>[] }[] }[]) ?? []) {
      const resource = attributesOf(rs.resource?.attributes);
      for (const ss of rs.scopeSpans) {
        for (const s of ss.spans) {
          this.spans.push({
            traceId: s["traceId"] as string,
            spanId: s["spanId"] as string,
            parentSpanId: (s["parentSpanId"] as string | undefined) ?? "",
            name: s["name"] as string,
            kind: s["kind"] as number,
            startNs: BigInt(s["startTimeUnixNano"] as string),
            endNs: BigInt(s["endTimeUnixNano"] as string),
            attributes: attributesOf(s["attributes"] as KeyValue[]),
            status: (s["status"] as { code: number; message?: string }) ?? { code: 0 },
            resource,
          });
        }
      }
    }
  }

  private takeLogs(body: Record<string, unknown>): void {
    for (const rl of (body["resourceLogs"] as { scopeLogs: { logRecords: Record<string, unknown>[] }[] }[]) ?? []) {
      for (const sl of rl.scopeLogs) {
        for (const r of sl.logRecords) {
          this.logs.push({
            timeNs: BigInt(r["timeUnixNano"] as string),
            severityText: (r["severityText"] as string | undefined) ?? "",
            body: ((r["body"] as AnyValue | undefined)?.stringValue) ?? "",
            attributes: attributesOf(r["attributes"] as KeyValue[]),
          });
        }
      }
    }
  }

  /** Resolves once `done()` holds after a batch arrived (or now); rejects when `signal` aborts. */
  async until<T>(done: () => T | undefined, signal: AbortSignal): Promise<T> {
    for (;;) {
      const value = done();
      if (value !== undefined) return value;
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.events.off("batch", onBatch);
          reject(new Error("the test ended before the receiver got what it waited for"));
        };
        const onBatch = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        if (signal.aborted) return onAbort();
        this.events.once("batch", onBatch);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((s) => s.traceId === traceId);
  }

  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
  }
}
