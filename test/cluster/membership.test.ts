// Cluster membership (src/cluster/membership.ts) on a real three-server NATS cluster:
// nodes see each other join, a node that stops cleanly is gone at once, one that goes
// silent (a crash) is gone after the time-to-live, a rejoin is seen, and entries that are
// not heartbeats (a hostile or broken writer) are never taken for members.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Membership, type MembershipEvent, type NodeInfo } from "../../src/cluster/index.ts";
import { closeQuietly, startNatsCluster, type NatsCluster } from "../support/nats-cluster.ts";

let cluster: NatsCluster;
const connections: NatsConnection[] = [];
before(async () => {
  cluster = await startNatsCluster(3);
});
after(async () => {
  for (const nc of connections) await closeQuietly(nc);
  await cluster?.stop();
});

const info = (name: string, zone: string): NodeInfo => ({
  name, url: `http://127.0.0.1:1/${name}`, labels: { zone }, capacity: { hosts: 2, memoryMiB: 4096, slots: 64 }, load: { instances: 0, busy: 0 }, startedAtMs: 1,
});

/** A node's membership on its own connection (to one server of the three), with its events in order. */
async function member(name: string, zone: string, server: number, bucket = "flick-nodes-test") {
  const nc = await connect({ servers: cluster.urls[server]! });
  connections.push(nc);
  const events: MembershipEvent[] = [];
  const waiters: { check: () => boolean; resolve: () => void }[] = [];
  const membership = await Membership.join(nc, () => info(name, zone), {
    heartbeatMs: 200, ttlMs: 1000, bucket,
    onEvent: (e) => {
      events.push(e);
      for (const w of [...waiters]) if (w.check()) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
    },
  });
  /** Resolves once `check` holds (looked at after every event); the test's timeout bounds it. */
  const until = (check: () => boolean) => (check() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ check, resolve })));
  return { nc, membership, events, until };
}

const names = (m: Membership) => m.members().map((n) => n.name);

test("nodes see each other; a clean stop is heard at once, a silent node is gone after the time-to-live, a rejoin is seen", { timeout: 60_000 }, async () => {
  const a = await member("node-a", "z1", 0);
  const b = await member("node-b", "z2", 1);
  const c = await member("node-c", "z3", 2);
  await a.until(() => names(a.membership).length === 3);
  await c.until(() => names(c.membership).length === 3);
  assert.deepEqual(names(a.membership), ["node-a", "node-b", "node-c"]);
  assert.deepEqual(a.membership.members().map((n) => n.labels["zone"]), ["z1", "z2", "z3"]);

  await c.membership.leave();
  await a.until(() => a.events.some((e) => e.kind === "left" && e.name === "node-c"));
  assert.deepEqual(a.events.find((e) => e.kind === "left"), { kind: "left", name: "node-c", why: "stopped" });
  assert.deepEqual(names(a.membership), ["node-a", "node-b"]);

  // A crash: no more heartbeats, nothing deleted.
  b.membership.stop();
  await closeQuietly(b.nc);
  await a.until(() => a.events.some((e) => e.kind === "left" && e.name === "node-b"));
  assert.deepEqual(a.events.filter((e) => e.kind === "left").at(-1), { kind: "left", name: "node-b", why: "silent" });
  assert.deepEqual(names(a.membership), ["node-a"]);

  const again = await member("node-b", "z2", 1);
  await a.until(() => names(a.membership).includes("node-b"));
  assert.equal(a.events.filter((e) => e.kind === "joined" && e.node.name === "node-b").length, 2, "joined, left, joined again");
  again.membership.stop();
  a.membership.stop();
});

test("entries that are not a node's own heartbeat are never members", { timeout: 60_000 }, async () => {
  const nc = await connect({ servers: cluster.urls });
  connections.push(nc);
  const kv = await new Kvm(nc).create("flick-nodes-hostile", { replicas: 3, history: 1, ttl: 1000 });
  await kv.put("garbage", "not json at all");
  await kv.put("impostor", JSON.stringify(info("node-z", "z9")));
  await kv.put("nulls", "null");
  const w = await member("node-w", "z1", 0, "flick-nodes-hostile");
  // The hostile entries are in the bucket before the node's own heartbeat: by the time it
  // hears itself, it has passed over them.
  await w.until(() => names(w.membership).includes("node-w"));
  assert.deepEqual(names(w.membership), ["node-w"]);
  assert.deepEqual(w.events.flatMap((e) => (e.kind === "joined" ? [e.node.name] : [])), ["node-w"]);
  w.membership.stop();
});

test("a time-to-live shorter than three heartbeats and a bad node name are refused", async () => {
  const nc = await connect({ servers: cluster.urls });
  connections.push(nc);
  await assert.rejects(Membership.join(nc, () => info("ok", "z"), { heartbeatMs: 1000, ttlMs: 2000 }), /a 2000 ms time-to-live must cover at least three 1000 ms heartbeats/);
  await assert.rejects(Membership.join(nc, () => info("no spaces", "z")), /"no spaces" is not a node name/);
});
