/**
 * A tenant's requests in flight across the node, exactly capped, without asking anyone on
 * the hot path: the budget (`limit`) is split into tokens held by holders — each worker
 * host, and the primary for what it runs itself — and a request runs only with a token
 * its holder has. The sum of what holders have never exceeds the limit, so neither does
 * the number of requests in flight.
 *
 * Holders ask for tokens in chunks (`chunk`: a slice of the limit, so a busy host asks
 * rarely) and give back what they hold beyond their use plus that chunk. When a holder
 * needs one and none is free, the primary reclaims unused tokens from the others before
 * it says `tenant_limit` (node/admission-budgets.ts). Pure: no I/O, no time.
 */
export type Holder = number | "primary";

interface TenantState {
  limit: number;
  granted: Map<Holder, number>;
  total: number;
}

export class TenantBudget {
  private readonly defaultLimit: number;
  private readonly holders: () => number;
  private readonly tenants = new Map<string, TenantState>();

  /** `holders`: how many hosts share budgets now (sizes the chunks). */
  constructor(defaultLimit: number, holders: () => number) {
    this.defaultLimit = defaultLimit;
    this.holders = holders;
  }

  private state(tenant: string): TenantState {
    let s = this.tenants.get(tenant);
    if (s === undefined) {
      s = { limit: this.defaultLimit, granted: new Map(), total: 0 };
      this.tenants.set(tenant, s);
    }
    return s;
  }

  setLimit(tenant: string, limit: number): void {
    this.state(tenant).limit = limit;
  }

  limitOf(tenant: string): number {
    return this.state(tenant).limit;
  }

  /** Tokens a holder may keep unused: a quarter of an even share, at least one. */
  chunk(tenant: string): number {
    return Math.max(1, Math.floor(this.state(tenant).limit / (4 * Math.max(1, this.holders()))));
  }

  /** Free tokens (never negative, even right after a lowered limit). */
  free(tenant: string): number {
    const s = this.state(tenant);
    return Math.max(0, s.limit - s.total);
  }

  /** Gives `holder` up to `want` tokens (at least a chunk when free, unless `exact`); returns how many. */
  grant(holder: Holder, tenant: string, want = 1, exact = false): number {
    const s = this.state(tenant);
    const n = Math.min(this.free(tenant), exact ? want : Math.max(want, this.chunk(tenant)));
    if (n <= 0) return 0;
    s.granted.set(holder, (s.granted.get(holder) ?? 0) + n);
    s.total += n;
    return n;
  }

  /** `holder` gives back `n` tokens (never more than it has). */
  release(holder: Holder, tenant: string, n: number): void {
    const s = this.state(tenant);
    const had = s.granted.get(holder) ?? 0;
    const back = Math.min(had, Math.max(0, n));
    if (had - back === 0) s.granted.delete(holder);
    else s.granted.set(holder, had - back);
    s.total -= back;
  }

  /** Holders other than `except` with tokens of `tenant`: those a reclaim should ask. */
  holdersOf(tenant: string, except?: Holder): Holder[] {
    return [...this.state(tenant).granted.keys()].filter((h) => h !== except);
  }

  /** A host is gone: whatever it held is free again. */
  dropHolder(holder: Holder): void {
    for (const s of this.tenants.values()) {
      const had = s.granted.get(holder);
      if (had === undefined) continue;
      s.granted.delete(holder);
      s.total -= had;
    }
  }

  /** Tokens held, by tenant (for `flick info` and tests). */
  inUse(tenant: string): number {
    return this.state(tenant).total;
  }
}
