/**
 * Spans in OTLP's protobuf encoding (`http/protobuf`, the OTLP exporters' default), written
 * byte by byte into one buffer per export request as each span is recorded. At 100 %
 * sampling the JSON encoding was most of what tracing cost a hello-world request (about
 * 3 µs a span to build and flatten 770 bytes of text); this writes about 330 bytes a
 * span with no intermediate strings or objects.
 *
 * The messages (opentelemetry-proto, trace/v1 and common/v1), with the fields written:
 *   ExportTraceServiceRequest  1 resource_spans
 *   ResourceSpans              1 resource { 1 attributes }   2 scope_spans
 *   ScopeSpans                 1 scope { 1 name  2 version }  2 spans
 *   Span   1 trace_id  2 span_id  4 parent_span_id  5 name  6 kind  7 start (fixed64 ns)
 *          8 end (fixed64 ns)  9 attributes  15 status { 2 message  3 code }
 *   KeyValue 1 key  2 value;  AnyValue 1 string  2 bool  3 int64  4 double
 *
 * A chunk reserves room for the request's head at its start and writes it at the end,
 * when the spans' total length is known, so the body is sent without a copy.
 */
import type { SpanData, SpanKindName } from "./invocation-trace.ts";

// opentelemetry-proto SpanKind.
const kinds: Record<SpanKindName, number> = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 };

// Tags: (field number << 3) | wire type (0 varint, 1 64-bit, 2 length-delimited).
const tagSpan = 0x12; // ScopeSpans.spans
const tagTraceId = 0x0a;
const tagSpanId = 0x12;
const tagParentSpanId = 0x22;
const tagName = 0x2a;
const tagKind = 0x30;
const tagStart = 0x39;
const tagEnd = 0x41;
const tagAttribute = 0x4a;
const tagStatus = 0x7a;
const tagStatusMessage = 0x12;
const tagStatusCode = 0x18;
const tagKey = 0x0a;
const tagValue = 0x12;
const tagString = 0x0a;
const tagBool = 0x10;
const tagInt = 0x18;
const tagDouble = 0x21;

/** Hex digit values by character code; 16 marks a character that is not one. */
const hexDigit = new Uint8Array(128).fill(16);
for (let i = 0; i < 10; i++) hexDigit[48 + i] = i;
for (let i = 0; i < 6; i++) hexDigit[97 + i] = hexDigit[65 + i] = 10 + i;

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

/** A growing run of protobuf bytes in a fixed buffer; callers make sure it has room. */
export class ProtoWriter {
  buf: Buffer;
  at: number;

  constructor(buf: Buffer, at = 0) {
    this.buf = buf;
    this.at = at;
  }

  /** A non-negative integer below 2^53. */
  varint(n: number): void {
    const buf = this.buf;
    while (n >= 128) {
      buf[this.at++] = (n % 128) | 128;
      n = Math.floor(n / 128);
    }
    buf[this.at++] = n;
  }

  /** Any integer, as int64 (a negative one takes ten bytes, two's complement). */
  int64(n: number): void {
    if (n >= 0 && n <= Number.MAX_SAFE_INTEGER) return this.varint(n);
    let v = BigInt.asUintN(64, BigInt(Math.trunc(Number.isFinite(n) ? n : 0)));
    while (v >= 128n) {
      this.buf[this.at++] = Number(v & 127n) | 128;
      v >>= 7n;
    }
    this.buf[this.at++] = Number(v);
  }

