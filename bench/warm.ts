/**
 * Warm hello world, every system under the same load in the same run, in interleaved
 * rounds (A B C A B C …): on a shared machine the load of the moment moves every number,
 * so each ratio is taken within a round and reported as the median and range over rounds.
 * Throughput with wrk -t2 -c64, and one-connection latency with wrk -t1 -c1.
 */
import { loadTest, type LoadOptions, type LoadResult } from "./wrk.ts";
import type { Target } from "./targets.ts";

export interface Spread {
  median: number;
  min: number;
  max: number;
  /** The middle half: first and third quartiles (linear between neighbours). */
  q1: number;
  q3: number;
}

export interface WarmRounds {
  rounds: number;
  /** Per system: each round's result under load and with one connection. */
  systems: { system: string; version: string; load: LoadResult[]; single: LoadResult[] }[];
  flickOverWorkerd: Spread;
  flickOverNodeHttp: Spread;
  /** One-connection p50, Flick's over node:http's (target ≤ 1.5). */
  singleP50OverNodeHttp: Spread;
}

export function spread(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const quantile = (q: number) => {
    const at = q * (sorted.length - 1);
    const low = Math.floor(at);
    return sorted[low]! + (sorted[Math.min(low + 1, sorted.length - 1)]! - sorted[low]!) * (at - low);
  };
  return { median, min: sorted[0]!, max: sorted.at(-1)!, q1: quantile(0.25), q3: quantile(0.75) };
}

export async function measureWarmRounds(targets: Target[], load: LoadOptions, rounds: number, singleDurationS = 3): Promise<WarmRounds> {
  const systems = targets.map((t) => ({ system: t.name, version: t.version, load: [] as LoadResult[], single: [] as LoadResult[] }));
  // Warm every system first (JIT, instances, connections), with the same load.
  for (const t of targets) await loadTest(t.url, { ...load, durationS: Math.min(2, load.durationS) });
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < targets.length; i++) {
      const result = await loadTest(targets[i]!.url, load);
      systems[i]!.load.push(result);
      console.error(`round ${r + 1}: ${targets[i]!.name} ${result.requestsPerSec.toFixed(0)} req/s`);
    }
    for (let i = 0; i < targets.length; i++) {
      systems[i]!.single.push(await loadTest(targets[i]!.url, { connections: 1, threads: 1, durationS: singleDurationS }));
    }
  }
  const of = (name: string) => systems.find((s) => s.system === name)!;
  const ratio = (a: string, b: string, pick: (r: LoadResult) => number) =>
    spread(of(a).load.map((x, i) => pick(x) / pick(of(b).load[i]!)));
  return {
    rounds,
    systems,
    flickOverWorkerd: ratio("flick", "workerd", (r) => r.requestsPerSec),
    flickOverNodeHttp: ratio("flick", "node:http", (r) => r.requestsPerSec),
    singleP50OverNodeHttp: spread(of("flick").single.map((x, i) => x.p50Ms / of("node:http").single[i]!.p50Ms)),
  };
}
