/**
 * The scheduler's own cost, in process: acquire/release at 10,000 hosts and 100,000
 * instances. Warm: release a request and acquire again for the same function (the slot
 * it freed). Cold: the first request of a new function (a placement scanning every host).
 */
import { Scheduler } from "../src/control/index.ts";

export interface SchedulerCost {
  hosts: number;
  instances: number;
  warmP50Us: number;
  warmP99Us: number;
  coldP50Us: number;
  coldP99Us: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
}

export function measureSchedulerCost(hosts = 10_000, instances = 100_000, samples = 20_000): SchedulerCost {
  const s = new Scheduler({
    hosts: Array.from({ length: hosts }, () => ({ memoryMiB: 16_384, slots: 1_000, labels: {} })),
    concurrency: 1,
    placement: "best-fit",
    keepAlive: { policy: "fixed", ttlMs: 600_000 },
    tenantAntiAffinity: false,
  });
  const functions = instances / 2;
  // Two busy instances per function (concurrency 1): 100,000 instances placed.
  const held: string[] = [];
  for (let f = 0; f < functions; f++) {
    s.configure({ fn: `t${f % 100}/f${f}`, tenant: `t${f % 100}`, key: `t${f % 100}/f${f}@v` });
    for (let i = 0; i < 2; i++) {
      const r = s.acquire(`t${f % 100}/f${f}`, `t${f % 100}/f${f}@v`, 0);
      if (r.ok !== true) throw new Error(`setup: ${r.ok === false ? r.reason : "relay"}`);
      held.push(r.instance);
    }
  }
  const warm = new Float64Array(samples);
  for (let i = 0; i < samples; i++) {
    const f = (i * 7919) % functions;
    const fn = `t${f % 100}/f${f}`;
    const instance = held[f * 2]!;
    const t = performance.now();
    s.release(instance, i);
    const r = s.acquire(fn, `${fn}@v`, i);
    warm[i] = (performance.now() - t) * 1000;
    if (r.ok !== true || r.instance !== instance) throw new Error("warm path did not reuse the freed slot");
  }
  const coldSamples = Math.min(2_000, samples);
  const cold = new Float64Array(coldSamples);
  for (let i = 0; i < coldSamples; i++) {
    const fn = `new/f${i}`;
    s.configure({ fn, tenant: "new", key: `${fn}@v` });
    const t = performance.now();
    const r = s.acquire(fn, `${fn}@v`, 0);
    cold[i] = (performance.now() - t) * 1000;
    if (r.ok !== true) throw new Error(`cold: ${r.ok === false ? r.reason : "relay"}`);
  }
  warm.sort();
  cold.sort();
  return {
    hosts,
    instances: s.instanceCount,
    warmP50Us: percentile(warm, 0.5),
    warmP99Us: percentile(warm, 0.99),
    coldP50Us: percentile(cold, 0.5),
    coldP99Us: percentile(cold, 0.99),
  };
}
