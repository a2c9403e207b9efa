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
 *
 * Cost: a node may know a million functions, most of them idle for hours. Nothing here
 * walks them all: `tick` takes what is due from a deadline heap (an idle instance's
 * expiry, a function's pre-warm) plus the few functions with provisioned instances;
 * idle instances are kept in one list in order of last use for eviction; a function's
 * busy count is kept, not summed. A function costs a small object until its first idle
 * period, when its histogram is made.
 */
import { DeadlineHeap } from "./deadline-heap.ts";
import { IdleTimeHistogram, hybridTuning, idleSchedule, isIdlePeriod, keepAliveWindows, type IdleSchedule, type KeepAliveBasis, type KeepAliveSpec, type KeepAliveWindows } from "./keep-alive.ts";
import { HostTable, type HostSpec, type InstanceDemand, type Labels, type PlacementPolicy } from "./placement.ts";

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
  /**
   * A small number for the instance while it exists, reused once it is gone: a caller that
   * keeps its own books per instance (flick sim) indexes an array with it instead of hashing
   * the id. Check the id when a ref may be stale.
   */
  slot: number;
}

declare const functionHandle: unique symbol;
/** A configured function, for callers that look it up once and acquire many times (`handleOf`). */
export type FunctionHandle = { readonly [functionHandle]: true };

export type Acquired =
  | { ok: true; instance: string; host: number; slot: number; cold: boolean; evicted: InstanceRef[] }
  /** For a host's miss: nothing can be placed on it, but another host can run the request. */
  | { ok: "relay"; evicted: InstanceRef[] }
  | { ok: false; reason: ThrottleReason; retryAfterMs: number; message: string; evicted: InstanceRef[] };

export interface AcquireOptions {
  /** The host whose own instances are full (a miss): place there if at all possible. */
  origin?: number;
  /** A host not to use (the one a relayed request came from). */
  exclude?: number;
  /**
   * The key's requests come one at a time and must all reach one instance (a durable
   * object's: its memory is the object's). Its instance takes the request whatever its
   * load says — the last request's release may not have reached us yet — and a new one is
   * placed only when it has none.
   */
  sole?: boolean;
}

export interface TickResult {
  /** Instances to stop (idle past their keep-alive, reclaimed, over a lowered cap). */
  stop: InstanceRef[];
  /** Instances to start without a request (provisioned or pre-warmed), already placed. */
  warm: (InstanceRef & { key: string; fn: string })[];
}

interface InstanceState {
  id: string;
  /** Its slot (InstanceRef.slot). */
  slot: number;
  key: string;
  fn: FunctionState;
  host: number;
  /** Where it is in `fn.instances` (swap-removed). */
  index: number;
  /** Requests the primary runs on it (exact): acquire/release. */
  inFlight: number;
  /** Requests its host admitted itself, as last reported. */
  remote: number;
  lastUsedMs: number;
  memoryMiB: number;
  /** Kept warm for `minInstances`: never expires, never reclaimed. */
  provisioned: boolean;
  /** Idle: it is stopped at this time (unless used before). */
  expireAtMs: number;
  /** The time of its entry in the deadline heap, or -1 (older entries are stale). */
  queuedAtMs: number;
  dropped: boolean;
  /** The idle list, in order of last use (idle instances only). */
  prevIdle: InstanceState | undefined;
  nextIdle: InstanceState | undefined;
  inIdleList: boolean;
}

interface FunctionState {
  policy: FunctionPolicy;
  // What the hot paths read of the policy, resolved against the node's defaults: copied
  // here at `configure` so that a request does not touch the policy object too (at a
  // million functions each object on the way is a cache miss).
  key: string;
  tenant: string;
  concurrency: number;
  maxInstances: number | undefined;
  spec: KeepAliveSpec;
  instances: InstanceState[];
  /** Requests in flight over all its instances (own and reported). */
  busy: number;
  /** When the function last went idle (no request in flight), or -1 before its first request. */
  idleSinceMs: number;
  /** Made on its first idle period. */
  histogram: IdleTimeHistogram | undefined;
  /** The windows from the histogram; undefined when the policy or (enough of) the samples changed. */
  windows: KeepAliveWindows | undefined;
  /** The histogram's samples when `windows` were worked out. */
  windowsAtSamples: number;
  /** `demandOf` for the current policy. */
  demand: InstanceDemand | undefined;
  /** `scheduleOf` for the current windows. */
  schedule: IdleSchedule | undefined;
  /** A pre-warm is due at this time (hybrid policy), or 0; it keeps what it loads until `prewarmUntilMs`. */
  prewarmAtMs: number;
  prewarmUntilMs: number;
  /** The time of its pre-warm entry in the deadline heap, or -1. */
  queuedAtMs: number;
  /** Forgotten (`remove`): a handle to it is no longer good. */
  removed: boolean;
}

