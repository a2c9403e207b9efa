/**
 * Runs async invocations from the durable queue: claims due ones under a lease, runs each
 * through the same path as a request (the caller's `run`), and records how it ended —
 * completed, retried later, or dead-lettered (retry-policy.ts decides).
 *
 * At least once, never zero: an invocation leaves the queue only when its end is written.
 * A lease is extended while the attempt runs (every third of the lease), so a slow
 * function is never started a second time because a window expired; a node that dies
 * leaves leases that expire, and whoever claims next runs those invocations again.
 * Slots free only after an attempt's end is on disk.
 */
import type { InvocationRecord } from "../model/index.ts";
import type { Finish, QueueStore } from "../store/index.ts";
import { decide, defaultBackoff, type AttemptOutcome, type Backoff, type RetrySettings } from "./retry-policy.ts";

export interface DispatcherOptions {
  store: QueueStore;
  /** One attempt; never rejects (a rejection counts as a platform fault). */
  run(invocation: InvocationRecord): Promise<AttemptOutcome>;
  /**
   * One attempt of a batch of `queue` messages of one function (one outcome each, in
   * order); absent: they run one by one through `run`.
   */
  runBatch?(invocations: InvocationRecord[]): Promise<AttemptOutcome[]>;
  /** Most queue messages in one batch (default 10). */
  maxBatch?: number;
  settingsOf(fn: string): RetrySettings;
  /** Attempts running at once on this node (default 64). */
  concurrency?: number;
  /** Who claims: this node's name (`flick up --node-name`); what it left running when killed it takes back at start. */
  holder: string;
  /** Lease of a claimed invocation, ms (default 60 s), extended while it runs. */
  leaseMs?: number;
  backoff?: Backoff;
  random?: () => number;
  now?: () => number;
  /** Told about store failures the dispatcher rides out (it retries them). */
  onError?: (err: unknown) => void;
  /** Told how each attempt ended (metrics): completed, retry (failed or deferred) or dead. */
  onFinish?: (invocation: InvocationRecord, finish: Finish) => void;
}

/** Without a due time in sight the dispatcher still looks this often (new work is poked). */
const idlePollMs = 1000;

export class Dispatcher {
  private readonly o: Required<Omit<DispatcherOptions, "onError" | "runBatch" | "onFinish">> & Pick<DispatcherOptions, "onError" | "runBatch" | "onFinish">;
  private readonly running = new Map<string, Promise<void>>();
  private finished: Finish[] = [];
  private flushScheduled = false;
  private pumping = false;
  private pumpAgain = false;
  private pokeScheduled = false;
  private wake: NodeJS.Timeout | undefined;
  private renew: NodeJS.Timeout | undefined;
  private renewing = false;
  private stopping = false;
  /** Not before `start`: a submission before it must not run (start may queue running rows again). */
  private started = false;

  constructor(options: DispatcherOptions) {
    this.o = {
      concurrency: 64,
      maxBatch: 10,
      leaseMs: 60_000,
      backoff: defaultBackoff,
      random: Math.random,
      now: Date.now,
      ...options,
    };
  }

  start(): void {
    this.started = true;
    this.renew = setInterval(() => void this.renewLeases(), Math.max(10, Math.floor(this.o.leaseMs / 3)));
    this.renew.unref();
    this.poke();
  }

  /**
   * Something may be runnable now (a new invocation, a freed slot). Pokes within one turn
   * of the event loop share one claim: a burst of submissions is one transaction, not one each.
   */
  poke(): void {
    if (!this.started || this.stopping || this.pokeScheduled) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pokeScheduled = true;
    setImmediate(() => {
      this.pokeScheduled = false;
      if (this.pumping) this.pumpAgain = true;
      else void this.pump();
    });
  }

