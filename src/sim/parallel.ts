/**
 * `flick sim --shards N`: the functions split N ways (by index modulo N), each share
 * replayed in a worker thread of its own through its own scheduler on 1/N of the hosts,
 * and the figures added up. A machine with N cores replays a million functions' day about
 * N times sooner.
 *
 * Exact when capacity never binds: a function's cold starts, idle time and keep-alive
 * depend on its own requests alone until a host runs out of room (an eviction, a
 * `no_capacity` 429), which is when one function's instances displace another's. So the
 * sums equal a one-scheduler run's figures unless some shard ran out of room; `exact`
 * says which (src/sim/parallel.test.ts compares the two).
 *
 * A workload is code (a reader over a file, or the generator), so each worker makes its
 * own from the same description and seed, and reads every arrival, keeping its share.
 */
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { readAzureTrace, type AzureTraceOptions } from "./azure-trace.ts";
import { coldShares, type SimOptions, type SimResult } from "./simulate.ts";
import { syntheticWorkload, type SyntheticOptions } from "./synthetic.ts";
import type { Workload } from "./workload.ts";

/** What a workload is made from: a trace directory and how to read it, or the generator's settings. */
export type WorkloadSource = { trace: string; options: AzureTraceOptions } | { synthetic: SyntheticOptions };

/** The workload a source describes (the same arrivals wherever it is made). */
export function workloadOf(source: WorkloadSource): Workload & { notes: string[] } {
  return "trace" in source ? readAzureTrace(source.trace, source.options) : syntheticWorkload(source.synthetic);
}

/** What a shard sends back: its result, the per-function arrays as they are. */
export type ShardResult = Omit<SimResult, "detail"> & { detail: { requests: Uint32Array; colds: Uint32Array; idleMs: Float64Array } };

export type ShardMessage = { progress: number } | { result: ShardResult } | { error: string };

/** The shards worth running here for a workload of `functions`: one per core (at most 8), or 1 below 10,000 functions. */
export function defaultShards(functions: number): number {
  return functions < 10_000 ? 1 : Math.max(1, Math.min(8, availableParallelism()));
}

// `.ts` in the checkout, `.js` in the package (compiled by scripts/build-dist.ts).
const workerFile = path.join(path.dirname(fileURLToPath(import.meta.url)), `shard-worker${path.extname(fileURLToPath(import.meta.url))}`);

/** What a shard's worker is given (its `workerData`). */
export interface ShardData {
  source: WorkloadSource;
  options: SimOptions;
}

/** Starts one shard's worker: shard-worker.ts, or in tests a stand-in that fails or never ends. */
export type SpawnShard = (data: ShardData) => Worker;

const spawnShard: SpawnShard = (data) => new Worker(workerFile, { workerData: data });

/**
 * Runs the workload in `shards` worker threads and adds their figures up. `options.hosts`
 * are all the hosts; each shard gets its share of them. The result's `exact` is false when
 * a shard ran out of room (its figures then differ from one scheduler's).
 */
