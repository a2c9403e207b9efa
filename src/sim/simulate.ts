/**
 * Replays a workload through the node's own scheduler (control/) on a virtual clock:
 * each arrival is an `acquire`, each end a `release`, and `tick` runs every second of
 * virtual time as the node's timer runs it. The simulator keeps its own books of what the
 * scheduler decided — which instances exist, which are busy, which were pre-warmed — and
 * counts from them; it decides nothing itself. Everything follows from the workload and
 * the options: no wall clock, no unseeded randomness.
 *
 * Order at one instant: requests that end, then the tick, then arrivals (the node's tick
 * sees a request that ended at the same millisecond as ended).
 */
import { DeadlineHeap, Scheduler, type KeepAliveSpec, type KeepAliveView, type PlacementPolicy, type ThrottleReason } from "../control/index.ts";
import { arrivalBatch, type Workload } from "./workload.ts";

export interface SimOptions {
  hosts: number;
  /** Memory each host may fill with instances, MiB. */
  hostMemoryMiB: number;
  /** Isolates each host may hold. */
  hostSlots: number;
  /** Requests one instance takes at once. */
  concurrency: number;
  placement: PlacementPolicy;
  keepAlive: KeepAliveSpec;
  /** The scheduler's tick, virtual ms (the node's is 1 s). */
  tickMs?: number;
  /** How often the utilisation series is sampled, virtual ms. */
  sampleMs?: number;
  /** Called now and then with the virtual time reached, for a progress line. */
  progress?: (virtualMs: number) => void;
}

export interface SimResult {
  workload: string;
  policy: string;
  functions: number;
  /** Functions that had at least one request. */
  activeFunctions: number;
  invocations: number;
  /** Requests that got a slot. */
  served: number;
  coldStarts: number;
  /** coldStarts / served, %. */
  coldPct: number;
  /** Per function with requests: the share of its requests that were cold, %, at these quantiles. */
  perFunctionColdPct: { p50: number; p75: number; p90: number; p99: number; max: number; allCold: number; noneCold: number };
  /** Instance time spent idle (loaded, nothing in flight), minutes; and the same weighted by memory, GB-minutes. */
  idleInstanceMinutes: number;
  idleGbMinutes: number;
  /** All loaded instance time, minutes and GB-minutes. */
  loadedInstanceMinutes: number;
  loadedGbMinutes: number;
  /** Instances started: for a request (cold) or ahead of one (pre-warm). */
  instanceStarts: number;
  prewarmStarts: number;
  /** Pre-warmed instances whose first use was a request, and those stopped unused. */
  prewarmHits: number;
  prewarmMisses: number;
  throttled: Record<ThrottleReason, number>;
  /** Sampled every `sampleMs`: virtual minute, instances loaded, busy, memory held (GiB, and % of all hosts'), hosts with an instance. */
  series: { minute: number[]; instances: number[]; busy: number[]; memoryGiB: number[]; memoryPct: number[]; hostsUsed: number[] };
  peakInstances: number;
  ticks: number;
  /** Per function (by index): requests, cold starts, idle instance-ms, and its keep-alive at the end. Not in the JSON. */
  detail: { requests: Uint32Array; colds: Uint32Array; idleMs: Float64Array; keepAliveOf: (fn: number) => KeepAliveView | undefined };
  /** What the run cost here (not part of the deterministic figures; the RSS is the process's peak so far). */
  cost: { wallMs: number; invocationsPerSec: number; ticksPerSec: number; peakRssMiB: number };
}

interface SimInstance {
  /** The scheduler's id. */
  id: string;
  fn: number;
  memoryMiB: number;
  busy: number;
  prewarmed: boolean;
  used: boolean;
  /** When it last went idle (or was loaded). */
  idleSinceMs: number;
}


