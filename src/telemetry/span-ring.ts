/**
 * The recent spans a process keeps for `flick trace`, as bytes: each span encoded once in
 * OTLP protobuf (otlp-span-proto.ts) into a ring of fixed segments, the oldest segment
 * overwritten whole when the newest is full. The same bytes go to the OTLP exporter, which
 * copies them into its request instead of encoding the span again.
 *
 * Why bytes and not the span objects: at 100 % sampling a host records 20,000 spans a
 * second or more, and a window of objects (a span, its attributes, its strings) lives
 * long enough for every one of them to be promoted to V8's old generation and marked
 * there; in a microbenchmark that was half of what recording a traced request cost. A
 * segment is one buffer the garbage collector never looks into. Reading is the rare case
 * (a person asked for a trace) and decodes what it finds.
 */
import type { SpanData } from "./invocation-trace.ts";
import { ProtoWriter, readSpanProto, spanProtoBound, writeSpan } from "./otlp-span-proto.ts";

/** A span's protobuf bytes: `bytes[start, end)`. */
export interface SpanRecord {
  bytes: Buffer;
  start: number;
  end: number;
}

export class SpanRing {
  private readonly segmentBytes: number;
  /** Made when first written to: a process that records nothing holds nothing. */
  private readonly segments: (Buffer | undefined)[];
  private readonly used: number[];
  private current = 0;
  private readonly writer = new ProtoWriter(Buffer.alloc(0));
  /** Where the span `put` last kept is: one object reused, not a view made per span. */
  readonly last: SpanRecord = { bytes: Buffer.alloc(0), start: 0, end: 0 };

  /** `bytes` in all, over `segmentCount` segments (a sixteenth of the window is forgotten at a time). */
  constructor(bytes = 8 * 2 ** 20, segmentCount = 16) {
    this.segmentBytes = Math.max(4096, Math.floor(bytes / segmentCount));
    this.segments = new Array<Buffer | undefined>(segmentCount).fill(undefined);
    this.used = new Array<number>(segmentCount).fill(0);
  }

  /**
   * Keeps `span`. Its bytes, as a ScopeSpans.spans field, are `last` until the next put
   * (copy them to keep them). False for a span bigger than a segment: not kept.
   */
  put(span: SpanData): boolean {
    const bound = spanProtoBound(span);
    if (bound > this.segmentBytes) return false;
    if (this.used[this.current]! + bound > this.segmentBytes) {
      this.current = (this.current + 1) % this.segments.length;
      this.used[this.current] = 0;
    }
    const segment = (this.segments[this.current] ??= Buffer.allocUnsafe(this.segmentBytes));
    const start = this.used[this.current]!;
    const w = this.writer;
    w.buf = segment;
    w.at = start;
    writeSpan(w, span);
    this.used[this.current] = w.at;
    this.last.bytes = segment;
    this.last.start = start;
    this.last.end = w.at;
    return true;
  }

  /** The segments written so far, newest first, each with how much of it holds spans. */
  private *filled(): Generator<[Buffer, number]> {
    const n = this.segments.length;
    for (let k = 0; k < n; k++) {
      const i = (this.current - k + n) % n;
      const segment = this.segments[i];
      if (segment !== undefined && this.used[i]! > 0) yield [segment, this.used[i]!];
    }
  }

  /** The Span messages in a segment's first `used` bytes, as [start, end). */
  private *records(segment: Buffer, used: number): Generator<[number, number]> {
    let at = 0;
    while (at < used) {
      // Each record is a ScopeSpans.spans field: tag 0x12, a varint length, the message.
      at++;
      let length = 0;
      let scale = 1;
      for (;;) {
        const b = segment[at++]!;
        length += (b & 127) * scale;
        if (b < 128) break;
        scale *= 128;
      }
      yield [at, at + length];
      at += length;
    }
  }

  /** The trace an invocation's kept spans belong to (its request span carries the id). */
  traceIdOf(invocationId: string): string | undefined {
    const needle = Buffer.from(invocationId);
    if (needle.length === 0) return undefined;
    for (const [segment, used] of this.filled()) {
      // Most segments do not hold the id at all: one search each before any decoding.
      if (segment.subarray(0, used).indexOf(needle) < 0) continue;
      for (const [start, end] of this.records(segment, used)) {
        if (segment.subarray(start, end).indexOf(needle) < 0) continue;
        const span = readSpanProto(segment, start, end);
        if (span.attributes["flick.invocation_id"] === invocationId) return span.traceId;
      }
    }
    return undefined;
  }

  /** The kept spans of a trace. */
  spansOf(traceId: string): SpanData[] {
    if (!/^[0-9a-f]{32}$/.test(traceId)) return [];
    // The trace id is the message's first field: tag 0x0a, length 16, the id's bytes.
    const id = Buffer.from(traceId, "hex");
    const out: SpanData[] = [];
    for (const [segment, used] of this.filled()) {
      for (const [start, end] of this.records(segment, used)) {
        if (segment[start] === 0x0a && segment[start + 1] === 16 && id.compare(segment, start + 2, start + 18) === 0) out.push(readSpanProto(segment, start, end));
      }
    }
    return out;
  }
}
