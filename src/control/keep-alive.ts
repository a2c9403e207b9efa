/**
 * When to keep a function's instances warm, and when to warm them before they are asked
 * for. Two policies, chosen per node and overridable per function:
 *
 * - `fixed`: an idle instance stays warm for a fixed TTL after its last request (default
 *   10 minutes), then it is stopped. What Lambda and OpenFaaS users expect.
 * - `hybrid`: after the hybrid histogram policy of "Serverless in the Wild" (Shahrad et
 *   al., USENIX ATC 2020), with the changes docs/scheduler.md measures. Per function, the
 *   length of each idle period — from the function's last request ending to its next
 *   request — goes into a histogram (5 s bins up to a minute, then 1-minute bins up to
 *   4 hours). The windows are the ones that would have cost least over those idle times,
 *   a cold start counting as `coldStartCostMs` of idle instance time: how long to hold an
 *   instance after a request, when to load one again, and until when to keep it (the
 *   paper's percentile windows remain as `choose: "percentile"`). When the histogram
 *   cannot be trusted, a fallback decides (`basis`).
 *
 * Idle periods shorter than `burstGapMs` (2 s) are the gaps inside a burst: they are not
 * samples (a burst of 500 requests would otherwise put 499 samples in the first bin), and
 * the hybrid keeps an idle instance at least `burstKeepMs` (10 s), which covers them.
 *
 * Pure: idle times and the clock are passed in.
 */

/** What to do after a function's last request ends (times from that moment, ms). */
export interface KeepAliveWindows {
  /** Load an instance again this long after the function went idle (0: it is never unloaded early). */
  prewarmMs: number;
  /** Keep it this long after that; with no pre-warm, the keep-alive after the last request. */
  keepAliveMs: number;
  /** With a pre-warm: stay loaded this long after the last request before the unload (the follow-ups of a burst); else 0. */
  holdMs?: number;
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
  coldStartCostMs: 20 * 60 * 1000,
  prewarmCandidates: 4,
} as const;

/** A spec's tuning with the defaults filled in: made once per spec (it is asked for on every idle period). */
const tunings = new WeakMap<object, HybridTuning>();

export function hybridTuning(spec: Extract<KeepAliveSpec, { policy: "hybrid" }>): HybridTuning {
  const tuning = spec.tuning;
  if (tuning === undefined) return keepAliveDefaults;
  let full = tunings.get(tuning);
  if (full === undefined) tunings.set(tuning, (full = { ...keepAliveDefaults, ...tuning }));
  return full;
}

/** Out-of-range idle times remembered for the `out-of-range` prediction. */
const recentOutOfRange = 4;

/** A cell of the sparse histogram: bin · 2^16 + count (a small integer, so the list stays an array of Smis). */
const CELL = 0x10000;
const MAX_COUNT = 0xffff;

/**
 * One function's idle times. Made on the function's first idle period (most configured
 * functions of a big node never have one). Counts are 16-bit and halved together when one
 * would overflow, so old behaviour fades as new comes in.
 *
 * Sparse: a function's idle times gather in a few of the 251 bins, so only the occupied
 * bins are kept, ascending, one number each (`cells`). A node may know a million
 * functions; a dense 251-slot array each was half a gigabyte and most of the garbage
 * collector's work in a million-function `flick sim`. Windows are computed from the
 * cells alone, and Σ count² is kept for the spread, so recomputing them after an idle
 * period costs a pass over a few numbers.
 */
export class IdleTimeHistogram {
  /** The bins' layout (the tuning object itself, shared by every histogram of a spec). */
  private readonly shape: Pick<HybridTuning, "fineBinMs" | "fineBins" | "binMs" | "bins">;
  /** The occupied bins, ascending, as bin · 2^16 + count: read them with `binAt` and `countAt`. */
  readonly cells: number[] = [];
  /** Idle periods recorded (halved with the counts). */
  samples = 0;
  outOfBounds = 0;
  /** The last out-of-range idle times, ms (a ring, made at the first). */
  private beyond: number[] | undefined;
  private beyondNext = 0;
  private sumSquares = 0;

  constructor(shape: Pick<HybridTuning, "fineBinMs" | "fineBins" | "binMs" | "bins"> = keepAliveDefaults) {
    this.shape = shape;
  }

  /** The bin an idle time falls in (possibly past the last). */
  binOf(idleMs: number): number {
    const { fineBinMs, fineBins, binMs } = this.shape;
    const ms = Math.max(0, idleMs);
    const fineEndMs = fineBinMs * fineBins;
    if (ms < fineEndMs) return Math.floor(ms / fineBinMs);
    return fineBins + Math.floor((ms - fineEndMs) / binMs);
  }

  /** Where bin `i` starts, ms. */
  binStartMs(i: number): number {
    const { fineBinMs, fineBins, binMs } = this.shape;
    return i <= fineBins ? i * fineBinMs : fineBins * fineBinMs + (i - fineBins) * binMs;
  }

