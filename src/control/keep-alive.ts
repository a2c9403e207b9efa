/**
 * When to keep a function's instances warm, and when to warm them before they are asked
 * for. Two policies, chosen per node and overridable per function:
 *
 * - `fixed`: an idle instance stays warm for a fixed TTL after its last request (default
 *   10 minutes), then it is stopped. What Lambda and OpenFaaS users expect.
 * - `hybrid`: after the hybrid histogram policy of "Serverless in the Wild" (Shahrad et
 *   al., USENIX ATC 2020), with the changes docs/scheduler.md measures. Per function, the
 *   length of each idle period — from the function's last request ending to its next
 *   request — goes into a histogram of 1-minute bins up to 4 hours. The head of the
 *   distribution (5th percentile) becomes a pre-warm window and the tail (99th) the end of
 *   the keep-alive, both with a 10 % margin: the instance is unloaded once a burst is
 *   surely over, loaded again just before the next request is likely, and kept until
 *   the tail. When the histogram cannot be trusted, a fallback decides (`basis`).
 *
 * Idle periods shorter than a bin are the gaps inside a burst: they are not samples (a
 * burst of 500 requests would otherwise put 499 samples in the first bin and pull the
 * 99th percentile down to a minute), and every policy keeps an idle instance at least
 * `burstKeepMs`, which covers them.
 *
 * Pure: idle times and the clock are passed in.
 */

/** What to do after a function's last request ends (times from that moment, ms). */
export interface KeepAliveWindows {
  /** Load an instance again this long after the function went idle (0: it is never unloaded early). */
  prewarmMs: number;
  /** Keep it this long after that; with no pre-warm, the keep-alive after the last request. */
  keepAliveMs: number;
  /** Where the windows come from. */
  basis: KeepAliveBasis;
}

/**
 * - `fixed`: the fixed policy.
 * - `histogram`: the function's idle times.
 * - `few-samples`: too few idle periods seen yet; the fallback TTL.
 * - `flat`: the idle times are spread over the whole range (the paper's test: the bin
 *   counts' coefficient of variation is low), so no window predicts them; kept until the
 *   99th percentile, without a pre-warm.
 * - `out-of-range`: most idle times are beyond the histogram's 4 hours; predicted from the
 *   last of them (a pre-warm a little before the shortest, kept a little past the longest).
 */
export type KeepAliveBasis = "fixed" | "histogram" | "few-samples" | "flat" | "out-of-range";

/** The hybrid policy's parameters; `flick sim` varies them, the node uses the defaults. */
export interface HybridTuning {
  /** The histogram: `fineBins` bins of `fineBinMs` first (short idle times told apart), then bins of `binMs` up to `bins` of them in all. */
  fineBinMs: number;
  fineBins: number;
  binMs: number;
  bins: number;
  /** Idle periods shorter than this are gaps inside a burst, not samples. */
  burstGapMs: number;
  /** Fewer idle periods than this: the fallback TTL. */
  minSamples: number;
  /** More than this share of idle times beyond the histogram: `out-of-range`. */
  maxOutOfBounds: number;
  headPercentile: number;
  tailPercentile: number;
  margin: number;
  /** Bin counts with a coefficient of variation below this are `flat`. */
  minCv: number;
  /** An idle instance is kept at least this long, pre-warm or not. */
  burstKeepMs: number;
  /**
   * How the keep-alive's end is chosen: `cost` (Flick's), the end that makes a function's
   * own idle times cheapest when a cold start is worth `coldStartCostMs` of idle instance
   * time; `percentile` (the paper's), the tail percentile.
   */
  choose: "cost" | "percentile";
  coldStartCostMs: number;
  /** With `cost`: how many of the first occupied bins (past the burst window) are tried as the pre-warm. */
  prewarmCandidates: number;
}

export type KeepAliveSpec = { policy: "fixed"; ttlMs: number } | { policy: "hybrid"; fallbackTtlMs: number; tuning?: Partial<HybridTuning> };

export const keepAliveDefaults = {
  ttlMs: 10 * 60 * 1000,
  fineBinMs: 5 * 1000,
  fineBins: 12,
  binMs: 60 * 1000,
  bins: 251,
  burstGapMs: 2 * 1000,
  minSamples: 4,
  maxOutOfBounds: 0.5,
  headPercentile: 0.05,
  tailPercentile: 0.99,
  margin: 0.05,
  minCv: 2,
  burstKeepMs: 10 * 1000,
  choose: "cost",
  coldStartCostMs: 5 * 60 * 1000,
  prewarmCandidates: 4,
} as const;