  /** A length-delimited string field: ASCII is copied as it is read, the rest through the UTF-8 encoder. */
  string(tag: number, s: string): void {
    const buf = this.buf;
    buf[this.at++] = tag;
    const n = s.length;
    if (n < 128) {
      const start = this.at + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 128) break;
        buf[start + i] = c;
      }
      if (i === n) {
        buf[this.at] = n;
        this.at = start + n;
        return;
      }
    }
    const bytes = Buffer.byteLength(s);
    this.varint(bytes);
    this.at += buf.write(s, this.at, bytes, "utf8");
  }

  /** A bytes field from lowercase or uppercase hex (ids as the rest of Flick keeps them). */
  hex(tag: number, hex: string): void {
    const buf = this.buf;
    const n = hex.length >>> 1;
    buf[this.at++] = tag;
    buf[this.at++] = n;
    for (let i = 0; i < n; i++) {
      const hi = hexDigit[hex.charCodeAt(2 * i) & 127]!;
      const lo = hexDigit[hex.charCodeAt(2 * i + 1) & 127]!;
      // Ids are made and checked as hex where they enter (trace-context.ts); a stray
      // character writes zero bits rather than a wrong length.
      buf[this.at++] = ((hi & 15) << 4) | (lo & 15);
    }
  }

  /**
   * Unix epoch ms (fractional) as fixed64 nanoseconds, exactly: the ms are split so no
   * product passes 2^53 (a double of today's epoch in ns would not be exact).
   */
  nanos(tag: number, ms: number): void {
    let whole = Math.floor(ms);
    let frac = Math.round((ms - whole) * 1e6);
    if (frac >= 1e6) {
      whole += 1;
      frac -= 1e6;
    }
    const wholeHigh = Math.floor(whole / 4294967296);
    const low = (whole - wholeHigh * 4294967296) * 1e6 + frac; // < 2^32 · 1e6 + 1e6 < 2^53
    const carry = Math.floor(low / 4294967296);
    this.buf[this.at++] = tag;
    this.buf.writeUInt32LE(low - carry * 4294967296, this.at);
    this.buf.writeUInt32LE(wholeHigh * 1e6 + carry, this.at + 4);
    this.at += 8;
  }

  /** Room for a length of `reserve` bytes; returns where it is, for `end`. */
  begin(tag: number, reserve: 1 | 2): number {
    this.buf[this.at++] = tag;
    const at = this.at;
    this.at += reserve;
    return at;
  }

  /** Writes the length of what followed `begin`, moving it when the length's size was guessed wrong. */
  end(lengthAt: number, reserve: 1 | 2): void {
    const length = this.at - lengthAt - reserve;
    const size = varintSize(length);
    if (size !== reserve) {
      this.buf.copyWithin(lengthAt + size, lengthAt + reserve, this.at);
      this.at += size - reserve;
    }
    const end = this.at;
    this.at = lengthAt;
    this.varint(length);
    this.at = end;
  }

  /** A KeyValue as field `tag` of its message. */
  attribute(tag: number, key: string, value: string | number | boolean): void {
    const kv = this.begin(tag, 1);
    this.string(tagKey, key);
    const any = this.begin(tagValue, 1);
    if (typeof value === "string") this.string(tagString, value);
    else if (typeof value === "boolean") {
      this.buf[this.at++] = tagBool;
      this.buf[this.at++] = value ? 1 : 0;
    } else if (Number.isInteger(value)) {
      this.buf[this.at++] = tagInt;
      this.int64(value);
    } else {
      this.buf[this.at++] = tagDouble;
      this.buf.writeDoubleLE(Number.isFinite(value) ? value : 0, this.at);
      this.at += 8;
    }
    this.end(any, 1);
    this.end(kv, 1);
  }
}

/** Bytes a span can take at most: every UTF-16 unit as three UTF-8 bytes, every length and number at its longest. */
export function spanProtoBound(s: SpanData): number {
  let bound = 96 + 3 * s.name.length + (s.error === undefined ? 0 : 3 * s.error.length + 8);
  for (const key in s.attributes) {
    const value = s.attributes[key]!;
    bound += 3 * key.length + 32 + (typeof value === "string" ? 3 * value.length : 0);
  }
  return bound;
}

/** The parts of an export request around its spans: made once per exporter. */
export interface ProtoEnvelope {
  /** ResourceSpans.resource, field and all. */
  resource: Buffer;
  /** ScopeSpans.scope, field and all. */
  scope: Buffer;
}