  /** The histogram's range, ms: idle times from here on are out of range. */
  get rangeMs(): number {
    return this.binStartMs(this.shape.bins);
  }

  /** The bin of the `k`th occupied cell. */
  binAt(k: number): number {
    return Math.floor(this.cells[k]! / CELL);
  }

  /** The count of the `k`th occupied cell. */
  countAt(k: number): number {
    return this.cells[k]! % CELL;
  }

  /** Records an idle period; returns whether it opened a bin no idle time was in. */
  record(idleMs: number): boolean {
    const bin = this.binOf(idleMs);
    this.samples++;
    if (bin >= this.shape.bins) {
      this.outOfBounds++;
      const beyond = (this.beyond ??= []);
      beyond[this.beyondNext] = idleMs;
      this.beyondNext = (this.beyondNext + 1) % recentOutOfRange;
      return false;
    }
    const cells = this.cells;
    // From the top: a bin at or past the last occupied one is the common case.
    let k = cells.length - 1;
    while (k >= 0 && cells[k]! >= (bin + 1) * CELL) k--;
    if (k >= 0 && Math.floor(cells[k]! / CELL) === bin) {
      const c = cells[k]! % CELL;
      if (c === MAX_COUNT) {
        this.samples--;
        this.halve();
        return this.record(idleMs);
      }
      cells[k]!++;
      this.sumSquares += 2 * c + 1;
      return false;
    }
    cells.splice(k + 1, 0, bin * CELL + 1);
    this.sumSquares += 1;
    return true;
  }

  private halve(): void {
    let kept = 0;
    let sumSquares = 0;
    const cells = this.cells;
    let w = 0;
    for (let k = 0; k < cells.length; k++) {
      const c = (cells[k]! % CELL) >>> 1;
      if (c === 0) continue;
      cells[w++] = Math.floor(cells[k]! / CELL) * CELL + c;
      kept += c;
      sumSquares += c * c;
    }
    cells.length = w;
    this.sumSquares = sumSquares;
    this.outOfBounds >>>= 1;
    this.samples = kept + this.outOfBounds;
  }

  /** The bin below which `p` of the in-range samples fall. */
  percentileBin(p: number): number {
    const inBounds = this.samples - this.outOfBounds;
    const target = Math.max(1, Math.ceil(p * inBounds));
    let seen = 0;
    for (let k = 0; k < this.cells.length; k++) {
      seen += this.countAt(k);
      if (seen >= target) return this.binAt(k);
    }
    return this.shape.bins - 1;
  }

  /** Coefficient of variation of the bin counts: high when idle times cluster, ~0 when spread evenly. */
  cv(): number {
    const n = this.shape.bins;
    const sum = this.samples - this.outOfBounds;
    if (sum <= 0) return 0;
    const mean = sum / n;
    return Math.sqrt(Math.max(0, this.sumSquares / n - mean * mean)) / mean;
  }