export function hybridTuning(spec: Extract<KeepAliveSpec, { policy: "hybrid" }>): HybridTuning {
  return spec.tuning === undefined ? keepAliveDefaults : { ...keepAliveDefaults, ...spec.tuning };
}

/** Out-of-range idle times remembered for the `out-of-range` prediction. */
const recentOutOfRange = 4;

/**
 * One function's idle times. Made on the function's first idle period (most configured
 * functions of a big node never have one). Counts are 16-bit and halved together when one
 * would overflow, so old behaviour fades as new comes in.
 */
export class IdleTimeHistogram {
  readonly fineBinMs: number;
  readonly fineBins: number;
  readonly binMs: number;
  readonly counts: Uint16Array;
  /** Idle periods recorded (halved with the counts). */
  samples = 0;
  outOfBounds = 0;
  /** The last out-of-range idle times, ms (a ring). */
  readonly beyond = new Float64Array(recentOutOfRange);
  private beyondNext = 0;
  /** Where the fine bins end, ms. */
  private readonly fineEndMs: number;

  constructor(t: Pick<HybridTuning, "fineBinMs" | "fineBins" | "binMs" | "bins"> = keepAliveDefaults) {
    this.fineBinMs = t.fineBinMs;
    this.fineBins = t.fineBins;
    this.binMs = t.binMs;
    this.fineEndMs = t.fineBinMs * t.fineBins;
    this.counts = new Uint16Array(t.bins);
  }

  /** The bin an idle time falls in (possibly past the last). */
  binOf(idleMs: number): number {
    const ms = Math.max(0, idleMs);
    if (ms < this.fineEndMs) return Math.floor(ms / this.fineBinMs);
    return this.fineBins + Math.floor((ms - this.fineEndMs) / this.binMs);
  }

  /** Where bin `i` starts, ms. */
  binStartMs(i: number): number {
    return i <= this.fineBins ? i * this.fineBinMs : this.fineEndMs + (i - this.fineBins) * this.binMs;
  }

  /** The histogram's range, ms: idle times from here on are out of range. */
  get rangeMs(): number {
    return this.binStartMs(this.counts.length);
  }

  record(idleMs: number): void {
    const bin = this.binOf(idleMs);
    if (bin >= this.counts.length) {
      this.outOfBounds++;
      this.beyond[this.beyondNext] = idleMs;
      this.beyondNext = (this.beyondNext + 1) % recentOutOfRange;
    } else {
      if (this.counts[bin] === 0xffff) this.halve();
      this.counts[bin]!++;
    }
    this.samples++;
  }

  private halve(): void {
    let kept = 0;
    for (let i = 0; i < this.counts.length; i++) kept += this.counts[i] = this.counts[i]! >>> 1;
    this.outOfBounds >>>= 1;
    this.samples = kept + this.outOfBounds;
  }

  /** The bin below which `p` of the in-range samples fall. */
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

  /** Coefficient of variation of the bin counts: high when idle times cluster, ~0 when spread evenly. */
  cv(): number {
    const n = this.counts.length;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += this.counts[i]!;
    if (sum === 0) return 0;
    const mean = sum / n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += (this.counts[i]! - mean) ** 2;
    return Math.sqrt(squares / n) / mean;
  }

  /** The remembered out-of-range idle times, ms. */
  recentBeyond(): number[] {
    const out: number[] = [];
    for (let i = 0; i < Math.min(recentOutOfRange, this.outOfBounds); i++) out.push(this.beyond[i]!);
    return out;
  }
}

