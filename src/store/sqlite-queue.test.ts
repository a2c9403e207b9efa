// The embedded queue's fairness and bounds, on real SQLite files: due invocations dealt
// round robin across tenants, per-tenant quotas counted exactly (also by concurrent
// writers), hops kept, and a queue.db from before them brought up to date.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { FlickError } from "../errors/index.ts";
import type { InvocationKind } from "../model/index.ts";
import type { EnqueueResult, NewInvocation, QueueQuota } from "./queue-store.ts";
import { SqliteQueue } from "./sqlite-queue.ts";

const tempDir = () => mkdtempSync(path.join(tmpdir(), "flick-queue-"));
const unlimited = (): QueueQuota => ({ maxMessages: Infinity, maxBytes: Infinity });

function item(id: string, tenant: string, at: number, extra: Partial<NewInvocation> = {}): NewInvocation {
  return {
    id, function: `${tenant}-fn`, tenant, kind: "fetch" as InvocationKind, payload: new TextEncoder().encode(id), contentType: "text/plain",
    idempotencyKey: null, createdAtMs: at, nextAtMs: at, hops: 0, ...extra,
  };
}

/** Each item its own group. */
const enqueue = (q: SqliteQueue, items: NewInvocation[], quotaOf: (tenant: string) => QueueQuota = unlimited): Promise<EnqueueResult[]> =>
  q.enqueue(items.map((i) => [i]), { idempotencySinceMs: 0, quotaOf });

test("a tenant's 5,000-event backlog delays another tenant's event and cron run by at most one round of claims", async () => {
  const q = new SqliteQueue(tempDir());
  await enqueue(q, Array.from({ length: 5000 }, (_, i) => item(`a${i}`, "a", i)));
  // Tenant a has been running for a while: it was served last.
  assert.deepEqual((await q.claim(6000, 3, 9000)).map((r) => r.id), ["a0", "a1", "a2"]);
  // Then b queues an event and a cron run, both due after all of a's.
  await enqueue(q, [item("b-event", "b", 5500), item("b-cron", "b", 5600, { kind: "scheduled" })]);
  const order: string[] = [];
  for (let i = 0; i < 6; i++) order.push(...(await q.claim(6000, 1, 9000)).map((r) => r.id));
  assert.deepEqual(order, ["b-event", "a3", "b-cron", "a4", "a5", "a6"], "claims of one take turns; each tenant first in first out");

  // A claim with room for several gives every waiting tenant a share in the same claim.
  await enqueue(q, [item("b2", "b", 5700), item("c1", "c", 5800)]);
  const wide = (await q.claim(6000, 10, 9000)).map((r) => r.id);
  assert.equal(wide.length, 10);
  assert.deepEqual(wide.slice(0, 3).sort(), ["a7", "b2", "c1"], `one of each tenant first (${wide.join(" ")})`);
  assert.deepEqual(wide.slice(3), ["a8", "a9", "a10", "a11", "a12", "a13", "a14"], "then the rest of the claim to whoever still has due work");
  await q.close();
});

test("a claim seeks each tenant's next due invocations through an index, whatever the backlog", async () => {
  const dir = tempDir();
  const q = new SqliteQueue(dir);
  await enqueue(q, Array.from({ length: 2000 }, (_, i) => item(`a${i}`, "a", i)));
  const db = new DatabaseSync(path.join(dir, "queue.db"));
  const plan = (db.prepare("EXPLAIN QUERY PLAN SELECT * FROM invocations WHERE tenant = ? AND status = 'queued' AND next_at <= ? ORDER BY next_at LIMIT ?").all("a", 1, 1) as { detail: string }[])
    .map((r) => r.detail).join("; ");
  assert.match(plan, /SEARCH invocations USING INDEX invocations_tenant_due \(tenant=\? AND status=\? AND next_at<\?\)/);
  assert.doesNotMatch(plan, /TEMP B-TREE/, "no sort of the backlog");
  db.close();
  // A tenant with nothing due yet (backing off) gets nothing, and its turn once due.
  await enqueue(q, [item("later", "late", 1_000_000)]);
  assert.deepEqual((await q.claim(10, 100, 9_000_000)).map((r) => r.tenant).filter((t) => t !== "a"), []);
  assert.deepEqual((await q.claim(1_000_000, 1, 9_000_000)).map((r) => r.id), ["later"], "and taken once due");
  await q.close();
});

