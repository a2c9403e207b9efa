/**
 * The primary's side of tenant tokens (control/tenant-budget.ts): a holder that needs one
 * gets it from what is free, or — when none is — after the other holders gave back what
 * they hold but do not use. Only then is the answer `tenant_limit`. Reclaims of one
 * tenant run one at a time; a host that does not answer counts as giving nothing.
 */
import type { Holder, TenantBudget } from "../control/index.ts";

export class AdmissionBudgets {
  private readonly budget: TenantBudget;
  private readonly reclaimFrom: (host: number, tenant: string) => Promise<number>;
  private readonly reclaiming = new Map<string, Promise<void>>();

  constructor(budget: TenantBudget, reclaimFrom: (host: number, tenant: string) => Promise<number>) {
    this.budget = budget;
    this.reclaimFrom = reclaimFrom;
  }

  /** Tokens for `holder` (hosts get a chunk, the primary exactly `want`); 0 means the tenant is at its limit. */
  async acquire(holder: Holder, tenant: string, want = 1): Promise<number> {
    const exact = holder === "primary";
    let n = this.budget.grant(holder, tenant, want, exact);
    if (n > 0) return n;
    await this.reclaim(tenant, holder);
    n = this.budget.grant(holder, tenant, want, exact);
    return n;
  }

  private reclaim(tenant: string, except: Holder): Promise<void> {
    const running = this.reclaiming.get(tenant);
    if (running !== undefined) return running;
    const work = (async () => {
      const hosts = this.budget.holdersOf(tenant, except).filter((h): h is number => h !== "primary");
      const back = await Promise.all(hosts.map((h) => this.reclaimFrom(h, tenant).then((n) => [h, n] as const)));
      for (const [h, n] of back) if (n > 0) this.budget.release(h, tenant, n);
    })();
    this.reclaiming.set(tenant, work);
    return work.finally(() => this.reclaiming.delete(tenant));
  }

  release(holder: Holder, tenant: string, n: number): void {
    this.budget.release(holder, tenant, n);
  }

  limitOf(tenant: string): number {
    return this.budget.limitOf(tenant);
  }

  chunk(tenant: string): number {
    return this.budget.chunk(tenant);
  }

  setLimit(tenant: string, limit: number): void {
    this.budget.setLimit(tenant, limit);
  }

  /** A host is gone: its tokens are free again. */
  dropHost(host: number): void {
    this.budget.dropHolder(host);
  }
}
