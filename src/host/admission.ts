/**
 * Admission in a worker host: whether a request may run here now, without asking anyone.
 *
 * A request needs a slot on an instance of its function's live version (each instance
 * serves `concurrency` at once) and a token of its tenant (a tenant's requests in flight
 * across the node are capped; the primary splits that budget between hosts as tokens).
 * Both are local in the common case. On a miss the host asks the primary once for what it
 * lacks — a new instance placed here, a relay to another host, more tokens, or a throttle
 * with its reason — and requests that miss at the same time wait for that one answer:
 * a burst for a cold function starts one instance, not one per request. Tokens beyond
 * what the host is using (plus a small spare the primary suggests) go back.
 */
import type { ErrorData } from "../errors/index.ts";
import type { AcquireResult, InstanceSpec } from "./protocol.ts";

/** One instance of this host, as admission counts it. */
export interface Slots<I> {
  id: string;
  key: string;
  concurrency: number;
  inFlight: number;
  /** Settles when the instance is loaded (or failed to load: then it is gone). */
  ready: Promise<I | undefined>;
  loaded: I | undefined;
  /** Why it could not be started, when it could not. */
  failure: ErrorData | undefined;
  gone: boolean;
  /** Over the stuck threshold: its thread is taken by one invocation's long entry. */
  stuck(): boolean;
  draining(): boolean;
}

interface TenantTokens {
  held: number;
  inFlight: number;
  spare: number;
  /** An ask for tokens in flight: others wait for it instead of asking again. */
  asking: Promise<void> | undefined;
}

export type Admitted<I> =
  | { kind: "run"; slots: Slots<I>; instance: I; cold: boolean; release(): void }
  | { kind: "relay"; release(): void }
  | { kind: "throttle"; reason: "function_limit" | "tenant_limit" | "no_capacity"; message: string; retryAfterMs: number }
  | { kind: "gone"; message: string }
  /** The instance placed for it could not be started (its module throws, a limit at load …). */
  | { kind: "failed"; error: ErrorData };

export interface AdmissionDeps<I> {
  /** The primary's answer to a miss. */
  acquire(fn: string, key: string, token: boolean, instance: boolean): Promise<AcquireResult>;
  /** Creates the instance the primary placed here (the slots are counted while it loads). */
  place(spec: InstanceSpec): Slots<I>;
  /** Tokens this host gives back. */
  giveBack(tenant: string, n: number): void;
}

/** An instance is skipped for new requests once one entry has held its thread this long. */
export const stuckEntryMs = 50;

export class Admission<I> {
  private readonly deps: AdmissionDeps<I>;
  private readonly tenants = new Map<string, TenantTokens>();
  private readonly byKey = new Map<string, Slots<I>[]>();
  private readonly byId = new Map<string, Slots<I>>();
  /** Instance placements asked for and not yet answered, by key: one at a time per key. */
  private readonly placing = new Map<string, Promise<void>>();
  private releaseWaiters: (() => void)[] = [];

  constructor(deps: AdmissionDeps<I>) {
    this.deps = deps;
  }

  private tenant(name: string): TenantTokens {
    let t = this.tenants.get(name);
    if (t === undefined) {
      t = { held: 0, inFlight: 0, spare: 0, asking: undefined };
      this.tenants.set(name, t);
    }
    return t;
  }

  /** Adds an instance this host runs (placed on a miss, warmed by the primary, or sent with an invoke). */
  add(slots: Slots<I>): void {
    let list = this.byKey.get(slots.key);
    if (list === undefined) {
      list = [];
      this.byKey.set(slots.key, list);
    }
    list.push(slots);
    this.byId.set(slots.id, slots);
  }

  remove(id: string): Slots<I> | undefined {
    const slots = this.byId.get(id);
    if (slots === undefined) return undefined;
    this.byId.delete(id);
    const list = this.byKey.get(slots.key)!;
    list.splice(list.indexOf(slots), 1);
    if (list.length === 0) this.byKey.delete(slots.key);
    slots.gone = true;
    this.wakeWaiters();
    return slots;
  }

  get(id: string): Slots<I> | undefined {
    return this.byId.get(id);
  }

  all(): Slots<I>[] {
    return [...this.byId.values()];
  }

  /** The busiest instance of `key` with a free slot (so the others can go idle), not stuck or draining. */
  private pick(key: string): Slots<I> | undefined {
    let best: Slots<I> | undefined;
    for (const s of this.byKey.get(key) ?? []) {
      if (s.gone || s.inFlight >= s.concurrency || s.draining() || s.stuck()) continue;
      if (best === undefined || s.inFlight > best.inFlight) best = s;
    }
    return best;
  }

  /** The hot path: a slot on a loaded instance and a token this host holds, or undefined (ask `admit`). */
  tryAdmit(tenant: string, key: string): Extract<Admitted<I>, { kind: "run" }> | undefined {
    const t = this.tenants.get(tenant);
    if (t === undefined || t.held <= t.inFlight) return undefined;
    const slots = this.pick(key);
    if (slots === undefined || slots.loaded === undefined) return undefined;
    t.inFlight++;
    slots.inFlight++;
    return { kind: "run", slots, instance: slots.loaded, cold: false, release: () => this.release(tenant, slots) };
  }