test("a tenant's quota counts what it has queued or running: a group over it is refused whole, and finished ones free room", async () => {
  const q = new SqliteQueue(tempDir());
  const quotaOf = (tenant: string): QueueQuota => (tenant === "a" ? { maxMessages: 3, maxBytes: 1000 } : unlimited());
  const group = (ids: string[], tenant = "a", extra: Partial<NewInvocation> = {}) => ids.map((id) => item(id, tenant, 0, extra));
  const [first] = await q.enqueue([group(["a1", "a2"])], { idempotencySinceMs: 0, quotaOf });
  assert.equal(first?.ok, true);
  const [over, other] = await q.enqueue([group(["a3", "a4"]), group(["b1", "b2", "b3", "b4"], "b")], { idempotencySinceMs: 0, quotaOf });
  assert.deepEqual(over, { ok: false, tenant: "a", usage: { messages: 2, bytes: 4 }, quota: { maxMessages: 3, maxBytes: 1000 }, adding: { messages: 2, bytes: 4 } });
  assert.equal(other?.ok, true, "another tenant's group in the same transaction is not affected");
  assert.equal(await q.get("a3"), undefined, "nothing of the refused group was queued");
  assert.deepEqual(await q.usage("a"), { messages: 2, bytes: 4 });

  // A repeated idempotency key queues nothing, so it needs no room.
  await q.enqueue([group(["a5"], "a", { idempotencyKey: "k" })], { idempotencySinceMs: 0, quotaOf });
  assert.deepEqual(await q.enqueue([group(["a6"], "a", { idempotencyKey: "k" })], { idempotencySinceMs: 0, quotaOf }), [{ ok: true, items: [{ id: "a5", duplicate: true }] }]);
  assert.equal((await q.enqueue([group(["a7"])], { idempotencySinceMs: 0, quotaOf }))[0]?.ok, false, "3 of 3");

  // Running still counts; completed and dead ones do not; a replay counts again.
  const claimed = await q.claim(0, 10, 100);
  assert.equal((await q.enqueue([group(["a8"])], { idempotencySinceMs: 0, quotaOf }))[0]?.ok, false, "running ones count");
  await q.finish([
    { id: claimed.find((r) => r.id === "a1")!.id, outcome: "completed", result: { status: 200, body: "", truncated: false }, nowMs: 1 },
    { id: "a2", outcome: "dead", reason: "retries_exhausted", error: { code: "function_error", message: "x" }, failed: true, nowMs: 1 },
    { id: "a5", outcome: "retry", nextAtMs: 50, error: { code: "function_error", message: "x" }, failed: true, nowMs: 1 },
  ]);
  assert.deepEqual(await q.usage("a"), { messages: 1, bytes: 2 });
  assert.equal((await q.enqueue([group(["a9", "a10"])], { idempotencySinceMs: 0, quotaOf }))[0]?.ok, true);
  await assert.rejects(q.replay("a-fn", ["a2"], 2, quotaOf), (err: FlickError) => err.code === "queue_full" && /tenant "a" is full/.test(err.message));
  assert.equal((await q.get("a2"))?.status, "dead", "a refused replay leaves it dead");
  // Bytes count too: 1000 bytes at most.
  await q.removeFunction("a-fn");
  assert.deepEqual(await q.usage("a"), { messages: 0, bytes: 0 }, "removing the function frees its room");
  const big = item("big", "a", 0, { payload: new Uint8Array(999) });
  assert.equal((await q.enqueue([[big]], { idempotencySinceMs: 0, quotaOf }))[0]?.ok, true);
  const refused = (await q.enqueue([[item("ab", "a", 0)]], { idempotencySinceMs: 0, quotaOf }))[0];
  assert.equal(refused?.ok === false && refused.usage.bytes, 999, "2 more bytes would go over 1000");
  await q.close();
});

