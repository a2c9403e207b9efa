/**
 * `GET /metrics/series`: the rollup rows of a span (store `rollups`) summed into evenly
 * spaced steps — what the dashboard's charts draw. Steps with nothing in them are zeros,
 * so a chart's time axis has no gaps. Latency quantiles come from the summed histogram
 * buckets of each step (bucketQuantile), never from averaging per-minute quantiles.
 */
import type { MetricsSeries, SeriesRange, SeriesTotals } from "../api/index.ts";
import { durationBucketsMs } from "../model/index.ts";
import { addRollup, type RollupCounts, type RollupResolution, type Store } from "../store/index.ts";
import { bucketQuantile } from "./bucket-quantile.ts";

const minuteMs = 60_000;
const hourMs = 3_600_000;

/** Per range: its span, the width of a step, and which rows it reads (minute rows are kept a day). */
export const seriesSteps: Readonly<Record<SeriesRange, { spanMs: number; stepMs: number; resolution: RollupResolution }>> = {
  "1h": { spanMs: hourMs, stepMs: minuteMs, resolution: "minute" },
  "24h": { spanMs: 24 * hourMs, stepMs: 5 * minuteMs, resolution: "minute" },
  "7d": { spanMs: 7 * 24 * hourMs, stepMs: hourMs, resolution: "hour" },
  "30d": { spanMs: 30 * 24 * hourMs, stepMs: 6 * hourMs, resolution: "hour" },
};

const emptySum = (): RollupCounts => ({
  invocations: 0, clientErrors: 0, serverErrors: 0, platformErrors: 0, throttled: 0, coldStarts: 0, cpuMs: 0, wallMs: 0,
  durations: new Array<number>(durationBucketsMs.length + 1).fill(0),
});

/** Milliseconds to 3 decimals: sums of floats, shown to people. */
const round = (ms: number) => Math.round(ms * 1000) / 1000;
const quantile = (sum: RollupCounts, q: number) => {
  const ms = bucketQuantile(durationBucketsMs, sum.durations, q);
  return ms === null ? null : round(ms);
};

function totalsOf(sum: RollupCounts): SeriesTotals {
  return {
    invocations: sum.invocations, clientErrors: sum.clientErrors, serverErrors: sum.serverErrors, platformErrors: sum.platformErrors,
    throttled: sum.throttled, coldStarts: sum.coldStarts, cpuMs: round(sum.cpuMs), wallMs: round(sum.wallMs),
    p50Ms: quantile(sum, 0.5), p99Ms: quantile(sum, 0.99),
  };
}

/**
 * The series of `range` ending with the step that holds `nowMs`: one tenant's functions, one
 * function of a tenant, or (no tenant) every tenant's. Who may ask is checked by the caller.
 */
export async function readSeries(store: Store, query: { range: SeriesRange; tenant?: string; function?: string }, nowMs: number): Promise<MetricsSeries> {
  const { spanMs, stepMs, resolution } = seriesSteps[query.range];
  const untilMs = Math.floor(nowMs / stepMs) * stepMs + stepMs;
  const sinceMs = untilMs - spanMs;
  const rows = await store.readRollups({
    resolution, sinceMs, untilMs,
    ...(query.tenant === undefined ? {} : { tenant: query.tenant }),
    ...(query.function === undefined ? {} : { function: query.function }),
  });
  const steps = Array.from({ length: spanMs / stepMs }, emptySum);
  const total = emptySum();
  for (const row of rows) {
    addRollup(steps[Math.floor((row.startMs - sinceMs) / stepMs)]!, row);
    addRollup(total, row);
  }
  const each = steps.map(totalsOf);
  const column = <K extends keyof SeriesTotals>(key: K): SeriesTotals[K][] => each.map((t) => t[key]);
  return {
    range: query.range, stepMs, sinceMs, untilMs, tenant: query.tenant ?? null, function: query.function ?? null,
    points: {
      startMs: steps.map((_, i) => sinceMs + i * stepMs),
      invocations: column("invocations"), clientErrors: column("clientErrors"), serverErrors: column("serverErrors"), platformErrors: column("platformErrors"),
      throttled: column("throttled"), coldStarts: column("coldStarts"), cpuMs: column("cpuMs"), wallMs: column("wallMs"), p50Ms: column("p50Ms"), p99Ms: column("p99Ms"),
    },
    total: totalsOf(total),
  };
}
