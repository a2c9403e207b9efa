/**
 * Spans to an OTLP/HTTP collector, encoded as they are recorded into the body of the next
 * export request (otlp-span-proto.ts for `http/protobuf`, the default; otlp-span-json.ts
 * for `http/json`), posted at most every second or when a request is full (2,048 spans).
 * The OpenTelemetry SDK's path — a ReadableSpan per span, its transform to OTLP objects,
 * then serialization of the whole — cost a hello-world worker host about 10 % of its CPU
 * at 100 % sampling; spans are already plain data here, so the bytes are all an exporter
 * has to make. Headers for the collector come from OTEL_EXPORTER_OTLP_HEADERS
 * (`k=v,k2=v2`), as the SDK's exporters read them.
 *
 * What cannot be sent is dropped, never buffered without bound: at most `maxQueue` spans
 * wait (recorded, or in a request not yet answered), and a failed post loses its batch
 * (said once on the host's output).
 */
import { Agent, request as httpRequest } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import type { SpanData } from "./invocation-trace.ts";
import { JsonSpanChunk } from "./otlp-span-json.ts";
import { ProtoSpanChunk, protoEnvelope, spanProtoBound, type ProtoEnvelope } from "./otlp-span-proto.ts";
import type { SpanRecord } from "./span-ring.ts";

/** OTEL_EXPORTER_OTLP_PROTOCOL's values Flick speaks (gRPC needs a collector in between). */
export type OtlpProtocol = "http/protobuf" | "http/json";

/** One export request being filled: the encodings' common shape. */
interface SpanChunk {
  readonly count: number;
  /** False when the span does not fit; a new chunk is made for it. */
  add(span: SpanData): boolean;
  /** The request's body. */
  seal(): Buffer;
}

/** Bytes (protobuf) or characters (JSON) of spans in one request, beyond which it is sent. */
const chunkSize = 1 << 20;

/** OTEL_EXPORTER_OTLP_HEADERS: `key=value` pairs, comma-separated, values percent-encoded. */
export function otlpHeaders(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (text ?? "").split(",")) {
    const eq = pair.indexOf("=");
    if (eq <= 0) continue;
    try {
      out[pair.slice(0, eq).trim()] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      out[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
    }
  }
  return out;
}

export interface SpanBatchOptions {
  /** `<endpoint>/v1/traces`. */
  url: string;
  protocol?: OtlpProtocol;
  resource: Readonly<Record<string, string | number | boolean>>;
  scope: { name: string; version: string };
  maxQueue?: number;
  maxBatch?: number;
  delayMs?: number;
}

export class OtlpSpanBatch {
  private readonly url: URL;
  private readonly newChunk: (first: SpanData) => SpanChunk;
  /** The protobuf request's resource and scope (absent for JSON). */
  private readonly envelope: ProtoEnvelope | undefined;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly headers: Record<string, string>;
  private readonly agent: Agent;
  private chunk: SpanChunk | undefined;
  /** Spans recorded and not yet answered for by the collector. */
  private waiting = 0;
  private sending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private told = false;
  /** Spans dropped: over the queue, or in a batch the collector did not take. */
  dropped = 0;

  constructor(options: SpanBatchOptions) {
    this.url = new URL(options.url);
    this.maxQueue = options.maxQueue ?? 32_768;
    this.maxBatch = options.maxBatch ?? 2048;
    const protocol = options.protocol ?? "http/protobuf";
    if (protocol === "http/json") {
      this.newChunk = () => new JsonSpanChunk(options.resource, options.scope, chunkSize);
    } else {
      const envelope = (this.envelope = protoEnvelope(options.resource, options.scope));
      // A span bigger than a chunk (a long path, a long error) gets a chunk its size.
      this.newChunk = (first) => new ProtoSpanChunk(envelope, Math.max(chunkSize, spanProtoBound(first)));
    }
    const contentType = protocol === "http/json" ? "application/json" : "application/x-protobuf";
    this.headers = { ...otlpHeaders(process.env["OTEL_EXPORTER_OTLP_HEADERS"]), "content-type": contentType };
    this.agent = this.url.protocol === "https:" ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new Agent({ keepAlive: true, maxSockets: 2 });
    this.timer = setInterval(() => this.flush(), options.delayMs ?? 1000);
    this.timer.unref();
  }

  /** A span `writeSpan` already encoded (protobuf only): copied into the request being filled. */
  addRecord(record: SpanRecord): void {
    if (this.envelope === undefined) throw new TypeError("OtlpSpanBatch.addRecord: this exporter sends JSON; give it spans (add)");
    if (this.waiting >= this.maxQueue) {
      this.dropped++;
      return;
    }
    if (!(this.chunk instanceof ProtoSpanChunk) || !this.chunk.addRecord(record)) {
      this.seal();
      const chunk = new ProtoSpanChunk(this.envelope, Math.max(chunkSize, record.end - record.start));
      chunk.addRecord(record);
      this.chunk = chunk;
    }
    this.waiting++;
    if (this.chunk.count >= this.maxBatch) this.seal();
  }

  add(spans: readonly SpanData[]): void {
    for (const s of spans) {
      if (this.waiting >= this.maxQueue) {
        this.dropped++;
        continue;
      }
      if (this.chunk === undefined || !this.chunk.add(s)) {
        this.seal();
        this.chunk = this.newChunk(s);
        this.chunk.add(s);
      }
      this.waiting++;
      if (this.chunk.count >= this.maxBatch) this.seal();
    }
  }

  /** Sends what waits, one post after another (a collector is not asked twice at once). */
  flush(): Promise<void> {
    this.seal();
    return this.sending;
  }

  /** Closes the request being filled and queues its post. */
  private seal(): void {
    const chunk = this.chunk;
    this.chunk = undefined;
    if (chunk === undefined || chunk.count === 0) return;
    const body = chunk.seal();
    const count = chunk.count;
    this.sending = this.sending.then(async () => {
      await this.post(body, count);
      this.waiting -= count;
    });
  }

  private post(body: Buffer, count: number): Promise<void> {
    return new Promise((resolve) => {
      const send = this.url.protocol === "https:" ? httpsRequest : httpRequest;
      const req = send(this.url, { method: "POST", agent: this.agent, headers: { ...this.headers, "content-length": String(body.byteLength) } }, (res) => {
        res.resume();
        res.on("end", () => {
          if ((res.statusCode ?? 500) >= 300) this.lost(count, `the collector answered ${res.statusCode}`);
          resolve();
        });
        res.on("error", () => resolve());
      });
      req.setTimeout(10_000, () => req.destroy(new Error("no answer within 10 s")));
      req.on("error", (err) => {
        this.lost(count, err.message);
        resolve();
      });
      req.end(body);
    });
  }

  private lost(count: number, why: string): void {
    this.dropped += count;
    if (this.told) return;
    this.told = true;
    process.emitWarning(`flick: ${count} spans could not be exported to ${this.url.href} (${why}); later failures are counted, not printed`);
  }

  async shutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
    this.agent.destroy();
  }
}
