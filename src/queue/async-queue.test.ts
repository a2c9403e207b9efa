// The async queue on a real SQLite file, bounded and fair per tenant: quotas refuse with
// queue_full and queue nothing (exactly, with concurrent submissions), a sendBatch is all
// or none, the hop budget stops a function queueing to itself, and while one tenant floods
// its queue another tenant's event and cron run start within a round.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import type { FlickError } from "../errors/index.ts";
import type { InvocationRecord } from "../model/index.ts";
import { SqliteQueue, type QueueQuota } from "../store/index.ts";
import { AsyncQueue, type AsyncQueueOptions, type Submission } from "./async-queue.ts";
import { hopsOfSend } from "./hops.ts";
import type { AttemptOutcome } from "./retry-policy.ts";

const ok: AttemptOutcome = { kind: "completed", result: { status: 200, body: "", truncated: false } };
const message = (tenant: string, body = "m", extra: Partial<Submission> = {}): Submission => ({
  function: `${tenant}-fn`, tenant, kind: "fetch", payload: new TextEncoder().encode(body), contentType: "text/plain", idempotencyKey: null, ...extra,
});

/** A queue on a fresh file whose dispatcher is not started (nothing runs) unless a test starts it. */
function queue(options: Partial<AsyncQueueOptions> = {}): AsyncQueue {
  return new AsyncQueue({
    store: new SqliteQueue(mkdtempSync(path.join(tmpdir(), "flick-async-"))),
    run: async () => ok,
    settingsOf: () => ({ retries: 0, maxEventAgeMs: 3600_000 }),
    idempotencyWindowMs: 60_000,
    holder: "n1",
    ...options,
  });
}

const isQueueFull = (err: FlickError) => {
  assert.equal(err.code, "queue_full");
  assert.equal(err.status, 429);
  assert.equal(err.details?.["retryAfterSeconds"], 5);
  assert.match(err.message, /the async queue of tenant "a" is full: it holds \d+ of its 3 messages/);
  return true;
};

test("past its quota a tenant's submission is refused with queue_full and Retry-After, nothing queued; a batch goes whole or not at all", async () => {
  const q = queue({ quotaOf: (t): QueueQuota => (t === "a" ? { maxMessages: 3, maxBytes: 1 << 20 } : { maxMessages: 100, maxBytes: 1 << 20 }) });
  await q.submitAll([message("a"), message("a")]);
  await assert.rejects(q.submitAll([message("a", "x"), message("a", "y")]), isQueueFull);
  assert.deepEqual((await q.usage("a")).usage, { messages: 2, bytes: 2 }, "neither message of the refused batch was queued");
  await q.submit(message("a"));
  await assert.rejects(q.submit(message("a")), isQueueFull);
  await q.submit(message("b"));
  assert.deepEqual(await q.counts(), { queued: 4, running: 0, completed: 0, dead: 0 });
  await q.stop(0);
});

test("concurrent submissions never take a tenant past its quota", async () => {
  const q = queue({ quotaOf: () => ({ maxMessages: 100, maxBytes: 1 << 20 }) });
  const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => q.submit(message("a", `m${i}`))));
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 100);
  assert.ok(results.every((r) => r.status === "fulfilled" || (r.reason as FlickError).code === "queue_full"));
  assert.equal((await q.counts()).queued, 100);
  await q.stop(0);
});

test("a message more than 16 hops from the event that started its chain is refused with an error naming the limit", async () => {
  assert.equal(hopsOfSend(undefined), 0, "a request to /fn starts a chain");
  assert.equal(hopsOfSend(0), 1);
  assert.equal(hopsOfSend(15), 16);
  const q = queue();
  const id = (await q.submit(message("a", "last", { hops: 16 }))).id;
  assert.equal((await q.get(id))?.hops, 16);
  await assert.rejects(q.submitAll([message("a", "fine"), message("a", "too far", { hops: hopsOfSend(16) })]), (err: FlickError) => {
    assert.equal(err.code, "bad_request");
    assert.match(err.message, /queue messages chain deeper than 16 hops \(the limit of queue hops/);
    return true;
  });
  assert.equal((await q.counts()).queued, 1, "nothing of that batch was queued");
  await q.stop(0);
});

test("a function queueing to itself stops after 16 hops: the 17th send is refused", async (t) => {
  let refused: (err: FlickError) => void;
  const stopped = new Promise<FlickError>((r) => (refused = r));
  const ran: number[] = [];
  const q: AsyncQueue = queue({
    // A queue handler that sends one more message to itself for each it gets.
    runBatch: async (batch) => {
      for (const m of batch) {
        ran.push(m.hops);
        if (m.hops > 16) refused(new Error(`a message with ${m.hops} hops ran`) as FlickError);
        q.submit(message("a", "again", { kind: "queue", hops: hopsOfSend(m.hops) })).catch(refused);
      }
      return batch.map(() => ok);
    },
  });
  t.after(() => q.stop(0));
  await q.submit(message("a", "start", { kind: "queue" }));
  await q.start();
  const err = await stopped;
  assert.equal(err.code, "bad_request");
  assert.match(err.message, /deeper than 16 hops/);
  assert.deepEqual(ran, Array.from({ length: 17 }, (_, i) => i), "hops 0 to 16 ran, one each");
});

test("while one tenant's backlog of 5,000 messages runs, another tenant's event and cron run start within a round", async () => {
  const concurrency = 20;
  /** Attempts in the order they started: a batch of queue messages is one. */
  const attempts: string[] = [];
  let busy: () => void;
  const aRunning = new Promise<void>((r) => (busy = r));
  let bothB: () => void;
  const bStarted = new Promise<void>((r) => (bothB = r));
  const q = queue({
    concurrency,
    runBatch: async (batch) => {
      assert.ok(batch.every((m) => m.function === batch[0]!.function), "a batch is one function's");
      attempts.push(`a×${batch.length}`);
      if (attempts.length === 50) busy();
      return batch.map(() => ok);
    },
    run: async (inv) => {
      attempts.push(`${inv.tenant}:${inv.kind}`);
      if (attempts.filter((a) => a.startsWith("b:")).length === 2) bothB();
      return ok;
    },
  });
  for (let i = 0; i < 50; i++) await q.submitAll(Array.from({ length: 100 }, () => message("a", "backlog", { kind: "queue" })));
  await q.start();
  await aRunning;
  await q.submit(message("b", "event"));
  await q.submit(message("b", JSON.stringify({ cron: "* * * * *", scheduledTime: 0 }), { kind: "scheduled" }));
  const queuedAt = attempts.length;
  await bStarted;
  const b = attempts.flatMap((a, i) => (a.startsWith("b:") ? [i - queuedAt] : []));
  assert.ok(b.every((i) => i < concurrency), `b's attempts started ${b.join(" and ")} attempts after being queued (${attempts.slice(queuedAt, queuedAt + 8).join(" ")} …)`);
  assert.ok((await q.counts()).queued > 1000, "a's backlog was still there");
  assert.ok(attempts.some((a) => a === "a×10"), "a's messages still went in full batches");
  await q.stop(1000);
});
