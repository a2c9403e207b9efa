/**
 * What happens after an attempt of an async invocation: pure, time and randomness passed in.
 *
 * Two budgets, as Lambda keeps them: a function error or timeout is the function's fault
 * and uses one of its retries (default 2); a throttle (429) or a platform fault (host
 * crashed, instance stopped under it) is not, and is retried until the event is older
 * than its maximum age (default 6 h). Either way the end is `completed`, or the
 * dead-letter list with a reason — never a silent drop.
 *
 * Backoff is exponential with "equal jitter" (half fixed, half random), so retries of a
 * burst that failed together spread out instead of failing together again:
 * failures: 1 s, 2 s, 4 s … ≤ 5 min; throttles and faults: 100 ms, 200 ms … ≤ 30 s, or
 * the throttle's Retry-After when that is longer.
 */
import type { InvocationRecord } from "../model/index.ts";
import type { ErrorSummary, Finish } from "../store/index.ts";

export interface RetrySettings {
  retries: number;
  maxEventAgeMs: number;
}

export interface Backoff {
  /** First delay after a function error or timeout, ms. */
  failureBaseMs: number;
  failureMaxMs: number;
  /** First delay after a throttle or platform fault, ms. */
  deferBaseMs: number;
  deferMaxMs: number;
}

export const defaultBackoff: Backoff = { failureBaseMs: 1000, failureMaxMs: 5 * 60_000, deferBaseMs: 100, deferMaxMs: 30_000 };

/** How one attempt ended. */
export type AttemptOutcome =
  | { kind: "completed"; result: { status: number; body: string; truncated: boolean } }
  /** The function threw, timed out, ran out of memory or answered 5xx: uses a retry. */
  | { kind: "failed"; error: ErrorSummary }
  /** Throttled, or the platform failed under it: retried without using a retry. */
  | { kind: "deferred"; error: ErrorSummary; retryAfterMs?: number };

/** The delay before attempt n+1 of a series whose n-th (1-based) just ended, with equal jitter. */
export function backoffMs(n: number, baseMs: number, maxMs: number, random: () => number): number {
  const full = Math.min(maxMs, baseMs * 2 ** Math.max(0, n - 1));
  return Math.round(full / 2 + (random() * full) / 2);
}

export function decide(
  invocation: Pick<InvocationRecord, "id" | "attempts" | "failures" | "createdAtMs">,
  outcome: AttemptOutcome,
  settings: RetrySettings,
  nowMs: number,
  random: () => number = Math.random,
  backoff: Backoff = defaultBackoff,
): Finish {
  const id = invocation.id;
  if (outcome.kind === "completed") return { id, outcome: "completed", result: outcome.result, nowMs };
  const failed = outcome.kind === "failed";
  const failures = invocation.failures + (failed ? 1 : 0);
  if (failed && failures > settings.retries) {
    return { id, outcome: "dead", reason: "retries_exhausted", error: outcome.error, failed, nowMs };
  }
  const delay = failed
    ? backoffMs(failures, backoff.failureBaseMs, backoff.failureMaxMs, random)
    : Math.max(outcome.retryAfterMs ?? 0, backoffMs(invocation.attempts - invocation.failures, backoff.deferBaseMs, backoff.deferMaxMs, random));
  const nextAtMs = nowMs + delay;
  if (nextAtMs > invocation.createdAtMs + settings.maxEventAgeMs) {
    return { id, outcome: "dead", reason: "expired", error: outcome.error, failed, nowMs };
  }
  return { id, outcome: "retry", nextAtMs, error: outcome.error, failed, nowMs };
}
