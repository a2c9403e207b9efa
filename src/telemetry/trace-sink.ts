/**
 * Where sampled spans end up, in each process that records them (every worker host, and
 * the primary for what it queues): a window of recent spans, which `flick trace` reads,
 * and the OTLP exporter when one is configured. Nothing crosses processes on the hot
 * path: the primary asks the hosts for a trace only when someone wants one.
 *
 * The window is memory, not the store: a node with every request sampled makes over
 * 100,000 spans a second, more than is worth a disk write each. It is the last 8 MiB of
 * spans in OTLP protobuf (span-ring.ts says why bytes); exporting in protobuf, the
 * exporter copies those bytes rather than encoding each span twice. Empty after a
 * restart; history belongs in the OTLP backend.
 */
import type { SpanData } from "./invocation-trace.ts";
import type { OtlpExport } from "./otlp-export.ts";
import { SpanRing } from "./span-ring.ts";

export class TraceSink {
  private readonly ring: SpanRing;
  exporter: OtlpExport | undefined;

  constructor(options: { ringBytes?: number; exporter?: OtlpExport } = {}) {
    this.ring = new SpanRing(options.ringBytes);
    this.exporter = options.exporter;
  }

  add(spans: readonly SpanData[]): void {
    if (spans.length === 0) return;
    const exporter = this.exporter;
    if (exporter?.spanRecord === undefined) {
      for (const span of spans) this.ring.put(span);
      exporter?.spans(spans);
      return;
    }
    for (const span of spans) {
      if (this.ring.put(span)) exporter.spanRecord(this.ring.last);
      else exporter.spans([span]); // bigger than the window's segments: encoded on its own
    }
  }

  /** The trace an invocation's kept spans belong to: a search of the window (asked for by a person, rarely). */
  traceIdOf(invocationId: string): string | undefined {
    return this.ring.traceIdOf(invocationId);
  }

  /** The kept spans of a trace. */
  spansOf(traceId: string): SpanData[] {
    return this.ring.spansOf(traceId);
  }

  async close(): Promise<void> {
    await this.exporter?.shutdown();
  }
}
