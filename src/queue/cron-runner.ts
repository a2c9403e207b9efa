/**
 * Cron triggers: at each scheduled time, a `scheduled` async invocation of the function
 * goes into the durable queue (so a run is retried, dead-lettered and shown like any async
 * invocation). The last fired time of each (function, expression) is kept in the queue
 * store; each run's idempotency key is `cron:<expression>:<scheduled time>`, so a crash
 * between queueing a run and recording it never fires that run twice.
 *
 * Runs missed while the node was down (more than one due, or one due over a minute ago)
 * follow the function's policy: `once` (default) fires the most recent missed run once
 * at start — what anacron and Kubernetes CronJobs do — and `skip` fires none and waits
 * for the next scheduled time.
 */
import type { QueueStore } from "../store/index.ts";
import { nextRun, type CronSchedule } from "./cron.ts";

export type MissedPolicy = "once" | "skip";

export interface CronTrigger {
  fn: string;
  tenant: string;
  schedule: CronSchedule;
  missed: MissedPolicy;
}

/** A run due at most this late counts as on time (the timer was slow, not the node down). */
export const lateToleranceMs = 60_000;

/** The latest scheduled time at or before `nowMs` and after `afterMs`, or undefined. */
function latestRun(schedule: CronSchedule, afterMs: number, nowMs: number): number | undefined {
  // Look back over growing windows, so a minutely schedule never walks weeks of runs.
  for (const window of [2 * 60_000, 2 * 3600_000, 2 * 86_400_000, 62 * 86_400_000, 400 * 86_400_000, Infinity]) {
    const from = Math.max(afterMs, nowMs - window);
    let t: number;
    try {
      t = nextRun(schedule, from);
    } catch {
      return undefined;
    }
    if (t > nowMs) {
      if (from === afterMs) return undefined;
      continue;
    }
    for (;;) {
      const n = nextRun(schedule, t);
      if (n > nowMs) return t;
      t = n;
    }
  }
  return undefined;
}

/**
 * Which runs to fire at `nowMs` for a trigger last fired (or registered) at `lastMs`, and
 * the time to remember. Runs due within `toleranceMs` are on time, all of them (a slow
 * timer, not a node that was down); older ones follow the missed policy. Pure: the unit
 * tests drive it with a virtual clock.
 */
export function dueRuns(schedule: CronSchedule, lastMs: number, nowMs: number, missed: MissedPolicy, toleranceMs = lateToleranceMs): { fire: number[]; lastMs: number } {
  let first: number;
  try {
    first = nextRun(schedule, lastMs);
  } catch {
    return { fire: [], lastMs };
  }
  if (first > nowMs) return { fire: [], lastMs };
  if (nowMs - first <= toleranceMs) {
    // With real minutes and the default tolerance this is one run; on a fast test clock, a few.
    const fire = [first];
    for (let t = nextRun(schedule, first); t <= nowMs; t = nextRun(schedule, t)) fire.push(t);
    return { fire, lastMs: fire.at(-1)! };
  }
  const second = nextRun(schedule, first);
  // Missed runs: the node was down (or stalled) past at least one scheduled time.
  const latest = latestRun(schedule, lastMs, nowMs) ?? first;
  return missed === "once" ? { fire: [latest], lastMs: latest } : { fire: [], lastMs: latest };
}

export interface CronRunnerOptions {
  store: Pick<QueueStore, "cronState" | "setCronState">;
  /** Queues one run durably (resolves once it is on disk). */
  fire(trigger: CronTrigger, scheduledTime: number): Promise<void>;
  now?: () => number;
  /**
   * How much faster than real time `now` runs (default 1): tests run a cluster's cron on a
   * fast clock (`FLICK_CRON_CLOCK`, docs/cluster.md). Timers and the on-time tolerance are
   * real time divided by it.
   */
  speed?: number;
  onError?: (err: unknown) => void;
}

