/**
 * Where every request runs, which instances stay warm, and when to say no. Pure: no I/O,
 * time passed in, so every policy is unit-tested with a virtual clock (DESIGN.md
 * "Scheduler model").
 *
 * - An instance is one isolate of one function version for one tenant, never reused for
 *   another. A request goes to a warm instance of its version with a free slot (the
 *   busiest such, so the others can go idle and expire), else to a new instance placed by
 *   the node's placement policy (placement.ts) on a host that satisfies the function's
 *   constraints and has room — preferring hosts that run none of the function yet, and
 *   evicting idle instances, least recently used first, when no host has room.
 * - Limits: the function's max instances (0 = the kill switch) and capacity. Beyond them
 *   `acquire` says which (`function_limit`, `no_capacity`) and when to retry. A tenant's
 *   requests in flight are capped before the scheduler is asked (tenant-budget.ts).
 * - Requests run in two places. Worker hosts admit most of them themselves, on instances
 *   placed on them, and report what runs (`report`); they ask (`acquire` with an origin)
 *   only when their instances of a version are full — the answer prefers a new instance on
 *   that host, so the next requests stay local, else a relay to another host. The primary
 *   acquires and releases what it runs itself (async attempts, binding calls, relays).
 * - Keep-alive and pre-warm (keep-alive.ts), per function: fixed TTL or the hybrid
 *   histogram policy; provisioned instances (`minInstances`) are kept warm always.
 * - Reclamation: a host over its memory capacity loses idle instances, LRU first.
 */
import { IdleTimeHistogram, keepAliveWindows, type KeepAliveSpec } from "./keep-alive.ts";
import { HostTable, type HostSpec, type Labels, type PlacementPolicy } from "./placement.ts";

export type ThrottleReason = "function_limit" | "no_capacity";

/** Whether instances of `key` serve the function's traffic now (its live version, or one in a split). */
/**
 * Whether instances of `key` serve the function now: its live version, a split's or a
 * preview's, or a durable object's instance of one of them (`<version key>#<class>:<id>`,
 * bindings/do/), which stays for the keep-alive like any other.
 */
function serves(policy: FunctionPolicy, key: string): boolean {
  const hash = key.indexOf("#");
  const version = hash === -1 ? key : key.slice(0, hash);
  return version === policy.key || (policy.alsoServing?.includes(version) ?? false);
}

/** How the node wants one function run; `configure` it on deploy, scale and start. */
export interface FunctionPolicy {
  /** `<tenant>/<name>`. */
  fn: string;
  tenant: string;
  /** The live version's key, `<tenant>/<name>@<version id>`: warm instances are made of it. */
  key: string;
  /**
   * Other versions' keys that serve traffic too (a split): their instances keep the
   * function's keep-alive. Any other version's (an old one, a preview) go once idle.
   */
  alsoServing?: readonly string[];
  /** What one instance is expected to use, MiB, until hosts report (default 4). */
  expectedMiB?: number;
  /** Requests one instance takes at once (default: the node's). */
  concurrency?: number;
  /** Provisioned concurrency: instances kept warm always. */
  minInstances?: number;
  /** A cap on instances; 0 stops all execution (the kill switch). */
  maxInstances?: number;
  pin?: Labels;
  avoid?: Labels;
  keepAlive?: KeepAliveSpec;
}

export interface SchedulerOptions {
  hosts: readonly HostSpec[];
  /** Requests one instance takes before another is started (default 64). */
  concurrency: number;
  placement: PlacementPolicy;
  keepAlive: KeepAliveSpec;
  /** A host serves one tenant at a time. */
  tenantAntiAffinity: boolean;
}

export const schedulerDefaults = {
  concurrency: 64,
  idleTtlMs: 10 * 60 * 1000,
  tenantConcurrency: 1000,
  expectedMiB: 4,
  retryAfterMs: 1000,
} as const;

export interface InstanceRef {
  instance: string;
  host: number;
}

export type Acquired =
  | { ok: true; instance: string; host: number; cold: boolean; evicted: InstanceRef[] }
  /** For a host's miss: nothing can be placed on it, but another host can run the request. */
  | { ok: "relay"; evicted: InstanceRef[] }
  | { ok: false; reason: ThrottleReason; retryAfterMs: number; message: string; evicted: InstanceRef[] };

