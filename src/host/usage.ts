/**
 * What a worker host tells the primary about the requests it admitted itself, a few times
 * a second and only when something changed: per instance, requests in flight and when it
 * was last used (keep-alive, reclamation and relays decide by them); per function, counts
 * and a bounded sample of latencies for `flick info`; measured instance memory. Never per
 * request: the hot path sends nothing.
 */
import { durationBucketsMs, type UsageRow } from "../model/index.ts";
import type { FromHost, FunctionUsage, InstanceUsage } from "./protocol.ts";

/** Latencies kept per function per report (a uniform sample beyond that). */
const latencySample = 64;
export const reportIntervalMs = 250;

export class UsageReport {
  private readonly changed = new Map<string, InstanceUsage>();
  private readonly functions = new Map<string, FunctionUsage & { seen: number }>();
  private readonly memory = new Map<string, number>();
  /** Usage by `<tenant/name>|<hour>`: every invocation is in exactly one report. */
  private readonly metered = new Map<string, UsageRow>();

  instance(id: string, inFlight: number, lastUsedMs: number): void {
    this.changed.set(id, [id, inFlight, lastUsedMs]);
  }

  private fn(name: string): FunctionUsage & { seen: number } {
    let f = this.functions.get(name);
    if (f === undefined) {
      f = {
        fn: name, invocations: 0, coldStarts: 0, codeCacheHits: 0, codeCacheMisses: 0, coldStartsFresh: 0, throttled: 0, latencies: [], seen: 0,
        outcomes: {}, durations: emptyBuckets(), durationSumMs: 0, throttledBy: {},
        cpu: emptyBuckets(), cpuSumMs: 0, queueWait: emptyBuckets(), queueWaitSumMs: 0, egress: { allowed: 0, denied: 0, failed: 0 },
      };
      this.functions.set(name, f);
    }
    return f;
  }

  /**
   * One answered invocation; `outcome` as in `FunctionUsage.outcomes`, `waitMs` its time from
   * arrival to a slot, `end` what the instance measured (CPU, egress).
   */
  /** A cold start that had neither a pooled isolate nor the code cache (counted besides `invocation`'s). */
  freshColdStart(fn: string): void {
    this.fn(fn).coldStartsFresh++;
  }

  invocation(
    fn: string, latencyMs: number, cold: boolean, codeCache: "hit" | "miss" | "module" | undefined, outcome: string,
    waitMs = 0, end: { cpuMs?: number; egress?: { allowed: number; denied: number; failed: number } } = {},
  ): void {
    const f = this.fn(fn);
    f.invocations++;
    f.outcomes[outcome] = (f.outcomes[outcome] ?? 0) + 1;
    f.durations[bucketOf(latencyMs)]!++;
    f.durationSumMs += latencyMs;
    f.queueWait[bucketOf(waitMs)]!++;
    f.queueWaitSumMs += waitMs;
    this.resources(fn, end);
    if (cold) f.coldStarts++;
    if (codeCache === "hit") f.codeCacheHits++;
    else if (codeCache === "miss") f.codeCacheMisses++;
    // Reservoir sampling: every latency of the interval is equally likely to be kept.
    f.seen++;
    if (f.latencies.length < latencySample) f.latencies.push(latencyMs);
    else {
      const j = Math.floor(Math.random() * f.seen);
      if (j < latencySample) f.latencies[j] = latencyMs;
    }
  }

  /** Meters one invocation of `tenant`'s function `name` that ran on this host. */
  meter(tenant: string, name: string, wallMs: number, memoryMiB: number, end: { cpuMs?: number; requestBytes?: number; responseBytes?: number; egress?: { bytes: number } }): void {
    const hourMs = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const key = `${tenant}/${name}|${hourMs}`;
    let row = this.metered.get(key);
    if (row === undefined) {
      row = { tenant, function: name, hourMs, invocations: 0, wallMs: 0, cpuMs: 0, mibMs: 0, requestBytes: 0, responseBytes: 0, egressBytes: 0 };
      this.metered.set(key, row);
    }
    row.invocations++;
    row.wallMs += wallMs;
    row.cpuMs += end.cpuMs ?? 0;
    row.mibMs += memoryMiB * wallMs;
    row.requestBytes += end.requestBytes ?? 0;
    row.responseBytes += end.responseBytes ?? 0;
    row.egressBytes += end.egress?.bytes ?? 0;
  }

  /** CPU and egress of an invocation: one a host admitted (`invocation`), or one the primary ran here (it counts the invocation itself). */
  resources(fn: string, end: { cpuMs?: number; egress?: { allowed: number; denied: number; failed: number } }): void {
    const f = this.fn(fn);
    const cpuMs = end.cpuMs ?? 0;
    f.cpu[bucketOf(cpuMs)]!++;
    f.cpuSumMs += cpuMs;
    if (end.egress !== undefined) {
      f.egress.allowed += end.egress.allowed;
      f.egress.denied += end.egress.denied;
      f.egress.failed += end.egress.failed;
    }
  }

  throttled(fn: string, reason: string): void {
    const f = this.fn(fn);
    f.throttled++;
    f.throttledBy[reason] = (f.throttledBy[reason] ?? 0) + 1;
  }

  memoryOf(instance: string, memoryMiB: number): void {
    this.memory.set(instance, memoryMiB);
  }

  /** The report since the last one, or undefined when nothing changed. */
  take(): Extract<FromHost, { t: "report" }> | undefined {
    if (this.changed.size === 0 && this.functions.size === 0 && this.memory.size === 0 && this.metered.size === 0) return undefined;
    const report: Extract<FromHost, { t: "report" }> = {
      t: "report",
      instances: [...this.changed.values()],
      functions: [...this.functions.values()].map(({ seen: _seen, ...f }) => f),
      memory: [...this.memory],
      meter: [...this.metered.values()],
    };
    this.metered.clear();
    this.changed.clear();
    this.functions.clear();
    this.memory.clear();
    return report;
  }
}

function emptyBuckets(): number[] {
  return new Array<number>(durationBucketsMs.length + 1).fill(0);
}

/** The `durationBucketsMs` bucket of `ms` (its index; the last index: above them all). */
export function bucketOf(ms: number): number {
  let i = 0;
  while (i < durationBucketsMs.length && ms > durationBucketsMs[i]!) i++;
  return i;
}

/** "2xx|" for a function's own 200, "5xx|function_error" for a platform error: the metrics' status and code. */
export function outcomeOf(status: number | undefined, code: string | undefined, codeStatus: number | undefined): string {
  const shown = status ?? codeStatus ?? 500;
  return `${Math.floor(shown / 100)}xx|${code ?? ""}`;
}

/** One latency as bucket counts (the primary's own invocations, counted as a host would). */
export function durationCounts(ms: number): number[] {
  const counts = emptyBuckets();
  counts[bucketOf(ms)] = 1;
  return counts;
}