const noOptions: AcquireOptions = Object.freeze({});

/** The function runs as many instances as its cap allows. */
function atMax(state: FunctionState): boolean {
  const max = state.maxInstances;
  return max !== undefined && state.instances.length >= max;
}

function isInstance(item: InstanceState | FunctionState): item is InstanceState {
  return "host" in item;
}

export class Scheduler {
  private readonly options: SchedulerOptions;
  readonly hosts: HostTable;
  private readonly functions = new Map<string, FunctionState>();
  /** The instances, by slot; free slots are reused. */
  private readonly bySlot: (InstanceState | undefined)[] = [];
  private readonly freeSlots: number[] = [];
  private live = 0;
  /**
   * The instances by id, made at the first lookup by id and kept from then on. A node's
   * hosts report by id within a second, so a node has it always; `flick sim` refers to
   * instances by slot and never pays for a million-entry hash map's inserts and deletes.
   */
  private byId: Map<string, InstanceState> | undefined;
  private sequence = 0;
  /** Idle instances' expiries and functions' pre-warms, earliest first. */
  private readonly deadlines = new DeadlineHeap<InstanceState | FunctionState>();
  /** Functions with provisioned instances: looked at every tick. */
  private readonly provisioned = new Set<FunctionState>();
  /** Hosts whose measured memory passed their capacity: reclaimed at the next tick. */
  private readonly overfull = new Set<number>();
  /** Idle instances, least recently used first. */
  private idleHead: InstanceState | undefined;
  private idleTail: InstanceState | undefined;

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.hosts = new HostTable(options.hosts, options.tenantAntiAffinity);
  }

  // — configuration —

  /** Adds or updates a function; returns instances to stop (old versions idle, or over a lowered cap). */
  configure(policy: FunctionPolicy): InstanceRef[] {
    let state = this.functions.get(policy.fn);
    if (state === undefined) {
      state = { policy, key: policy.key, tenant: policy.tenant, concurrency: 0, maxInstances: undefined, spec: this.options.keepAlive, instances: [], busy: 0, idleSinceMs: -1, histogram: undefined, windows: undefined, windowsAtSamples: 0, demand: undefined, schedule: undefined, prewarmAtMs: 0, prewarmUntilMs: 0, queuedAtMs: -1, removed: false };
      this.adopt(state, policy);
      this.functions.set(policy.fn, state);
      if ((policy.minInstances ?? 0) > 0) this.provisioned.add(state);
      return [];
    }
    this.adopt(state, policy);
    state.windows = undefined;
    state.demand = undefined;
    if ((policy.minInstances ?? 0) > 0) this.provisioned.add(state);
    else this.provisioned.delete(state);
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
    // Provisioned status is decided again at the next tick; until then every idle instance
    // keeps the (possibly new) keep-alive from when it went idle.
    for (const inst of state.instances) {
      inst.provisioned = false;
      if (inst.inFlight + inst.remote === 0) this.scheduleExpiry(inst, inst.lastUsedMs);
    }
    return stop;
  }

  /** The function as configured, to pass to `acquire` in place of its name (the same until it is removed). */
  handleOf(fn: string): FunctionHandle | undefined {
    return this.functions.get(fn) as unknown as FunctionHandle | undefined;
  }

  private adopt(state: FunctionState, policy: FunctionPolicy): void {
    state.policy = policy;
    state.key = policy.key;
    state.tenant = policy.tenant;
    state.concurrency = policy.concurrency ?? this.options.concurrency;
    state.maxInstances = policy.maxInstances;
    state.spec = policy.keepAlive ?? this.options.keepAlive;
    state.schedule = undefined;
  }

  /** Forgets a function and returns its instances to stop. */
  remove(fn: string): InstanceRef[] {
    const state = this.functions.get(fn);
    if (state === undefined) return [];
    this.functions.delete(fn);
    state.removed = true;
    this.provisioned.delete(state);
    state.prewarmAtMs = 0;
    return [...state.instances].map((inst) => this.drop(inst));
  }

  // — requests —

  /**
   * A slot for one request of function `fn`'s version `key`, or why not. With
   * `origin` (a host's miss): a new instance on that host when the function and the host
   * allow it, else `relay` when another host can take the request, else a throttle.
   */
  acquire(fn: string | FunctionHandle, key: string, nowMs: number, options: AcquireOptions = noOptions): Acquired {
    const state = typeof fn === "string" ? this.functions.get(fn) : (fn as unknown as FunctionState);
    if (state === undefined || state.removed) throw new Error(`scheduler: ${typeof fn === "string" ? fn : (fn as unknown as FunctionState).policy.fn} is not configured`);
    const policy = state.policy;
    const evicted: InstanceRef[] = [];
    const concurrency = state.concurrency;
    let best: InstanceState | undefined;
    for (const inst of state.instances) {
      if (inst.key !== key || inst.host === options.exclude || inst.host === options.origin) continue;
      if (options.sole === true) {
        best = inst;
        break;
      }
      if (inst.inFlight + inst.remote < concurrency && (best === undefined || inst.inFlight + inst.remote > best.inFlight + best.remote)) best = inst;
    }
    if (options.origin !== undefined) {
      // A host's miss: its own instances of `key` are full (it knows better than our reports).
      if (!atMax(state)) {
        const here = this.place(state, key, nowMs, evicted, options.origin);
        if (here !== undefined) {
          // The host's report says how the new instance is used; until then it is idle (and may be reclaimed).
          this.scheduleExpiry(here, nowMs);
          return { ok: true, instance: here.id, host: here.host, slot: here.slot, cold: true, evicted };
        }
      }
      if (best !== undefined || (!atMax(state) && this.canPlace(state, options.origin))) return { ok: "relay", evicted };
      if (atMax(state)) return this.limited(state, evicted);
      return this.throttle("no_capacity", `no host has room for another instance of ${policy.fn}`, evicted);
    }
    let cold = false;
    if (best === undefined) {
      if (atMax(state)) return this.limited(state, evicted);
      best = this.place(state, key, nowMs, evicted, undefined, options.exclude);
      if (best === undefined) return this.throttle("no_capacity", `no host has room for another instance of ${policy.fn}`, evicted);
      cold = true;
    }
    this.hosts.inFlight[best.host]!++;
    this.setLoad(best, best.inFlight + 1, best.remote, nowMs);
    best.lastUsedMs = nowMs;
    return { ok: true, instance: best.id, host: best.host, slot: best.slot, cold, evicted };
  }

  /** A request on the instance ended (by id, or by a ref whose slot is looked at first). */
  release(instance: string | Pick<InstanceRef, "instance" | "slot">, nowMs: number): void {
    const inst = typeof instance === "string" ? this.lookup(instance) : this.lookup(instance.instance, instance.slot);
    if (inst === undefined || inst.inFlight <= 0) return;
    this.hosts.inFlight[inst.host]!--;
    inst.lastUsedMs = nowMs;
    this.setLoad(inst, inst.inFlight - 1, inst.remote, nowMs);
  }

  /**
   * An instance's requests in flight change to (`inFlight`, `remote`) at `atMs`: the
   * function's busy count, and the moments it goes busy (an idle period ends: a sample)
   * or idle (its keep-alive and any pre-warm start).
   */
  private setLoad(inst: InstanceState, inFlight: number, remote: number, atMs: number): void {
    const fn = inst.fn;
    const before = inst.inFlight + inst.remote;
    const after = inFlight + remote;
    inst.inFlight = inFlight;
    inst.remote = remote;
    if (before === after) return;
    const fnBefore = fn.busy;
    fn.busy += after - before;
    if (before === 0) {
      this.unlistIdle(inst);
      if (fnBefore === 0) this.functionBusy(fn, atMs);
    } else if (after === 0) {
      if (fn.busy === 0) this.functionIdle(fn, atMs);
      this.listIdle(inst);
      this.scheduleExpiry(inst, atMs);
    }
  }

  /** The function's idle period ends: a sample for its histogram, and any pre-warm is off. */
  private functionBusy(fn: FunctionState, atMs: number): void {
    fn.prewarmAtMs = 0;
    if (fn.idleSinceMs < 0) return;
    const spec = this.specOf(fn);
    const idleMs = atMs - fn.idleSinceMs;
    if (!isIdlePeriod(spec, idleMs)) return;
    if (fn.histogram === undefined) {
      fn.histogram = new IdleTimeHistogram(hybridTuning(spec as Extract<KeepAliveSpec, { policy: "hybrid" }>));
    }
    const h = fn.histogram;
    const opened = h.record(idleMs);
    // Windows are worked out again when an idle time lands where none was (a new place to
    // keep or pre-warm for), else once the samples have grown by an eighth: one more idle
    // period among dozens in bins already known moves the cheapest windows little.
    if (opened || h.samples < fn.windowsAtSamples || h.samples >= fn.windowsAtSamples + Math.max(1, fn.windowsAtSamples >>> 3)) fn.windows = undefined;
  }

  /** Nothing in flight any more: the idle period starts, and the pre-warm (if any) is set. */
  private functionIdle(fn: FunctionState, atMs: number): void {
    fn.idleSinceMs = atMs;
    const schedule = this.scheduleOf(fn);
    if (schedule.prewarmAfterMs > 0 && fn.maxInstances !== 0) {
      fn.prewarmAtMs = atMs + schedule.prewarmAfterMs;
      fn.prewarmUntilMs = atMs + schedule.keepUntilMs;
      if (fn.queuedAtMs < 0 || fn.queuedAtMs > fn.prewarmAtMs) {
        fn.queuedAtMs = fn.prewarmAtMs;
        this.deadlines.push(fn.prewarmAtMs, fn);
      }
    } else fn.prewarmAtMs = 0;
  }

  private specOf(fn: FunctionState): KeepAliveSpec {
    return fn.spec;
  }

  private windowsOf(fn: FunctionState): KeepAliveWindows {
    if (fn.windows === undefined) {
      fn.windows = keepAliveWindows(this.specOf(fn), fn.histogram);
      fn.windowsAtSamples = fn.histogram?.samples ?? 0;
      fn.schedule = undefined;
    }
    return fn.windows;
  }

  /** What the windows mean for an idle instance (kept with them: asked for at every release that leaves one idle). */
  private scheduleOf(fn: FunctionState): IdleSchedule {
    const windows = this.windowsOf(fn);
    return (fn.schedule ??= idleSchedule(this.specOf(fn), windows));
  }

  /** An idle instance stops `unloadAfterMs` after `idleSinceMs` (now, for an old version's). */
  private scheduleExpiry(inst: InstanceState, idleSinceMs: number): void {
    const fn = inst.fn;
    inst.expireAtMs = inst.key !== fn.key && !serves(fn.policy, inst.key) ? idleSinceMs : idleSinceMs + this.scheduleOf(fn).unloadAfterMs;
    this.queue(inst);
  }

  /** Puts the instance's expiry in the heap unless an entry at or before it is there (it is looked at again then). */
  private queue(inst: InstanceState): void {
    if (inst.queuedAtMs >= 0 && inst.queuedAtMs <= inst.expireAtMs) return;
    inst.queuedAtMs = inst.expireAtMs;
    this.deadlines.push(inst.expireAtMs, inst);
  }

  /**
   * Into the idle list in order of last use. Usually at the tail; a host's report can tell
   * of a use a little older than instances listed since (it reports every 250 ms), so the
   * place is found walking back from the tail — a few steps at most.
   */
  private listIdle(inst: InstanceState): void {
    if (inst.inIdleList) return;
    inst.inIdleList = true;
    let after = this.idleTail;
    while (after !== undefined && after.lastUsedMs > inst.lastUsedMs) after = after.prevIdle;
    const before = after === undefined ? this.idleHead : after.nextIdle;
    inst.prevIdle = after;
    inst.nextIdle = before;
    if (after !== undefined) after.nextIdle = inst;
    else this.idleHead = inst;
    if (before !== undefined) before.prevIdle = inst;
    else this.idleTail = inst;
  }

  private unlistIdle(inst: InstanceState): void {
    if (!inst.inIdleList) return;
    inst.inIdleList = false;
    if (inst.prevIdle !== undefined) inst.prevIdle.nextIdle = inst.nextIdle;
    else this.idleHead = inst.nextIdle;
    if (inst.nextIdle !== undefined) inst.nextIdle.prevIdle = inst.prevIdle;
    else this.idleTail = inst.prevIdle;
    inst.prevIdle = inst.nextIdle = undefined;
  }

  /**
   * What a host reports of an instance it runs: requests it admitted itself in flight now,
   * and when it was last used (epoch ms).
   */
  report(instance: string, remote: number, lastUsedMs: number, nowMs: number): void {
    const inst = this.lookup(instance);
    if (inst === undefined) return;
    const used = lastUsedMs > inst.lastUsedMs;
    if (used) inst.lastUsedMs = lastUsedMs;
    const r = Math.max(0, remote);
    if (r === inst.remote) {
      // Used and idle again between two reports: an idle period ended and another began.
      if (used && inst.inFlight + r === 0) {
        const fn = inst.fn;
        if (fn.busy === 0) {
          this.functionBusy(fn, Math.min(nowMs, inst.lastUsedMs));
          this.functionIdle(fn, Math.min(nowMs, inst.lastUsedMs));
        }
        this.unlistIdle(inst);
        this.listIdle(inst);
        this.scheduleExpiry(inst, Math.min(nowMs, inst.lastUsedMs));
      }
      return;
    }
    this.setLoad(inst, inst.inFlight, r, Math.min(nowMs, inst.lastUsedMs));
  }

  /** The host said the instance had no free slot: count it full until its next report. */
  markFull(instance: string): void {
    const inst = this.lookup(instance);
    if (inst === undefined) return;
    const full = Math.max(inst.remote, inst.fn.concurrency - inst.inFlight);
    this.setLoad(inst, inst.inFlight, full, inst.lastUsedMs);
  }

  private limited(state: FunctionState, evicted: InstanceRef[]): Acquired {
    const { fn, maxInstances } = state.policy;
    return this.throttle("function_limit", maxInstances === 0 ? `${fn} is stopped (max instances 0)` : `${fn} runs its maximum of ${maxInstances} instances, all busy`, evicted);
  }

  private throttle(reason: ThrottleReason, message: string, evicted: InstanceRef[]): Acquired {
    return { ok: false, reason, retryAfterMs: schedulerDefaults.retryAfterMs, message, evicted };
  }

  /** What a new instance of the function needs from a host: made once per policy (on every cold start it is asked for). */
  private demandOf(state: FunctionState): InstanceDemand {
    if (state.demand === undefined) {
      const policy = state.policy;
      const demand: InstanceDemand = { tenant: policy.tenant, memoryMiB: policy.expectedMiB ?? schedulerDefaults.expectedMiB };
      if (policy.pin) demand.pin = policy.pin;
      if (policy.avoid) demand.avoid = policy.avoid;
      state.demand = demand;
    }
    return state.demand;
  }

  /** Whether some host other than `except` could take a new instance of the function now (evictions aside). */
  private canPlace(state: FunctionState, except: number): boolean {
    const demand = this.demandOf(state);
    return this.hosts.choose(demand, this.options.placement, this.options.tenantAntiAffinity, undefined, (h) => h !== except) >= 0;
  }

  /**
   * A new instance of `key` on the policy's host — or on `only`, for a host's miss —
   * evicting idle instances if it must. It starts idle.
   */
  private place(state: FunctionState, key: string, nowMs: number, evicted: InstanceRef[], only?: number, exclude?: number): InstanceState | undefined {
    const demand = this.demandOf(state);
    // Soft: a function's instances go to hosts that run none of it yet, while there are
    // such hosts — a host that dies takes less of it down, and its load uses every core.
    let prefer: ((h: number) => boolean) | undefined;
    if (state.instances.length > 0) {
      const used = new Set<number>();
      for (const inst of state.instances) used.add(inst.host);
      prefer = (h) => !used.has(h);
    }
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
      slot: this.freeSlots.pop() ?? this.bySlot.length,
      key,
      fn: state,
      host,
      index: state.instances.length,
      inFlight: 0,
      remote: 0,
      lastUsedMs: nowMs,
      memoryMiB: demand.memoryMiB,
      provisioned: false,
      expireAtMs: 0, // set when it is queued (an Infinity here would box every instance's times in V8)
      queuedAtMs: -1,
      dropped: false,
      prevIdle: undefined,
      nextIdle: undefined,
      inIdleList: false,
    };
    this.bySlot[inst.slot] = inst;
    this.live++;
    this.byId?.set(inst.id, inst);
    state.instances.push(inst);
    this.hosts.add(host, state.tenant, inst.memoryMiB);
    this.listIdle(inst);
    return inst;
  }

  /** A live instance by id (its slot, if given, is tried first). */
  private lookup(id: string, slot?: number): InstanceState | undefined {
    if (slot !== undefined) {
      const inst = this.bySlot[slot];
      if (inst !== undefined && inst.id === id) return inst;
    }
    if (this.byId === undefined) {
      this.byId = new Map();
      for (const inst of this.bySlot) if (inst !== undefined) this.byId.set(inst.id, inst);
    }
    return this.byId.get(id);
  }

  /** The least recently used idle, unprovisioned instance on a host `where` accepts. */
  private lruIdle(where: (host: number) => boolean): InstanceState | undefined {
    for (let inst = this.idleHead; inst !== undefined; inst = inst.nextIdle) {
      if (!inst.provisioned && where(inst.host)) return inst;
    }
    return undefined;
  }

  private drop(inst: InstanceState): InstanceRef {
    if (!inst.dropped) {
      inst.dropped = true;
      this.bySlot[inst.slot] = undefined;
      this.freeSlots.push(inst.slot);
      this.live--;
      this.byId?.delete(inst.id);
      const fn = inst.fn;
      const list = fn.instances;
      const last = list.pop()!;
      if (last !== inst) {
        list[inst.index] = last;
        last.index = inst.index;
      }
      this.unlistIdle(inst);
      this.hosts.remove(inst.host, fn.tenant, inst.memoryMiB);
      // A dropped busy instance's requests end with it.
      this.hosts.inFlight[inst.host]! -= inst.inFlight;
      const load = inst.inFlight + inst.remote;
      inst.inFlight = inst.remote = 0;
      if (load > 0) {
        fn.busy -= load;
        if (fn.busy === 0) this.functionIdle(fn, inst.lastUsedMs);
      }
    }
    return { instance: inst.id, host: inst.host, slot: inst.slot };
  }

  // — what hosts tell us —

  /** The instance no longer exists (limit hit, crash); the next request places a new one. */
  forget(instance: string): void {
    const inst = this.lookup(instance);
    if (inst !== undefined) this.drop(inst);
  }

  hostDown(host: number): void {
    this.hosts.up[host] = 0;
    for (const inst of this.bySlot) if (inst !== undefined && inst.host === host) this.drop(inst);
  }

  hostUp(host: number): void {
    this.hosts.up[host] = 1;
  }

  /** What an instance really uses, MiB, as its host measured it. */
  reportMemory(instance: string, usedMiB: number): void {
    const inst = this.lookup(instance);
    if (inst === undefined || !Number.isFinite(usedMiB) || usedMiB < 0) return;
    this.hosts.setUsed(inst.host, this.hosts.usedMiB[inst.host]! + usedMiB - inst.memoryMiB);
    inst.memoryMiB = usedMiB;
    if (this.hosts.usedMiB[inst.host]! > this.hosts.capacityMiB[inst.host]!) this.overfull.add(inst.host);
  }

  // — time —

  /** Keep-alive expiry, reclamation and pre-warming, as of `nowMs`: what is due, not every function. */
  tick(nowMs: number): TickResult {
    const stop: InstanceRef[] = [];
    const warmed: InstanceState[] = [];
    for (const fn of this.provisioned) this.provision(fn, nowMs, stop, warmed);
    const deadlines = this.deadlines;
    while (deadlines.peek() <= nowMs) {
      const at = deadlines.peek();
      const item = deadlines.pop();
      if (item.queuedAtMs !== at) continue; // stale: queued again since
      item.queuedAtMs = -1;
      if (isInstance(item)) this.expire(item, nowMs, stop);
      else this.prewarm(item, nowMs, stop, warmed);
    }
    // Reclamation: hosts over their memory capacity lose idle instances, LRU first.
    for (const h of this.overfull) {
      while (this.hosts.usedMiB[h]! > this.hosts.capacityMiB[h]!) {
        const victim = this.lruIdle((host) => host === h);
        if (victim === undefined) break;
        stop.push(this.drop(victim));
      }
      this.overfull.delete(h);
    }
    // A pre-warm that needed room may have evicted an instance started earlier in this tick:
    // the caller is told of neither (it never started it, and must not start it now).
    let gone = false;
    for (const inst of warmed) gone ||= inst.dropped;
    const started = gone ? warmed.filter((inst) => !inst.dropped) : warmed;
    const warm = started.map((inst) => ({ instance: inst.id, host: inst.host, slot: inst.slot, key: inst.key, fn: inst.fn.policy.fn }));
    return { stop: gone ? stop.filter((ref) => !warmed.some((inst) => inst.dropped && inst.id === ref.instance)) : stop, warm };
  }

  /** An idle instance's expiry came up: stopped, or looked at again when its (later) time comes. */
  private expire(inst: InstanceState, nowMs: number, stop: InstanceRef[]): void {
    if (inst.dropped || inst.provisioned || inst.inFlight + inst.remote > 0) return; // it is queued again when it next goes idle
    if (inst.expireAtMs > nowMs) return this.queue(inst);
    stop.push(this.drop(inst));
  }

  /** Provisioned concurrency: the first `minInstances` of the live version are kept; what is missing is started. */
  private provision(fn: FunctionState, nowMs: number, stop: InstanceRef[], warmed: InstanceState[]): void {
    const policy = fn.policy;
    const min = policy.maxInstances === 0 ? 0 : Math.min(policy.minInstances ?? 0, policy.maxInstances ?? Infinity);
    let provisioned = 0;
    for (const inst of fn.instances) {
      const keep = inst.key === policy.key && provisioned < min;
      if (keep) provisioned++;
      else if (inst.provisioned && inst.inFlight + inst.remote === 0) this.scheduleExpiry(inst, nowMs);
      inst.provisioned = keep;
    }
    for (let i = provisioned; i < min; i++) {
      const inst = this.place(fn, policy.key, nowMs, stop);
      if (inst === undefined) break;
      inst.provisioned = true;
      warmed.push(inst);
    }
  }

  /** A function's pre-warm came up: an instance loaded shortly before the next request is likely. */
  private prewarm(fn: FunctionState, nowMs: number, stop: InstanceRef[], warmed: InstanceState[]): void {
    if (fn.prewarmAtMs === 0 || fn.busy > 0 || fn.maxInstances === 0 || fn.removed) return;
    if (fn.prewarmAtMs > nowMs) {
      fn.queuedAtMs = fn.prewarmAtMs;
      this.deadlines.push(fn.prewarmAtMs, fn);
      return;
    }
    fn.prewarmAtMs = 0;
    // An instance still loaded (kept through a short pre-warm window) is kept on instead of a second one started.
    let kept: InstanceState | undefined;
    for (const inst of fn.instances) if (inst.key === fn.key) kept = inst;
    if (kept === undefined) {
      kept = this.place(fn, fn.key, nowMs, stop);
      if (kept === undefined) return;
      warmed.push(kept);
      kept.expireAtMs = fn.prewarmUntilMs;
    } else kept.expireAtMs = Math.max(kept.expireAtMs, fn.prewarmUntilMs);
    this.queue(kept);
  }

  // — reading —

  instancesOf(fn: string): { instance: string; host: number; inFlight: number; key: string; provisioned: boolean }[] {
    return (this.functions.get(fn)?.instances ?? []).map((i) => ({ instance: i.id, host: i.host, inFlight: i.inFlight + i.remote, key: i.key, provisioned: i.provisioned }));
  }

  get instanceCount(): number {
    return this.live;
  }

  /** A function's keep-alive as it stands: its windows, where they come from, and what its histogram holds. */
  keepAliveOf(fn: string): KeepAliveView | undefined {
    const state = this.functions.get(fn);
    if (state === undefined) return undefined;
    const windows = this.windowsOf(state);
    const h = state.histogram;
    const view: KeepAliveView = { prewarmMs: windows.prewarmMs, keepAliveMs: windows.keepAliveMs, basis: windows.basis, samples: h?.samples ?? 0 };
    if (h !== undefined && h.samples > h.outOfBounds) {
      view.histogram = {
        p5Ms: h.binStartMs(h.percentileBin(0.05)),
        p50Ms: h.binStartMs(h.percentileBin(0.5)),
        p99Ms: h.binStartMs(h.percentileBin(0.99) + 1),
        outOfRange: h.outOfBounds,
        cv: Math.round(h.cv() * 100) / 100,
      };
    }
    return view;
  }
}

/** `keepAliveOf`: what `flick info` shows of a function's keep-alive. */
export interface KeepAliveView {
  prewarmMs: number;
  keepAliveMs: number;
  basis: KeepAliveBasis;
  /** Idle periods seen (halved now and then as new ones come). */
  samples: number;
  /** The histogram's shape (where the 5th, 50th and 99th percentiles' bins start or end, ms), once it holds an idle time within its range. */
  histogram?: { p5Ms: number; p50Ms: number; p99Ms: number; outOfRange: number; cv: number };
}
