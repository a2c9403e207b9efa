/**
 * A seeded workload shaped like Azure Functions as "Serverless in the Wild" (Shahrad et al.,
 * USENIX ATC 2020) describes it: a heavy-tailed popularity, timers next to request-driven
 * functions, bursts, a daily cycle, log-normal durations and memory, tenants of very
 * different sizes, and deployments that appear during the day.
 *
 * It has to stay simulable at a million functions, so each function's mean rate is capped
 * at 1 request/s and the rates are calibrated to ~125 M arrivals a day per million
 * functions (see RATE_*); the notes say what a given seed drew.
 *
 * Arrivals are made one window (1 s) at a time: a function waits in the list of the window
 * holding its next arrival; a window's functions write their arrivals in it, and the window
 * is sorted on one number per arrival, (µs into the window)·2^31 + function index, which
 * is exactly time then function. Times are whole microseconds. Every function draws from
 * its own stream (parked in a typed array between windows), so nothing depends on the
 * order the functions are visited in.
 */

import { normalQuantiles, Random } from "./random.ts";
import type { ArrivalBatch, Shard, SimFunction, Workload } from "./workload.ts";

export interface SyntheticOptions {
  functions: number;
  seed: number;
  /** Default one day. */
  durationMs?: number;
  /** Default functions / 20. */
  tenants?: number;
}

export type FunctionKind = "timer" | "poisson" | "bursty";

/** What the generator drew for one function (for reports and tests). */
export interface FunctionProfile {
  kind: FunctionKind;
  /** Mean arrivals per day while it exists (a timer's is 1440 / its period in minutes). */
  ratePerDay: number;
  /** When it is deployed: nothing arrives before. 0 for most functions. */
  startMs: number;
  /** Timers: the period. */
  periodMs?: number;
  /** Request-driven: the daily cycle's relative amplitude and the hour of its peak. */
  amplitude?: number;
  peakHour?: number;
  medianDurationMs: number;
}

export type SyntheticWorkload = Workload & { notes: string[]; profile(index: number): FunctionProfile };

const DAY_MS = 86_400_000;
const DAY_US = DAY_MS * 1000;
const MINUTE_US = 60_000_000;
const WINDOW_US = 1_000_000;
/** Sort key = µs into the window · FN_SCALE + index: below 2^51, so exact in a double. */
const FN_SCALE = 2 ** 31;
const WINDOW_MS = WINDOW_US / 1000;
/** A millisecond's span in keys: key / MS_KEY floors to the right millisecond (its distance to the next whole number, ≥ 2^-31/1000, is above half an ulp). */
const MS_KEY = 1000 * FN_SCALE;

// Popularity: log10(mean arrivals per day) ~ N(1.2, 0.9), capped at 1/s. With the timers
// below this gives ~54 % of functions at most once an hour, ~99 % at most once a minute,
// and ~125 M arrivals a day per million functions. The paper's 45 % / 81 % would need a
// tail heavier than a simulable total allows (its busiest functions run far above 1/s).
const RATE_LOG10_MEDIAN = 1.2;
const RATE_SIGMA_LOG10 = 0.9;
const RATE_CAP_PER_DAY = 86_400;
const TIMER_SHARE = 0.3;
/** Timer periods, minutes, and how common each is: hourly timers most, every-minute few (they cost 1440 a day each). */
const TIMER_PERIODS_MIN = [1, 5, 10, 15, 30, 60];
const TIMER_WEIGHTS = [0.03, 0.07, 0.1, 0.15, 0.2, 0.45];
const TIMER_JITTER_US = 3_000_000;
const BURSTY_SHARE = 1 / 3; // of the request-driven functions
const BURST_MEAN_SIZE = 10;
const BURST_GAP_US = 200_000;
/** Time zones: the hour of the daily peak, and its share of request-driven functions (one dominates, so the total has a cycle too). */
const PEAK_HOURS = [14, 15, 17, 22, 4];
const PEAK_WEIGHTS = [0.55, 0.2, 0.1, 0.1, 0.05];
const LATE_SHARE = 0.05;
const DURATION_MEDIAN_MS = 700;
const DURATION_SIGMA_FN = 0.6;
const DURATION_SIGMA_CALL = 0.3;
const DURATION_MAX_MS = 600_000;
const MEMORY_MEDIAN_MIB = 150;
const MEMORY_SIGMA_LOG10 = 0.3; // p90 ≈ 400 MiB, as the paper's apps
const TENANT_ZIPF_S = 0.8;
/** 10^(σ·z) at 4096 quantiles of z: each call's spread around its function's median (tails cut at ±3.5 σ). */
const SPREAD = normalQuantiles(4096).map((z) => 10 ** (DURATION_SIGMA_CALL * z));

