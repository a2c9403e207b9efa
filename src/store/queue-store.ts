/**
 * The durable queue of async invocations, behind a small interface (the embedded one is
 * sqlite-queue.ts; a JetStream one will sit beside it). Every method is one transaction.
 */
import type { DeadReason, InvocationKind, InvocationRecord, InvocationStatus } from "../model/index.ts";

export interface NewInvocation {
  id: string;
  function: string;
  tenant: string;
  kind: InvocationKind;
  payload: Uint8Array;
  contentType: string | null;
  idempotencyKey: string | null;
  createdAtMs: number;
  /** When it may first run (a retry-free delay; usually `createdAtMs`). */
  nextAtMs: number;
  /** Queue hops behind it (0: from the API or cron); see `InvocationRecord.hops`. */
  hops: number;
  /** The W3C `traceparent` / `tracestate` its attempts continue (see `InvocationRecord.trace`). */
  trace?: string | null;
  traceState?: string | null;
}

/** What `enqueue` made of one item: a new invocation, or the first one with its idempotency key. */
export interface Enqueued {
  id: string;
  duplicate: boolean;
}

/** How much a tenant may have in the queue: messages queued or running, and their payload bytes. */
export interface QueueQuota {
  maxMessages: number;
  maxBytes: number;
}

/** What a tenant has in the queue now (queued or running; completed and dead ones do not count). */
export interface QueueUsage {
  messages: number;
  bytes: number;
}

/**
 * What `enqueue` made of one group: every item queued (or found a duplicate), or — had the
 * group taken its tenant past its quota — none of them.
 */
export type EnqueueResult =
  | { ok: true; items: Enqueued[] }
  | { ok: false; tenant: string; usage: QueueUsage; quota: QueueQuota; adding: QueueUsage };

export interface EnqueueOptions {
  /** An idempotency key its function used since then is a duplicate. */
  idempotencySinceMs: number;
  /** Each tenant's quota; asked inside the transaction, so it must answer at once. */
  quotaOf(tenant: string): QueueQuota;
}

export type ErrorSummary = { code: string; message: string };

/** How an attempt ended, as the dispatcher decided (queue/retry-policy.ts). */
export type Finish =
  | { id: string; outcome: "completed"; result: { status: number; body: string; truncated: boolean }; nowMs: number }
  /** Run again at `nextAtMs`; `failed` counts the attempt against the function's retries. */
  | { id: string; outcome: "retry"; nextAtMs: number; error: ErrorSummary; failed: boolean; nowMs: number }
  | { id: string; outcome: "dead"; reason: DeadReason; error: ErrorSummary; failed: boolean; nowMs: number };

export interface QueueCounts {
  queued: number;
  running: number;
  completed: number;
  dead: number;
}

export interface QueueStore {
  /**
   * Makes the groups durable (fsynced) in one transaction, or throws `store_unavailable` and
   * makes none of them. An item whose idempotency key its function used since
   * `idempotencySinceMs` is not added: its result is the first invocation's id. A group
   * whose new items would take a tenant past its quota is refused whole; the check counts
   * what this transaction holds, so concurrent enqueues never overshoot.
   */
  enqueue(groups: readonly (readonly NewInvocation[])[], options: EnqueueOptions): Promise<EnqueueResult[]>;
  /**
   * Up to `limit` invocations that may run now — running under a lease that expired (its
   * holder is gone), then queued and due — marked running, leased until `leaseUntilMs`, with
   * their attempt counted, held by `holder` (who claims: a node's name). Due ones are dealt round robin across tenants (the tenant served
   * least recently first, one each per round), first in first out within a tenant: one
   * tenant's backlog delays another's events by at most one round.
   */
  claim(nowMs: number, limit: number, leaseUntilMs: number, holder: string): Promise<InvocationRecord[]>;
  extendLeases(ids: readonly string[], leaseUntilMs: number): Promise<void>;
  finish(batch: readonly Finish[]): Promise<void>;
  /**
   * What `holder` (a node, by name: the one that claimed) left running is queued again at
   * once, its attempt not a failure; called when that node starts again after being killed.
   * Other holders' running invocations stay theirs until their leases end (they may be
   * running them right now). Returns how many.
   */
  releaseHeld(holder: string, nowMs: number): Promise<number>;
  get(id: string): Promise<InvocationRecord | undefined>;
  /** The latest `limit` invocations of `fn` (of one status, or any), most recently changed first. */
  list(fn: string, status: InvocationStatus | null, limit: number): Promise<InvocationRecord[]>;
  /**
   * Dead invocations of `fn` (all, or these ids) queued again with fresh attempts; returns
   * their ids. Throws `queue_full` and replays none if they would take the tenant past `quota`.
   */
  replay(fn: string, ids: readonly string[] | null, nowMs: number, quotaOf: (tenant: string) => QueueQuota): Promise<string[]>;
  /** What `tenant` has queued or running. */
  usage(tenant: string): Promise<QueueUsage>;
  /** The earliest time something may become runnable (a due time or a lease end); null: nothing waits. */
  nextWakeMs(): Promise<number | null>;
  counts(fn?: string): Promise<QueueCounts>;
  /** What waits and what gave up, node-wide, and when the oldest waiting event was acknowledged (metrics; never scans completed ones). */
  backlog(): Promise<{ queued: number; running: number; dead: number; oldestQueuedMs: number | null }>;
  /** Drops completed invocations older than `completedBeforeMs` and dead ones older than `deadBeforeMs`. */
  prune(completedBeforeMs: number, deadBeforeMs: number): Promise<number>;
  /** Removes every invocation and cron state of a removed function. */
  removeFunction(fn: string): Promise<void>;
  /** When each cron trigger (function, expression) last fired, or was registered. */
  cronState(): Promise<{ fn: string; expression: string; lastMs: number }[]>;
  setCronState(fn: string, expression: string, lastMs: number): Promise<void>;
  close(): Promise<void>;
}
