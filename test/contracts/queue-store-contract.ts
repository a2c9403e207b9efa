// What every `QueueStore` must do (src/store/queue-store.ts: its doc comments are the
// contract), as node:test tests to run against each implementation: SQLite today,
// JetStream later. Time is passed in (`nowMs`, lease ends, due times), never waited for.
// Behaviour only; what one backend does its own way (indexes, migrations, several
// connections to one file) is tested beside that backend.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FlickError } from "../../src/errors/index.ts";
import type { InvocationRecord } from "../../src/model/index.ts";
import type { EnqueueResult, NewInvocation, QueueQuota, QueueStore, QueueUsage } from "../../src/store/index.ts";

export interface QueueStoreBackend {
  name: string;
  /** A new, empty queue, and a way to close it and open the same data again (restart). */
  create(): Promise<{ store: QueueStore; reopen(): Promise<QueueStore> }>;
  /**
   * Set (to why) when the backend times leases by its own clock, not the `nowMs` it is
   * given: a lease taken before a restart then ends when that clock says, so the tests that
   * end one by passing a later `nowMs` to a reopened store do not apply. Its own tests cover
   * the same (test/cluster/jetstream-queue.test.ts).
   */
  ownLeaseClock?: string;
}

const unlimited = (): QueueQuota => ({ maxMessages: Infinity, maxBytes: Infinity });
const error = { code: "function_error", message: "x" };
const ok = { status: 200, body: "done", truncated: false };

/** An invocation of `<tenant>-fn` acknowledged and due at `at`, its id as payload. */
function item(id: string, tenant: string, at: number, extra: Partial<NewInvocation> = {}): NewInvocation {
  return {
    id, function: `${tenant}-fn`, tenant, kind: "fetch", payload: new TextEncoder().encode(id), contentType: "text/plain",
    idempotencyKey: null, createdAtMs: at, nextAtMs: at, hops: 0, ...extra,
  };
}

/** Each item its own group. */
const enqueue = (q: QueueStore, items: NewInvocation[], quotaOf: (tenant: string) => QueueQuota = unlimited): Promise<EnqueueResult[]> =>
  q.enqueue(items.map((i) => [i]), { idempotencySinceMs: 0, quotaOf });

/** A claim by one node unless a test says which. */
const claim = (q: QueueStore, nowMs: number, limit: number, leaseUntilMs: number, holder = "node-1"): Promise<InvocationRecord[]> =>
  q.claim(nowMs, limit, leaseUntilMs, holder);

const ids = (records: InvocationRecord[]) => records.map((r) => r.id);

/** What the tenants of `functions` have queued or running, counted from the invocations themselves. */
async function recount(q: QueueStore, functions: string[]): Promise<Map<string, QueueUsage>> {
  const out = new Map<string, QueueUsage>();
  for (const fn of functions) {
    for (const status of ["queued", "running"] as const) {
      for (const r of await q.list(fn, status, 100_000)) {
        const u = out.get(r.tenant) ?? { messages: 0, bytes: 0 };
        out.set(r.tenant, { messages: u.messages + 1, bytes: u.bytes + r.payload.byteLength });
      }
    }
  }
  return out;
}