test("a tenant's usage always equals a recount of its queued and running invocations, whatever moved them", async () => {
  const dir = tempDir();
  const q = new SqliteQueue(dir);
  const db = new DatabaseSync(path.join(dir, "queue.db"));
  const recount = db.prepare("SELECT tenant, COUNT(*) AS messages, SUM(length(payload)) AS bytes FROM invocations WHERE status IN ('queued', 'running') GROUP BY tenant");
  const check = async (after: string) => {
    for (const tenant of ["a", "b"]) {
      const row = (recount.all() as { tenant: string; messages: number; bytes: number }[]).find((r) => r.tenant === tenant);
      assert.deepEqual(await q.usage(tenant), { messages: row?.messages ?? 0, bytes: row?.bytes ?? 0 }, `${tenant} after ${after}`);
    }
  };
  const error = { code: "function_error", message: "x" };
  await enqueue(q, [...Array.from({ length: 6 }, (_, i) => item(`a${i}`, "a", i)), item("b0", "b", 0), item("b1", "b", 0, { function: "b-other" })]);
  await check("enqueue");
  await q.claim(10, 6, 100);
  await check("claim");
  await q.finish([
    { id: "a0", outcome: "completed", result: { status: 200, body: "", truncated: false }, nowMs: 11 },
    { id: "a1", outcome: "retry", nextAtMs: 20, error, failed: true, nowMs: 11 },
    { id: "a2", outcome: "dead", reason: "retries_exhausted", error, failed: true, nowMs: 11 },
    { id: "a3", outcome: "dead", reason: "expired", error, failed: false, nowMs: 11 },
    { id: "a3", outcome: "completed", result: { status: 200, body: "", truncated: false }, nowMs: 11 },
  ]);
  await check("finish (a repeated end counts once)");
  await q.claim(200, 10, 300); // a lease ran out: claimed again
  await check("claiming expired leases");
  assert.deepEqual(await q.replay("a-fn", ["a2", "a0", "nope"], 12, unlimited), ["a2"]);
  await check("replay");
  assert.ok((await q.requeueRunning(13)) > 0);
  await check("requeueRunning");
  await q.prune(1000, 1000);
  await check("prune");
  await q.removeFunction("b-fn");
  await check("removeFunction");
  assert.deepEqual(await q.usage("b"), { messages: 1, bytes: 2 }, "b's other function still counts");
  db.close();
  await q.close();
});

// A bound for a hang (workers waiting on each other would stop the whole run), not a speed target.
test("the quota holds exactly under concurrent enqueues from several connections", { timeout: 120_000 }, async () => {
  const dir = tempDir();
  new SqliteQueue(dir).close(); // made once, so the writers race on enqueues only
  const writers = 4;
  const each = 60;
  const max = 101;
  const source = `
    const { workerData, parentPort } = require("node:worker_threads");
    (async () => {
      const { SqliteQueue } = await import(workerData.module);
      const q = new SqliteQueue(workerData.dir, { busyTimeoutMs: 60000 });
      const quotaOf = () => ({ maxMessages: workerData.max, maxBytes: Infinity });
      parentPort.postMessage("ready");
      await new Promise((r) => parentPort.once("message", r));
      let accepted = 0;
      for (let i = 0; i < workerData.each; i++) {
        const id = "w" + workerData.w + "-" + i;
        const item = { id, function: "f", tenant: "t", kind: "fetch", payload: new Uint8Array(1), contentType: null, idempotencyKey: null, createdAtMs: i, nextAtMs: i, hops: 0 };
        const [r] = await q.enqueue([[item]], { idempotencySinceMs: 0, quotaOf });
        if (r.ok) accepted++;
      }
      await q.close();
      parentPort.postMessage(accepted);
    })();`;
  const module = new URL("./sqlite-queue.ts", import.meta.url).href;
  const workers = Array.from({ length: writers }, (_, w) => new Worker(source, { eval: true, workerData: { module, dir, w, each, max } }));
  const message = (worker: Worker) => new Promise<unknown>((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", reject);
  });
  await Promise.all(workers.map(message)); // all ready
  const results = workers.map(message);
  for (const worker of workers) worker.postMessage("go");
  const accepted = (await Promise.all(results)) as number[];
  assert.equal(accepted.reduce((a, b) => a + b, 0), max, `accepted per writer: ${accepted.join(", ")}`);
  const q = new SqliteQueue(dir);
  assert.deepEqual(await q.usage("t"), { messages: max, bytes: max });
  assert.equal((await q.counts()).queued, max);
  await q.close();
});

