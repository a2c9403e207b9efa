// A tenant flooding the cluster's async queue through several nodes at once (docs/cluster.md):
// each node checks the tenant's quota against usage it read, and the write of the new usage
// names the revision read, so nodes racing each other never take the tenant past its quota
// together. Three "nodes" (stores on their own connections), R3 on a real three-server NATS
// cluster. Fails when usage is written without that check.
import assert from "node:assert/strict";
import { test } from "node:test";
import { connect } from "@nats-io/transport-node";
import { JetStreamQueue } from "../../src/cluster/index.ts";
import type { NewInvocation, QueueQuota } from "../../src/store/index.ts";
import { closeQuietly, natsClusterForFile } from "../support/nats-cluster.ts";

const nats = natsClusterForFile(3);

test("a tenant flooding three nodes at once gets no more queued than its quota; another tenant's room is untouched", { timeout: 120_000 }, async (t) => {
  const quotaOf = (tenant: string): QueueQuota => (tenant === "flood" ? { maxMessages: 40, maxBytes: Infinity } : { maxMessages: 5, maxBytes: Infinity });
  const nodes = await Promise.all([1, 2, 3].map(async () => {
    const nc = await connect({ servers: nats.cluster().urls });
    const q = await JetStreamQueue.open(nc, { prefix: "flood", replicas: 3, leaseMs: 60_000, idempotencyWindowMs: 86_400_000 });
    t.after(async () => {
      await q.close();
      await closeQuietly(nc);
    });
    return q;
  }));
  const item = (id: string, tenant: string): NewInvocation => ({
    id, function: `${tenant}-fn`, tenant, kind: "fetch", payload: new Uint8Array(8), contentType: null,
    idempotencyKey: null, createdAtMs: Date.now(), nextAtMs: Date.now(), hops: 0,
  });
  // 3 nodes × 30 single-event enqueues, all in flight together.
  const results = await Promise.all(nodes.flatMap((q, n) =>
    Array.from({ length: 30 }, (_, i) => q.enqueue([[item(`f${n}-${i}`, "flood")]], { idempotencySinceMs: 0, quotaOf }))));
  const accepted = results.filter(([r]) => r?.ok).length;
  assert.equal(accepted, 40, "exactly the quota, not more");
  assert.deepEqual(await nodes[0]!.usage("flood"), { messages: 40, bytes: 320 });
  assert.equal((await nodes[1]!.counts("flood-fn")).queued, 40, "what is stored agrees");
  assert.equal((await nodes[2]!.enqueue([[item("other", "calm")]], { idempotencySinceMs: 0, quotaOf }))[0]?.ok, true, "another tenant still gets in");
});
