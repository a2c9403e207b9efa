import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import type { InvocationRecord } from "../model/index.ts";
import { SqliteQueue, type Enqueued, type NewInvocation } from "../store/index.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { AttemptOutcome } from "./retry-policy.ts";

const queueIn = () => new SqliteQueue(mkdtempSync(path.join(tmpdir(), "flick-queue-")));
const item = (id: string, key: string | null = null, at = 0): NewInvocation => ({
  id, function: "f", tenant: "t", kind: "fetch", payload: new TextEncoder().encode(id), contentType: "text/plain", idempotencyKey: key, createdAtMs: at, nextAtMs: at, hops: 0,
});
const unlimited = () => ({ maxMessages: Infinity, maxBytes: Infinity });
/** Each item its own group, no quota: what each became. */
async function put(q: SqliteQueue, items: NewInvocation[], idempotencySinceMs = 0): Promise<Enqueued[]> {
  return (await q.enqueue(items.map((i) => [i]), { idempotencySinceMs, quotaOf: unlimited })).flatMap((r) => (r.ok ? r.items : []));
}
const ok: AttemptOutcome = { kind: "completed", result: { status: 200, body: "", truncated: false } };
const settings = () => ({ retries: 2, maxEventAgeMs: 3600_000 });

async function until(check: () => Promise<boolean> | boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("an idempotency key repeated within the window, or within one batch, gives the first id", async () => {
  const q = queueIn();
  assert.deepEqual(await put(q, [item("a", "k", 1000), item("b", "k", 1000), item("c", null, 1000)], 0), [
    { id: "a", duplicate: false }, { id: "a", duplicate: true }, { id: "c", duplicate: false },
  ]);
  assert.deepEqual(await put(q, [item("d", "k", 5000)], 500), [{ id: "a", duplicate: true }]);
  assert.deepEqual(await put(q, [item("e", "k", 5000)], 2000), [{ id: "e", duplicate: false }], "outside the window: new");
  await q.close();
});

test("claim takes due work under a lease; an expired lease is claimed again, a renewed one is not", async () => {
  const q = queueIn();
  await put(q, [item("a"), item("b", null, 500)]);
  const first = await q.claim(100, 10, 200, "n1");
  assert.deepEqual(first.map((r) => [r.id, r.status, r.attempts]), [["a", "running", 1]], "b is not due yet");
  assert.deepEqual((await q.claim(150, 10, 250, "n1")).length, 0, "a is leased");
  await q.extendLeases(["a"], 400);
  assert.deepEqual((await q.claim(300, 10, 600, "n1")).length, 0, "the renewed lease holds");
  const again = await q.claim(600, 10, 900, "n1");
  assert.deepEqual(again.map((r) => [r.id, r.attempts]).sort(), [["a", 2], ["b", 1]], "a's lease ran out: its holder is presumed gone");
  assert.equal(await q.releaseHeld("n2", 1000), 0, "another node's leases are not touched");
  assert.equal(await q.releaseHeld("n1", 1000), 2);
  assert.equal((await q.get("a"))?.status, "queued");
  await q.close();
});

test("the dispatcher runs every invocation once, with at most `concurrency` at a time", async () => {
  const q = queueIn();
  const n = 500;
  await put(q, Array.from({ length: n }, (_, i) => item(`i${i}`, null, Date.now())));
  const runs = new Map<string, number>();
  let running = 0;
  let most = 0;
  const d = new Dispatcher({
    store: q, holder: "n1", settingsOf: settings, concurrency: 8,
    run: async (inv) => {
      runs.set(inv.id, (runs.get(inv.id) ?? 0) + 1);
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, Math.random() * 3));
      running--;
      return ok;
    },
  });
  d.start();
  await until(async () => (await q.counts()).completed === n, "all completed");
  await d.stop(1000);
  assert.equal(runs.size, n);
  assert.ok([...runs.values()].every((c) => c === 1), "each ran once");
  assert.ok(most <= 8 && most > 1, `at most 8 at once (saw ${most})`);
  await q.close();
});

test("an attempt longer than the lease is never started twice: the lease is renewed while it runs", async () => {
  const q = queueIn();
  await put(q, [item("slow", null, Date.now())]);
  let starts = 0;
  const d = new Dispatcher({
    store: q, holder: "n1", settingsOf: settings, leaseMs: 60,
    run: async () => {
      starts++;
      await new Promise((r) => setTimeout(r, 400));
      return ok;
    },
  });
  d.start();
  await until(async () => (await q.get("slow"))?.status === "completed", "completed");
  await d.stop(1000);
  assert.equal(starts, 1);
  await q.close();
});

test("a run that rejects is a platform fault: retried without using a retry", async () => {
  const q = queueIn();
  await put(q, [item("x", null, Date.now())]);
  let calls = 0;
  const d = new Dispatcher({
    store: q, holder: "n1", settingsOf: () => ({ retries: 0, maxEventAgeMs: 3600_000 }),
    backoff: { failureBaseMs: 10, failureMaxMs: 10, deferBaseMs: 10, deferMaxMs: 10 },
    run: async (): Promise<AttemptOutcome> => {
      if (++calls < 3) throw new Error("lost the host");
      return ok;
    },
  });
  d.start();
  await until(async () => (await q.get("x"))?.status === "completed", "completed");
  await d.stop(1000);
  const done = (await q.get("x")) as InvocationRecord;
  assert.equal(done.attempts, 3);
  assert.equal(done.failures, 0);
  await q.close();
});