export interface AcquireOptions {
  /** The host whose own instances are full (a miss): place there if at all possible. */
  origin?: number;
  /** A host not to use (the one a relayed request came from). */
  exclude?: number;
}

export interface TickResult {
  /** Instances to stop (idle past their keep-alive, reclaimed, over a lowered cap). */
  stop: InstanceRef[];
  /** Instances to start without a request (provisioned or pre-warmed), already placed. */
  warm: (InstanceRef & { key: string; fn: string })[];
}

interface InstanceState {
  id: string;
  key: string;
  fn: FunctionState;
  host: number;
  /** Requests the primary runs on it (exact): acquire/release. */
  inFlight: number;
  /** Requests its host admitted itself, as last reported. */
  remote: number;
  lastUsedMs: number;
  memoryMiB: number;
  /** Kept warm for `minInstances`: never expires, never reclaimed. */
  provisioned: boolean;
  /** A pre-warmed instance stays until then (0: the keep-alive window applies). */
  warmUntilMs: number;
}

interface FunctionState {
  policy: FunctionPolicy;
  instances: InstanceState[];
  /** When the function last went idle (no request in flight), or -1 before its first request. */
  idleSinceMs: number;
  histogram: IdleTimeHistogram;
  /** A pre-warm is due at this time (hybrid policy), or 0. */
  prewarmAtMs: number;
  /** The warm window a pre-warm opens, ms. */
  prewarmKeepMs: number;
}