/** A policy as people write it: `fixed:10m`, `hybrid`. */
export function policyName(spec: KeepAliveSpec): string {
  if (spec.policy === "fixed") return `fixed ${spec.ttlMs % 60_000 === 0 ? `${spec.ttlMs / 60_000} min` : `${spec.ttlMs / 1000} s`}`;
  const tuning = spec.tuning === undefined ? "" : ` (${Object.entries(spec.tuning).map(([k, v]) => `${k}=${String(v)}`).join(", ")})`;
  return `hybrid${tuning}`;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function simulate(workload: Workload, options: SimOptions): SimResult {
  const started = performance.now();
  const tickMs = options.tickMs ?? 1000;
  const sampleMs = options.sampleMs ?? 60_000;
  const scheduler = new Scheduler({
    hosts: Array.from({ length: options.hosts }, () => ({ memoryMiB: options.hostMemoryMiB, slots: options.hostSlots, labels: {} })),
    concurrency: options.concurrency,
    placement: options.placement,
    keepAlive: options.keepAlive,
    tenantAntiAffinity: false,
  });
  const functions = workload.functions;
  /** Each function's version key, made at its first request (the scheduler configures it then). */
  const keys: (string | undefined)[] = new Array<string | undefined>(functions.length);
  const requests = new Uint32Array(functions.length);
  const colds = new Uint32Array(functions.length);
  const idleMsOf = new Float64Array(functions.length);
  const instances = new Map<string, SimInstance>();
  /** Requests running, by when they end: their instance (one entry per request). */
  const endings = new DeadlineHeap<SimInstance>();
  const throttled: Record<ThrottleReason, number> = { function_limit: 0, no_capacity: 0 };
  const series: SimResult["series"] = { minute: [], instances: [], busy: [], memoryGiB: [], memoryPct: [], hostsUsed: [] };
  let invocations = 0;
  let served = 0;
  let coldStarts = 0;
  let instanceStarts = 0;
  let prewarmStarts = 0;
  let prewarmHits = 0;
  let prewarmMisses = 0;
  let ticks = 0;
  let peakInstances = 0;

  // Integrals over virtual time: instance-ms and MiB-ms, idle and loaded.
  let idleCount = 0;
  let idleMiB = 0;
  let busyCount = 0;
  let loadedMiB = 0;
  let idleInstanceMs = 0;
  let idleMiBMs = 0;
  let loadedInstanceMs = 0;
  let loadedMiBMs = 0;
  let accountedTo = 0;
  const account = (t: number) => {
    const dt = t - accountedTo;
    if (dt <= 0) return;
    idleInstanceMs += idleCount * dt;
    idleMiBMs += idleMiB * dt;
    loadedInstanceMs += instances.size * dt;
    loadedMiBMs += loadedMiB * dt;
    accountedTo = t;
  };

  const load = (id: string, fn: number, prewarmed: boolean, t: number): SimInstance => {
    const sim: SimInstance = { id, fn, memoryMiB: functions[fn]!.memoryMiB, busy: 0, prewarmed, used: false, idleSinceMs: t };
    instances.set(id, sim);
    idleCount++;
    idleMiB += sim.memoryMiB;
    loadedMiB += sim.memoryMiB;
    instanceStarts++;
    if (prewarmed) prewarmStarts++;
    if (instances.size > peakInstances) peakInstances = instances.size;
    return sim;
  };
  const unload = (id: string, t: number) => {
    const sim = instances.get(id);
    if (sim === undefined) return;
    instances.delete(id);
    loadedMiB -= sim.memoryMiB;
    if (sim.busy === 0) {
      idleCount--;
      idleMiB -= sim.memoryMiB;
      idleMsOf[sim.fn]! += t - sim.idleSinceMs;
    } else busyCount--;
    if (sim.prewarmed && !sim.used) prewarmMisses++;
  };
  const fnIndex = new Map<string, number>();
  const indexOf = (fn: string) => fnIndex.get(fn) ?? -1;

  const tick = (t: number) => {
    account(t);
    const { stop, warm } = scheduler.tick(t);
    ticks++;
    for (const s of stop) unload(s.instance, t);
    for (const w of warm) load(w.instance, indexOf(w.fn), true, t);
  };
  const end = (t: number) => {
    account(t);
    const sim = endings.pop();
    scheduler.release(sim.id, t);
    if (--sim.busy === 0 && instances.get(sim.id) === sim) {
      busyCount--;
      idleCount++;
      idleMiB += sim.memoryMiB;
      sim.idleSinceMs = t;
    }
  };
  const sample = (t: number) => {
    let hostsUsed = 0;
    let used = 0;
    for (let h = 0; h < scheduler.hosts.size; h++) {
      if (scheduler.hosts.instances[h]! > 0) hostsUsed++;
      used += scheduler.hosts.usedMiB[h]!;
    }
    series.minute.push(Math.round(t / 60_000));
    series.instances.push(instances.size);
    series.busy.push(busyCount);
    series.memoryGiB.push(Math.round((100 * used) / 1024) / 100);
    series.memoryPct.push(Math.round((1000 * used) / (options.hosts * options.hostMemoryMiB)) / 10);
    series.hostsUsed.push(hostsUsed);
  };

  let nextTick = tickMs;
  let nextSample = 0;
  let nextProgress = 3_600_000;
  /** Runs everything due up to and including `t`, in order: endings, then the tick. */
  const advance = (t: number) => {
    for (;;) {
      const e = endings.peek();
      if (e <= t && e <= nextTick) end(e);
      else if (nextTick <= t) {
        tick(nextTick);
        if (nextTick >= nextSample) {
          sample(nextTick);
          nextSample += sampleMs;
        }
        if (nextTick >= nextProgress) {
          options.progress?.(nextTick);
          nextProgress += 3_600_000;
        }
        nextTick += tickMs;
      } else break;
    }
  };

  const read = workload.arrivals();
  const batch = arrivalBatch(65_536);
  for (let n = read(batch); n > 0; n = read(batch)) {
    for (let i = 0; i < n; i++) {
      const t = batch.atMs[i]!;
      const f = batch.fn[i]!;
      advance(t);
      account(t);
      const fn = functions[f]!;
      let key = keys[f];
      if (key === undefined) {
        key = keys[f] = `${fn.fn}@v1`;
        fnIndex.set(fn.fn, f);
        scheduler.configure({ fn: fn.fn, tenant: fn.tenant, key, expectedMiB: fn.memoryMiB, concurrency: options.concurrency });
      }
      invocations++;
      requests[f]!++;
      const r = scheduler.acquire(fn.fn, key, t);
      for (const e of r.evicted) unload(e.instance, t);
      if (r.ok !== true) {
        throttled[r.ok === false ? r.reason : "no_capacity"]++;
        continue;
      }
      served++;
      let sim = instances.get(r.instance);
      if (sim === undefined) sim = load(r.instance, f, false, t);
      if (r.cold) {
        coldStarts++;
        colds[f]!++;
      } else if (sim.prewarmed && !sim.used) prewarmHits++;
      sim.used = true;
      if (sim.busy++ === 0) {
        idleCount--;
        idleMiB -= sim.memoryMiB;
        busyCount++;
        idleMsOf[f]! += t - sim.idleSinceMs;
      }
      endings.push(t + batch.durationMs[i]!, sim);
    }
  }
  // The rest of the day: requests still running end, idle instances expire or stay.
  advance(workload.durationMs);
  account(workload.durationMs);
  for (const sim of instances.values()) if (sim.busy === 0) idleMsOf[sim.fn]! += workload.durationMs - sim.idleSinceMs;

  const perFunction: number[] = [];
  let allCold = 0;
  let noneCold = 0;
  for (let f = 0; f < functions.length; f++) {
    if (requests[f] === 0) continue;
    const pct = (100 * colds[f]!) / requests[f]!;
    perFunction.push(pct);
    if (colds[f] === requests[f]) allCold++;
    if (colds[f] === 0) noneCold++;
  }
  const sorted = Float64Array.from(perFunction).sort();
  const wallMs = performance.now() - started;
  const minutes = (ms: number) => ms / 60_000;
  return {
    workload: workload.name,
    policy: policyName(options.keepAlive),
    functions: functions.length,
    activeFunctions: perFunction.length,
    invocations,
    served,
    coldStarts,
    coldPct: served === 0 ? 0 : (100 * coldStarts) / served,
    perFunctionColdPct: { p50: quantile(sorted, 0.5), p75: quantile(sorted, 0.75), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: quantile(sorted, 1), allCold, noneCold },
    idleInstanceMinutes: minutes(idleInstanceMs),
    idleGbMinutes: minutes(idleMiBMs) / 1024,
    loadedInstanceMinutes: minutes(loadedInstanceMs),
    loadedGbMinutes: minutes(loadedMiBMs) / 1024,
    instanceStarts,
    prewarmStarts,
    prewarmHits,
    prewarmMisses,
    throttled,
    series,
    peakInstances,
    ticks,
    detail: { requests, colds, idleMs: idleMsOf, keepAliveOf: (f) => scheduler.keepAliveOf(functions[f]!.fn) },
    cost: { wallMs, invocationsPerSec: invocations / (wallMs / 1000), ticksPerSec: ticks / (wallMs / 1000), peakRssMiB: process.resourceUsage().maxRSS / 1024 },
  };
}

/** A result without its per-function detail: what `--json` writes. */
export function simSummary(result: SimResult): Omit<SimResult, "detail"> {
  const { detail: _, ...rest } = result;
  return rest;
}
