/**
 * Spans to an OTLP/HTTP collector in the OTLP JSON encoding, written straight from
 * Flick's span data: each span becomes its JSON text once, when it is recorded, and a
 * batch is those texts joined inside one envelope, posted at most every second (or at
 * 2,048 spans). The OpenTelemetry SDK's path — a ReadableSpan per span, its transform to
 * OTLP objects, then JSON.stringify of the whole — cost a hello-world worker host about
 * 10 % of its CPU at 100 % sampling (a CPU profile: `serializeRequest` 7.4 % on its own);
 * spans are already plain data here, so the text is all an exporter has to make.
 *
 * Encoding (opentelemetry-proto, JSON mapping): ids as lowercase hex, times as decimal
 * nanoseconds in strings, kinds and status codes as the proto's numbers, attributes as
 * typed values (integers as strings). Headers for the collector come from
 * OTEL_EXPORTER_OTLP_HEADERS (`k=v,k2=v2`), as the SDK's exporters read them.
 *
 * What cannot be sent is dropped, never buffered without bound: at most `maxQueue` spans
 * wait, and a failed post loses its batch (said once on the host's output).
 */
import { Agent, request as httpRequest } from "node:http";
import { request as httpsRequest, Agent as HttpsAgent } from "node:https";
import type { SpanData, SpanKindName } from "./invocation-trace.ts";

// opentelemetry-proto SpanKind: UNSPECIFIED 0, INTERNAL 1, SERVER 2, CLIENT 3, PRODUCER 4, CONSUMER 5.
const kinds: Record<SpanKindName, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

/**
 * Epoch ms (fractional) as decimal nanoseconds, without going through a float past 2^53.
 * (A double of today's epoch in ms resolves about a quarter of a microsecond; that is what
 * the spans carry.)
 */
export function unixNanos(ms: number): string {
  let whole = Math.floor(ms);
  let frac = Math.round((ms - whole) * 1e6);
  if (frac >= 1e6) {
    whole += 1;
    frac -= 1e6;
  }
  // 1e6 + frac has seven digits; its last six are the nanoseconds, zero-padded.
  return whole === 0 ? String(frac) : `${whole}${String(1e6 + frac).slice(1)}`;
}

function attributeValue(value: string | number | boolean): string {
  if (typeof value === "string") return `{"stringValue":${JSON.stringify(value)}}`;
  if (typeof value === "boolean") return `{"boolValue":${value}}`;
  return Number.isInteger(value) ? `{"intValue":"${value}"}` : `{"doubleValue":${Number.isFinite(value) ? value : 0}}`;
}

/** `{"key":<key>,"value":` per attribute name: a few dozen names recur on every span. */
const keyPrefixes = new Map<string, string>();

function keyPrefix(key: string): string {
  let prefix = keyPrefixes.get(key);
  if (prefix === undefined) {
    prefix = `{"key":${JSON.stringify(key)},"value":`;
    // Names come from Flick's code, not from tenants; bounded all the same.
    if (keyPrefixes.size < 1024) keyPrefixes.set(key, prefix);
  }
  return prefix;
}

export function attributesJson(attributes: Readonly<Record<string, string | number | boolean>>): string {
  let out = "";
  for (const key in attributes) out += `${out === "" ? "" : ","}${keyPrefix(key)}${attributeValue(attributes[key]!)}}`;
  return `[${out}]`;
}

/** One span's OTLP JSON object. */
export function spanJson(s: SpanData): string {
  let out = `{"traceId":"${s.traceId}","spanId":"${s.spanId}"`;
  if (s.parentSpanId !== undefined) out += `,"parentSpanId":"${s.parentSpanId}"`;
  out += `,"name":${JSON.stringify(s.name)},"kind":${kinds[s.kind]},"startTimeUnixNano":"${unixNanos(s.startMs)}","endTimeUnixNano":"${unixNanos(s.endMs)}"`;
  out += `,"attributes":${attributesJson(s.attributes)}`;
  out += s.error === undefined ? `,"status":{"code":0}}` : `,"status":{"code":2,"message":${JSON.stringify(s.error)}}}`;
  return out;
}

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
  resource: Readonly<Record<string, string | number | boolean>>;
  scope: { name: string; version: string };
  maxQueue?: number;
  maxBatch?: number;
  delayMs?: number;
}

export class OtlpSpanBatch {
  private readonly url: URL;
  private readonly head: string;
  private readonly maxQueue: number;
  private readonly maxBatch: number;
  private readonly headers: Record<string, string>;
  private readonly agent: Agent;
  private queue: string[] = [];
  private sending: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;
  private told = false;
  /** Spans dropped: over the queue, or in a batch the collector did not take. */
  dropped = 0;

  constructor(options: SpanBatchOptions) {
    this.url = new URL(options.url);
    this.maxQueue = options.maxQueue ?? 32_768;
    this.maxBatch = options.maxBatch ?? 2048;
    this.head = `{"resourceSpans":[{"resource":{"attributes":${attributesJson(options.resource)}},"scopeSpans":[{"scope":{"name":${JSON.stringify(options.scope.name)},"version":${JSON.stringify(options.scope.version)}},"spans":[`;
    this.headers = { ...otlpHeaders(process.env["OTEL_EXPORTER_OTLP_HEADERS"]), "content-type": "application/json" };
    this.agent = this.url.protocol === "https:" ? new HttpsAgent({ keepAlive: true, maxSockets: 2 }) : new Agent({ keepAlive: true, maxSockets: 2 });
    this.timer = setInterval(() => this.flush(), options.delayMs ?? 1000);
    this.timer.unref();
  }

  add(spans: readonly SpanData[]): void {
    for (const s of spans) {
      if (this.queue.length >= this.maxQueue) {
        this.dropped++;
        continue;
      }
      this.queue.push(spanJson(s));
    }
    if (this.queue.length >= this.maxBatch) this.flush();
  }

  /** Sends what waits, one post after another (a collector is not asked twice at once). */
  flush(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.length <= this.maxBatch ? this.queue : this.queue.slice(0, this.maxBatch);
      this.queue = this.queue.length <= this.maxBatch ? [] : this.queue.slice(this.maxBatch);
      // Made bytes once here (not measured, then encoded, by the request).
      const body = Buffer.from(`${this.head}${batch.join(",")}]}]}]}`);
      this.sending = this.sending.then(() => this.post(body, batch.length));
    }
    return this.sending;
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