  /**
   * Takes no more work and waits up to `graceMs` for running attempts to end; those still
   * running after it keep their lease rows and run again on the next start.
   */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.wake);
    clearInterval(this.renew);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.running.values()]), new Promise((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    await this.flush();
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      for (;;) {
        const free = this.o.concurrency - this.running.size;
        if (free <= 0 || this.stopping) return;
        const now = this.o.now();
        const claimed = await this.o.store.claim(now, free, now + this.o.leaseMs, this.o.holder);
        this.beginAll(claimed);
        if (claimed.length < free) break;
      }
      await this.sleepUntilDue();
    } catch (err) {
      this.o.onError?.(err);
      this.schedule(idlePollMs);
    } finally {
      this.pumping = false;
      if (this.pumpAgain) {
        this.pumpAgain = false;
        this.poke();
      }
    }
  }

  private async sleepUntilDue(): Promise<void> {
    const due = await this.o.store.nextWakeMs();
    this.schedule(due === null ? idlePollMs : Math.min(idlePollMs, due - this.o.now()));
  }

  private schedule(ms: number): void {
    if (this.stopping) return;
    clearTimeout(this.wake);
    this.wake = setTimeout(() => this.poke(), Math.max(0, ms));
    this.wake.unref();
  }

  /** Starts what was claimed: queue messages in batches per function (when batches run), the rest one by one. */
  private beginAll(claimed: InvocationRecord[]): void {
    const batches = new Map<string, InvocationRecord[]>();
    for (const invocation of claimed) {
      if (invocation.kind !== "queue" || this.o.runBatch === undefined) {
        this.begin(invocation);
        continue;
      }
      const batch = batches.get(invocation.function) ?? [];
      batch.push(invocation);
      if (batch.length === this.o.maxBatch) {
        this.beginBatch(batch);
        batches.delete(invocation.function);
      } else batches.set(invocation.function, batch);
    }
    for (const batch of batches.values()) this.beginBatch(batch);
  }

  private beginBatch(batch: InvocationRecord[]): void {
    const attempt = this.o.runBatch!(batch)
      .catch((err: unknown): AttemptOutcome[] =>
        batch.map(() => ({ kind: "deferred", error: { code: "internal", message: `the attempt failed inside Flick: ${String(err)}` } })),
      )
      .then((outcomes) => {
        batch.forEach((invocation, i) => {
          const outcome = outcomes[i] ?? { kind: "deferred", error: { code: "internal", message: "no outcome for this message" } };
          this.finish(invocation, decide(invocation, outcome, this.o.settingsOf(invocation.function), this.o.now(), this.o.random, this.o.backoff));
        });
        this.scheduleFlush();
      });
    for (const invocation of batch) this.running.set(invocation.id, attempt);
  }

  private begin(invocation: InvocationRecord): void {
    const attempt = this.o
      .run(invocation)
      .catch((err: unknown): AttemptOutcome => ({ kind: "deferred", error: { code: "internal", message: `the attempt failed inside Flick: ${String(err)}` } }))
      .then((outcome) => {
        const settings = this.o.settingsOf(invocation.function);
        this.finish(invocation, decide(invocation, outcome, settings, this.o.now(), this.o.random, this.o.backoff));
        this.scheduleFlush();
      });
    this.running.set(invocation.id, attempt);
  }

  private finish(invocation: InvocationRecord, finish: Finish): void {
    this.finished.push(finish);
    this.o.onFinish?.(invocation, finish);
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  /** Writes the ends of finished attempts in one transaction, then frees their slots. */
  private async flush(): Promise<void> {
    if (this.finished.length === 0) return;
    const batch = this.finished;
    this.finished = [];
    try {
      await this.o.store.finish(batch);
    } catch (err) {
      // Not written: keep them (their leases are renewed meanwhile) and try again shortly.
      this.o.onError?.(err);
      this.finished.unshift(...batch);
      setTimeout(() => this.scheduleFlush(), 200).unref();
      return;
    }
    for (const f of batch) this.running.delete(f.id);
    this.poke();
  }

  private async renewLeases(): Promise<void> {
    // One renewal at a time: a slow store must not have two race each other.
    if (this.running.size === 0 || this.renewing) return;
    this.renewing = true;
    try {
      await this.o.store.extendLeases([...this.running.keys()], this.o.now() + this.o.leaseMs);
    } catch (err) {
      this.o.onError?.(err);
    } finally {
      this.renewing = false;
    }
  }
}
