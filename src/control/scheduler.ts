/**
 * Where each request runs. Pure: no I/O, time passed in, so it can be unit-tested with a
 * virtual clock and replayed by a simulator. This first policy: a warm instance of the
 * version with a free slot (the busiest one that still has room, so idle ones can expire),
 * else a new instance on the host with the fewest instances; idle instances expire after
 * a fixed TTL. Richer placement, pre-warm and throttling policies plug in here later.
 */
export interface SchedulerOptions {
  hosts: number;
  /** Concurrent requests one instance takes before another instance is started. */
  concurrency: number;
  /** An instance idle this long is stopped (scale to zero). */
  idleTtlMs: number;
}

export interface Placement {
  instance: string;
  host: number;
  /** True when the instance is new: the host will create it (a cold start). */
  cold: boolean;
}

interface InstanceState {
  id: string;
  version: string;
  host: number;
  inFlight: number;
  lastUsedMs: number;
}

export const schedulerDefaults = { concurrency: 16, idleTtlMs: 10 * 60 * 1000 } as const;

export class Scheduler {
  private readonly options: SchedulerOptions;
  private readonly byVersion = new Map<string, InstanceState[]>();
  private readonly byId = new Map<string, InstanceState>();
  private readonly perHost: number[];
  private sequence = 0;

  constructor(options: SchedulerOptions) {
    this.options = options;
    this.perHost = Array.from({ length: options.hosts }, () => 0);
  }

  /** A slot for one request of `version` (a `<tenant>/<function>@<version id>` key). */
  acquire(version: string, nowMs: number): Placement {
    const instances = this.byVersion.get(version);
    let best: InstanceState | undefined;
    if (instances !== undefined) {
      for (const candidate of instances) {
        if (candidate.inFlight < this.options.concurrency && (best === undefined || candidate.inFlight > best.inFlight)) best = candidate;
      }
    }
    if (best !== undefined) {
      best.inFlight++;
      best.lastUsedMs = nowMs;
      return { instance: best.id, host: best.host, cold: false };
    }
    let host = 0;
    for (let h = 1; h < this.perHost.length; h++) if (this.perHost[h]! < this.perHost[host]!) host = h;
    const state: InstanceState = { id: `${version}#${++this.sequence}`, version, host, inFlight: 1, lastUsedMs: nowMs };
    this.byId.set(state.id, state);
    if (instances === undefined) this.byVersion.set(version, [state]);
    else instances.push(state);
    this.perHost[host]!++;
    return { instance: state.id, host, cold: true };
  }

  release(instance: string, nowMs: number): void {
    const state = this.byId.get(instance);
    if (state === undefined) return;
    state.inFlight = Math.max(0, state.inFlight - 1);
    state.lastUsedMs = nowMs;
  }

  /** The instance no longer exists (limit hit, host died); the next request places a new one. */
  forget(instance: string): void {
    const state = this.byId.get(instance);
    if (state === undefined) return;
    this.byId.delete(instance);
    this.perHost[state.host]!--;
    const list = this.byVersion.get(state.version)!;
    list.splice(list.indexOf(state), 1);
    if (list.length === 0) this.byVersion.delete(state.version);
  }

  hostDown(host: number): void {
    for (const state of [...this.byId.values()]) if (state.host === host) this.forget(state.id);
  }

  /** Instances of versions whose key starts with `prefix` (e.g. `<tenant>/<fn>@`), forgotten and returned for the host to drop. */
  evictVersions(prefix: string): { instance: string; host: number }[] {
    const evicted: { instance: string; host: number }[] = [];
    for (const state of [...this.byId.values()]) {
      if (state.version.startsWith(prefix)) {
        this.forget(state.id);
        evicted.push({ instance: state.id, host: state.host });
      }
    }
    return evicted;
  }

  /** Keep-alive expiry: idle instances past the TTL, forgotten and returned for the host to drop. */
  tick(nowMs: number): { instance: string; host: number }[] {
    const expired: { instance: string; host: number }[] = [];
    for (const state of [...this.byId.values()]) {
      if (state.inFlight === 0 && nowMs - state.lastUsedMs >= this.options.idleTtlMs) {
        this.forget(state.id);
        expired.push({ instance: state.id, host: state.host });
      }
    }
    return expired;
  }

  /** Counts for `flick info` and tests. */
  instancesOf(version: string): { instance: string; host: number; inFlight: number }[] {
    return (this.byVersion.get(version) ?? []).map((s) => ({ instance: s.id, host: s.host, inFlight: s.inFlight }));
  }
}