test("hops are kept and come back on claimed invocations", async () => {
  const q = new SqliteQueue(tempDir());
  await enqueue(q, [item("deep", "t", 0, { hops: 7 })]);
  assert.equal((await q.get("deep"))?.hops, 7);
  assert.deepEqual((await q.claim(0, 1, 10)).map((r) => [r.id, r.hops]), [["deep", 7]]);
  await q.close();
});

test("a queue.db from before hops and quotas opens: usage counted from its rows, hops 0, claims fair", async () => {
  const dir = tempDir();
  const old = new DatabaseSync(path.join(dir, "queue.db"));
  old.exec(`
    CREATE TABLE invocations (
      id TEXT PRIMARY KEY, function TEXT NOT NULL, tenant TEXT NOT NULL, kind TEXT NOT NULL,
      status TEXT NOT NULL, payload BLOB NOT NULL, content_type TEXT,
      attempts INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
      created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, next_at INTEGER NOT NULL, lease_until INTEGER,
      idempotency_key TEXT, result TEXT, last_error TEXT, dead_reason TEXT);
    CREATE INDEX invocations_due ON invocations (status, next_at);
    CREATE TABLE cron_state (function TEXT NOT NULL, expression TEXT NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (function, expression));`);
  const insert = old.prepare("INSERT INTO invocations (id, function, tenant, kind, status, payload, created_at, updated_at, next_at) VALUES (?, ?, ?, 'fetch', ?, ?, 0, 0, ?)");
  insert.run("q1", "f", "a", "queued", new Uint8Array(10), 1);
  insert.run("q2", "f", "a", "queued", new Uint8Array(10), 2);
  insert.run("r1", "f", "a", "running", new Uint8Array(5), 0);
  insert.run("c1", "f", "a", "completed", new Uint8Array(100), 0);
  insert.run("d1", "g", "b", "dead", new Uint8Array(7), 0);
  insert.run("q3", "g", "b", "queued", new Uint8Array(1), 3);
  old.close();

  const q = new SqliteQueue(dir);
  assert.deepEqual(await q.usage("a"), { messages: 3, bytes: 25 });
  assert.deepEqual(await q.usage("b"), { messages: 1, bytes: 1 });
  assert.equal((await q.get("q1"))?.hops, 0);
  assert.deepEqual((await q.claim(10, 2, 20)).map((r) => r.id).sort(), ["q1", "q3"], "one of each tenant");
  assert.deepEqual(await q.replay("g", null, 11, unlimited), ["d1"]);
  assert.deepEqual(await q.usage("b"), { messages: 2, bytes: 8 }, "a tenant's dead rows count once replayed");
  await q.close();
  const reopened = new SqliteQueue(dir);
  assert.deepEqual(await reopened.usage("a"), { messages: 3, bytes: 25 }, "opening again changes nothing");
  await reopened.close();
});