export class Scheduler {
  private readonly options: SchedulerOptions;
  readonly hosts: HostTable;
  private readonly functions = new Map<string, FunctionState>();
  private readonly instances = new Map<string, InstanceState>();
  private sequence = 0;

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.hosts = new HostTable(options.hosts);
  }

  // — configuration —

  /** Adds or updates a function; returns instances to stop (old versions idle, or over a lowered cap). */
  configure(policy: FunctionPolicy): InstanceRef[] {
    let state = this.functions.get(policy.fn);
    if (state === undefined) {
      state = { policy, instances: [], idleSinceMs: -1, histogram: new IdleTimeHistogram(), prewarmAtMs: 0, prewarmKeepMs: 0 };
      this.functions.set(policy.fn, state);
      return [];
    }
    state.policy = policy;
    const stop: InstanceRef[] = [];
    for (const inst of [...state.instances]) {
      // Old versions' idle instances go now; busy ones finish and go on release.
      if (!serves(policy, inst.key) && inst.inFlight + inst.remote === 0) stop.push(this.drop(inst));
    }
    // The kill switch stops everything at once, busy or not; a lower cap stops idle extras.
    const max = policy.maxInstances;
    if (max === 0) for (const inst of [...state.instances]) stop.push(this.drop(inst));
    else if (max !== undefined) {
      for (const inst of state.instances.filter((i) => i.inFlight + i.remote === 0).sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
        if (state.instances.length <= max) break;
        stop.push(this.drop(inst));
      }
    }
    for (const inst of state.instances) inst.provisioned = false;
    return stop;
  }

  /** Forgets a function and returns its instances to stop. */
  remove(fn: string): InstanceRef[] {
    const state = this.functions.get(fn);
    if (state === undefined) return [];
    this.functions.delete(fn);
    return [...state.instances].map((inst) => this.drop(inst));
  }

  // — requests —

  /**
   * A slot for one request of function `fn`'s version `key`, or why not. With
   * `origin` (a host's miss): a new instance on that host when the function and the host
   * allow it, else `relay` when another host can take the request, else a throttle.
   */
  acquire(fn: string, key: string, nowMs: number, options: AcquireOptions = {}): Acquired {
    const state = this.functions.get(fn);
    if (state === undefined) throw new Error(`scheduler: ${fn} is not configured`);
    const policy = state.policy;
    const evicted: InstanceRef[] = [];
    const concurrency = policy.concurrency ?? this.options.concurrency;
    const atMax = () => policy.maxInstances !== undefined && state.instances.length >= policy.maxInstances;
    const limited = () =>
      this.throttle(
        "function_limit",
        policy.maxInstances === 0 ? `${fn} is stopped (max instances 0)` : `${fn} runs its maximum of ${policy.maxInstances} instances, all busy`,
        evicted,
      );
    let best: InstanceState | undefined;
    for (const inst of state.instances) {
      if (inst.key !== key || inst.host === options.exclude || inst.host === options.origin) continue;
      if (inst.inFlight + inst.remote < concurrency && (best === undefined || inst.inFlight + inst.remote > best.inFlight + best.remote)) best = inst;
    }
    if (options.origin !== undefined) {
      // A host's miss: its own instances of `key` are full (it knows better than our reports).
      if (!atMax()) {
        const here = this.place(state, key, nowMs, evicted, options.origin);
        if (here !== undefined) {
          this.start(here, nowMs, false);
          return { ok: true, instance: here.id, host: here.host, cold: true, evicted };
        }
      }
      if (best !== undefined || (!atMax() && this.canPlace(state, options.origin))) return { ok: "relay", evicted };
      if (atMax()) return limited();
      return this.throttle("no_capacity", `no host has room for another instance of ${fn}`, evicted);
    }
    let cold = false;
    if (best === undefined) {
      if (atMax()) return limited();
      best = this.place(state, key, nowMs, evicted, undefined, options.exclude);
      if (best === undefined) return this.throttle("no_capacity", `no host has room for another instance of ${fn}`, evicted);
      cold = true;
    }
    this.start(best, nowMs, true);
    return { ok: true, instance: best.id, host: best.host, cold, evicted };
  }

  /** A request starts on `inst`: the primary's own (`own`), or a host's just placed there. */
  private start(inst: InstanceState, nowMs: number, own: boolean): void {
    const state = inst.fn;
    if (this.busyOf(state) === 0 && state.idleSinceMs >= 0) state.histogram.record(nowMs - state.idleSinceMs);
    // A host's own requests are counted by its reports (a placement for a miss is not: the
    // host's report says how the new instance is used, and until then it may be reclaimed).
    if (own) {
      inst.inFlight++;
      this.hosts.inFlight[inst.host]!++;
    }
    inst.lastUsedMs = nowMs;
    inst.warmUntilMs = 0;
    state.prewarmAtMs = 0;
  }

  private busyOf(fn: FunctionState): number {
    let n = 0;
    for (const inst of fn.instances) n += inst.inFlight + inst.remote;
    return n;
  }

  release(instance: string, nowMs: number): void {
    const inst = this.instances.get(instance);
    if (inst === undefined) return;
    this.finish(inst, nowMs);
  }

  private finish(inst: InstanceState, nowMs: number): void {
    if (inst.inFlight <= 0) return;
    inst.inFlight--;
    inst.lastUsedMs = nowMs;
    this.hosts.inFlight[inst.host]!--;
    this.maybeIdle(inst.fn, nowMs);
  }

  /** The function has nothing in flight any more: its idle period (and any pre-warm window) starts. */
  private maybeIdle(fn: FunctionState, nowMs: number): void {
    if (this.busyOf(fn) > 0) return;
    fn.idleSinceMs = nowMs;
    const windows = keepAliveWindows(fn.policy.keepAlive ?? this.options.keepAlive, fn.histogram);
    fn.prewarmAtMs = windows.prewarmMs > 0 ? nowMs + windows.prewarmMs : 0;
    fn.prewarmKeepMs = windows.keepAliveMs;
  }

  /**
   * What a host reports of an instance it runs: requests it admitted itself in flight now,
   * and when it was last used (epoch ms).
   */
  report(instance: string, remote: number, lastUsedMs: number, nowMs: number): void {
    const inst = this.instances.get(instance);
    if (inst === undefined) return;
    const fn = inst.fn;
    const wasBusy = this.busyOf(fn) > 0;
    if (!wasBusy && remote > 0 && fn.idleSinceMs >= 0) fn.histogram.record(Math.max(0, lastUsedMs - fn.idleSinceMs));
    inst.remote = Math.max(0, remote);
    if (lastUsedMs > inst.lastUsedMs) {
      inst.lastUsedMs = lastUsedMs;
      inst.warmUntilMs = 0;
      fn.prewarmAtMs = 0;
    }
    if (wasBusy || remote > 0) this.maybeIdle(fn, Math.min(nowMs, inst.lastUsedMs));
  }

  /** The host said the instance had no free slot: count it full until its next report. */
  markFull(instance: string): void {
    const inst = this.instances.get(instance);
    if (inst === undefined) return;
    inst.remote = Math.max(inst.remote, (inst.fn.policy.concurrency ?? this.options.concurrency) - inst.inFlight);
  }

  private throttle(reason: ThrottleReason, message: string, evicted: InstanceRef[]): Acquired {
    return { ok: false, reason, retryAfterMs: schedulerDefaults.retryAfterMs, message, evicted };
  }

  private demandOf(state: FunctionState) {
    const policy = state.policy;
    return { tenant: policy.tenant, memoryMiB: policy.expectedMiB ?? schedulerDefaults.expectedMiB, ...(policy.pin ? { pin: policy.pin } : {}), ...(policy.avoid ? { avoid: policy.avoid } : {}) };
  }

  /** Whether some host other than `except` could take a new instance of the function now (evictions aside). */
  private canPlace(state: FunctionState, except: number): boolean {
    const demand = this.demandOf(state);
    return this.hosts.choose(demand, this.options.placement, this.options.tenantAntiAffinity, undefined, (h) => h !== except) >= 0;
  }

  /**
   * A new instance of `key` on the policy's host — or on `only`, for a host's miss —
   * evicting idle instances if it must.
   */
  private place(state: FunctionState, key: string, nowMs: number, evicted: InstanceRef[], only?: number, exclude?: number): InstanceState | undefined {
    const policy = state.policy;
    const demand = this.demandOf(state);
    // Soft: a function's instances go to hosts that run none of it yet, while there are
    // such hosts — a host that dies takes less of it down, and its load uses every core.
    const used = new Set<number>();
    for (const inst of state.instances) used.add(inst.host);
    const prefer = used.size === 0 ? undefined : (h: number) => !used.has(h);
    const where = only !== undefined ? (h: number) => h === only : exclude !== undefined ? (h: number) => h !== exclude : undefined;
    let host = this.hosts.choose(demand, this.options.placement, this.options.tenantAntiAffinity, prefer, where);
    for (let attempt = 0; host < 0 && attempt < 64; attempt++) {
      const victim = this.lruIdle((h) => this.hosts.allowed(h, demand, false) && (where === undefined || where(h)));
      if (victim === undefined) break;
      evicted.push(this.drop(victim));
      host = this.hosts.choose(demand, this.options.placement, this.options.tenantAntiAffinity, prefer, where);
    }
    if (host < 0) return undefined;
    const inst: InstanceState = {
      id: `${key}#${++this.sequence}`,
      key,
      fn: state,
      host,
      inFlight: 0,
      remote: 0,
      lastUsedMs: nowMs,
      memoryMiB: demand.memoryMiB,
      provisioned: false,
      warmUntilMs: 0,
    };
    this.instances.set(inst.id, inst);
    state.instances.push(inst);
    this.hosts.add(host, policy.tenant, inst.memoryMiB);
    return inst;
  }

  /** The least recently used idle, unprovisioned instance on a host `where` accepts. */
  private lruIdle(where: (host: number) => boolean): InstanceState | undefined {
    let victim: InstanceState | undefined;
    for (const inst of this.instances.values()) {
      if (inst.inFlight + inst.remote === 0 && !inst.provisioned && (victim === undefined || inst.lastUsedMs < victim.lastUsedMs) && where(inst.host)) victim = inst;
    }
    return victim;
  }

  private drop(inst: InstanceState): InstanceRef {
    if (this.instances.delete(inst.id)) {
      const list = inst.fn.instances;
      const i = list.indexOf(inst);
      if (i >= 0) list.splice(i, 1);
      this.hosts.remove(inst.host, inst.fn.policy.tenant, inst.memoryMiB);
      // A dropped busy instance's requests end with it.
      while (inst.inFlight > 0) this.finish(inst, inst.lastUsedMs);
    }
    return { instance: inst.id, host: inst.host };
  }

  // — what hosts tell us —

  /** The instance no longer exists (limit hit, crash); the next request places a new one. */
  forget(instance: string): void {
    const inst = this.instances.get(instance);
    if (inst !== undefined) this.drop(inst);
  }

  hostDown(host: number): void {
    this.hosts.up[host] = 0;
    for (const inst of [...this.instances.values()]) if (inst.host === host) this.drop(inst);
  }

  hostUp(host: number): void {
    this.hosts.up[host] = 1;
  }

  /** What an instance really uses, MiB, as its host measured it. */
  reportMemory(instance: string, usedMiB: number): void {
    const inst = this.instances.get(instance);
    if (inst === undefined || !Number.isFinite(usedMiB) || usedMiB < 0) return;
    this.hosts.setUsed(inst.host, this.hosts.usedMiB[inst.host]! + usedMiB - inst.memoryMiB);
    inst.memoryMiB = usedMiB;
  }

  // — time —

  /** Keep-alive expiry, reclamation and pre-warming, as of `nowMs`. */
  tick(nowMs: number): TickResult {
    const stop: InstanceRef[] = [];
    const warm: TickResult["warm"] = [];
    for (const fn of this.functions.values()) {
      const policy = fn.policy;
      const windows = keepAliveWindows(policy.keepAlive ?? this.options.keepAlive, fn.histogram);
      const min = policy.maxInstances === 0 ? 0 : Math.min(policy.minInstances ?? 0, policy.maxInstances ?? Infinity);
      let provisioned = 0;
      for (const inst of [...fn.instances]) {
        if (inst.key === policy.key && provisioned < min) {
          inst.provisioned = true;
          provisioned++;
          continue;
        }
        inst.provisioned = false;
        if (inst.inFlight + inst.remote > 0) continue;
        const expired =
          !serves(policy, inst.key) ||
          (inst.warmUntilMs > 0
            ? nowMs >= inst.warmUntilMs
            : windows.prewarmMs > 0
              ? // Hybrid with a pre-warm window: unloaded right after the last request.
                true
              : nowMs - inst.lastUsedMs >= windows.keepAliveMs);
        if (expired) stop.push(this.drop(inst));
      }
      // Provisioned concurrency: start what is missing.
      for (let i = provisioned; i < min; i++) {
        const inst = this.place(fn, policy.key, nowMs, stop);
        if (inst === undefined) break;
        inst.provisioned = true;
        warm.push({ instance: inst.id, host: inst.host, key: inst.key, fn: policy.fn });
      }
      // Hybrid pre-warm: an instance loaded shortly before the next request is likely.
      if (fn.prewarmAtMs > 0 && nowMs >= fn.prewarmAtMs && this.busyOf(fn) === 0 && policy.maxInstances !== 0) {
        fn.prewarmAtMs = 0;
        if (!fn.instances.some((i) => i.key === policy.key)) {
          const inst = this.place(fn, policy.key, nowMs, stop);
          if (inst !== undefined) {
            inst.warmUntilMs = nowMs + fn.prewarmKeepMs;
            warm.push({ instance: inst.id, host: inst.host, key: inst.key, fn: policy.fn });
          }
        }
      }
    }
    // Reclamation: hosts over their memory capacity lose idle instances, LRU first.
    for (let h = 0; h < this.hosts.size; h++) {
      while (this.hosts.usedMiB[h]! > this.hosts.capacityMiB[h]!) {
        const victim = this.lruIdle((host) => host === h);
        if (victim === undefined) break;
        stop.push(this.drop(victim));
      }
    }
    return { stop, warm };
  }

  // — reading —

  instancesOf(fn: string): { instance: string; host: number; inFlight: number; key: string; provisioned: boolean }[] {
    return (this.functions.get(fn)?.instances ?? []).map((i) => ({ instance: i.id, host: i.host, inFlight: i.inFlight + i.remote, key: i.key, provisioned: i.provisioned }));
  }

  get instanceCount(): number {
    return this.instances.size;
  }

  keepAliveOf(fn: string): { prewarmMs: number; keepAliveMs: number; samples: number } | undefined {
    const state = this.functions.get(fn);
    if (state === undefined) return undefined;
    return { ...keepAliveWindows(state.policy.keepAlive ?? this.options.keepAlive, state.histogram), samples: state.histogram.samples };
  }
}