export async function simulateSharded(source: WorkloadSource, options: Omit<SimOptions, "shard">, shards: number, spawn: SpawnShard = spawnShard): Promise<SimResult & { shards: number; exact: boolean }> {
  if (!Number.isInteger(shards) || shards < 1) throw new RangeError(`shards must be a whole number ≥ 1, got ${shards}`);
  if (shards > options.hosts) throw new RangeError(`${shards} shards need at least as many hosts, got ${options.hosts}`);
  const started = performance.now();
  const { progress, ...plain } = options;
  const reached = new Array<number>(shards).fill(0);
  const workers: Worker[] = [];
  const running = Promise.all(
    Array.from({ length: shards }, (_, index) => {
      const hosts = Math.floor(options.hosts / shards) + (index < options.hosts % shards ? 1 : 0);
      const worker = spawn({ source, options: { ...plain, hosts, shard: { index, count: shards } } });
      workers.push(worker);
      return new Promise<ShardResult>((resolve, reject) => {
        worker.on("message", (m: ShardMessage) => {
          if ("progress" in m) {
            reached[index] = m.progress;
            const all = Math.min(...reached);
            if (all === m.progress) progress?.(all);
          } else if ("result" in m) resolve(m.result);
          else reject(new Error(m.error));
        });
        worker.on("error", reject);
        worker.on("exit", (code) => reject(new Error(`flick sim: shard ${index} stopped (exit ${code}) before it sent its figures`)));
      });
    }),
  );
  let results: ShardResult[];
  try {
    results = await running;
  } catch (err) {
    // One shard failed: the others would run on for minutes, and keep the process alive.
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  return { ...merge(results, options), shards, exact: results.every((r) => r.evicted === 0 && r.throttled.no_capacity === 0), cost: cost(results, started) };
}

function merge(parts: ShardResult[], options: Omit<SimOptions, "shard">): SimResult {
  const first = parts[0]!;
  const n = first.detail.requests.length;
  const requests = new Uint32Array(n);
  const colds = new Uint32Array(n);
  const idleMs = new Float64Array(n);
  for (const p of parts) {
    for (let f = 0; f < n; f++) {
      requests[f]! += p.detail.requests[f]!;
      colds[f]! += p.detail.colds[f]!;
      idleMs[f]! += p.detail.idleMs[f]!;
    }
  }
  const sum = (pick: (r: ShardResult) => number) => parts.reduce((a, r) => a + pick(r), 0);
  const served = sum((r) => r.served);
  const coldStarts = sum((r) => r.coldStarts);
  const shares = coldShares(requests, colds);
  // The series are sampled at the same virtual minutes in every shard.
  const add = (pick: (r: ShardResult) => number[]) => pick(first).map((_, k) => parts.reduce((a, r) => a + pick(r)[k]!, 0));
  const memoryGiB = add((r) => r.series.memoryGiB).map((v) => Math.round(100 * v) / 100);
  const series: SimResult["series"] = {
    minute: first.series.minute,
    instances: add((r) => r.series.instances),
    busy: add((r) => r.series.busy),
    memoryGiB,
    memoryPct: memoryGiB.map((g) => Math.round((1000 * g * 1024) / (options.hosts * options.hostMemoryMiB)) / 10),
    hostsUsed: add((r) => r.series.hostsUsed),
  };
  return {
    workload: first.workload,
    policy: first.policy,
    functions: first.functions,
    activeFunctions: shares.active,
    invocations: sum((r) => r.invocations),
    served,
    coldStarts,
    coldPct: served === 0 ? 0 : (100 * coldStarts) / served,
    perFunctionColdPct: shares.pct,
    idleInstanceMinutes: sum((r) => r.idleInstanceMinutes),
    idleGbMinutes: sum((r) => r.idleGbMinutes),
    loadedInstanceMinutes: sum((r) => r.loadedInstanceMinutes),
    loadedGbMinutes: sum((r) => r.loadedGbMinutes),
    instanceStarts: sum((r) => r.instanceStarts),
    prewarmStarts: sum((r) => r.prewarmStarts),
    prewarmHits: sum((r) => r.prewarmHits),
    prewarmMisses: sum((r) => r.prewarmMisses),
    throttled: { function_limit: sum((r) => r.throttled.function_limit), no_capacity: sum((r) => r.throttled.no_capacity) },
    evicted: sum((r) => r.evicted),
    series,
    // Each shard's peak came at its own moment: the sum bounds the whole's from above, the
    // per-minute samples from below; the samples are what the series show.
    peakInstances: Math.max(0, ...series.instances),
    ticks: first.ticks,
    // A function's keep-alive lives in its shard's scheduler, gone with the worker.
    detail: { requests, colds, idleMs, keepAliveOf: () => undefined },
    cost: first.cost,
  };
}

function cost(parts: ShardResult[], started: number): SimResult["cost"] {
  const wallMs = performance.now() - started;
  const invocations = parts.reduce((a, r) => a + r.invocations, 0);
  return { wallMs, invocationsPerSec: invocations / (wallMs / 1000), ticksPerSec: parts[0]!.ticks / (wallMs / 1000), peakRssMiB: process.resourceUsage().maxRSS / 1024 };
}
