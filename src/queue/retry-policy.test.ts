import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffMs, decide, defaultBackoff, type AttemptOutcome } from "./retry-policy.ts";

const settings = { retries: 2, maxEventAgeMs: 6 * 3600_000 };
const failed: AttemptOutcome = { kind: "failed", error: { code: "function_error", message: "boom" } };
const throttled: AttemptOutcome = { kind: "deferred", error: { code: "tenant_limit", message: "busy" }, retryAfterMs: 1000 };
const crashed: AttemptOutcome = { kind: "deferred", error: { code: "host_crashed", message: "died" } };
const inv = (attempts: number, failures: number, createdAtMs = 0) => ({ id: "i", attempts, failures, createdAtMs });

test("backoff doubles from the base, is capped, and its jitter stays in [half, full]", () => {
  assert.equal(backoffMs(1, 1000, 300_000, () => 0), 500);
  assert.equal(backoffMs(1, 1000, 300_000, () => 1), 1000);
  assert.equal(backoffMs(2, 1000, 300_000, () => 1), 2000);
  assert.equal(backoffMs(3, 1000, 300_000, () => 0.5), 3000);
  assert.equal(backoffMs(30, 1000, 300_000, () => 1), 300_000, "capped");
  for (let i = 0; i < 1000; i++) {
    const d = backoffMs(4, 100, 30_000, Math.random);
    assert.ok(d >= 400 && d <= 800, `${d} within [400, 800]`);
  }
});

test("a success completes whatever came before", () => {
  const f = decide(inv(3, 2), { kind: "completed", result: { status: 200, body: "ok", truncated: false } }, settings, 10);
  assert.deepEqual(f, { id: "i", outcome: "completed", result: { status: 200, body: "ok", truncated: false }, nowMs: 10 });
});

test("function errors use the retries: 2 retries means 3 attempts, then retries_exhausted", () => {
  const first = decide(inv(1, 0), failed, settings, 0, () => 1);
  assert.deepEqual(first, { id: "i", outcome: "retry", nextAtMs: defaultBackoff.failureBaseMs, error: failed.error, failed: true, nowMs: 0 });
  const second = decide(inv(2, 1), failed, settings, 0, () => 1);
  assert.equal(second.outcome === "retry" && second.nextAtMs, 2 * defaultBackoff.failureBaseMs);
  const third = decide(inv(3, 2), failed, settings, 0, () => 1);
  assert.deepEqual(third, { id: "i", outcome: "dead", reason: "retries_exhausted", error: failed.error, failed: true, nowMs: 0 });
  assert.equal(decide(inv(1, 0), failed, { ...settings, retries: 0 }, 0).outcome, "dead", "0 retries: one attempt");
});

test("throttles and platform faults do not use the retries, and wait at least Retry-After", () => {
  // 50 throttles in a row on an invocation that has failed twice already: still retried.
  const f = decide(inv(52, 2), throttled, settings, 1_000, () => 0);
  assert.equal(f.outcome, "retry");
  assert.equal(f.outcome === "retry" && f.failed, false);
  const short = decide(inv(1, 0), throttled, settings, 0, () => 0);
  assert.equal(short.outcome === "retry" && short.nextAtMs, 1000, "Retry-After is longer than the first 50 ms backoff");
  const fault = decide(inv(1, 0), crashed, settings, 0, () => 1);
  assert.equal(fault.outcome === "retry" && fault.nextAtMs, defaultBackoff.deferBaseMs);
});

test("an event whose next attempt would be past its maximum age is dead-lettered as expired", () => {
  const young = decide(inv(3, 0, 0), crashed, { retries: 2, maxEventAgeMs: 60_000 }, 30_000, () => 1);
  assert.equal(young.outcome, "retry");
  const old = decide(inv(3, 0, 0), crashed, { retries: 2, maxEventAgeMs: 60_000 }, 59_900, () => 1);
  assert.deepEqual(old, { id: "i", outcome: "dead", reason: "expired", error: crashed.error, failed: false, nowMs: 59_900 });
  const failedOld = decide(inv(1, 0, 0), failed, { retries: 2, maxEventAgeMs: 60_000 }, 59_900, () => 1);
  assert.equal(failedOld.outcome === "dead" && failedOld.reason, "expired", "a failure with retries left but no time left");
});