/** The windows for a function: fixed, or from its histogram (with the fallbacks). */
export function keepAliveWindows(spec: KeepAliveSpec, histogram: IdleTimeHistogram | undefined): KeepAliveWindows {
  if (spec.policy === "fixed") return { prewarmMs: 0, keepAliveMs: spec.ttlMs, basis: "fixed" };
  const t = hybridTuning(spec);
  if (histogram === undefined || histogram.samples < t.minSamples) return { prewarmMs: 0, keepAliveMs: spec.fallbackTtlMs, basis: "few-samples" };
  if (histogram.outOfBounds / histogram.samples > t.maxOutOfBounds) {
    const beyond = histogram.recentBeyond();
    const shortest = Math.min(...beyond);
    const longest = Math.max(...beyond);
    const prewarmMs = Math.floor(shortest * (1 - t.margin));
    return { prewarmMs, keepAliveMs: Math.ceil(longest * (1 + t.margin)) - prewarmMs, basis: "out-of-range" };
  }
  const flat = histogram.cv() < t.minCv;
  const basis = flat ? "flat" : "histogram";
  const head = histogram.binStartMs(histogram.percentileBin(t.headPercentile));
  // A pre-warm needs a head to predict, and must come late enough to be worth an unload.
  const prewarmMs = flat || head * (1 - t.margin) <= t.burstKeepMs + minUnloadMs ? 0 : Math.floor(head * (1 - t.margin));
  if (t.choose === "percentile") {
    const tailMs = Math.ceil(histogram.binStartMs(histogram.percentileBin(t.tailPercentile) + 1) * (1 + t.margin));
    return { prewarmMs, keepAliveMs: Math.max(t.fineBinMs, tailMs - prewarmMs), basis };
  }
  let pick = cheapestEnd(histogram, t, 0);
  if (!flat) {
    // Pre-warms at the first few places idle times gather, once an unload is worth it: the
    // cheapest wins. (Not only the head percentile: a timer whose calls come in threes has
    // two thirds of its idle times a few seconds long, and its real period further on.)
    const earliest = t.burstKeepMs + minUnloadMs;
    let tried = 0;
    for (let i = 0; i < histogram.counts.length && tried < t.prewarmCandidates; i++) {
      const at = Math.floor(histogram.binStartMs(i) * (1 - t.margin));
      if (histogram.counts[i] === 0 || at <= earliest) continue;
      tried++;
      const warmed = cheapestEnd(histogram, t, at);
      if (warmed.cost < pick.cost) pick = warmed;
    }
  }
  const endMs = Math.ceil(pick.endMs * (1 + t.margin));
  return { prewarmMs: pick.prewarmMs, keepAliveMs: Math.max(t.fineBinMs, endMs - pick.prewarmMs), basis };
}

/**
 * The end of the keep-alive (a bin's end) that would have cost least over the idle times
 * seen, with a pre-warm at `prewarmMs` (0: none, the instance stays until the end). Each
 * idle time costs the instance time it kept (the bin's middle stands for the idle times
 * in it), plus `coldStartCostMs` if its request came to no instance: before the pre-warm
 * (once the instance was unloaded) or after the end. One pass over the bins.
 */
function cheapestEnd(h: IdleTimeHistogram, t: HybridTuning, prewarmMs: number): { prewarmMs: number; endMs: number; cost: number } {
  const keep = t.burstKeepMs;
  const cold = t.coldStartCostMs;
  let covered = 0; // what the idle times up to the candidate end cost
  let beyond = h.samples; // idle times past the candidate end
  let best = { prewarmMs, endMs: h.rangeMs, cost: Infinity };
  for (let i = 0; i < h.counts.length; i++) {
    const n = h.counts[i]!;
    const endMs = h.binStartMs(i + 1);
    if (n > 0) {
      const idle = (h.binStartMs(i) + endMs) / 2;
      covered += n * (prewarmMs === 0 || idle < keep ? idle : idle < prewarmMs ? keep + cold : keep + idle - prewarmMs);
      beyond -= n;
    }
    if (endMs <= prewarmMs) continue;
    const cost = covered + beyond * ((prewarmMs === 0 ? endMs : keep + endMs - prewarmMs) + cold);
    if (cost < best.cost) best = { prewarmMs, endMs, cost };
  }
  return best;
}

/**
 * What the windows mean for an idle instance, from the moment the function went idle:
 * stop it after `unloadAfterMs`; if `prewarmAfterMs` > 0, load one again then and keep it
 * until `keepUntilMs`. A pre-warm that would come soon after the unload is not worth a
 * second start: the instance is then kept through it.
 */
export interface IdleSchedule {
  unloadAfterMs: number;
  prewarmAfterMs: number;
  keepUntilMs: number;
}

export function idleSchedule(spec: KeepAliveSpec, windows: KeepAliveWindows): IdleSchedule {
  const end = windows.prewarmMs + windows.keepAliveMs;
  if (spec.policy === "fixed") return { unloadAfterMs: end, prewarmAfterMs: 0, keepUntilMs: end };
  const keep = hybridTuning(spec).burstKeepMs;
  if (windows.prewarmMs <= keep + minUnloadMs) return { unloadAfterMs: Math.max(end, keep), prewarmAfterMs: 0, keepUntilMs: Math.max(end, keep) };
  return { unloadAfterMs: keep, prewarmAfterMs: windows.prewarmMs, keepUntilMs: end };
}

/** Whether an idle period of `idleMs` is a sample, or a gap inside a burst. */
export function isIdlePeriod(spec: KeepAliveSpec, idleMs: number): boolean {
  return spec.policy === "hybrid" && idleMs >= hybridTuning(spec).burstGapMs;
}

/** An unload shorter than this before the pre-warm brings it back is not worth a second start. */
const minUnloadMs = 20 * 1000;
