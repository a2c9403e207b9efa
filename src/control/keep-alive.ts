/**
 * When to keep a function's instances warm, and when to warm them before they are asked
 * for. Two policies, chosen per node and overridable per function:
 *
 * - `fixed`: an idle instance stays warm for a fixed TTL after its last request (default
 *   10 minutes), then the function scales to zero. What Lambda and OpenFaaS users expect.
 * - `hybrid`: the hybrid histogram policy of "Serverless in the Wild" (Shahrad et al.,
 *   USENIX ATC 2020). Per function, the idle times between invocations go into a
 *   histogram of 1-minute bins up to 4 hours. With enough samples, the head of the
 *   distribution (5th percentile) becomes a pre-warm window — the instance is unloaded
 *   right after a request and loaded again just before the next one is likely — and the
 *   tail (99th percentile) the keep-alive window after that, both with a 10% margin.
 *   With too few samples, or idle times mostly beyond the histogram, it falls back to the
 *   fixed TTL (the paper falls back to a time-series forecast; a fixed TTL is simpler and
 *   errs on the warm side).
 *
 * Pure: idle times and the clock are passed in.
 */

export interface KeepAliveWindows {
  /** After the last request ends, stay unloaded this long (0: stay loaded). */
  prewarmMs: number;
  /** Then stay warm this long; after that, scale to zero. */
  keepAliveMs: number;
}

export type KeepAliveSpec = { policy: "fixed"; ttlMs: number } | { policy: "hybrid"; fallbackTtlMs: number };

export const keepAliveDefaults = {
  ttlMs: 10 * 60 * 1000,
  binMs: 60 * 1000,
  bins: 240,
  /** Fewer idle-time samples than this: not enough to trust the histogram. */
  minSamples: 10,
  /** More than this share of idle times beyond the histogram: fall back. */
  maxOutOfBounds: 0.5,
  headPercentile: 0.05,
  tailPercentile: 0.99,
  margin: 0.1,
} as const;

/** The histogram of one function's idle times. */
export class IdleTimeHistogram {
  readonly counts: Uint32Array = new Uint32Array(keepAliveDefaults.bins);
  samples = 0;
  outOfBounds = 0;

  record(idleMs: number): void {
    const bin = Math.floor(Math.max(0, idleMs) / keepAliveDefaults.binMs);
    if (bin >= keepAliveDefaults.bins) this.outOfBounds++;
    else this.counts[bin]!++;
    this.samples++;
  }

  /** The bin index below which `p` of the in-bounds samples fall. */
  percentileBin(p: number): number {
    const inBounds = this.samples - this.outOfBounds;
    const target = Math.max(1, Math.ceil(p * inBounds));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= target) return i;
    }
    return this.counts.length - 1;
  }
}

/** The windows for a function: fixed, or from its histogram (with the fixed fallback). */
export function keepAliveWindows(spec: KeepAliveSpec, histogram: IdleTimeHistogram | undefined): KeepAliveWindows {
  if (spec.policy === "fixed") return { prewarmMs: 0, keepAliveMs: spec.ttlMs };
  const d = keepAliveDefaults;
  if (histogram === undefined || histogram.samples < d.minSamples || histogram.outOfBounds / histogram.samples > d.maxOutOfBounds) {
    return { prewarmMs: 0, keepAliveMs: spec.fallbackTtlMs };
  }
  const head = histogram.percentileBin(d.headPercentile) * d.binMs;
  const tail = (histogram.percentileBin(d.tailPercentile) + 1) * d.binMs;
  const prewarmMs = Math.floor(head * (1 - d.margin));
  const keepAliveMs = Math.max(d.binMs, Math.ceil(tail * (1 + d.margin)) - prewarmMs);
  return { prewarmMs, keepAliveMs };
}
