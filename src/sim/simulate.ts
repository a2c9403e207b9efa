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
import { DeadlineHeap, Scheduler, type FunctionHandle, type InstanceRef, type KeepAliveSpec, type KeepAliveView, type PlacementPolicy, type ThrottleReason } from "../control/index.ts";
import { arrivalBatch, type Shard, type Workload } from "./workload.ts";

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
  /**
   * Replay only the functions whose index is `index` modulo `count`, on these hosts
   * (parallel.ts runs the shards side by side and adds them up).
   */
  shard?: Shard;
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
  /** Idle instances stopped to make room for another (capacity bound). */
  evicted: number;
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
  /** The scheduler's id, and its slot (where this book is kept). */
  instance: string;
  slot: number;
  /** Its function's place in this run's books (its index, or within a shard (f - index) / count). */
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
  // A shard replays the functions f with f % count === index; its books hold those alone,
  // function f at (f - index) / count.
  const shardCount = options.shard?.count ?? 1;
  const shardIndex = options.shard?.index ?? 0;
  const owned = Math.max(0, Math.ceil((functions.length - shardIndex) / shardCount));
  // At a million functions every arrival touches a function's state at random, and each
  // array read here is a cache miss: a function's handle and key sit side by side, and so
  // do its counts; instances are kept by slot, not by id.
  /** Per function (local index l): its scheduler handle at 2l and version key at 2l + 1, made at its first request (the scheduler configures it then). */
  const live: (FunctionHandle | string | undefined)[] = new Array<FunctionHandle | string | undefined>(2 * owned);
  /** Per function (local index l): requests, cold starts, idle instance-ms, and an instance's memory (MiB), at 4l to 4l + 3. */
  const books = new Float64Array(4 * owned);
  for (let l = 0; l < owned; l++) books[4 * l + 3] = functions[shardIndex + l * shardCount]!.memoryMiB;
  /** The instances loaded, by slot. */
  const bySlot: (SimInstance | undefined)[] = [];
  let loaded = 0;
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
  let evicted = 0;

  // Integrals over virtual time: instance-ms and MiB-ms, idle and loaded.
  let idleCount = 0;
  let idleMiB = 0;
  let busyCount = 0;
  let loadedMiB = 0;
  // In a typed array: they outgrow a small integer, and a closure's double is a new heap
  // number on every update.
  const IDLE_MS = 0;
  const IDLE_MIB_MS = 1;
  const LOADED_MS = 2;
  const LOADED_MIB_MS = 3;
  const integral = new Float64Array(4);
  let accountedTo = 0;
  const account = (t: number) => {
    const dt = t - accountedTo;
    if (dt <= 0) return;
    integral[IDLE_MS]! += idleCount * dt;
    integral[IDLE_MIB_MS]! += idleMiB * dt;
    integral[LOADED_MS]! += loaded * dt;
    integral[LOADED_MIB_MS]! += loadedMiB * dt;
    accountedTo = t;
  };

  const load = (ref: InstanceRef, fn: number, prewarmed: boolean, t: number): SimInstance => {
    const sim: SimInstance = { instance: ref.instance, slot: ref.slot, fn, memoryMiB: books[4 * fn + 3]!, busy: 0, prewarmed, used: false, idleSinceMs: t };
    if (bySlot[ref.slot] !== undefined) throw new Error(`flick sim: the scheduler reused slot ${ref.slot} of ${bySlot[ref.slot]!.instance} for ${ref.instance} without stopping it first`);
    bySlot[ref.slot] = sim;
    loaded++;
    idleCount++;
    idleMiB += sim.memoryMiB;
    loadedMiB += sim.memoryMiB;
    instanceStarts++;
    if (prewarmed) prewarmStarts++;
    if (loaded > peakInstances) peakInstances = loaded;
    return sim;
  };
  const unload = (ref: InstanceRef, t: number) => {
    const sim = bySlot[ref.slot];
    if (sim === undefined || sim.instance !== ref.instance) return; // stopped already
    bySlot[ref.slot] = undefined;
    loaded--;
    loadedMiB -= sim.memoryMiB;
    if (sim.busy === 0) {
      idleCount--;
      idleMiB -= sim.memoryMiB;
      books[4 * sim.fn + 2]! += t - sim.idleSinceMs;
    } else busyCount--;
    if (sim.prewarmed && !sim.used) prewarmMisses++;
  };
  const fnIndex = new Map<string, number>();
  const indexOf = (fn: string) => fnIndex.get(fn) ?? -1;

  const tick = (t: number) => {
    account(t);
    const { stop, warm } = scheduler.tick(t);
    ticks++;
    for (const s of stop) unload(s, t);
    for (const w of warm) load(w, indexOf(w.fn), true, t);
  };
  const end = (t: number) => {
    account(t);
    const sim = endings.pop();
    scheduler.release(sim, t);
    if (--sim.busy === 0 && bySlot[sim.slot] === sim) {
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
    series.instances.push(loaded);
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

  const read = workload.arrivals(options.shard);
  const batch = arrivalBatch(65_536);
  for (let n = read(batch); n > 0; n = read(batch)) {
    for (let i = 0; i < n; i++) {
      // Whole milliseconds, as the node's clock (Date.now) counts them: times stay small
      // integers, which V8 keeps in place in an object's fields, not boxed on the heap.
      const t = Math.floor(batch.atMs[i]!);
      const f = batch.fn[i]!;
      let l = f;
      if (shardCount > 1) {
        if (f % shardCount !== shardIndex) continue;
        l = (f - shardIndex) / shardCount;
      }
      advance(t);
      account(t);
      let handle = live[2 * l] as FunctionHandle | undefined;
      if (handle === undefined) {
        const fn = functions[f]!;
        const key = `${fn.fn}@v1`;
        live[2 * l + 1] = key;
        fnIndex.set(fn.fn, l);
        scheduler.configure({ fn: fn.fn, tenant: fn.tenant, key, expectedMiB: fn.memoryMiB, concurrency: options.concurrency });
        handle = live[2 * l] = scheduler.handleOf(fn.fn)!;
      }
      invocations++;
      books[4 * l]!++;
      const r = scheduler.acquire(handle, live[2 * l + 1] as string, t);
      for (const e of r.evicted) unload(e, t);
      evicted += r.evicted.length;
      if (r.ok !== true) {
        throttled[r.ok === false ? r.reason : "no_capacity"]++;
        continue;
      }
      served++;
      let sim = bySlot[r.slot];
      if (sim === undefined || sim.instance !== r.instance) sim = load(r, l, false, t);
      if (r.cold) {
        coldStarts++;
        books[4 * l + 1]!++;
      } else if (sim.prewarmed && !sim.used) prewarmHits++;
      sim.used = true;
      if (sim.busy++ === 0) {
        idleCount--;
        idleMiB -= sim.memoryMiB;
        busyCount++;
        books[4 * l + 2]! += t - sim.idleSinceMs;
      }
      endings.push(t + Math.round(batch.durationMs[i]!), sim);
    }
  }
  // The rest of the day: requests still running end, idle instances expire or stay.
  advance(workload.durationMs);
  account(workload.durationMs);
  for (const sim of bySlot) if (sim !== undefined && sim.busy === 0) books[4 * sim.fn + 2]! += workload.durationMs - sim.idleSinceMs;
  const requests = new Uint32Array(functions.length);
  const colds = new Uint32Array(functions.length);
  const idleMsOf = new Float64Array(functions.length);
  for (let l = 0; l < owned; l++) {
    const f = shardIndex + l * shardCount;
    requests[f] = books[4 * l]!;
    colds[f] = books[4 * l + 1]!;
    idleMsOf[f] = books[4 * l + 2]!;
  }
  const shares = coldShares(requests, colds);
  const wallMs = performance.now() - started;
  const minutes = (ms: number) => ms / 60_000;
  return {
    workload: workload.name,
    policy: policyName(options.keepAlive),
    functions: functions.length,
    activeFunctions: shares.active,
    invocations,
    served,
    coldStarts,
    coldPct: served === 0 ? 0 : (100 * coldStarts) / served,
    perFunctionColdPct: shares.pct,
    idleInstanceMinutes: minutes(integral[IDLE_MS]!),
    idleGbMinutes: minutes(integral[IDLE_MIB_MS]!) / 1024,
    loadedInstanceMinutes: minutes(integral[LOADED_MS]!),
    loadedGbMinutes: minutes(integral[LOADED_MIB_MS]!) / 1024,
    instanceStarts,
    prewarmStarts,
    prewarmHits,
    prewarmMisses,
    throttled,
    evicted,
    series,
    peakInstances,
    ticks,
    detail: { requests, colds, idleMs: idleMsOf, keepAliveOf: (f) => scheduler.keepAliveOf(functions[f]!.fn) },
    cost: { wallMs, invocationsPerSec: invocations / (wallMs / 1000), ticksPerSec: ticks / (wallMs / 1000), peakRssMiB: process.resourceUsage().maxRSS / 1024 },
  };
}

/** Per function with requests, the share of them that were cold: its quantiles, and how many functions were all or never cold. */
export function coldShares(requests: Uint32Array, colds: Uint32Array): { active: number; pct: SimResult["perFunctionColdPct"] } {
  const perFunction: number[] = [];
  let allCold = 0;
  let noneCold = 0;
  for (let f = 0; f < requests.length; f++) {
    if (requests[f] === 0) continue;
    perFunction.push((100 * colds[f]!) / requests[f]!);
    if (colds[f] === requests[f]) allCold++;
    if (colds[f] === 0) noneCold++;
  }
  const sorted = Float64Array.from(perFunction).sort();
  return {
    active: perFunction.length,
    pct: { p50: quantile(sorted, 0.5), p75: quantile(sorted, 0.75), p90: quantile(sorted, 0.9), p99: quantile(sorted, 0.99), max: quantile(sorted, 1), allCold, noneCold },
  };
}

/** A result without its per-function detail: what `--json` writes. */
export function simSummary(result: SimResult): Omit<SimResult, "detail"> {
  const { detail: _, ...rest } = result;
  return rest;
}
