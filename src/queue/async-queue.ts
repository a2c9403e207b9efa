/**
 * Async invocations on one node: acknowledged only once durable (group-committed to the
 * queue store), then run by the dispatcher with retries and dead letters.
 */
import { randomUUID } from "node:crypto";
import type { InvocationRecord } from "../model/index.ts";
import type { Enqueued, NewInvocation, QueueCounts, QueueStore } from "../store/index.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";
import { GroupCommit } from "./group-commit.ts";

/** A new invocation as callers give it: the queue picks its id and times. */
export type Submission = Omit<NewInvocation, "id" | "createdAtMs" | "nextAtMs">;

export interface AsyncQueueOptions extends Omit<DispatcherOptions, "store"> {
  store: QueueStore;
  /** A repeated idempotency key within this window returns the first invocation, ms. */
  idempotencyWindowMs: number;
  /** Completed invocations are kept this long (at least the idempotency window), ms. */
  keepCompletedMs?: number;
  /** Dead-lettered invocations are kept this long, ms (default 14 days). */
  keepDeadMs?: number;
}

export class AsyncQueue {
  readonly dispatcher: Dispatcher;
  private readonly store: QueueStore;
  private readonly commit: GroupCommit<NewInvocation, Enqueued>;
  private readonly options: AsyncQueueOptions;
  private pruner: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(options: AsyncQueueOptions) {
    this.options = options;
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.dispatcher = new Dispatcher(options);
    this.commit = new GroupCommit((items) => this.store.enqueue(items, this.now() - options.idempotencyWindowMs));
  }

  /**
   * Starts running what is queued. `soleNode`: nobody else uses this store, so what a
   * previous run left running (killed mid-attempt) is queued again now rather than when
   * its lease runs out.
   */
  async start(soleNode: boolean): Promise<void> {
    if (soleNode) await this.store.requeueRunning(this.now());
    this.dispatcher.start();
    this.pruner = setInterval(() => void this.prune(), 3600_000);
    this.pruner.unref();
  }

  /** Durable, then acknowledged: resolves once on disk (rejects with `store_unavailable` if not). */
  async submit(s: Submission): Promise<Enqueued> {
    const now = this.now();
    const enqueued = await this.commit.add({ id: randomUUID(), ...s, createdAtMs: now, nextAtMs: now });
    if (!enqueued.duplicate) this.dispatcher.poke();
    return enqueued;
  }

  get(id: string): Promise<InvocationRecord | undefined> {
    return this.store.get(id);
  }

  listDead(fn: string, limit: number): Promise<InvocationRecord[]> {
    return this.store.listDead(fn, limit);
  }

  async replay(fn: string, ids: readonly string[] | null): Promise<string[]> {
    const replayed = await this.store.replay(fn, ids, this.now());
    if (replayed.length > 0) this.dispatcher.poke();
    return replayed;
  }

  counts(fn?: string): Promise<QueueCounts> {
    return this.store.counts(fn);
  }

  removeFunction(fn: string): Promise<void> {
    return this.store.removeFunction(fn);
  }

  private async prune(): Promise<void> {
    const now = this.now();
    const keepCompleted = Math.max(this.options.keepCompletedMs ?? 0, this.options.idempotencyWindowMs);
    try {
      await this.store.prune(now - keepCompleted, now - (this.options.keepDeadMs ?? 14 * 86_400_000));
    } catch (err) {
      this.options.onError?.(err);
    }
  }

  /** Stops taking work, gives running attempts `graceMs`, and closes the store. */
  async stop(graceMs: number): Promise<void> {
    clearInterval(this.pruner);
    await this.dispatcher.stop(graceMs);
    await this.store.close();
  }
}