  /**
   * A slot and a token for one request of function `fn` (tenant `tenant`, version `key`),
   * or why not. `queueWaitMs`: how long a throttled request waits for a slot to free first.
   */
  async admit(fn: string, tenant: string, key: string, queueWaitMs = 0): Promise<Admitted<I>> {
    const waitUntil = performance.now() + queueWaitMs;
    const t = this.tenant(tenant);
    for (let round = 0; ; round++) {
      const hasToken = t.held > t.inFlight;
      const slots = this.pick(key);
      if (hasToken && slots !== undefined) {
        t.inFlight++;
        slots.inFlight++;
        const cold = slots.loaded === undefined;
        const instance = slots.loaded ?? (await slots.ready);
        if (instance === undefined) {
          // It failed to load: the slot and token go back; the request gets the reason.
          slots.inFlight--;
          this.releaseToken(tenant, t);
          if (slots.failure !== undefined) return { kind: "failed", error: slots.failure };
          if (round > 3) return { kind: "gone", message: "the function's instance could not be started; retry" };
          continue;
        }
        return { kind: "run", slots, instance, cold, release: () => this.release(tenant, slots) };
      }
      // A miss. Wait for an ask already on its way for the same thing, else ask.
      const needToken = !hasToken;
      const needInstance = slots === undefined && !this.placing.has(key);
      if (needToken && t.asking !== undefined) {
        await t.asking;
        continue;
      }
      if (!needToken && !needInstance) {
        await this.placing.get(key);
        continue;
      }
      let settle!: () => void;
      const asked = new Promise<void>((resolve) => (settle = resolve));
      if (needToken) t.asking = asked;
      if (needInstance) this.placing.set(key, asked);
      let result: AcquireResult;
      try {
        result = await this.deps.acquire(fn, key, needToken, needInstance);
      } catch (err) {
        settle();
        throw err;
      } finally {
        if (t.asking === asked) t.asking = undefined;
        if (this.placing.get(key) === asked) this.placing.delete(key);
      }
      t.held += result.kind === "gone" ? 0 : result.tokens;
      if (result.kind !== "gone") t.spare = result.spare;
      if (result.kind === "place") this.add(this.deps.place(result.spec));
      settle();
      if (result.kind === "relay") {
        if (t.held <= t.inFlight) continue; // the token went to a request that waited
        t.inFlight++;
        return { kind: "relay", release: () => this.releaseToken(tenant, t) };
      }
      if (result.kind === "gone") return result;
      if (result.kind === "throttle") {
        const left = waitUntil - performance.now();
        if (left <= 0) return result;
        await this.waitForRelease(left);
      }
    }
  }

  /**
   * A slot on instance `id` for a request the primary sends (it holds the tenant's token):
   * undefined when the instance is not here, is going, or has no free slot.
   */
  async take(id: string): Promise<{ slots: Slots<I>; instance: I; cold: boolean; release(): void } | undefined> {
    const slots = this.get(id);
    if (slots === undefined || slots.gone || slots.draining() || slots.inFlight >= slots.concurrency) return undefined;
    slots.inFlight++;
    const cold = slots.loaded === undefined;
    const instance = slots.loaded ?? (await slots.ready);
    const release = () => {
      slots.inFlight--;
      this.wakeWaiters();
    };
    if (instance === undefined) {
      release();
      return undefined;
    }
    return { slots, instance, cold, release };
  }

  private release(tenant: string, slots: Slots<I>): void {
    slots.inFlight--;
    this.releaseToken(tenant, this.tenant(tenant));
  }

  private releaseToken(tenant: string, t: TenantTokens): void {
    t.inFlight--;
    const extra = t.held - t.inFlight - t.spare;
    if (extra > 0) {
      t.held -= extra;
      this.deps.giveBack(tenant, extra);
    }
    this.wakeWaiters();
  }

  /** The primary wants `tenant`'s tokens that are not in use now: returns how many it gets. */
  reclaim(tenant: string): number {
    const t = this.tenants.get(tenant);
    if (t === undefined) return 0;
    const free = Math.max(0, t.held - t.inFlight);
    t.held -= free;
    return free;
  }

  /** Tokens held per tenant (the primary's view is rebuilt from these after a restart of it). */
  heldTokens(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [name, t] of this.tenants) if (t.held > 0) out.set(name, t.held);
    return out;
  }

  private waitForRelease(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      const waiters = this.releaseWaiters;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      waiters.push(done);
    });
  }

  private wakeWaiters(): void {
    if (this.releaseWaiters.length === 0) return;
    const waiters = this.releaseWaiters;
    this.releaseWaiters = [];
    for (const wake of waiters) wake();
  }
}
