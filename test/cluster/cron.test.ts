// Cron in a cluster (docs/cluster.md): every node fires every slot it sees due, and the
// slot's idempotency key (`cron:<expression>:<slot>`, taken once in JetStream KV) lets one
// run in. Three NATS servers (R3) and three Flick nodes on a fast cron clock
// (FLICK_CRON_CLOCK: a minute every real second); nodes are SIGKILLed and started again
// while 60 slots go by. Each slot must be queued exactly once and run (a ledger outside
// the cluster counts the executions, so a run repeated after a kill is seen).
import assert from "node:assert/strict";
import { after, test } from "node:test";
import type { FlickClient } from "../../src/api/index.ts";
import { startLedger, type Ledger } from "../support/ledger.ts";
import { startFlickCluster, type FlickCluster } from "../support/flick-cluster.ts";

const slots = 60;
const speed = 60;
const minute = 60_000;

let cluster: FlickCluster | undefined;
let ledger: Ledger | undefined;
after(async () => {
  await cluster?.stop();
  await ledger?.close();
});

const tick = `
export default {
  async scheduled(controller, env) {
    await fetch(env.LEDGER + "/hit?id=" + controller.scheduledTime + "&attempt=1");
  },
};
`;

test(`a per-minute trigger on a ${speed}x clock fires exactly once per slot over ${slots} slots while nodes are killed`, { timeout: 300_000 }, async (t) => {
  ledger = await startLedger();
  cluster = await startFlickCluster({
    nodes: 3, startWithinMs: 120_000, env: { FLICK_CRON_CLOCK: `${Date.now()}x${speed}` }, args: ["--egress-allow", "127.0.0.1", "--async-lease", "3s"],
  });
  const { nodes, start } = cluster;
  const client = (): FlickClient => nodes.find((n) => n !== undefined)!.admin;
  await client().deploy("tick", { code: tick, env: { LEDGER: ledger.url }, crons: ["* * * * *"] });

  /** Slots run so far (the ledger's ids are scheduled times). */
  const ran = () => [...new Set(ledger!.hits.map((h) => Number(h.id)))].sort((a, b) => a - b);
  const until = async (ok: () => boolean, what: string) => {
    while (!ok()) {
      if (t.signal.aborted) throw new Error(`gave up waiting for ${what}: ran ${ran().length} slots`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await until(() => ran().length >= 1, "the first slot");
  const first = ran()[0]!;
  const last = first + (slots - 1) * minute;

  // SIGKILL a node every 12 slots (and start it again), each node in turn.
  for (let k = 1; k <= 4; k++) {
    await until(() => ran().some((s) => s >= first + k * 12 * minute), `slot ${k * 12}`);
    const i = (k - 1) % 3;
    await nodes[i]!.kill("SIGKILL");
    nodes[i] = undefined;
    t.diagnostic(`node-${i + 1} killed after ${ran().length} slots`);
    await start(i);
  }
  await until(() => ran().some((s) => s >= last), `slot ${slots}`);
  // Every slot up to the last: queued once (one invocation with its key), run at least once.
  const queued = new Map<number, number>();
  for (const inv of await client().listInvocations("tick", { limit: 1000 })) {
    const slot = Number(inv.idempotencyKey?.split(":").at(-1));
    queued.set(slot, (queued.get(slot) ?? 0) + 1);
  }
  const executions = new Map<number, number>();
  for (const h of ledger.hits) executions.set(Number(h.id), (executions.get(Number(h.id)) ?? 0) + 1);
  const missing: number[] = [];
  const twice: number[] = [];
  let repeated = 0;
  for (let slot = first; slot <= last; slot += minute) {
    if ((executions.get(slot) ?? 0) === 0) missing.push(slot);
    if ((queued.get(slot) ?? 0) !== 1) twice.push(slot);
    if ((executions.get(slot) ?? 0) > 1) repeated++;
  }
  const report = `cluster cron: ${slots} slots, ${missing.length} never ran, ${twice.length} not queued exactly once, ${repeated} run again after a kill; 4 node SIGKILLs`;
  t.diagnostic(report);
  console.log(report);
  assert.deepEqual(missing.map((s) => new Date(s).toISOString()), [], "every slot ran");
  assert.deepEqual(twice.map((s) => `${new Date(s).toISOString()}: ${queued.get(s) ?? 0}`), [], "every slot queued exactly once");
  assert.ok([...executions.keys()].every((s) => (s - first) % minute === 0), "only whole-minute slots");
});