export function queueStoreContract(backend: QueueStoreBackend): void {
  describe(backend.name, () => {
    test("an invocation is queued, claimed under a lease with its attempt counted, completed, and read back whole", async () => {
      const { store: q } = await backend.create();
      const payload = new Uint8Array([0, 255, 1, 128, 0xc3, 0x28]);
      const trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
      const [result] = await enqueue(q, [item("i1", "t", 100, { payload, contentType: "application/octet-stream", kind: "queue", hops: 2, trace, traceState: "k=v" })]);
      assert.deepEqual(result, { ok: true, items: [{ id: "i1", duplicate: false }] });
      const queued: InvocationRecord = {
        id: "i1", function: "t-fn", tenant: "t", kind: "queue", status: "queued", payload, contentType: "application/octet-stream", hops: 2,
        attempts: 0, failures: 0, createdAtMs: 100, updatedAtMs: 100, nextAtMs: 100, leaseUntilMs: null, idempotencyKey: null,
        result: null, lastError: null, deadReason: null, trace, traceState: "k=v",
      };
      assert.deepEqual(await q.get("i1"), queued);
      assert.deepEqual(await claim(q, 99, 10, 1099), [], "not due yet");

      const [running] = await claim(q, 150, 10, 1150);
      assert.deepEqual(running, { ...queued, status: "running", attempts: 1, leaseUntilMs: 1150, updatedAtMs: 150 });
      assert.deepEqual(await q.get("i1"), running);
      assert.deepEqual(await claim(q, 160, 10, 1160, "node-2"), [], "a leased invocation is not claimed twice");

      await q.finish([{ id: "i1", outcome: "completed", result: ok, nowMs: 200 }]);
      assert.deepEqual(await q.get("i1"), { ...running, status: "completed", result: ok, leaseUntilMs: null, updatedAtMs: 200 });
      assert.deepEqual(await claim(q, 10_000, 10, 20_000), [], "a completed invocation never runs again");
      assert.equal(await q.get("nope"), undefined);
      await q.close();
    });

    test("a retry is not claimed before its nextAtMs, and counts a failure only when the attempt failed", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, [item("i1", "t", 0)]);
      await claim(q, 0, 1, 100);
      await q.finish([{ id: "i1", outcome: "retry", nextAtMs: 50, error, failed: true, nowMs: 10 }]);
      const waiting = await q.get("i1");
      assert.deepEqual(
        waiting && { status: waiting.status, attempts: waiting.attempts, failures: waiting.failures, nextAtMs: waiting.nextAtMs, leaseUntilMs: waiting.leaseUntilMs, lastError: waiting.lastError, updatedAtMs: waiting.updatedAtMs },
        { status: "queued", attempts: 1, failures: 1, nextAtMs: 50, leaseUntilMs: null, lastError: error, updatedAtMs: 10 },
      );
      assert.deepEqual(await claim(q, 49, 1, 149), []);
      assert.deepEqual((await claim(q, 50, 1, 150)).map((r) => [r.id, r.attempts]), [["i1", 2]]);
      await q.finish([{ id: "i1", outcome: "retry", nextAtMs: 60, error: { code: "no_capacity", message: "busy" }, failed: false, nowMs: 55 }]);
      assert.equal((await q.get("i1"))?.failures, 1, "a retry that is not the function's fault is not a failure");
      assert.deepEqual((await q.get("i1"))?.lastError, { code: "no_capacity", message: "busy" });
      assert.deepEqual((await claim(q, 60, 1, 160)).map((r) => [r.id, r.attempts]), [["i1", 3]]);
      await q.finish([{ id: "i1", outcome: "dead", reason: "retries_exhausted", error, failed: true, nowMs: 70 }]);
      const dead = await q.get("i1");
      assert.deepEqual(
        dead && { status: dead.status, attempts: dead.attempts, failures: dead.failures, deadReason: dead.deadReason, lastError: dead.lastError, leaseUntilMs: dead.leaseUntilMs, updatedAtMs: dead.updatedAtMs },
        { status: "dead", attempts: 3, failures: 2, deadReason: "retries_exhausted", lastError: error, leaseUntilMs: null, updatedAtMs: 70 },
      );
      assert.deepEqual(await claim(q, 1_000_000, 10, 2_000_000), [], "a dead invocation never runs again by itself");
      await q.close();
    });

    test("a replay queues a function's dead invocations again with fresh attempts, all of them or the ids given", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, [item("d1", "t", 0), item("d2", "t", 1), item("c1", "t", 2), item("o1", "t", 3, { function: "t-other" })]);
      await claim(q, 10, 10, 100);
      await q.finish([
        { id: "d1", outcome: "dead", reason: "expired", error, failed: false, nowMs: 20 },
        { id: "d2", outcome: "dead", reason: "retries_exhausted", error, failed: true, nowMs: 20 },
        { id: "c1", outcome: "completed", result: ok, nowMs: 20 },
        { id: "o1", outcome: "dead", reason: "retries_exhausted", error, failed: true, nowMs: 20 },
      ]);
      assert.deepEqual(await q.replay("t-fn", ["d2", "d2", "c1", "o1", "nope"], 100, unlimited), ["d2"], "only dead ones of that function, each once");
      const replayed = await q.get("d2");
      assert.deepEqual(
        replayed && { status: replayed.status, attempts: replayed.attempts, failures: replayed.failures, deadReason: replayed.deadReason, nextAtMs: replayed.nextAtMs },
        { status: "queued", attempts: 0, failures: 0, deadReason: null, nextAtMs: 100 },
      );
      assert.equal((await q.get("d1"))?.status, "dead");
      assert.equal((await q.get("c1"))?.status, "completed");
      assert.deepEqual(await q.replay("t-fn", null, 110, unlimited), ["d1"], "all of the function's dead ones");
      assert.equal((await q.get("o1"))?.status, "dead", "another function's stay");
      assert.deepEqual(ids(await claim(q, 110, 10, 200)).sort(), ["d1", "d2"]);
      assert.deepEqual(await q.replay("t-fn", null, 120, unlimited), [], "none left");
      await q.close();
    });

    test("an idempotency key its function used since idempotencySinceMs gives the first invocation's id; an earlier use does not count", async () => {
      const { store: q } = await backend.create();
      const keyed = (id: string, at: number, key: string, extra: Partial<NewInvocation> = {}) => [item(id, "t", at, { idempotencyKey: key, ...extra })];
      const since = (ms: number) => ({ idempotencySinceMs: ms, quotaOf: unlimited });
      assert.deepEqual(await q.enqueue([keyed("k1", 100, "k")], since(0)), [{ ok: true, items: [{ id: "k1", duplicate: false }] }]);
      assert.deepEqual(await q.enqueue([keyed("k2", 200, "k")], since(50)), [{ ok: true, items: [{ id: "k1", duplicate: true }] }]);
      assert.equal(await q.get("k2"), undefined, "a duplicate is not queued");
      assert.deepEqual(await q.enqueue([keyed("k3", 300, "k")], since(150)), [{ ok: true, items: [{ id: "k3", duplicate: false }] }], "outside the window: a new invocation");
      assert.deepEqual(await q.enqueue([keyed("k4", 400, "k")], since(0)), [{ ok: true, items: [{ id: "k1", duplicate: true }] }], "the first one's id");
      assert.deepEqual(await q.enqueue([keyed("k5", 400, "k")], since(250)), [{ ok: true, items: [{ id: "k3", duplicate: true }] }]);
      assert.deepEqual(await q.enqueue([keyed("o1", 400, "k", { function: "t-other" })], since(0)), [{ ok: true, items: [{ id: "o1", duplicate: false }] }], "keys are per function");

      // Within one call: across its groups, and within one group.
      assert.deepEqual(await q.enqueue([keyed("g1", 500, "fresh"), keyed("g2", 500, "fresh")], since(0)), [
        { ok: true, items: [{ id: "g1", duplicate: false }] },
        { ok: true, items: [{ id: "g1", duplicate: true }] },
      ]);
      assert.deepEqual(await q.enqueue([[...keyed("h1", 500, "pair"), ...keyed("h2", 500, "pair"), item("h3", "t", 500)]], since(0)), [
        { ok: true, items: [{ id: "h1", duplicate: false }, { id: "h1", duplicate: true }, { id: "h3", duplicate: false }] },
      ]);
      // Whatever became of the first.
      await claim(q, 1000, 100, 2000);
      await q.finish([{ id: "k3", outcome: "completed", result: ok, nowMs: 1001 }, { id: "g1", outcome: "dead", reason: "expired", error, failed: false, nowMs: 1001 }]);
      assert.deepEqual(await q.enqueue([keyed("k6", 1100, "k"), keyed("g3", 1100, "fresh")], since(250)), [
        { ok: true, items: [{ id: "k3", duplicate: true }] },
        { ok: true, items: [{ id: "g1", duplicate: true }] },
      ]);
      assert.equal((await q.counts("t-fn")).queued, 0, "no duplicate was queued");
      await q.close();
    });

    test("a tenant's quota counts what it has queued or running: a group over it is refused whole, and finished ones free room", async () => {
      const { store: q } = await backend.create();
      const quotaOf = (tenant: string): QueueQuota => (tenant === "a" ? { maxMessages: 3, maxBytes: 1000 } : unlimited());
      const group = (names: string[], tenant = "a", extra: Partial<NewInvocation> = {}) => names.map((id) => item(id, tenant, 0, extra));
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
      const claimed = await claim(q, 0, 10, 100);
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

    test("a replay of more dead invocations than the tenant has room for is queue_full and replays none", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, [item("d1", "t", 0), item("d2", "t", 1), item("q1", "t", 2)]);
      await claim(q, 1, 2, 100);
      await q.finish(["d1", "d2"].map((id) => ({ id, outcome: "dead" as const, reason: "expired" as const, error, failed: false, nowMs: 5 })));
      const two = (): QueueQuota => ({ maxMessages: 2, maxBytes: Infinity });
      await assert.rejects(q.replay("t-fn", null, 10, two), (err: unknown) => err instanceof FlickError && err.code === "queue_full");
      assert.deepEqual([(await q.get("d1"))?.status, (await q.get("d2"))?.status], ["dead", "dead"], "not one of them");
      assert.deepEqual(await q.usage("t"), { messages: 1, bytes: 2 });
      assert.deepEqual(await q.replay("t-fn", ["d2"], 10, two), ["d2"], "one fits");
      assert.deepEqual(await q.usage("t"), { messages: 2, bytes: 4 });
      await q.close();
    });

    test("a tenant's usage always equals a recount of its queued and running invocations, whatever moved them", async () => {
      const { store: q } = await backend.create();
      const check = async (after: string) => {
        const counted = await recount(q, ["a-fn", "b-fn", "b-other"]);
        for (const tenant of ["a", "b"]) assert.deepEqual(await q.usage(tenant), counted.get(tenant) ?? { messages: 0, bytes: 0 }, `${tenant} after ${after}`);
      };
      await enqueue(q, [...Array.from({ length: 6 }, (_, i) => item(`a${i}`, "a", i)), item("b0", "b", 0), item("b1", "b", 0, { function: "b-other" })]);
      await check("enqueue");
      await claim(q, 10, 6, 100);
      await check("claim");
      await q.finish([
        { id: "a0", outcome: "completed", result: { status: 200, body: "", truncated: false }, nowMs: 11 },
        { id: "a1", outcome: "retry", nextAtMs: 20, error, failed: true, nowMs: 11 },
        { id: "a2", outcome: "dead", reason: "retries_exhausted", error, failed: true, nowMs: 11 },
        { id: "a3", outcome: "dead", reason: "expired", error, failed: false, nowMs: 11 },
        { id: "a3", outcome: "completed", result: { status: 200, body: "", truncated: false }, nowMs: 11 },
      ]);
      await check("finish (a repeated end counts once)");
      assert.equal((await q.get("a3"))?.status, "dead", "the first end stands");
      await claim(q, 200, 10, 300); // a lease ran out: claimed again
      await check("claiming expired leases");
      assert.deepEqual(await q.replay("a-fn", ["a2", "a0", "nope"], 12, unlimited), ["a2"]);
      await check("replay");
      assert.ok((await q.releaseHeld("node-1", 13)) > 0);
      await check("releaseHeld");
      await q.prune(1000, 1000);
      await check("prune");
      await q.removeFunction("b-fn");
      await check("removeFunction");
      assert.deepEqual(await q.usage("b"), { messages: 1, bytes: 2 }, "b's other function still counts");
      assert.deepEqual(await q.usage("nobody"), { messages: 0, bytes: 0 });
      await q.close();
    });

    test("concurrent enqueues never take a tenant past its quota", async () => {
      const { store: q } = await backend.create();
      const quotaOf = (): QueueQuota => ({ maxMessages: 7, maxBytes: Infinity });
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => q.enqueue([[item(`c${i}`, "t", i)]], { idempotencySinceMs: 0, quotaOf })));
      assert.equal(results.filter(([r]) => r?.ok).length, 7);
      assert.deepEqual(await q.usage("t"), { messages: 7, bytes: results.flatMap(([r]) => (r?.ok ? r.items : [])).reduce((n, i) => n + i.id.length, 0) });
      assert.equal((await q.counts()).queued, 7);
      await q.close();
    });

    test("a tenant's 5,000-event backlog delays another tenant's event and cron run by at most one round of claims", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, Array.from({ length: 5000 }, (_, i) => item(`a${i}`, "a", i)));
      // Tenant a has been running for a while: it was served last.
      assert.deepEqual(ids(await claim(q, 6000, 3, 9000)), ["a0", "a1", "a2"]);
      // Then b queues an event and a cron run, both due after all of a's.
      await enqueue(q, [item("b-event", "b", 5500), item("b-cron", "b", 5600, { kind: "scheduled" })]);
      const order: string[] = [];
      for (let i = 0; i < 6; i++) order.push(...ids(await claim(q, 6000, 1, 9000)));
      assert.deepEqual(order, ["b-event", "a3", "b-cron", "a4", "a5", "a6"], "claims of one take turns; each tenant first in first out");

      // A claim with room for several gives every waiting tenant a share in the same claim.
      await enqueue(q, [item("b2", "b", 5700), item("c1", "c", 5800)]);
      const wide = ids(await claim(q, 6000, 10, 9000));
      assert.equal(wide.length, 10);
      assert.deepEqual(wide.slice(0, 3).sort(), ["a7", "b2", "c1"], `one of each tenant first (${wide.join(" ")})`);
      assert.deepEqual(wide.slice(3), ["a8", "a9", "a10", "a11", "a12", "a13", "a14"], "then the rest of the claim to whoever still has due work");
      await q.close();
    });

    test("an invocation due later is not claimed before its time, whatever else is due, and is taken once due", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, Array.from({ length: 2000 }, (_, i) => item(`a${i}`, "a", i)));
      // A tenant with nothing due yet (backing off) gets nothing, and its turn once due.
      await enqueue(q, [item("later", "late", 1_000_000)]);
      assert.deepEqual((await claim(q, 10, 100, 9_000_000)).map((r) => r.tenant).filter((t) => t !== "a"), []);
      assert.deepEqual(ids(await claim(q, 1_000_000, 1, 9_000_000)), ["later"], "and taken once due");
      await q.close();
    });

    test("an invocation whose lease ended is claimed again with its attempt counted; extendLeases keeps it from that", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, [item("x", "t", 0), item("y", "t", 1)]);
      assert.deepEqual(ids(await claim(q, 1, 2, 100, "node-1")), ["x", "y"]);
      await q.extendLeases(["x"], 500);
      assert.equal((await q.get("x"))?.leaseUntilMs, 500);
      assert.deepEqual(await claim(q, 99, 10, 1000, "node-2"), [], "both leases hold");
      const [taken] = await claim(q, 200, 10, 1200, "node-2");
      assert.deepEqual(taken && [taken.id, taken.status, taken.attempts, taken.leaseUntilMs, taken.updatedAtMs], ["y", "running", 2, 1200, 200], "y's lease ended; x's was extended");
      assert.deepEqual(await q.get("y"), taken);
      assert.deepEqual((await claim(q, 600, 10, 1600, "node-2")).map((r) => [r.id, r.attempts]), [["x", 2]]);
      await q.extendLeases([], 5000);

      // Extending what is no longer running does nothing.
      await q.finish([{ id: "x", outcome: "completed", result: ok, nowMs: 601 }]);
      await q.extendLeases(["x", "nope"], 5000);
      assert.deepEqual([(await q.get("x"))?.status, (await q.get("x"))?.leaseUntilMs], ["completed", null]);
      assert.equal(await q.get("nope"), undefined);
      await q.close();
    });

    test("releaseHeld queues again at once what one holder left running, not as a failure; another holder's stay running until their leases end", { skip: backend.ownLeaseClock }, async () => {
      const { store: q, reopen } = await backend.create();
      await enqueue(q, [item("x1", "t", 0), item("x2", "t", 1), item("x3", "t", 2), item("y1", "u", 0)]);
      assert.deepEqual(ids(await claim(q, 10, 3, 1000, "node-1")).sort(), ["x1", "x2", "y1"]);
      assert.deepEqual(ids(await claim(q, 10, 1, 1000, "node-2")), ["x3"]);
      await q.finish([{ id: "x2", outcome: "completed", result: ok, nowMs: 20 }]);

      const again = await reopen(); // node-1 starts again after being killed
      assert.equal(await again.releaseHeld("node-1", 100), 2);
      for (const id of ["x1", "y1"]) {
        const r = await again.get(id);
        assert.deepEqual(r && [r.status, r.nextAtMs, r.leaseUntilMs, r.attempts, r.failures], ["queued", 100, null, 1, 0], id);
      }
      assert.equal((await again.get("x2"))?.status, "completed", "a finished one stays finished");
      assert.deepEqual([(await again.get("x3"))?.status, (await again.get("x3"))?.leaseUntilMs], ["running", 1000], "node-2's stays");
      assert.deepEqual(await again.usage("t"), { messages: 2, bytes: 4 }, "requeued, still counted once");
      assert.equal(await again.nextWakeMs(), 100);
      assert.equal(await again.releaseHeld("node-3", 100), 0);

      assert.deepEqual((await claim(again, 100, 10, 2000, "node-1")).map((r) => [r.id, r.attempts]).sort(), [["x1", 2], ["y1", 2]], "claimable at once; x3's lease holds");
      assert.deepEqual((await claim(again, 1001, 10, 3000, "node-3")).map((r) => [r.id, r.attempts]), [["x3", 2]], "once its lease ended");
      assert.equal(await again.releaseHeld("node-2", 1002), 0, "x3 is node-3's now");
      assert.equal(await again.releaseHeld("node-3", 1002), 1);
      assert.equal(await again.releaseHeld("node-1", 1002), 2);
      await again.close();
    });

    test("list gives a function's latest invocations, of one status or any, most recently changed first", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, [...Array.from({ length: 5 }, (_, i) => item(`a${i}`, "t", i)), item("o0", "t", 9, { function: "t-other" })]);
      assert.deepEqual(ids(await claim(q, 10, 2, 1000)), ["a0", "a1"]);
      await q.finish([{ id: "a0", outcome: "completed", result: ok, nowMs: 20 }]);
      await q.finish([{ id: "a1", outcome: "dead", reason: "expired", error, failed: false, nowMs: 30 }]);
      assert.deepEqual(ids(await q.list("t-fn", null, 10)), ["a1", "a0", "a4", "a3", "a2"], "every status; not another function's");
      assert.deepEqual(ids(await q.list("t-fn", null, 2)), ["a1", "a0"]);
      assert.deepEqual(ids(await q.list("t-fn", "queued", 10)), ["a4", "a3", "a2"]);
      assert.deepEqual(ids(await q.list("t-fn", "queued", 2)), ["a4", "a3"]);
      assert.deepEqual(ids(await q.list("t-fn", "completed", 10)), ["a0"]);
      assert.deepEqual(ids(await q.list("t-fn", "dead", 10)), ["a1"]);
      assert.deepEqual(await q.list("t-fn", "running", 10), []);
      await claim(q, 40, 1, 1000);
      assert.deepEqual(ids(await q.list("t-fn", "running", 10)), ["a2"]);
      assert.deepEqual(ids(await q.list("t-fn", null, 1)), ["a2"], "a claim is a change");
      assert.deepEqual(ids(await q.list("t-other", null, 10)), ["o0"]);
      assert.deepEqual(await q.list("nope", null, 10), []);
      await q.close();
    });

    test("counts per status, of one function or all, and the backlog with when its oldest waiting event was acknowledged", async () => {
      const { store: q } = await backend.create();
      assert.deepEqual(await q.counts(), { queued: 0, running: 0, completed: 0, dead: 0 });
      assert.deepEqual(await q.backlog(), { queued: 0, running: 0, dead: 0, oldestQueuedMs: null });
      // c1 was acknowledged first but waits until 1000 (a delay): the oldest waiting all the same.
      await enqueue(q, [item("a1", "a", 5), item("a2", "a", 6), item("a3", "a", 7), item("b1", "b", 3), item("c1", "c", 1, { nextAtMs: 1000 })]);
      assert.deepEqual(ids(await claim(q, 10, 2, 100)).sort(), ["a1", "b1"]);
      await q.finish([{ id: "b1", outcome: "dead", reason: "expired", error, failed: false, nowMs: 11 }]);
      assert.deepEqual(ids(await claim(q, 12, 1, 100)), ["a2"]);
      await q.finish([{ id: "a1", outcome: "completed", result: ok, nowMs: 13 }]);
      assert.deepEqual(await q.counts("a-fn"), { queued: 1, running: 1, completed: 1, dead: 0 });
      assert.deepEqual(await q.counts("b-fn"), { queued: 0, running: 0, completed: 0, dead: 1 });
      assert.deepEqual(await q.counts(), { queued: 2, running: 1, completed: 1, dead: 1 });
      assert.deepEqual(await q.counts("nope"), { queued: 0, running: 0, completed: 0, dead: 0 });
      assert.deepEqual(await q.backlog(), { queued: 2, running: 1, dead: 1, oldestQueuedMs: 1 });
      await q.close();
    });

    test("nextWakeMs is the earliest due time or lease end, and null when nothing waits", { skip: backend.ownLeaseClock }, async () => {
      const { store: q } = await backend.create();
      assert.equal(await q.nextWakeMs(), null);
      await enqueue(q, [item("x", "t", 0, { nextAtMs: 500 }), item("y", "t", 0, { nextAtMs: 300 })]);
      assert.equal(await q.nextWakeMs(), 300);
      assert.deepEqual(ids(await claim(q, 300, 1, 400)), ["y"]);
      assert.equal(await q.nextWakeMs(), 400, "y's lease ends before x is due");
      await q.finish([{ id: "y", outcome: "retry", nextAtMs: 450, error, failed: true, nowMs: 310 }]);
      assert.equal(await q.nextWakeMs(), 450);
      await claim(q, 450, 1, 460);
      await q.finish([{ id: "y", outcome: "completed", result: ok, nowMs: 455 }]);
      assert.equal(await q.nextWakeMs(), 500);
      await claim(q, 500, 1, 900);
      await q.finish([{ id: "x", outcome: "dead", reason: "expired", error, failed: false, nowMs: 501 }]);
      assert.equal(await q.nextWakeMs(), null, "completed and dead ones wait for nothing");
      await q.close();
    });

    test("prune drops completed and dead invocations older than their cut-offs and never a waiting or running one", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, [item("c1", "t", 0), item("d1", "t", 1), item("c2", "t", 1000), item("d2", "t", 1001), item("r1", "t", 2), item("q1", "t", 3, { nextAtMs: 100_000 })]);
      await claim(q, 3, 3, 100_000);
      await q.finish([
        { id: "c1", outcome: "completed", result: ok, nowMs: 10 },
        { id: "d1", outcome: "dead", reason: "expired", error, failed: false, nowMs: 10 },
      ]);
      await claim(q, 1001, 2, 100_000);
      await q.finish([
        { id: "c2", outcome: "completed", result: ok, nowMs: 1010 },
        { id: "d2", outcome: "dead", reason: "expired", error, failed: false, nowMs: 1010 },
      ]);
      assert.equal(await q.prune(500, 0), 1, "c1");
      assert.equal(await q.get("c1"), undefined);
      assert.equal((await q.get("d1"))?.status, "dead", "dead ones have their own cut-off");
      assert.equal(await q.prune(500, 500), 1, "d1");
      assert.equal(await q.get("d1"), undefined);
      assert.equal(await q.prune(500, 500), 0);
      assert.equal(await q.prune(1_000_000, 1_000_000), 2, "c2 and d2");
      assert.deepEqual([(await q.get("r1"))?.status, (await q.get("q1"))?.status], ["running", "queued"], "however old");
      assert.deepEqual(await q.counts(), { queued: 1, running: 1, completed: 0, dead: 0 });
      await q.close();
    });

    test("removeFunction removes every invocation and cron state of the function, and nothing of another's", async () => {
      const { store: q } = await backend.create();
      await enqueue(q, [item("f1", "t", 0), item("f2", "t", 1), item("f3", "t", 2), item("g1", "t", 3, { function: "t-other" })]);
      await claim(q, 1, 2, 1000);
      await q.finish([{ id: "f1", outcome: "dead", reason: "expired", error, failed: false, nowMs: 5 }]);
      await q.setCronState("t-fn", "* * * * *", 100);
      await q.setCronState("t-other", "* * * * *", 200);
      await q.removeFunction("t-fn");
      for (const id of ["f1", "f2", "f3"]) assert.equal(await q.get(id), undefined, id);
      assert.deepEqual(await q.counts("t-fn"), { queued: 0, running: 0, completed: 0, dead: 0 });
      assert.deepEqual(await q.list("t-fn", null, 10), []);
      assert.equal((await q.get("g1"))?.status, "queued");
      assert.deepEqual(await q.usage("t"), { messages: 1, bytes: 2 });
      assert.deepEqual(await q.cronState(), [{ fn: "t-other", expression: "* * * * *", lastMs: 200 }]);
      assert.deepEqual(ids(await claim(q, 10, 10, 1000)), ["g1"]);
      await q.close();
    });

    test("cron state is kept per function and expression, the latest set winning", async () => {
      const { store: q } = await backend.create();
      assert.deepEqual(await q.cronState(), []);
      await q.setCronState("f", "* * * * *", 100);
      await q.setCronState("f", "0 * * * *", 200);
      await q.setCronState("g", "* * * * *", 300);
      await q.setCronState("f", "* * * * *", 150);
      const sorted = (rows: { fn: string; expression: string; lastMs: number }[]) => [...rows].sort((a, b) => a.fn.localeCompare(b.fn) || a.expression.localeCompare(b.expression));
      assert.deepEqual(sorted(await q.cronState()), [
        { fn: "f", expression: "* * * * *", lastMs: 150 },
        { fn: "f", expression: "0 * * * *", lastMs: 200 },
        { fn: "g", expression: "* * * * *", lastMs: 300 },
      ]);
      await q.close();
    });

    test("hops and the trace context are kept and come back on claimed invocations", async () => {
      const { store: q } = await backend.create();
      const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
      await enqueue(q, [item("deep", "t", 0, { hops: 7 }), item("traced", "t", 1, { trace, traceState: "vendor=x" }), item("plain", "t", 2)]);
      assert.equal((await q.get("deep"))?.hops, 7);
      assert.deepEqual((await claim(q, 0, 1, 10)).map((r) => [r.id, r.hops]), [["deep", 7]]);
      assert.deepEqual((await claim(q, 2, 2, 10)).map((r) => [r.id, r.trace, r.traceState]), [["traced", trace, "vendor=x"], ["plain", null, null]]);
      await q.close();
    });

    test("queued, running and finished invocations, usage, leases, idempotency keys and cron state survive a reopen", { skip: backend.ownLeaseClock }, async () => {
      const { store: q, reopen } = await backend.create();
      await enqueue(q, [
        item("r1", "t", 0), item("c1", "t", 1), item("d1", "t", 2),
        item("q1", "t", 3, { idempotencyKey: "k", payload: new Uint8Array([0, 1, 2, 255]), trace: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" }),
        item("later", "u", 4, { nextAtMs: 5000, hops: 3 }),
      ]);
      assert.deepEqual(ids(await claim(q, 10, 3, 1000)), ["r1", "c1", "d1"]);
      await q.finish([
        { id: "c1", outcome: "completed", result: ok, nowMs: 20 },
        { id: "d1", outcome: "dead", reason: "retries_exhausted", error, failed: true, nowMs: 20 },
      ]);
      await q.setCronState("t-fn", "*/5 * * * *", 300);
      const all = ["r1", "c1", "d1", "q1", "later"];
      const before = await Promise.all(all.map((id) => q.get(id)));
      const usage = [await q.usage("t"), await q.usage("u")];
      const counts = await q.counts();

      const again = await reopen();
      assert.deepEqual(await Promise.all(all.map((id) => again.get(id))), before);
      assert.deepEqual([await again.usage("t"), await again.usage("u")], usage);
      assert.deepEqual(await again.counts(), counts);
      assert.deepEqual(await again.cronState(), [{ fn: "t-fn", expression: "*/5 * * * *", lastMs: 300 }]);
      assert.equal(await again.nextWakeMs(), 3);
      assert.deepEqual(await again.enqueue([[item("q2", "t", 30, { idempotencyKey: "k" })]], { idempotencySinceMs: 0, quotaOf: unlimited }), [
        { ok: true, items: [{ id: "q1", duplicate: true }] },
      ]);
      assert.deepEqual(ids(await claim(again, 500, 10, 10_000)), ["q1"], "r1's lease still holds");
      assert.deepEqual((await claim(again, 5000, 10, 6000)).map((r) => [r.id, r.attempts]).sort(), [["later", 1], ["r1", 2]]);
      assert.deepEqual(await again.replay("t-fn", null, 6001, unlimited), ["d1"]);
      await again.close();
    });
  });
}
