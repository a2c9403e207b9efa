/**
 * Feeds the dashboard's history (store `rollups`): the counts hosts report every 250 ms
 * (and what the primary runs itself) are added up in memory per (tenant, function, minute)
 * and written once per flush — every 5 s by default, and before a series is read or the
 * node stops — never once per request or per report. Old rows are pruned at most once a
 * minute, after a flush. A node killed with SIGKILL loses the counts of its last flush
 * interval (the chart only; usage metering is written per report).
 */
import { durationBucketsMs } from "../model/index.ts";
import type { RollupRow, Store } from "../store/index.ts";
import type { InvocationCounts } from "../telemetry/index.ts";

const minuteMs = 60_000;
const pruneEveryMs = 60_000;

export interface RollupRecorderOptions {
  /** How often pending counts are written, ms (default 5,000). */
  flushEveryMs?: number;
  /** Epoch ms; injected so tests place counts in chosen minutes. */
  now?: () => number;
  onError?: (err: unknown) => void;
}

export class RollupRecorder {
  private readonly store: Store;
  private readonly now: () => number;
  private readonly flushEveryMs: number;
  private readonly onError: (err: unknown) => void;
  /** Counts not written yet, by `<tenant>/<function>|<minute>`. */
  private pending = new Map<string, RollupRow>();
  /** Writes in order; `flush` resolves once its own (and every earlier one) is done. */
  private writes: Promise<void> = Promise.resolve();
  private lastPruneMs = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;

  constructor(store: Store, options: RollupRecorderOptions = {}) {
    this.store = store;
    this.now = options.now ?? Date.now;
    this.flushEveryMs = options.flushEveryMs ?? 5000;
    this.onError = options.onError ?? ((err) => process.emitWarning(`flick: dashboard rollups could not be stored: ${String(err)}`));
  }

  /** Adds what a host (or the primary) counted for `tenant`'s function `fn` to the current minute. */
  count(tenant: string, fn: string, counts: InvocationCounts): void {
    let throttled = 0;
    for (const n of Object.values(counts.throttledBy)) throttled += n;
    const cpuMs = counts.cpuSumMs ?? 0;
    // A report of instances only (or CPU of nothing) adds no row.
    if (counts.invocations === 0 && throttled === 0 && cpuMs === 0) return;
    const startMs = Math.floor(this.now() / minuteMs) * minuteMs;
    const key = `${tenant}/${fn}|${startMs}`;
    let row = this.pending.get(key);
    if (row === undefined) {
      row = {
        tenant, function: fn, startMs, invocations: 0, clientErrors: 0, serverErrors: 0, platformErrors: 0, throttled: 0, coldStarts: 0, cpuMs: 0, wallMs: 0,
        durations: new Array<number>(durationBucketsMs.length + 1).fill(0),
      };
      this.pending.set(key, row);
    }
    row.invocations += counts.invocations;
    row.coldStarts += counts.coldStarts;
    row.throttled += throttled;
    row.cpuMs += cpuMs;
    row.wallMs += counts.durationSumMs;
    for (let i = 0; i < row.durations.length; i++) row.durations[i]! += counts.durations[i] ?? 0;
    // `<status class>|<platform error code>`, as host/usage.ts `outcomeOf` writes it.
    for (const [outcome, n] of Object.entries(counts.outcomes)) {
      if (outcome.startsWith("4")) row.clientErrors += n;
      else if (outcome.startsWith("5")) row.serverErrors += n;
      if (!outcome.endsWith("|")) row.platformErrors += n;
    }
  }

  /** Writes what is pending (and prunes when due); resolves once it is stored. */
  flush(): Promise<void> {
    const rows = [...this.pending.values()];
    this.pending = new Map();
    this.writes = this.writes.then(async () => {
      try {
        if (rows.length > 0) await this.store.addRollups(rows);
        const now = this.now();
        if (now - this.lastPruneMs >= pruneEveryMs) {
          this.lastPruneMs = now;
          await this.store.pruneRollups(now);
        }
      } catch (err) {
        this.onError(err);
      }
    });
    return this.writes;
  }

  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.flushEveryMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left (before the store closes). */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