/** The timer never sleeps longer than this, so a clock that jumps is noticed within a minute. */
const maxSleepMs = 30_000;

/**
 * A run that could not be queued (its tenant's queue is full, the store cannot write) is
 * tried again this much later — until it is too late and counts as missed — while the
 * other triggers go on: one tenant's full queue never holds up another's cron.
 */
const failedRetryMs = 1000;

export class CronRunner {
  private readonly o: CronRunnerOptions;
  private readonly now: () => number;
  private triggers: CronTrigger[] = [];
  private last = new Map<string, number>();
  /** Triggers whose run failed to queue: not before this time again. */
  private retryAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private started = false;

  constructor(options: CronRunnerOptions) {
    this.o = options;
    this.now = options.now ?? Date.now;
  }

  private static key(fn: string, expression: string): string {
    return `${fn}\0${expression}`;
  }

  /** Loads what was fired before this start, then fires what is due (missed runs per policy). */
  async start(): Promise<void> {
    for (const s of await this.o.store.cronState()) this.last.set(CronRunner.key(s.fn, s.expression), s.lastMs);
    this.started = true;
    await this.tick();
  }

  /** The node's triggers changed (deploy, rollback, removal): new ones count from now. */
  setTriggers(triggers: CronTrigger[]): void {
    this.triggers = triggers;
    if (this.started) void this.tick();
  }

  /** The next `count` runs of a function's triggers, soonest first (for `flick info`). */
  upcoming(fn: string, count: number): { expression: string; timeZone: string; next: number[] }[] {
    const now = this.now();
    return this.triggers
      .filter((t) => t.fn === fn)
      .map((t) => {
        const next: number[] = [];
        let at = now;
        try {
          for (let i = 0; i < count; i++) next.push((at = nextRun(t.schedule, at)));
        } catch {}
        return { expression: t.schedule.expression, timeZone: t.schedule.timeZone, next };
      });
  }

  stop(): void {
    this.started = false;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.running || !this.started) return;
    this.running = true;
    clearTimeout(this.timer);
    try {
      const now = this.now();
      for (const trigger of this.triggers) {
        const key = CronRunner.key(trigger.fn, trigger.schedule.expression);
        if ((this.retryAt.get(key) ?? 0) > now) continue;
        try {
          await this.tickOne(trigger, key, now);
          this.retryAt.delete(key);
        } catch (err) {
          // Not remembered as fired: tried again after a pause, the other triggers go on.
          this.retryAt.set(key, now + failedRetryMs * (this.o.speed ?? 1));
          this.o.onError?.(err);
        }
      }
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  private async tickOne(trigger: CronTrigger, key: string, now: number): Promise<void> {
    const last = this.last.get(key);
    if (last === undefined) {
      // A new trigger: its first run is the next scheduled time from now.
      this.last.set(key, now);
      await this.o.store.setCronState(trigger.fn, trigger.schedule.expression, now);
      return;
    }
    const due = dueRuns(trigger.schedule, last, now, trigger.missed, lateToleranceMs * (this.o.speed ?? 1));
    for (const t of due.fire) await this.o.fire(trigger, t);
    if (due.lastMs !== last) {
      this.last.set(key, due.lastMs);
      await this.o.store.setCronState(trigger.fn, trigger.schedule.expression, due.lastMs);
    }
  }

  private schedule(): void {
    if (!this.started) return;
    const now = this.now();
    const speed = this.o.speed ?? 1;
    let soonest = now + maxSleepMs * speed;
    for (const t of this.triggers) {
      const key = CronRunner.key(t.fn, t.schedule.expression);
      try {
        soonest = Math.min(soonest, Math.max(nextRun(t.schedule, this.last.get(key) ?? now), this.retryAt.get(key) ?? 0));
      } catch {}
    }
    this.timer = setTimeout(() => void this.tick(), Math.max(0, (soonest - now) / speed));
    this.timer.unref();
  }
}
