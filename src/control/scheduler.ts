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
 * - Limits, checked in order: the tenant's requests in flight (default 1000), the
 *   function's max instances (0 = the kill switch), and capacity. Beyond them `acquire`
 *   says which (`tenant_limit`, `function_limit`, `no_capacity`) and when to retry.
 * - Keep-alive and pre-warm (keep-alive.ts), per function: fixed TTL or the hybrid
 *   histogram policy; provisioned instances (`minInstances`) are kept warm always.
 * - Reclamation: a host over its memory capacity loses idle instances, LRU first.
 */
import { IdleTimeHistogram, keepAliveWindows, type KeepAliveSpec } from "./keep-alive.ts";
import { HostTable, type HostSpec, type Labels, type PlacementPolicy } from "./placement.ts";

export type ThrottleReason = "function_limit" | "tenant_limit" | "no_capacity";

/** How the node wants one function run; `configure` it on deploy, scale and start. */
export interface FunctionPolicy {
  /** `<tenant>/<name>`. */
  fn: string;
  tenant: string;
  /** The live version's key, `<tenant>/<name>@<version id>`: warm instances are made of it. */
  key: string;
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
  /** Requests one instance takes before another is started (default 16). */
  concurrency: number;
  placement: PlacementPolicy;
  keepAlive: KeepAliveSpec;
  /** Requests in flight per tenant (default 1000; per tenant with `setTenantLimit`). */
  tenantConcurrency: number;
  /** A host serves one tenant at a time. */
  tenantAntiAffinity: boolean;
}

export const schedulerDefaults = {
  concurrency: 16,
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
  | { ok: false; reason: ThrottleReason; retryAfterMs: number; message: string; evicted: InstanceRef[] };

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
  inFlight: number;
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
  inFlight: number;
  /** When the function last went idle (no request in flight), or -1 before its first request. */
  idleSinceMs: number;
  histogram: IdleTimeHistogram;
  /** A pre-warm is due at this time (hybrid policy), or 0. */
  prewarmAtMs: number;
  /** The warm window a pre-warm opens, ms. */
  prewarmKeepMs: number;
}

interface TenantState {
  inFlight: number;
  limit: number;
}

