/**
 * Async invocations on one node: acknowledged only once durable (group-committed to the
 * queue store), then run by the dispatcher with retries and dead letters.
 *
 * Bounded per tenant: a tenant has at most its quota of messages queued or running, and
 * of their payload bytes (checked by the store inside the enqueue transaction; over it,
 * 429 `queue_full` and nothing queued), and a message at most `maxHops` queue hops from
 * the event that started its chain (hops.ts).
 */
import { randomUUID } from "node:crypto";
import { limits, type InvocationRecord, type InvocationStatus } from "../model/index.ts";
import { queueFullError, type EnqueueResult, type Enqueued, type NewInvocation, type QueueCounts, type QueueQuota, type QueueStore, type QueueUsage } from "../store/index.ts";
import { Dispatcher, type DispatcherOptions } from "./dispatcher.ts";
import { GroupCommit } from "./group-commit.ts";
import { checkHops } from "./hops.ts";

/** A new invocation as callers give it: the queue picks its id and times; `hops` is 0 unless an async invocation sent it (hops.ts). */
export type Submission = Omit<NewInvocation, "id" | "createdAtMs" | "nextAtMs" | "hops"> & { hops?: number };

/** The node's default quota of every tenant (`flick up --tenant-queue-messages`, `--tenant-queue-mib`). */
export const defaultQueueQuota: QueueQuota = Object.freeze({ maxMessages: limits.queueMaxMessages, maxBytes: limits.queueMaxBytes });

export interface AsyncQueueOptions extends Omit<DispatcherOptions, "store"> {
  store: QueueStore;
  /**
   * Each tenant's queue quota: the node's default, or the tenant's own. Asked inside the
   * enqueue transaction, so it answers from memory. Default: `defaultQueueQuota` for all.
   */
  quotaOf?: (tenant: string) => QueueQuota;
  /** Queue hops a message may have (default `limits.asyncHops`, 16). */
  maxHops?: number;
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
  private readonly commit: GroupCommit<NewInvocation[], EnqueueResult>;
  private readonly options: AsyncQueueOptions;
  private readonly quotaOf: (tenant: string) => QueueQuota;
  private pruner: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(options: AsyncQueueOptions) {
    this.options = options;
    this.store = options.store;
    this.now = options.now ?? Date.now;
    this.quotaOf = options.quotaOf ?? (() => defaultQueueQuota);
    this.dispatcher = new Dispatcher(options);
    this.commit = new GroupCommit(
      (groups) => this.store.enqueue(groups, { idempotencySinceMs: this.now() - options.idempotencyWindowMs, quotaOf: this.quotaOf }),
      1000,
      (group) => group.length,
    );
  }

  /**
   * Starts running what is queued. What this node (`holder`) left running when it was
   * killed mid-attempt is queued again now (in the background) rather than when its lease
   * runs out; other nodes' leases are theirs until they end.
   */
  async start(): Promise<void> {
    // In the background: in a cluster it reads every record, and the store may be electing
    // a leader; what it misses is run again anyway once its lease ends.
    void this.store.releaseHeld(this.options.holder, this.now()).then(
      (released) => released > 0 && this.dispatcher.poke(),
      (err: unknown) => this.options.onError?.(err),
    );
    this.dispatcher.start();
    this.pruner = setInterval(() => void this.prune(), 3600_000);
    this.pruner.unref();
  }

  /**
   * Durable, then acknowledged: resolves once on disk. Rejects, with nothing queued, with
   * `store_unavailable` (not written), `queue_full` (over the tenant's quota) or
   * `bad_request` (over the hop limit).
   */
  async submit(s: Submission): Promise<Enqueued> {
    return (await this.submitAll([s]))[0]!;
  }

  /** Like `submit`, for several at once (a `sendBatch`): all of them are queued, or none. */
  async submitAll(submissions: readonly Submission[]): Promise<Enqueued[]> {
    if (submissions.length === 0) return [];
    const maxHops = this.options.maxHops ?? limits.asyncHops;
    for (const s of submissions) checkHops(s.hops ?? 0, maxHops);
    const now = this.now();
    const result = await this.commit.add(submissions.map((s) => ({ id: randomUUID(), ...s, hops: s.hops ?? 0, createdAtMs: now, nextAtMs: now })));
    if (!result.ok) throw queueFullError(result);
    if (result.items.some((e) => !e.duplicate)) this.dispatcher.poke();
    return result.items;
  }

  /** What `tenant` has queued or running, against its quota. */
  async usage(tenant: string): Promise<{ usage: QueueUsage; quota: QueueQuota }> {
    return { usage: await this.store.usage(tenant), quota: this.quotaOf(tenant) };
  }

  get(id: string): Promise<InvocationRecord | undefined> {
    return this.store.get(id);
  }

  list(fn: string, status: InvocationStatus | null, limit: number): Promise<InvocationRecord[]> {
    return this.store.list(fn, status, limit);
  }

  async replay(fn: string, ids: readonly string[] | null): Promise<string[]> {
    const replayed = await this.store.replay(fn, ids, this.now(), this.quotaOf);
    if (replayed.length > 0) this.dispatcher.poke();
    return replayed;
  }

  /** Queued, running and dead events node-wide, and when the oldest waiting one was acknowledged. */
  backlog(): ReturnType<QueueStore["backlog"]> {
    return this.store.backlog();
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
