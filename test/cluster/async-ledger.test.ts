// The promise of async invocations across a cluster (docs/cluster.md), checked under
// faults: three NATS servers (R3) and three Flick nodes share one queue in JetStream. While
// 10,000 events are submitted through whichever nodes are up, Flick nodes are SIGKILLed five
// times (each started again on its data dir) and one NATS server once. Every event a node
// acknowledged (202) must complete or be dead-lettered: none lost. Executions are counted
// by a ledger outside the cluster, so duplicates (at least once) are measured and reported.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { FlickClient } from "../../src/api/index.ts";
import { ledgerFunction, startLedger, type Ledger } from "../support/ledger.ts";
import { startFlickCluster, type FlickCluster } from "../support/flick-cluster.ts";

const events = 10_000;
const nodeKills = 5;
const submitters = 24;
/** Events offered per second: the faults below then land while events still go in and run. */
const rate = 200;

let cluster: FlickCluster | undefined;
let ledger: Ledger | undefined;
after(async () => {
  await cluster?.stop();
  await ledger?.close();
});

test(`${events} async invocations through three nodes, ${nodeKills} node SIGKILLs and one NATS server SIGKILL: none acknowledged is lost`, { timeout: 600_000 }, async (t) => {
  ledger = await startLedger();
  // A short lease: what a killed node was running is delivered again 3 s later. A node
  // started while a NATS server is down may wait a minute for the streams.
  cluster = await startFlickCluster({ nodes: 3, startWithinMs: 120_000, args: ["--egress-allow", "127.0.0.1", "--async-lease", "3s"] });
  const { nodes, start } = cluster;
  await nodes[0]!.admin.deploy("ledgered", { code: ledgerFunction, env: { LEDGER: ledger.url } });

  /** A live node's admin client, round robin (a node being restarted is skipped). */
  let turn = 0;
  const client = (): FlickClient => {
    const live = nodes.filter((n) => n !== undefined);
    // One node is down at a time (the faults below wait for restarts), so one is always up.
    assert.ok(live.length > 0, "no node is up");
    return live[turn++ % live.length]!.admin;
  };

  // Each event is submitted until acknowledged; a submission cut by a kill (or answered 503
  // while NATS elects a leader) is sent again, to any node, with the same Idempotency-Key.
  const acknowledged = new Map<number, string>();
  let next = 0;
  let cut = 0;
  const began = performance.now();
  const submitter = async () => {
    for (;;) {
      const i = next++;
      if (i >= events) return;
      const due = began + (i * 1000) / rate - performance.now();
      if (due > 0) await new Promise((r) => setTimeout(r, due));
      for (;;) {
        if (t.signal.aborted) throw new Error("gave up submitting");
        try {
          const r = await client().invokeAsync("ledgered", { mode: "async", data: `event ${i}` }, `event-${i}`);
          const seen = acknowledged.get(i);
          assert.ok(seen === undefined || seen === r.id, `event ${i} got two ids`);
          acknowledged.set(i, r.id);
          break;
        } catch {
          cut++;
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  };
  const submitting = Promise.all(Array.from({ length: submitters }, submitter));
  submitting.catch(() => undefined); // awaited below; a fault before then fails the test, not the process

  // The faults, while events go in: a node SIGKILLed and started again, five times over the
  // three nodes; a NATS server SIGKILLed after the second and started again after the fourth.
  const progress = () => `${acknowledged.size} acknowledged, ${ledger!.hits.length} executions`;
  const whenAcknowledged = async (n: number) => {
    while (acknowledged.size < n && next < events) {
      if (t.signal.aborted) throw new Error("gave up waiting for submissions");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // A killed node starts again in the background while the others go on; the next kill
  // waits until it is back, so two nodes always serve.
  const restarts: Promise<void>[] = [Promise.resolve(), Promise.resolve(), Promise.resolve()];
  for (let k = 0; k < nodeKills; k++) {
    await whenAcknowledged(((k + 1) * events) / (nodeKills + 1));
    const i = k % 3;
    await Promise.all(restarts);
    await nodes[i]!.kill("SIGKILL");
    nodes[i] = undefined;
    t.diagnostic(`node-${i + 1} killed (${progress()})`);
    restarts[i] = start(i).then(() => undefined);
    if (k === 1) {
      await cluster.nats.servers[2]!.kill("SIGKILL");
      t.diagnostic(`NATS server ${cluster.nats.servers[2]!.name} killed (${progress()})`);
    }
    if (k === 3) {
      await cluster.nats.servers[2]!.restart();
      t.diagnostic(`NATS server ${cluster.nats.servers[2]!.name} started again (${progress()})`);
    }
  }
  await Promise.all(restarts);
  await submitting;
  assert.equal(acknowledged.size, events);

  // Drain: every acknowledged event ends (completed or dead), whatever node took it.
  const ids = [...acknowledged.values()];
  const statuses = new Map<string, string>();
  for (;;) {
    const open = ids.filter((id) => statuses.get(id) !== "completed" && statuses.get(id) !== "dead");
    if (open.length === 0) break;
    if (t.signal.aborted) throw new Error(`${open.length} acknowledged invocations never ended (${progress()})`);
    for (let i = 0; i < open.length; i += 50) {
      await Promise.all(open.slice(i, i + 50).map(async (id) => {
        const inv = await client().getInvocation(id).catch(() => undefined);
        if (inv !== undefined) statuses.set(id, inv.status);
      }));
    }
    if (ids.some((id) => statuses.get(id) !== "completed" && statuses.get(id) !== "dead")) await new Promise((r) => setTimeout(r, 500));
  }
  const counts = ledger.counts();
  let completed = 0;
  let dead = 0;
  let lost = 0;
  let duplicated = 0;
  for (const id of ids) {
    const ran = counts.get(id) ?? 0;
    if (statuses.get(id) === "completed" && ran >= 1) completed++;
    else if (statuses.get(id) === "dead") dead++;
    else lost++;
    if (ran > 1) duplicated++;
  }
  const report = `cluster ledger: ${events} acknowledged, ${completed} completed, ${dead} dead-lettered, ${lost} lost, ${duplicated} ran more than once; ` +
    `${nodeKills} node SIGKILLs, 1 NATS SIGKILL, ${cut} submissions cut and sent again`;
  t.diagnostic(report);
  console.log(report);
  assert.equal(lost, 0);
  assert.equal(completed + dead, events);
});