export function protoEnvelope(resource: Readonly<Record<string, string | number | boolean>>, scope: { name: string; version: string }): ProtoEnvelope {
  let bound = 16;
  for (const key in resource) bound += 3 * key.length + 40 + 3 * String(resource[key]).length;
  const r = new ProtoWriter(Buffer.alloc(bound));
  const resourceAt = r.begin(0x0a, 2); // ResourceSpans.resource
  for (const key in resource) r.attribute(0x0a, key, resource[key]!); // Resource.attributes
  r.end(resourceAt, 2);
  const s = new ProtoWriter(Buffer.alloc(16 + 3 * (scope.name.length + scope.version.length)));
  const scopeAt = s.begin(0x0a, 2); // ScopeSpans.scope
  s.string(0x0a, scope.name);
  s.string(0x12, scope.version);
  s.end(scopeAt, 2);
  return { resource: r.buf.subarray(0, r.at), scope: s.buf.subarray(0, s.at) };
}

/** A span as a ScopeSpans.spans field (tag, length, Span message); `w` has `spanProtoBound(s)` bytes of room. */
export function writeSpan(w: ProtoWriter, s: SpanData): void {
  const span = w.begin(tagSpan, 2);
  w.hex(tagTraceId, s.traceId);
  w.hex(tagSpanId, s.spanId);
  if (s.parentSpanId !== undefined) w.hex(tagParentSpanId, s.parentSpanId);
  w.string(tagName, s.name);
  w.buf[w.at++] = tagKind;
  w.buf[w.at++] = kinds[s.kind];
  w.nanos(tagStart, s.startMs);
  w.nanos(tagEnd, s.endMs);
  const attributes = s.attributes;
  for (const key in attributes) w.attribute(tagAttribute, key, attributes[key]!);
  if (s.error !== undefined) {
    const status = w.begin(tagStatus, 2);
    w.string(tagStatusMessage, s.error);
    w.buf[w.at++] = tagStatusCode;
    w.buf[w.at++] = 2; // STATUS_CODE_ERROR
    w.end(status, 2);
  }
  w.end(span, 2);
}

/** One export request's worth of spans, encoded as they are added. */
export class ProtoSpanChunk {
  private readonly envelope: ProtoEnvelope;
  private readonly w: ProtoWriter;
  /** Where the spans begin: the head is written just before, once their length is known. */
  private readonly spansAt: number;
  count = 0;

  constructor(envelope: ProtoEnvelope, capacity: number) {
    this.envelope = envelope;
    this.spansAt = 12 + envelope.resource.length + envelope.scope.length;
    this.w = new ProtoWriter(Buffer.allocUnsafe(this.spansAt + capacity), this.spansAt);
  }

  /** Adds `span` if the chunk has room for it (an empty chunk always takes what it was sized for). */
  add(s: SpanData): boolean {
    if (this.w.at + spanProtoBound(s) > this.w.buf.length) return false;
    writeSpan(this.w, s);
    this.count++;
    return true;
  }

  /** Adds a span `writeSpan` already wrote elsewhere (span-ring.ts): `bytes[start, end)`, field tag and length included. */
  addRecord(record: { bytes: Buffer; start: number; end: number }): boolean {
    if (this.w.at + record.end - record.start > this.w.buf.length) return false;
    this.w.at += record.bytes.copy(this.w.buf, this.w.at, record.start, record.end);
    this.count++;
    return true;
  }

  /** The whole ExportTraceServiceRequest: the head written in front of the spans. */
  seal(): Buffer {
    const { resource, scope } = this.envelope;
    const spansLength = this.w.at - this.spansAt;
    const scopeSpansLength = scope.length + spansLength;
    const resourceSpansLength = resource.length + 1 + varintSize(scopeSpansLength) + scopeSpansLength;
    const headLength = 1 + varintSize(resourceSpansLength) + resource.length + 1 + varintSize(scopeSpansLength) + scope.length;
    const start = this.spansAt - headLength;
    const w = new ProtoWriter(this.w.buf, start);
    w.buf[w.at++] = 0x0a; // ExportTraceServiceRequest.resource_spans
    w.varint(resourceSpansLength);
    resource.copy(w.buf, w.at);
    w.at += resource.length;
    w.buf[w.at++] = 0x12; // ResourceSpans.scope_spans
    w.varint(scopeSpansLength);
    scope.copy(w.buf, w.at);
    return this.w.buf.subarray(start, this.w.at);
  }
}

const kindNames: SpanKindName[] = ["internal", "internal", "server", "client", "producer", "consumer"];

