import assert from "node:assert/strict";
import test from "node:test";
import { Worker } from "node:worker_threads";
import { simulateSharded, type ShardData } from "./parallel.ts";
import { simulate, type SimOptions } from "./simulate.ts";
import { syntheticWorkload } from "./synthetic.ts";

const synthetic = { functions: 3000, seed: 5, durationMs: 4 * 3_600_000 };
const options: Omit<SimOptions, "shard"> = { hosts: 30, hostMemoryMiB: 65_536, hostSlots: 10_000, concurrency: 16, placement: "best-fit", keepAlive: { policy: "hybrid", fallbackTtlMs: 600_000 } };

test("three shards add up to exactly what one scheduler gives when capacity never binds", async () => {
  const one = simulate(syntheticWorkload(synthetic), options);
  const three = await simulateSharded({ synthetic }, options, 3);
  assert.equal(three.exact, true);
  assert.equal(three.shards, 3);
  assert.ok(one.invocations > 10_000 && one.coldStarts > 100 && one.prewarmStarts > 100, `a workload with something to compare: ${one.invocations} requests, ${one.coldStarts} cold, ${one.prewarmStarts} pre-warms`);
  for (const k of ["invocations", "served", "coldStarts", "activeFunctions", "instanceStarts", "prewarmStarts", "prewarmHits", "prewarmMisses", "evicted"] as const) assert.equal(three[k], one[k], k);
  assert.deepEqual(three.throttled, one.throttled);
  assert.deepEqual(three.perFunctionColdPct, one.perFunctionColdPct);
  for (const k of ["idleInstanceMinutes", "idleGbMinutes", "loadedInstanceMinutes", "loadedGbMinutes"] as const) {
    assert.ok(Math.abs(three[k] - one[k]) <= 1e-9 * one[k], `${k}: ${three[k]} against ${one[k]}`);
  }
  assert.deepEqual(three.series.instances, one.series.instances);
  assert.deepEqual(three.series.busy, one.series.busy);
  assert.deepEqual(three.detail.requests, one.detail.requests);
  assert.deepEqual(three.detail.colds, one.detail.colds);
  assert.deepEqual(three.detail.idleMs, one.detail.idleMs);
});

test("a shard that runs out of room says its figures are not one scheduler's", async () => {
  // 3 hosts of 600 MiB: a few instances each, so idle ones are evicted for new ones.
  const tight = { ...options, hosts: 3, hostMemoryMiB: 600 };
  const sharded = await simulateSharded({ synthetic: { ...synthetic, durationMs: 3_600_000 } }, tight, 3);
  assert.equal(sharded.exact, false);
  assert.ok(sharded.evicted + sharded.throttled.no_capacity > 0);
});

test("a workload a shard cannot make is an error, not a hang", async () => {
  await assert.rejects(simulateSharded({ trace: "/nonexistent/trace", options: { spread: "even", seed: 1 } }, options, 2), /nonexistent/);
});

/** Stand-ins for shard-worker.ts: shard `failing` does what `fail` says; the others run on for ever, posting progress. */
function standIns(failing: number, fail: string) {
  const started: Worker[] = [];
  const code = `const { parentPort, workerData } = require("node:worker_threads");
    if (workerData.options.shard.index === ${failing}) { ${fail} }
    else setInterval(() => parentPort.postMessage({ progress: 0 }), 5);`;
  const spawn = (data: ShardData) => {
    const worker = new Worker(code, { eval: true, workerData: data });
    started.push(worker);
    return worker;
  };
  return { started, spawn, stop: () => Promise.all(started.map((w) => w.terminate())) };
}

test("when one shard fails, the others are stopped, not left to run their day", async () => {
  const shards = standIns(1, `parentPort.postMessage({ error: "shard 1 could not go on" });`);
  try {
    await assert.rejects(simulateSharded({ synthetic }, options, 3, shards.spawn), /shard 1 could not go on/);
    assert.equal(shards.started.length, 3);
    // A worker's threadId is -1 once it has exited.
    assert.deepEqual(shards.started.map((w) => w.threadId), [-1, -1, -1], "every shard's worker has exited");
  } finally {
    await shards.stop();
  }
});

test("a shard that exits without its figures is an error naming it, and the others are stopped", async () => {
  const shards = standIns(2, `process.exit(3);`);
  try {
    await assert.rejects(simulateSharded({ synthetic }, options, 3, shards.spawn), /shard 2 stopped \(exit 3\) before it sent its figures/);
    assert.deepEqual(shards.started.map((w) => w.threadId), [-1, -1, -1], "every shard's worker has exited");
  } finally {
    await shards.stop();
  }
});