  /** The remembered out-of-range idle times, ms. */
  recentBeyond(): number[] {
    return (this.beyond ?? []).slice(0, Math.min(recentOutOfRange, this.outOfBounds));
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
  if (t.choose === "percentile") {
    const head = histogram.binStartMs(histogram.percentileBin(t.headPercentile));
    // A pre-warm needs a head to predict, and must come late enough to be worth an unload.
    const prewarmMs = flat || head * (1 - t.margin) <= t.burstKeepMs + minUnloadMs ? 0 : Math.floor(head * (1 - t.margin));
    const tailMs = Math.ceil(histogram.binStartMs(histogram.percentileBin(t.tailPercentile) + 1) * (1 + t.margin));
    return { prewarmMs, keepAliveMs: Math.max(t.fineBinMs, tailMs - prewarmMs), basis };
  }
  let pick = cheapestEnd(histogram, t, 0, [0], 1);
  if (!flat) {
    // Pre-warms at the first few places idle times gather once an unload is worth it, each
    // with a hold before the unload that covers the first few shorter ones (a burst's
    // follow-ups): the cheapest wins. A timer whose calls come in threes has two thirds of
    // its idle times a few seconds long, and its real period further on.
    const earliest = t.burstKeepMs + minUnloadMs;
    const holds = [t.burstKeepMs];
    const usable: number[] = [];
    let tried = 0;
    for (let k = 0; k < histogram.cells.length; k++) {
      if (tried >= t.prewarmCandidates) break;
      const i = histogram.binAt(k);
      const at = Math.floor(histogram.binStartMs(i) * (1 - t.margin));
      if (at <= earliest) {
        if (holds.length <= t.prewarmCandidates) holds.push(histogram.binStartMs(i + 1));
        continue;
      }
      tried++;
      usable.length = 0;
      for (const hold of holds) if (at - hold >= minUnloadMs) usable.push(hold);
      if (usable.length === 0) continue;
      const warmed = cheapestEnd(histogram, t, at, usable, usable.length);
      if (warmed.cost < pick.cost) pick = warmed;
    }
  }
  const endMs = Math.ceil(pick.endMs * (1 + t.margin));
  const windows: KeepAliveWindows = { prewarmMs: pick.prewarmMs, keepAliveMs: Math.max(t.fineBinMs, endMs - pick.prewarmMs), basis };
  if (pick.prewarmMs > 0) windows.holdMs = pick.holdMs;
  return windows;
}

/**
 * The end of the keep-alive (a bin's end) that would have cost least over the idle times
 * seen, with a pre-warm at `prewarmMs` after a hold from `holds` (the first `n`; with no
 * pre-warm, 0: the instance stays until the end). Each idle time costs the instance time
 * it kept (the bin's middle stands for the idle times in it), plus `coldStartCostMs` if its
 * request came to no instance: after the unload and before the pre-warm (a bin the
 * pre-warm falls inside counts as before it), or after the end. One pass over the
 * occupied bins for all the holds; the first cheapest hold wins a tie.
 */
function cheapestEnd(h: IdleTimeHistogram, t: HybridTuning, prewarmMs: number, holds: readonly number[], n: number): { prewarmMs: number; holdMs: number; endMs: number; cost: number } {
  const cold = t.coldStartCostMs;
  if (covered.length < n) {
    covered = new Float64Array(2 * n);
    bestCost = new Float64Array(2 * n);
    bestEnd = new Float64Array(2 * n);
  }
  for (let j = 0; j < n; j++) {
    covered[j] = 0; // what the idle times up to the candidate end cost
    bestCost[j] = Infinity;
    bestEnd[j] = h.rangeMs;
  }
  let beyond = h.samples; // idle times past the candidate end
  // Between occupied bins the cost only grows with the end, so the candidates are the end
  // of each occupied bin and the shortest end there is (the first bin end past the pre-warm).
  const shortest = h.binStartMs(prewarmMs === 0 ? 1 : h.binOf(prewarmMs) + 1);
  let shortestDone = false;
  const occupied = h.cells.length;
  for (let k = 0; k <= occupied; k++) {
    const i = k < occupied ? h.binAt(k) : -1;
    const startMs = i < 0 ? Infinity : h.binStartMs(i);
    if (!shortestDone && shortest <= startMs) {
      shortestDone = true;
      for (let j = 0; j < n; j++) {
        const cost = covered[j]! + beyond * costPast(shortest, prewarmMs, holds[j]!, cold);
        if (cost < bestCost[j]!) {
          bestCost[j] = cost;
          bestEnd[j] = shortest;
        }
      }
    }
    if (i < 0) break;
    const endMs = h.binStartMs(i + 1);
    const idle = (startMs + endMs) / 2; // the bin's middle stands for the idle times in it
    const count = h.countAt(k);
    beyond -= count;
    for (let j = 0; j < n; j++) {
      const holdMs = holds[j]!;
      covered[j]! += count * (prewarmMs === 0 || endMs <= holdMs ? idle : startMs < prewarmMs ? holdMs + cold : holdMs + idle - prewarmMs);
    }
    if (endMs > prewarmMs) {
      if (endMs >= shortest) shortestDone = true;
      for (let j = 0; j < n; j++) {
        const cost = covered[j]! + beyond * costPast(endMs, prewarmMs, holds[j]!, cold);
        if (cost < bestCost[j]!) {
          bestCost[j] = cost;
          bestEnd[j] = endMs;
        }
      }
    }
  }
  let best = 0;
  for (let j = 1; j < n; j++) if (bestCost[j]! < bestCost[best]!) best = j;
  return { prewarmMs, holdMs: holds[best]!, endMs: bestEnd[best]!, cost: bestCost[best]! };
}

/** cheapestEnd's running sums, one per hold (reused: windows are recomputed on every idle period of a young histogram). */
let covered = new Float64Array(8);
let bestCost = new Float64Array(8);
let bestEnd = new Float64Array(8);

/** What one idle time longer than the keep-alive's end costs: the instance time kept, and a cold start. */
function costPast(endMs: number, prewarmMs: number, holdMs: number, cold: number): number {
  return (prewarmMs === 0 ? endMs : holdMs + endMs - prewarmMs) + cold;
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
  const hold = Math.max(keep, windows.holdMs ?? 0);
  if (windows.prewarmMs <= hold + minUnloadMs) return { unloadAfterMs: Math.max(end, hold), prewarmAfterMs: 0, keepUntilMs: Math.max(end, hold) };
  return { unloadAfterMs: hold, prewarmAfterMs: windows.prewarmMs, keepUntilMs: end };
}

/** Whether an idle period of `idleMs` is a sample, or a gap inside a burst. */
export function isIdlePeriod(spec: KeepAliveSpec, idleMs: number): boolean {
  return spec.policy === "hybrid" && idleMs >= hybridTuning(spec).burstGapMs;
}

/** An unload shorter than this before the pre-warm brings it back is not worth a second start. */
const minUnloadMs = 20 * 1000;