/** Reads a varint at `at.i`: exact below 2^53 (tags, lengths, kinds), which is all it is used for. */
function readVarint(buf: Uint8Array, at: { i: number }): number {
  let n = 0;
  let scale = 1;
  for (;;) {
    const b = buf[at.i++]!;
    n += (b & 127) * scale;
    if (b < 128) return n;
    scale *= 128;
  }
}

/** An int64 attribute: seven bytes or fewer is a plain varint; longer ones (large or negative) go through BigInt. */
function readInt64(buf: Uint8Array, at: { i: number }): number {
  const start = at.i;
  let end = start;
  while (buf[end]! >= 128) end++;
  at.i = end + 1;
  if (end - start < 7) return readVarint(buf, { i: start });
  let v = 0n;
  for (let i = end; i >= start; i--) v = (v << 7n) | BigInt(buf[i]! & 127);
  return Number(BigInt.asIntN(64, v));
}

function readText(buf: Buffer, at: { i: number }): string {
  const length = readVarint(buf, at);
  const text = buf.toString("utf8", at.i, at.i + length);
  at.i += length;
  return text;
}

function readNanosAsMs(buf: Buffer, at: number): number {
  const low = buf.readUInt32LE(at);
  const high = buf.readUInt32LE(at + 4);
  // ns = high · 2^32 + low; as ms, the whole part exactly and the rest as a fraction.
  const ns = BigInt(high) * 4294967296n + BigInt(low);
  return Number(ns / 1_000_000n) + Number(ns % 1_000_000n) / 1e6;
}

/**
 * One Span message as ProtoSpanChunk wrote it (`buf[start, end)`, without its field tag
 * and length), back as the span data it came from. Fields Flick does not write are skipped.
 */
export function readSpanProto(buf: Buffer, start: number, end: number): SpanData {
  const s: SpanData = { traceId: "", spanId: "", name: "", kind: "internal", startMs: 0, endMs: 0, attributes: {} };
  const at = { i: start };
  while (at.i < end) {
    const tag = readVarint(buf, at);
    const wire = tag & 7;
    if (tag === tagKind) s.kind = kindNames[readVarint(buf, at)] ?? "internal";
    else if (tag === tagStart || tag === tagEnd) {
      const ms = readNanosAsMs(buf, at.i);
      if (tag === tagStart) s.startMs = ms;
      else s.endMs = ms;
      at.i += 8;
    } else if (wire === 2) {
      const length = readVarint(buf, at);
      const fieldEnd = at.i + length;
      if (tag === tagTraceId) s.traceId = buf.toString("hex", at.i, fieldEnd);
      else if (tag === tagSpanId) s.spanId = buf.toString("hex", at.i, fieldEnd);
      else if (tag === tagParentSpanId) s.parentSpanId = buf.toString("hex", at.i, fieldEnd);
      else if (tag === tagName) s.name = buf.toString("utf8", at.i, fieldEnd);
      else if (tag === tagAttribute) readAttribute(buf, at.i, fieldEnd, s.attributes);
      else if (tag === tagStatus) {
        const st = { i: at.i };
        while (st.i < fieldEnd) {
          const t = readVarint(buf, st);
          if (t === tagStatusMessage) s.error = readText(buf, st);
          else readVarint(buf, st); // the code: ERROR whenever there is a message
        }
      }
      at.i = fieldEnd;
    } else if (wire === 0) readVarint(buf, at);
    else at.i += wire === 1 ? 8 : 4;
  }
  return s;
}

function readAttribute(buf: Buffer, start: number, end: number, into: Record<string, string | number | boolean>): void {
  const at = { i: start };
  let key = "";
  while (at.i < end) {
    const tag = readVarint(buf, at);
    if (tag === tagKey) key = readText(buf, at);
    else if (tag === tagValue) {
      const length = readVarint(buf, at);
      const valueEnd = at.i + length;
      const v = { i: at.i };
      if (v.i < valueEnd) {
        const t = readVarint(buf, v);
        if (t === tagString) into[key] = readText(buf, v);
        else if (t === tagBool) into[key] = readVarint(buf, v) !== 0;
        else if (t === tagInt) into[key] = readInt64(buf, v);
        else if (t === tagDouble) into[key] = buf.readDoubleLE(v.i);
      }
      at.i = valueEnd;
    } else return;
  }
}
