/**
 * The durable queue of async invocations, behind a small interface (the embedded one is
 * sqlite-queue.ts; a JetStream one will sit beside it). Every method is one transaction.
 */
import type { DeadReason, InvocationKind, InvocationRecord } from "../model/index.ts";

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
}

/** What `enqueue` made of one item: a new invocation, or the first one with its idempotency key. */
export interface Enqueued {
  id: string;
  duplicate: boolean;
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
   * Makes the items durable (fsynced) in one transaction, or throws `store_unavailable` and
   * makes none of them. An item whose idempotency key its function used since
   * `idempotencySinceMs` is not added: its result is the first invocation's id.
   */
  enqueue(items: NewInvocation[], idempotencySinceMs: number): Promise<Enqueued[]>;
  /**
   * Up to `limit` invocations that may run now — queued and due, or running under a lease
   * that expired (its holder is gone) — marked running, leased until `leaseUntilMs`, with
   * their attempt counted.
   */
  claim(nowMs: number, limit: number, leaseUntilMs: number): Promise<InvocationRecord[]>;
  extendLeases(ids: readonly string[], leaseUntilMs: number): Promise<void>;
  finish(batch: readonly Finish[]): Promise<void>;
  /**
   * At start of the only node using this store: whatever a previous run left running is
   * queued again at once (its attempt is not a failure). Returns how many.
   */
  requeueRunning(nowMs: number): Promise<number>;
  get(id: string): Promise<InvocationRecord | undefined>;
  listDead(fn: string, limit: number): Promise<InvocationRecord[]>;
  /** Dead invocations of `fn` (all, or these ids) queued again with fresh attempts; returns their ids. */
  replay(fn: string, ids: readonly string[] | null, nowMs: number): Promise<string[]>;
  /** The earliest time something may become runnable (a due time or a lease end); null: nothing waits. */
  nextWakeMs(): Promise<number | null>;
  counts(fn?: string): Promise<QueueCounts>;
  /** Drops completed invocations older than `completedBeforeMs` and dead ones older than `deadBeforeMs`. */
  prune(completedBeforeMs: number, deadBeforeMs: number): Promise<number>;
  /** Removes every invocation and cron state of a removed function. */
  removeFunction(fn: string): Promise<void>;
  /** When each cron trigger (function, expression) last fired, or was registered. */
  cronState(): Promise<{ fn: string; expression: string; lastMs: number }[]>;
  setCronState(fn: string, expression: string, lastMs: number): Promise<void>;
  close(): Promise<void>;
}
