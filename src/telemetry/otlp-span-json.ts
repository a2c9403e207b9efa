/**
 * Spans in OTLP's JSON encoding (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`), written straight
 * from Flick's span data: each span becomes its JSON text when it is recorded, and an
 * export request is those texts joined inside one envelope. The protobuf encoding
 * (otlp-span-proto.ts) is the default: this one costs about three times as much CPU a
 * span and twice the bytes, and is here for collectors and proxies that take only JSON.
 *
 * Encoding (opentelemetry-proto, JSON mapping): ids as lowercase hex, times as decimal
 * nanoseconds in strings, kinds and status codes as the proto's numbers, attributes as
 * typed values (integers as strings).
 */
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

/** One export request's worth of spans as JSON texts, joined when it is sealed. */
export class JsonSpanChunk {
  private readonly head: string;
  private readonly texts: string[] = [];
  private length = 0;
  private readonly capacity: number;
  count = 0;

  constructor(resource: Readonly<Record<string, string | number | boolean>>, scope: { name: string; version: string }, capacity: number) {
    this.head = `{"resourceSpans":[{"resource":{"attributes":${attributesJson(resource)}},"scopeSpans":[{"scope":{"name":${JSON.stringify(scope.name)},"version":${JSON.stringify(scope.version)}},"spans":[`;
    this.capacity = capacity;
  }

  /** Adds `span` unless the chunk already holds `capacity` characters (an empty chunk takes any span). */
  add(s: SpanData): boolean {
    if (this.count > 0 && this.length >= this.capacity) return false;
    const text = spanJson(s);
    this.texts.push(text);
    this.length += text.length;
    this.count++;
    return true;
  }

  seal(): Buffer {
    return Buffer.from(`${this.head}${this.texts.join(",")}]}]}]}`);
  }
}
