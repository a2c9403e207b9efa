// What the async queue in JetStream (src/cluster/jetstream-queue.ts) does on real time that
// the contract's virtual clock cannot show: leases are JetStream's ack waits, several nodes
// share one queue, a node started again gives back what it left running, and a message
// that keeps stopping its nodes is dead-lettered. R3 on a real three-server NATS cluster;
// each "node" is its own store on its own connection.
import assert from "node:assert/strict";
import { test, type TestContext } from "node:test";
import { AckPolicy, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { JetStreamQueue, type JetStreamQueueOptions } from "../../src/cluster/index.ts";
import { deliveryOf, pullNow } from "../../src/cluster/work-messages.ts";
import type { InvocationRecord } from "../../src/model/index.ts";
import type { NewInvocation, QueueQuota } from "../../src/store/index.ts";
import { closeQuietly, natsClusterForFile } from "../support/nats-cluster.ts";

const nats = natsClusterForFile(3);
const unlimited = (): QueueQuota => ({ maxMessages: Infinity, maxBytes: Infinity });
const ok = { status: 200, body: "done", truncated: false };

let queues = 0;
/** Opens "nodes": stores on one set of streams and buckets, each on its own connection. */
function cluster(t: TestContext, options: Partial<JetStreamQueueOptions> = {}) {
  const prefix = `r${++queues}`;
  const open: { q: JetStreamQueue; nc: NatsConnection }[] = [];
  t.after(async () => {
    for (const { q, nc } of open) {
      await q.close();
      await closeQuietly(nc);
    }
  });
  return async (): Promise<JetStreamQueue> => {
    const nc = await connect({ servers: nats.cluster().urls });
    const q = await JetStreamQueue.open(nc, { prefix, replicas: 3, leaseMs: 60_000, idempotencyWindowMs: 86_400_000, ...options });
    open.push({ q, nc });
    return q;
  };
}

function item(id: string, tenant = "t", extra: Partial<NewInvocation> = {}): NewInvocation {
  const now = Date.now();
  return {
    id, function: `${tenant}-fn`, tenant, kind: "fetch", payload: new TextEncoder().encode(id), contentType: "text/plain",
    idempotencyKey: null, createdAtMs: now, nextAtMs: now, hops: 0, ...extra,
  };
}

const enqueue = (q: JetStreamQueue, items: NewInvocation[]) => q.enqueue(items.map((i) => [i]), { idempotencySinceMs: 0, quotaOf: unlimited });

/**
 * A claim as the dispatcher makes it: when the store did not answer (store_unavailable,
 * nothing taken), it tries again next round.
 */
async function claimAsDispatcher(q: JetStreamQueue, limit: number, holder: string): Promise<InvocationRecord[]> {
  const now = Date.now();
  try {
    return await q.claim(now, limit, now + 60_000, holder);
  } catch (err) {
    if ((err as { code?: string }).code !== "store_unavailable") throw err;
    return [];
  }
}

/** Claims on `q` until `want` says the claims so far are enough (new work is a real-time event). */
async function claimUntil(t: TestContext, q: JetStreamQueue, holder: string, want: (got: InvocationRecord[]) => boolean): Promise<InvocationRecord[]> {
  const got: InvocationRecord[] = [];
  while (!want(got)) {
    if (t.signal.aborted) throw new Error(`gave up waiting: claimed ${got.map((r) => r.id).join(" ")}`);
    got.push(...(await claimAsDispatcher(q, 100, holder)));
    if (!want(got)) await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return got;
}

test("a lease is JetStream's ack wait: one that runs out goes to another node with its attempt counted, and in-progress acks keep one", { timeout: 60_000 }, async (t) => {
  const node = cluster(t, { leaseMs: 2000 });
  const a = await node();
  const b = await node();
  await enqueue(a, [item("kept"), item("lost")]);
  assert.deepEqual((await claimUntil(t, a, "a", (got) => got.length === 2)).map((r) => r.id).sort(), ["kept", "lost"]);
  // a keeps "kept" alive, as its dispatcher does while an attempt runs; "lost" it forgets.
  const renewals: Promise<void>[] = [];
  const renew = setInterval(() => renewals.push(a.extendLeases(["kept"], Date.now() + 2000)), 200);
  t.after(() => clearInterval(renew));
  const taken = await claimUntil(t, b, "b", (got) => got.some((r) => r.id === "lost"));
  clearInterval(renew);
  await Promise.all(renewals); // each one wrote, or the test fails with its error
  assert.deepEqual(taken.map((r) => [r.id, r.attempts, r.status]), [["lost", 2, "running"]], "only the one whose ack wait ran out, on its second attempt");
  assert.equal((await b.get("lost"))?.leaseUntilMs, taken[0]!.leaseUntilMs, "b holds it now");

  // a's late end of "lost" is not written over b's: the record moved on.
  await a.finish([{ id: "lost", outcome: "completed", result: { ...ok, body: "from a" }, nowMs: Date.now() }]);
  assert.equal((await b.get("lost"))?.status, "running");
  await b.finish([{ id: "lost", outcome: "completed", result: ok, nowMs: Date.now() }]);
  await a.finish([{ id: "kept", outcome: "completed", result: ok, nowMs: Date.now() }]);
  for (const id of ["lost", "kept"]) assert.deepEqual([(await b.get(id))?.status, (await b.get(id))?.result], ["completed", ok], id);
  assert.deepEqual(await a.usage("t"), { messages: 0, bytes: 0 }, "each end freed its room once");
});

test("nodes share one queue: 600 events claimed by three nodes at once run once each, and every tenant's room comes back", { timeout: 120_000 }, async (t) => {
  const node = cluster(t);
  const nodes = [await node(), await node(), await node()];
  const items = Array.from({ length: 600 }, (_, i) => item(`e${i}`, ["x", "y", "z"][i % 3]!));
  for (let i = 0; i < items.length; i += 100) await enqueue(nodes[i / 100 % 3]!, items.slice(i, i + 100));
  const seen = new Map<string, string>();
  await Promise.all(nodes.map(async (q, n) => {
    for (;;) {
      if (t.signal.aborted) throw new Error("gave up");
      if (seen.size === items.length) return;
      const claimed = await claimAsDispatcher(q, 20, `n${n}`);
      for (const r of claimed) {
        assert.equal(seen.get(r.id), undefined, `${r.id} claimed by n${n} and ${seen.get(r.id)}`);
        seen.set(r.id, `n${n}`);
      }
      await q.finish(claimed.map((r) => ({ id: r.id, outcome: "completed" as const, result: ok, nowMs: Date.now() })));
      if (claimed.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }));
  assert.equal(seen.size, 600);
  assert.ok(new Set(seen.values()).size >= 2, "more than one node took work");
  for (const tenant of ["x", "y", "z"]) assert.deepEqual(await nodes[0]!.usage(tenant), { messages: 0, bytes: 0 }, tenant);
  assert.deepEqual(await nodes[1]!.counts(), { queued: 0, running: 0, completed: 600, dead: 0 });
});

test("a node started again gives back at once what it left running, long before the lease would end", { timeout: 60_000 }, async (t) => {
  const node = cluster(t, { leaseMs: 600_000 });
  const first = await node();
  await enqueue(first, [item("left")]);
  await claimUntil(t, first, "n1", (got) => got.length === 1);
  await first.close(); // killed mid-attempt: nothing ended, nothing given back

  const again = await node();
  assert.equal(await again.releaseHeld("n1", Date.now()), 1);
  assert.equal(await again.releaseHeld("n2", Date.now()), 0, "another node's name holds nothing");
  assert.deepEqual([(await again.get("left"))?.status, (await again.get("left"))?.attempts], ["queued", 1]);
  const other = await node();
  const [taken] = await claimUntil(t, other, "n2", (got) => got.length === 1);
  assert.deepEqual([taken?.id, taken?.attempts, taken?.failures], ["left", 2, 0], "run again, not counted as a failure");
});

test("a message that stops every node that runs it is dead-lettered after maxDeliveries, into the dead-letter stream", { timeout: 60_000 }, async (t) => {
  const node = cluster(t, { leaseMs: 1000, maxDeliveries: 2 });
  const q = await node();
  await enqueue(q, [item("poison")]);
  // Two nodes take it and die without an end (their leases run out).
  for (const holder of ["n1", "n2"]) {
    const dying = await node();
    await claimUntil(t, dying, holder, (got) => got.length === 1);
    await dying.close();
  }
  // The third delivery is not run: it is dead.
  const survivor = await node();
  while ((await survivor.get("poison"))?.status !== "dead") {
    if (t.signal.aborted) throw new Error("never dead-lettered");
    assert.deepEqual(await claimAsDispatcher(survivor, 10, "n3"), [], "never run a third time");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const dead = await survivor.get("poison");
  assert.deepEqual([dead?.deadReason, dead?.lastError?.code], ["retries_exhausted", "max_deliveries"]);
  assert.deepEqual(await survivor.usage("t"), { messages: 0, bytes: 0 });
  const jsm = await jetstreamManager(nats.nc());
  const info = await jsm.streams.info(`R${queues}_DEAD`);
  assert.equal(info.state.messages, 1, "in the dead-letter stream");
  assert.deepEqual(await survivor.replay("t-fn", null, Date.now(), unlimited), ["poison"], "and replayable");
});

test("records, usage, idempotency keys, due times and cron state live in JetStream: a new node reads them all", { timeout: 60_000 }, async (t) => {
  const node = cluster(t);
  const q = await node();
  await enqueue(q, [item("c1"), item("d1"), item("k1", "t", { idempotencyKey: "key", payload: new Uint8Array([0, 1, 2, 255]) }), item("later", "u", { nextAtMs: Date.now() + 1500, hops: 3 })]);
  const claimed = await claimUntil(t, q, "n1", (got) => got.length === 3);
  assert.deepEqual(claimed.map((r) => r.id).sort(), ["c1", "d1", "k1"], "not the one due later");
  await q.finish([
    { id: "c1", outcome: "completed", result: ok, nowMs: Date.now() },
    { id: "d1", outcome: "dead", reason: "retries_exhausted", error: { code: "function_error", message: "x" }, failed: true, nowMs: Date.now() },
  ]);
  await q.setCronState("t-fn", "*/5 * * * *", 300);
  const before = await Promise.all(["c1", "d1", "k1", "later"].map((id) => q.get(id)));
  const usage = [await q.usage("t"), await q.usage("u")];
  await q.close();

  const other = await node();
  assert.deepEqual(await Promise.all(["c1", "d1", "k1", "later"].map((id) => other.get(id))), before);
  assert.deepEqual([await other.usage("t"), await other.usage("u")], usage);
  assert.deepEqual(usage, [{ messages: 1, bytes: 4 }, { messages: 1, bytes: 5 }]);
  assert.deepEqual(await other.cronState(), [{ fn: "t-fn", expression: "*/5 * * * *", lastMs: 300 }]);
  assert.deepEqual(await enqueue(other, [item("k2", "t", { idempotencyKey: "key" })]), [{ ok: true, items: [{ id: "k1", duplicate: true }] }]);
  const [later] = await claimUntil(t, other, "n2", (got) => got.length === 1);
  assert.deepEqual([later?.id, later?.hops, later?.attempts], ["later", 3, 1], "taken once due");
  assert.ok(Date.now() >= before[3]!.nextAtMs);
});

test("a pull that timed out gives back what the server still delivers to it, so the next pull takes it at once, not when its ack wait ends", { timeout: 60_000 }, async () => {
  const nc = nats.nc();
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: "LATE", subjects: ["late.>"], num_replicas: 3 });
  // An ack wait far longer than the test: only a give-back can bring it again in time.
  await jsm.consumers.add("LATE", { durable_name: "c", ack_policy: AckPolicy.Explicit, ack_wait: 3_600_000_000_000 });

  // Waits on the server for 30 s, but the caller gives up after 50 ms: nothing is there yet.
  await assert.rejects(pullNow(nc, "LATE", "c", 1, 50, 30_000), /did not answer a pull in 50 ms/);
  // Then a message comes: the server hands it to the pull still waiting there, whose inbox
  // gives it back, and the next pull has its second delivery.
  await jetstream(nc).publish("late.x", "event");
  const [msg] = await pullNow(nc, "LATE", "c", 1, 40_000, 30_000);
  assert.ok(msg?.reply !== undefined, "delivered again");
  assert.equal(new TextDecoder().decode(msg.data), "event");
  assert.equal(deliveryOf(msg.reply).deliveries, 2, "it went to the late pull first, which gave it back");
});
