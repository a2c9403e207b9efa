// The simulator replays the same figures from the same input, and drives the real scheduler.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { readAzureTrace } from "./azure-trace.ts";
import { simSummary, simulate, type SimOptions } from "./simulate.ts";
import { syntheticWorkload } from "./synthetic.ts";

const sample = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/traces/azure2019-sample-100");
const options: Omit<SimOptions, "keepAlive"> = { hosts: 20, hostMemoryMiB: 65_536, hostSlots: 10_000, concurrency: 16, placement: "best-fit" };

/** Everything but what the run cost on this machine. */
function figures(r: ReturnType<typeof simulate>) {
  const { cost: _, ...rest } = simSummary(r);
  return rest;
}

test("the same trace, seed and policy give the same figures; another seed gives others", { skip: existsSync(sample) ? false : `no trace at ${sample}` }, () => {
  const read = (seed: number) => readAzureTrace(sample, { spread: "poisson", seed, minutes: 240 });
  const hybrid = { policy: "hybrid", fallbackTtlMs: 5 * 60_000 } as const;
  const a = figures(simulate(read(1), { ...options, keepAlive: hybrid }));
  const b = figures(simulate(read(1), { ...options, keepAlive: hybrid }));
  assert.deepEqual(a, b);
  assert.ok(a.coldStarts > 0 && a.idleInstanceMinutes > 0 && a.prewarmStarts > 0, JSON.stringify(a).slice(0, 300));
  const c = figures(simulate(read(2), { ...options, keepAlive: hybrid }));
  assert.notDeepEqual(a, c);
});

test("a longer fixed keep-alive trades idle time for fewer cold starts, on a synthetic day", () => {
  const workload = syntheticWorkload({ functions: 2000, seed: 7, durationMs: 6 * 3600_000 });
  const short = simulate(workload, { ...options, keepAlive: { policy: "fixed", ttlMs: 5 * 60_000 } });
  const long = simulate(workload, { ...options, keepAlive: { policy: "fixed", ttlMs: 60 * 60_000 } });
  assert.equal(short.invocations, long.invocations);
  assert.ok(long.coldStarts < short.coldStarts, `${long.coldStarts} < ${short.coldStarts}`);
  assert.ok(long.idleInstanceMinutes > short.idleInstanceMinutes);
  assert.equal(short.served + short.throttled.function_limit + short.throttled.no_capacity, short.invocations);
  assert.deepEqual(figures(simulate(workload, { ...options, keepAlive: { policy: "fixed", ttlMs: 5 * 60_000 } })), figures(short));
});

test("capacity binds: with hosts too small for the day, requests are refused as no_capacity and counted", () => {
  const workload = syntheticWorkload({ functions: 2000, seed: 3, durationMs: 2 * 3600_000 });
  const r = simulate(workload, { ...options, hosts: 1, hostSlots: 3, concurrency: 1, keepAlive: { policy: "fixed", ttlMs: 10 * 60_000 } });
  assert.ok(r.throttled.no_capacity > 0, JSON.stringify(r.throttled));
  assert.ok(r.peakInstances <= 3);
  assert.ok(r.served > 0);
});