const TIMER = 0;
const POISSON = 1;
const BURSTY = 2;
const KINDS: FunctionKind[] = ["timer", "poisson", "bursty"];

function pick(rng: Random, weights: number[]): number {
  let u = rng.next();
  for (let i = 0; i < weights.length - 1; i++) {
    u -= weights[i]!;
    if (u < 0) return i;
  }
  return weights.length - 1;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

function grow(a: Float64Array<ArrayBuffer>): Float64Array<ArrayBuffer> {
  const bigger = new Float64Array(a.length * 2);
  bigger.set(a);
  return bigger;
}

/**
 * One 64-byte record per function (a cache line: at a million functions the records outrun
 * the caches, and a visit then costs one miss instead of one per field). A Float64Array
 * and an Int32Array view the same buffer; offsets are in each view's units.
 */
const REC_F64 = 8;
const REC_I32 = 16;
const NEXT = 0; // µs of the next arrival
const GAP = 1; // timers: the period; request-driven: the mean gap at the daily peak (bursty: between bursts), µs
const SHAPE = 2; // timers: the first tick (start + phase), µs; request-driven: the cycle's amplitude
const MEDIAN = 3; // the duration's median, ms
const KIND = 8; // kind | zone << 2
const COUNTER = 9; // timers: ticks done; bursty: arrivals left in the burst
const LINK = 10; // the next function in the same window's list
const CURSOR = 11; // while its window is emitted: where its durations are
const STATE = 3; // the stream: Random.saveState slot i·4 + 3, i.e. int32s 12–15

export function syntheticWorkload(options: SyntheticOptions): SyntheticWorkload {
  const n = options.functions;
  const durationMs = options.durationMs ?? DAY_MS;
  const tenantCount = options.tenants ?? Math.max(1, Math.round(n / 20));
  if (!Number.isInteger(n) || n < 1 || n >= 2 ** 31) throw new RangeError(`functions must be a whole number from 1 to 2^31 - 1, got ${n}`);
  if (!(durationMs > 0) || !Number.isFinite(durationMs)) throw new RangeError(`durationMs must be a positive number, got ${durationMs}`);
  if (!Number.isInteger(tenantCount) || tenantCount < 1) throw new RangeError(`tenants must be a whole number ≥ 1, got ${tenantCount}`);
  const durationUs = Math.floor(durationMs * 1000);
  const root = new Random(options.seed);

  // Each reader starts from a copy of these records: the parameters and fresh streams.
  const init = new ArrayBuffer(n * REC_F64 * 8);
  const initF = new Float64Array(init);
  const initI = new Int32Array(init);
  const startUs = new Float64Array(n);
  const ratePerDay = new Float64Array(n);
  const functions: SimFunction[] = new Array(n);

  const zipf = (tenantCount + 1) ** (1 - TENANT_ZIPF_S) - 1;
  for (let i = 0; i < n; i++) {
    const r = root.fork(i);
    const f = i * REC_F64;
    // Continuous Zipf (density ∝ x^-s on [1, T+1)), inverted: tenant 0 is the biggest.
    const t = Math.min(tenantCount - 1, Math.floor((1 + r.next() * zipf) ** (1 / (1 - TENANT_ZIPF_S))) - 1);
    const memoryMiB = clamp(Math.round(r.lognormal(MEMORY_MEDIAN_MIB, MEMORY_SIGMA_LOG10)), 16, 1536);
    functions[i] = { fn: `t${t}/f${i}`, tenant: `t${t}`, memoryMiB };
    initF[f + MEDIAN] = clamp(r.lognormal(DURATION_MEDIAN_MS, DURATION_SIGMA_FN), 1, DURATION_MAX_MS);
    if (r.next() < LATE_SHARE) startUs[i] = Math.floor(r.next() * durationUs);
    if (r.next() < TIMER_SHARE) {
      const period = TIMER_PERIODS_MIN[pick(r, TIMER_WEIGHTS)]! * MINUTE_US;
      initI[i * REC_I32 + KIND] = TIMER;
      initF[f + GAP] = period;
      initF[f + SHAPE] = startUs[i]! + Math.floor(r.next() * period);
      ratePerDay[i] = DAY_US / period;
    } else {
      const kind = r.next() < BURSTY_SHARE ? BURSTY : POISSON;
      const rate = Math.min(RATE_CAP_PER_DAY, r.lognormal(10 ** RATE_LOG10_MEDIAN, RATE_SIGMA_LOG10));
      const amplitude = 0.3 + 0.5 * r.next();
      initI[i * REC_I32 + KIND] = kind | (pick(r, PEAK_WEIGHTS) << 2);
      initF[f + SHAPE] = amplitude;
      ratePerDay[i] = rate;
      // Thinning draws candidates at the peak rate, rate·(1 + a), and keeps each with the
      // cycle's share; a bursty function's candidates are burst starts, rate / burst size.
      initF[f + GAP] = ((kind === BURSTY ? BURST_MEAN_SIZE : 1) * DAY_US) / (rate * (1 + amplitude));
    }
    r.saveState(initI, i * 4 + STATE);
  }
  const kindOf = (i: number) => initI[i * REC_I32 + KIND]! & 3;
  const zoneOf = (i: number) => initI[i * REC_I32 + KIND]! >> 2;

  // The daily cycle per zone, per minute of the day: sin(2π·(t − peak + 6 h)/day) peaks at the zone's hour.
  const cycle = new Float64Array(PEAK_HOURS.length * 1440);
  PEAK_HOURS.forEach((peak, z) => {
    for (let m = 0; m < 1440; m++) cycle[z * 1440 + m] = Math.sin((2 * Math.PI * ((m + 0.5) / 60 - peak + 6)) / 24);
  });

  const notes = describe(options, n, tenantCount, durationUs, Uint8Array.from({ length: n }, (_, i) => kindOf(i)), startUs, ratePerDay);

  function arrivals(shard?: Shard): (batch: ArrivalBatch) => number {
    const buffer = init.slice(0);
    const rec = new Float64Array(buffer);
    const ints = new Int32Array(buffer);
    const rng = new Random(0); // works each function's parked stream in turn
    const windows = Math.ceil(durationUs / WINDOW_US);
    const head = new Int32Array(windows).fill(-1);
    let keys = new Float64Array(1 << 16);
    let durations = new Float64Array(1 << 16);
    let sorted = new Float64Array(1 << 16);
    const perMs = new Uint32Array(WINDOW_MS + 1);
    let count = 0;
    let pos = 0;
    let window = 0;
    let windowStart = 0;

    /** The first candidate after `t` that thinning keeps; ≥ durationUs when none is left. */
    function thinned(i: number, t: number): number {
      const gap = rec[i * REC_F64 + GAP]!;
      const a = rec[i * REC_F64 + SHAPE]!;
      const base = (ints[i * REC_I32 + KIND]! >> 2) * 1440;
      for (;;) {
        t += Math.floor(rng.exponential(gap));
        if (t >= durationUs) return t;
        if (rng.next() * (1 + a) < 1 + a * cycle[base + (Math.floor(t / MINUTE_US) % 1440)]!) return t;
      }
    }

    function timerTick(i: number): number {
      const f = i * REC_F64;
      return rec[f + SHAPE]! + ints[i * REC_I32 + COUNTER]! * rec[f + GAP]! + Math.floor(rng.next() * TIMER_JITTER_US);
    }

    /** The arrival after the one at `t`. */
    function advance(i: number, t: number): number {
      const c = i * REC_I32 + COUNTER;
      switch (ints[i * REC_I32 + KIND]! & 3) {
        case TIMER:
          ints[c]!++;
          return timerTick(i);
        case POISSON:
          return thinned(i, t);
        default:
          if (ints[c]! > 0) {
            ints[c]!--;
            return t + Math.floor(rng.exponential(BURST_GAP_US));
          }
          ints[c] = rng.geometric(BURST_MEAN_SIZE) - 1;
          return thinned(i, t);
      }
    }

    function enlist(i: number, t: number): void {
      rec[i * REC_F64 + NEXT] = t;
      if (t >= durationUs) return;
      const w = Math.floor(t / WINDOW_US);
      ints[i * REC_I32 + LINK] = head[w]!;
      head[w] = i;
    }

    // Each function draws from its own stream, so a shard's functions alone give the same
    // arrivals they give among all.
    const step = shard?.count ?? 1;
    for (let i = shard?.index ?? 0; i < n; i += step) {
      rng.loadState(ints, i * 4 + STATE);
      const kind = ints[i * REC_I32 + KIND]! & 3;
      if (kind === TIMER) enlist(i, timerTick(i));
      else {
        if (kind === BURSTY) ints[i * REC_I32 + COUNTER] = rng.geometric(BURST_MEAN_SIZE) - 1;
        enlist(i, thinned(i, startUs[i]!));
      }
      rng.saveState(ints, i * 4 + STATE);
    }

    function makeWindow(): void {
      windowStart = window * WINDOW_US;
      const end = Math.min(windowStart + WINDOW_US, durationUs);
      count = 0;
      pos = 0;
      let i = head[window]!;
      head[window] = -1;
      window++;
      while (i >= 0) {
        const following = ints[i * REC_I32 + LINK]!;
        const median = rec[i * REC_F64 + MEDIAN]!;
        rng.loadState(ints, i * 4 + STATE);
        ints[i * REC_I32 + CURSOR] = count;
        let t = rec[i * REC_F64 + NEXT]!;
        do {
          if (count === keys.length) keys = grow(keys);
          if (count === durations.length) durations = grow(durations);
          keys[count] = (t - windowStart) * FN_SCALE + i;
          // median · 10^(σ·z), z by inverse CDF from a table: Box-Muller here was a third of the time.
          const x = rng.next() * (SPREAD.length - 1);
          const j = Math.floor(x);
          durations[count] = clamp(median * (SPREAD[j]! + (SPREAD[j + 1]! - SPREAD[j]!) * (x - j)), 1, DURATION_MAX_MS);
          count++;
          t = advance(i, t);
        } while (t < end);
        rng.saveState(ints, i * 4 + STATE);
        enlist(i, t);
        i = following;
      }
      sortWindow();
    }

    /**
     * Sorts the window's keys (by time, then function): a counting sort on the millisecond,
     * then each millisecond's few keys in place. The native sort alone was a quarter of the time.
     */
    function sortWindow(): void {
      if (sorted.length < count) sorted = new Float64Array(keys.length);
      perMs.fill(0);
      for (let k = 0; k < count; k++) perMs[Math.floor(keys[k]! / MS_KEY) + 1]!++;
      for (let m = 1; m <= WINDOW_MS; m++) perMs[m]! += perMs[m - 1]!;
      for (let k = 0; k < count; k++) sorted[perMs[Math.floor(keys[k]! / MS_KEY)]!++] = keys[k]!;
      // perMs[m] is now where millisecond m ends (and m + 1 starts).
      for (let m = 0, from = 0; m < WINDOW_MS; from = perMs[m++]!) {
        const to = perMs[m]!;
        if (to - from > 16) sorted.subarray(from, to).sort();
        else {
          for (let k = from + 1; k < to; k++) {
            const key = sorted[k]!;
            let j = k - 1;
            for (; j >= from && sorted[j]! > key; j--) sorted[j + 1] = sorted[j]!;
            sorted[j + 1] = key;
          }
        }
      }
      [keys, sorted] = [sorted, keys];
    }

    return (batch) => {
      const cap = batch.atMs.length;
      let written = 0;
      while (written < cap) {
        if (pos === count) {
          if (window >= windows) break;
          makeWindow();
          continue;
        }
        const key = keys[pos++]!;
        const us = Math.floor(key / FN_SCALE);
        const i = key - us * FN_SCALE;
        batch.atMs[written] = (windowStart + us) / 1000;
        batch.fn[written] = i;
        // A function's arrivals keep their generation order in the sort (its times never
        // fall, and equal keys are interchangeable), so its durations come out in order.
        batch.durationMs[written] = durations[ints[i * REC_I32 + CURSOR]!++]!;
        written++;
      }
      return written;
    };
  }

  return {
    name: `synthetic (${n} functions, ${tenantCount} tenants, seed ${options.seed}${durationMs === DAY_MS ? "" : `, ${durationMs} ms`})`,
    functions,
    durationMs,
    arrivals,
    notes,
    profile(i: number): FunctionProfile {
      if (!Number.isInteger(i) || i < 0 || i >= n) throw new RangeError(`no function ${i}`);
      const kind = kindOf(i);
      const p: FunctionProfile = { kind: KINDS[kind]!, ratePerDay: ratePerDay[i]!, startMs: startUs[i]! / 1000, medianDurationMs: initF[i * REC_F64 + MEDIAN]! };
      if (kind === TIMER) p.periodMs = initF[i * REC_F64 + GAP]! / 1000;
      else {
        p.amplitude = initF[i * REC_F64 + SHAPE]!;
        p.peakHour = PEAK_HOURS[zoneOf(i)]!;
      }
      return p;
    },
  };
}

/** What was drawn: the expected total (mean rates over each function's lifetime) and the popularity shares. */
function describe(options: SyntheticOptions, n: number, tenants: number, durationUs: number, kind: Uint8Array, startUs: Float64Array, ratePerDay: Float64Array): string[] {
  const expected = new Float64Array(n);
  const kinds = [0, 0, 0];
  let late = 0;
  let hourly = 0;
  let minutely = 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    kinds[kind[i]!]!++;
    if (startUs[i]! > 0) late++;
    if (ratePerDay[i]! <= 24) hourly++;
    if (ratePerDay[i]! <= 1440) minutely++;
    expected[i] = (ratePerDay[i]! * (durationUs - startUs[i]!)) / DAY_US;
    total += expected[i]!;
  }
  expected.sort();
  let top = 0;
  for (let i = n - Math.ceil(n / 5); i < n; i++) top += expected[i]!;
  const pct = (x: number) => `${((100 * x) / n).toFixed(1)} %`;
  return [
    `synthetic: ${n} functions, ${tenants} tenants, seed ${options.seed}, ${(durationUs / 3.6e9).toFixed(2)} h`,
    `${kinds[TIMER]} timers, ${kinds[POISSON]} Poisson, ${kinds[BURSTY]} bursty; ${late} deployed during the run`,
    `expected arrivals ${Math.round(total)} (${(total / n).toFixed(1)} per function); mean rate ≤ 1/h: ${pct(hourly)}, ≤ 1/min: ${pct(minutely)}; the busiest 20 % hold ${((100 * top) / total).toFixed(1)} %`,
    `rates: log10(per day) ~ N(${RATE_LOG10_MEDIAN}, ${RATE_SIGMA_LOG10}) capped at ${RATE_CAP_PER_DAY}/day; timers ${TIMER_SHARE * 100} % (periods ${TIMER_PERIODS_MIN.join("/")} min)`,
  ];
}