export class Scheduler {
  private readonly options: SchedulerOptions;
  readonly hosts: HostTable;
  private readonly functions = new Map<string, FunctionState>();
  private readonly instances = new Map<string, InstanceState>();
  private readonly tenants = new Map<string, TenantState>();
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
      state = { policy, instances: [], inFlight: 0, idleSinceMs: -1, histogram: new IdleTimeHistogram(), prewarmAtMs: 0, prewarmKeepMs: 0 };
      this.functions.set(policy.fn, state);
      return [];
    }
    state.policy = policy;
    const stop: InstanceRef[] = [];
    for (const inst of [...state.instances]) {
      // Old versions' idle instances go now; busy ones finish and go on release.
      if (inst.key !== policy.key && inst.inFlight === 0) stop.push(this.drop(inst));
    }
    // The kill switch stops everything at once, busy or not; a lower cap stops idle extras.
    const max = policy.maxInstances;
    if (max === 0) for (const inst of [...state.instances]) stop.push(this.drop(inst));
    else if (max !== undefined) {
      for (const inst of state.instances.filter((i) => i.inFlight === 0).sort((a, b) => a.lastUsedMs - b.lastUsedMs)) {
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

  setTenantLimit(tenant: string, limit: number): void {
    this.tenant(tenant).limit = limit;
  }

  private tenant(name: string): TenantState {
    let t = this.tenants.get(name);
    if (t === undefined) {
      t = { inFlight: 0, limit: this.options.tenantConcurrency };
      this.tenants.set(name, t);
    }
    return t;
  }

  // — requests —

  /** A slot for one request of function `fn`'s version `key`, or why not. */
  acquire(fn: string, key: string, nowMs: number): Acquired {
    const state = this.functions.get(fn);
    if (state === undefined) throw new Error(`scheduler: ${fn} is not configured`);
    const policy = state.policy;
    const tenant = this.tenant(policy.tenant);
    const evicted: InstanceRef[] = [];
    if (tenant.inFlight >= tenant.limit) {
      return this.throttle("tenant_limit", `tenant ${policy.tenant} has ${tenant.inFlight} requests in flight, its limit`, evicted);
    }
    const concurrency = policy.concurrency ?? this.options.concurrency;
    let best: InstanceState | undefined;
    for (const inst of state.instances) {
      if (inst.key === key && inst.inFlight < concurrency && (best === undefined || inst.inFlight > best.inFlight)) best = inst;
    }
    let cold = false;
    if (best === undefined) {
      if (policy.maxInstances !== undefined && state.instances.length >= policy.maxInstances) {
        return this.throttle(
          "function_limit",
          policy.maxInstances === 0 ? `${fn} is stopped (max instances 0)` : `${fn} runs its maximum of ${policy.maxInstances} instances, all busy`,
          evicted,
        );
      }
      best = this.place(state, key, nowMs, evicted);
      if (best === undefined) return this.throttle("no_capacity", `no host has room for another instance of ${fn}`, evicted);
      cold = true;
    }
    if (state.inFlight === 0 && state.idleSinceMs >= 0) state.histogram.record(nowMs - state.idleSinceMs);
    best.inFlight++;
    best.lastUsedMs = nowMs;
    best.warmUntilMs = 0;
    state.inFlight++;
    state.prewarmAtMs = 0;
    tenant.inFlight++;
    this.hosts.inFlight[best.host]!++;
    return { ok: true, instance: best.id, host: best.host, cold, evicted };
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
    const fn = inst.fn;
    fn.inFlight--;
    this.tenant(fn.policy.tenant).inFlight--;
    this.hosts.inFlight[inst.host]!--;
    if (fn.inFlight === 0) {
      fn.idleSinceMs = nowMs;
      const windows = keepAliveWindows(fn.policy.keepAlive ?? this.options.keepAlive, fn.histogram);
      fn.prewarmAtMs = windows.prewarmMs > 0 ? nowMs + windows.prewarmMs : 0;
      fn.prewarmKeepMs = windows.keepAliveMs;
    }
  }

  private throttle(reason: ThrottleReason, message: string, evicted: InstanceRef[]): Acquired {
    return { ok: false, reason, retryAfterMs: schedulerDefaults.retryAfterMs, message, evicted };
  }

  /** A new instance of `key` on the policy's host, evicting idle instances if it must. */
  private place(state: FunctionState, key: string, nowMs: number, evicted: InstanceRef[]): InstanceState | undefined {
    const policy = state.policy;
    const demand = { tenant: policy.tenant, memoryMiB: policy.expectedMiB ?? schedulerDefaults.expectedMiB, ...(policy.pin ? { pin: policy.pin } : {}), ...(policy.avoid ? { avoid: policy.avoid } : {}) };
    // Soft: a function's instances go to hosts that run none of it yet, while there are
    // such hosts — a host that dies takes less of it down, and its load uses every core.
    const used = new Set<number>();
    for (const inst of state.instances) used.add(inst.host);
    const prefer = used.size === 0 ? undefined : (h: number) => !used.has(h);
    let host = this.hosts.choose(demand, this.options.placement, this.options.tenantAntiAffinity, prefer);
    for (let attempt = 0; host < 0 && attempt < 64; attempt++) {
      const victim = this.lruIdle((h) => this.hosts.allowed(h, demand, false));
      if (victim === undefined) break;
      evicted.push(this.drop(victim));
      host = this.hosts.choose(demand, this.options.placement, this.options.tenantAntiAffinity, prefer);
    }
    if (host < 0) return undefined;
    const inst: InstanceState = {
      id: `${key}#${++this.sequence}`,
      key,
      fn: state,
      host,
      inFlight: 0,
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
      if (inst.inFlight === 0 && !inst.provisioned && (victim === undefined || inst.lastUsedMs < victim.lastUsedMs) && where(inst.host)) victim = inst;
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
        if (inst.inFlight > 0) continue;
        const expired =
          inst.key !== policy.key ||
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
      if (fn.prewarmAtMs > 0 && nowMs >= fn.prewarmAtMs && fn.inFlight === 0 && policy.maxInstances !== 0) {
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
    return (this.functions.get(fn)?.instances ?? []).map((i) => ({ instance: i.id, host: i.host, inFlight: i.inFlight, key: i.key, provisioned: i.provisioned }));
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
