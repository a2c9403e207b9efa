/**
 * Async invocations on the cluster's queue (R3 JetStream: three nats-server processes on
 * this machine) against the embedded one (SQLite, fsync per commit), one Flick node each,
 * in interleaved rounds (SQLite, R3, SQLite, R3, …): N events posted by 64 clients to a
 * function that reports each run to a counter on 127.0.0.1 (so completion is seen the
 * moment it happens, without asking the queue). Reports events/s accepted (first POST to
 * last 202) and completed (first POST to the last run), and the enqueue latency.
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { startNatsCluster } from "../test/support/nats-cluster.ts";
import { postEvents, quantile } from "./async.ts";
import { startFlick, stopTarget } from "./targets.ts";

export interface AsyncRun {
  acceptedPerSec: number;
  completedPerSec: number;
  enqueueP50Ms: number;
  enqueueP99Ms: number;
  errors: number;
}

export interface AsyncClusterResult {
  events: number;
  clients: number;
  rounds: number;
  sqlite: AsyncRun[];
  jetstream: AsyncRun[];
}

const counted = `
export default {
  async fetch(request, env) {
    await fetch(env.COUNTER);
    return new Response(null, { status: 204 });
  },
};
`;

export async function measureAsyncCluster(events = 5000, clients = 64, rounds = 3): Promise<AsyncClusterResult> {
  const result: AsyncClusterResult = { events, clients, rounds, sqlite: [], jetstream: [] };
  for (let r = 0; r < rounds; r++) {
    result.sqlite.push(await run(events, clients, []));
    const nats = await startNatsCluster(3);
    const keyDir = mkdtempSync(path.join(tmpdir(), "flick-bench-key-"));
    const key = path.join(keyDir, "cluster.key");
    writeFileSync(key, randomBytes(32).toString("hex"), { mode: 0o600 });
    try {
      result.jetstream.push(await run(events, clients, ["--cluster", nats.urls.join(","), "--node-name", "bench", "--secret-key-file", key]));
    } finally {
      await nats.stop();
      rmSync(keyDir, { recursive: true, force: true });
    }
  }
  return result;
}

async function run(events: number, clients: number, args: string[]): Promise<AsyncRun> {
  let runs = 0;
  let allRan: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allRan = resolve));
  let expected = Infinity;
  const counter = createServer((_req, res) => {
    res.end();
    if (++runs >= expected) allRan();
  });
  await new Promise<void>((resolve) => counter.listen(0, "127.0.0.1", resolve));
  const counterUrl = `http://127.0.0.1:${(counter.address() as { port: number }).port}/`;
  const flick = await startFlick(["--egress-allow", "127.0.0.1", ...args]);
  try {
    await flick.client.deploy("counted", { code: counted, env: { COUNTER: counterUrl } });
    const { latencies, errors, started, acceptedS } = await postEvents(flick.baseUrl, "counted", (flick.client as unknown as { token: string }).token, events, clients);
    expected = latencies.length;
    if (runs >= expected) allRan();
    await done;
    const completedS = (performance.now() - started) / 1000;
    return { acceptedPerSec: latencies.length / acceptedS, completedPerSec: latencies.length / completedS, enqueueP50Ms: quantile(latencies, 0.5), enqueueP99Ms: quantile(latencies, 0.99), errors };
  } finally {
    await stopTarget(flick);
    counter.closeAllConnections();
    await new Promise<void>((resolve) => counter.close(() => resolve()));
  }
}
