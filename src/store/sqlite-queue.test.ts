// The embedded queue's own behaviour, on real SQLite files: claims that seek an index
// whatever the backlog, per-tenant quotas counted exactly by concurrent writers on several
// connections, and a queue.db from before hops and quotas brought up to date. What every
// QueueStore does is in test/contracts/queue-store-contract.ts, run against this one by
// test/queue-store-contract.test.ts.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
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
  assert.deepEqual((await q.claim(10, 2, 20, "n1")).map((r) => r.id).sort(), ["q1", "q3"], "one of each tenant");
  assert.deepEqual(await q.replay("g", null, 11, unlimited), ["d1"]);
  assert.deepEqual(await q.usage("b"), { messages: 2, bytes: 8 }, "a tenant's dead rows count once replayed");
  await q.close();
  const reopened = new SqliteQueue(dir);
  assert.deepEqual(await reopened.usage("a"), { messages: 3, bytes: 25 }, "opening again changes nothing");
  await reopened.close();
});
