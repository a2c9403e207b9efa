// The promise of async invocations, checked under faults: every invocation the node
// acknowledged (202) completes or is dead-lettered — none is lost — while the node is
// SIGKILLed at random moments and restarted. Executions are counted by a ledger outside
// the node, so duplicates (at-least-once delivery) are measured, not guessed.
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { ledgerFunction, startLedger, type Ledger } from "./support/ledger.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

const events = 10_000;
const kills = 5;
const submitters = 32;

let node: TestNode | undefined;
let ledger: Ledger | undefined;
after(async () => {
  await node?.kill("SIGKILL");
  await ledger?.close();
});

test(`${events} async invocations, ${kills} SIGKILLs at random moments: none acknowledged is lost`, { timeout: 600_000 }, async () => {
  ledger = await startLedger();
  const dataDir = tempDir();
  const args = ["--egress-allow", "127.0.0.1"];
  node = await startTestNode({ dataDir, hosts: 2, args });
  await node.admin.deploy("ledgered", { code: ledgerFunction, env: { LEDGER: ledger.url } });
  let client: FlickClient = node.admin;

  // Each event is submitted until acknowledged; a submission cut by a kill is retried with
  // the same Idempotency-Key, so an event the node took before dying keeps its one id.
  const acknowledged = new Map<number, string>();
  let next = 0;
  let cut = 0;
  const submitter = async () => {
    for (;;) {
      const i = next++;
      if (i >= events) return;
      for (;;) {
        try {
          const r = await client.invokeAsync("ledgered", { mode: "async", data: `event ${i}` }, `event-${i}`);
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

  // The faults: SIGKILL at a random moment, restart on the same data dir, again.
  for (let k = 0; k < kills; k++) {
    await new Promise((r) => setTimeout(r, 300 + Math.random() * 1200));
    await node.kill("SIGKILL");
    node = await startTestNode({ dataDir, hosts: 2, args });
    client = node.admin;
  }
  await submitting;
  assert.equal(acknowledged.size, events);

  // Drain, then classify every acknowledged id.
  const deadline = Date.now() + 300_000;
  for (;;) {
    const pending = await countPending(client, [...acknowledged.values()]);
    if (pending === 0) break;
    if (Date.now() > deadline) throw new Error(`${pending} invocations still not finished`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const counts = ledger.counts();
  let completed = 0;
  let dead = 0;
  let lost = 0;
  let duplicated = 0;
  for (const id of acknowledged.values()) {
    const inv = await client.getInvocation(id).catch(() => undefined);
    const ran = counts.get(id) ?? 0;
    if (inv?.status === "completed" && ran >= 1) completed++;
    else if (inv?.status === "dead") dead++;
    else lost++;
    if (ran > 1) duplicated++;
  }
  console.log(`ledger: ${events} acknowledged, ${completed} completed, ${dead} dead-lettered, ${lost} lost, ${duplicated} ran more than once; ${kills} SIGKILLs, ${cut} submissions cut and retried`);
  assert.equal(lost, 0);
  assert.equal(completed + dead, events);
});

/** Acknowledged invocations not yet completed or dead (sampled cheaply: stop at the first 50). */
async function countPending(client: FlickClient, ids: string[]): Promise<number> {
  let pending = 0;
  for (const id of ids) {
    const inv = await client.getInvocation(id);
    if (inv.status !== "completed" && inv.status !== "dead") {
      pending++;
      if (pending >= 50) return pending;
    }
  }
  return pending;
}
