// The NATS test cluster (test/support/nats-cluster.ts) is what issue 14's cluster tests
// stand on: three real nats-server processes with JetStream, R3. This checks the ground:
// a replicated bucket takes revision-checked writes, keeps what it acknowledged when a
// server is killed with SIGKILL, goes on with two of three, and the killed one rejoins.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Kvm } from "@nats-io/kv";
import { connect } from "@nats-io/transport-node";
import { closeQuietly, natsClusterForFile } from "../support/nats-cluster.ts";

const nats = natsClusterForFile(3);

const text = (bytes: Uint8Array | undefined) => new TextDecoder().decode(bytes);

/**
 * While the cluster elects a new leader for a stream whose leader was killed (seconds),
 * requests to it time out; a client tries again. Only for writes that may be repeated.
 */
async function retrying<T>(signal: AbortSignal, work: () => Promise<T>): Promise<{ value: T; failures: number }> {
  for (let failures = 0; ; failures++) {
    try {
      return { value: await work(), failures };
    } catch (err) {
      // A stream without a leader answers nobody: "no responders", which the client reports
      // as JetStream not being enabled, with that as the cause.
      if (signal.aborted || !/timeout|no responders|503/i.test(`${String(err)} ${String((err as Error).cause)}`)) throw err;
      // "No responders" comes back at once: a pause, so the election is not flooded.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

test("an R3 bucket keeps every acknowledged write through the SIGKILL of a server, and the server rejoins", { timeout: 120_000 }, async (t) => {
  const kv = await new Kvm(nats.nc()).create("flick-test", { replicas: 3, history: 1 });
  const status = await kv.status();
  assert.equal(status.replicas, 3);
  for (let i = 0; i < 50; i++) await kv.put(`k${i}`, `v${i}`);
  // Revision-checked: creating a key that exists fails, an update from a stale revision fails.
  const first = await kv.create("name", "tenant-a");
  await assert.rejects(kv.create("name", "tenant-b"), /wrong last sequence|key exists/);
  await kv.update("name", "tenant-a, again", first);
  await assert.rejects(kv.update("name", "stale", first), /wrong last sequence/);

  t.diagnostic("50 keys and a name written to the R3 bucket");
  const victim = nats.cluster().servers[0]!;
  await victim.kill("SIGKILL");
  t.diagnostic(`${victim.name} killed`);
  // Two of three: a quorum. Writes go on (after a leader election if the killed server led
  // the bucket), and nothing acknowledged is gone.
  let failures = 0;
  for (let i = 50; i < 60; i++) failures += (await retrying(t.signal, () => kv.put(`k${i}`, `v${i}`))).failures;
  t.diagnostic(`requests refused or timed out during the failover and sent again: ${failures}`);
  for (let i = 0; i < 60; i++) assert.equal(text((await retrying(t.signal, () => kv.get(`k${i}`))).value?.value), `v${i}`);
  assert.equal(text((await kv.get("name"))?.value), "tenant-a, again");

  await victim.restart();
  t.diagnostic(`${victim.name} restarted`);
  // The rejoined server catches up and serves the bucket too: read through a connection to
  // it alone (a replica may answer reads directly, so it is read until it has caught up).
  const direct = await connect({ servers: victim.url });
  try {
    const again = await new Kvm(direct).open("flick-test");
    let seen = "";
    while (seen !== "v59" && !t.signal.aborted) {
      seen = text((await retrying(t.signal, () => again.get("k59"))).value?.value);
      if (seen !== "v59") await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(seen, "v59");
    t.diagnostic(`${victim.name} caught up`);
  } finally {
    await closeQuietly(direct);
  }
});
