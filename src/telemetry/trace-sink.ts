/**
 * Where sampled spans end up, in each process that records them (every worker host, and
 * the primary for what it queues): a bounded window of recent traces, which `flick trace`
 * reads, and the OTLP exporter when one is configured. Nothing crosses processes on the
 * hot path: the primary asks the hosts for a trace only when someone wants one.
 *
 * The window is memory, not the store: a node with every request sampled makes over
 * 100,000 spans a second, more than is worth a disk write each. It is a ring of the last
 * `maxSpans` spans; recording costs O(1) per span, and the rare `flick trace` scans the ring. Empty after a restart; history belongs
 * in the OTLP backend.
 */
import type { SpanData } from "./invocation-trace.ts";
import type { OtlpExport } from "./otlp-export.ts";

export class TraceSink {
  /** The last `maxSpans` spans, oldest overwritten first. */
  private readonly ring: (SpanData | undefined)[];
  private next = 0;
  private readonly maxSpans: number;
  exporter: OtlpExport | undefined;

  constructor(options: { maxSpans?: number; exporter?: OtlpExport } = {}) {
    this.maxSpans = Math.max(1, options.maxSpans ?? 30_000);
    this.ring = new Array<SpanData | undefined>(this.maxSpans);
    this.exporter = options.exporter;
  }

  add(spans: readonly SpanData[]): void {
    if (spans.length === 0) return;
    this.exporter?.spans(spans);
    for (const span of spans) {
      this.ring[this.next] = span;
      this.next = this.next + 1 === this.maxSpans ? 0 : this.next + 1;
    }
  }

  /**
   * The trace an invocation's kept spans belong to: a scan of the ring, newest first (asked
   * for by a person, rarely). An index kept on every add cost more, at 100 % sampling, than
   * all the scans anyone would make.
   */
  traceIdOf(invocationId: string): string | undefined {
    for (let i = 1; i <= this.maxSpans; i++) {
      const span = this.ring[(this.next - i + this.maxSpans) % this.maxSpans];
      if (span === undefined) return undefined;
      if (span.attributes["flick.invocation_id"] === invocationId) return span.traceId;
    }
    return undefined;
  }

  /** The kept spans of a trace: a scan of the ring (asked for by a person, rarely). */
  spansOf(traceId: string): SpanData[] {
    const out: SpanData[] = [];
    for (const span of this.ring) if (span !== undefined && span.traceId === traceId) out.push(span);
    return out;
  }

  async close(): Promise<void> {
    await this.exporter?.shutdown();
  }
}
