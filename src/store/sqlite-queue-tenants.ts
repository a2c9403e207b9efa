/**
 * The per-tenant side of the embedded queue (`queue_tenants` in queue.db): what each tenant
 * has queued or running — messages and payload bytes, what its quota bounds — a lower
 * bound of its earliest due time, so a claim skips tenants with nothing due, and the claim
 * turn that last served it, for the round robin.
 *
 * Kept by the statements that change invocations, in their transaction (a `Tally` of each
 * transaction's changes, summed per tenant): measured, a trigger on the invocations table
 * made every claim twice as slow, since SQLite then builds the old and new row of every
 * update. Every statement that inserts, deletes or changes the status or due time of an
 * invocation must go through a tally; the store's tests recount the table to check it.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { QueueUsage } from "./queue-store.ts";

type Row = Record<string, unknown>;

/** Created by queue.db's migration 1 (sqlite-queue.ts). */
export const queueTenantsSchema = `
  CREATE TABLE queue_tenants (
    tenant TEXT PRIMARY KEY,
    messages INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0,
    -- at or before the earliest next_at of its queued invocations; NULL: none queued
    next_due INTEGER,
    -- the claim turn that last served it; the lowest goes first
    served INTEGER NOT NULL DEFAULT 0);
  INSERT INTO queue_tenants (tenant, messages, bytes, next_due)
    SELECT tenant, SUM(status IN ('queued', 'running')), SUM(CASE WHEN status IN ('queued', 'running') THEN length(payload) ELSE 0 END),
           MIN(CASE WHEN status = 'queued' THEN next_at END)
    FROM invocations GROUP BY tenant;
  -- "The next due invocations of tenant T": a seek, whatever the backlog.
  CREATE INDEX invocations_tenant_due ON invocations (tenant, status, next_at);`;

/** Changes to tenants' usage within one transaction, written once per tenant by `apply`. */
export class Tally {
  private readonly changes = new Map<string, { messages: number; bytes: number; due: number | null }>();
  private readonly stored = new Map<string, QueueUsage>();
  private readonly tenants: QueueTenants;
  private readonly account: StatementSync;

  constructor(tenants: QueueTenants, account: StatementSync) {
    this.tenants = tenants;
    this.account = account;
  }

  /** What `tenant` has with this tally's changes: read once a transaction, as nobody else writes meanwhile. */
  usage(tenant: string): QueueUsage {
    let stored = this.stored.get(tenant);
    if (stored === undefined) this.stored.set(tenant, (stored = this.tenants.usage(tenant)));
    const c = this.changes.get(tenant);
    return { messages: stored.messages + (c?.messages ?? 0), bytes: stored.bytes + (c?.bytes ?? 0) };
  }

  /** `messages`, `bytes`: what the tenant has more (or less); `dueAt`: an invocation of it is queued for then. */
  add(tenant: string, messages: number, bytes: number, dueAt: number | null = null): void {
    const c = this.changes.get(tenant) ?? { messages: 0, bytes: 0, due: null };
    const due = dueAt === null ? c.due : c.due === null ? dueAt : Math.min(c.due, dueAt);
    this.changes.set(tenant, { messages: c.messages + messages, bytes: c.bytes + bytes, due });
  }

  apply(): void {
    for (const [tenant, c] of this.changes) this.account.run(tenant, c.messages, c.bytes, c.due);
    this.changes.clear();
    this.stored.clear();
  }
}

export class QueueTenants {
  private readonly q: Record<string, StatementSync>;

  constructor(db: DatabaseSync) {
    const prepare = (sql: string) => db.prepare(sql);
    this.q = {
      usage: prepare("SELECT messages, bytes FROM queue_tenants WHERE tenant = ?"),
      account: prepare(
        `INSERT INTO queue_tenants (tenant, messages, bytes, next_due) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant) DO UPDATE SET messages = messages + ?2, bytes = bytes + ?3,
           next_due = CASE WHEN ?4 IS NULL THEN next_due ELSE MIN(COALESCE(next_due, ?4), ?4) END`,
      ),
      // Tenants that may have something due, the one served least recently first.
      dueTenants: prepare("SELECT tenant FROM queue_tenants WHERE next_due <= ? ORDER BY served, tenant"),
      lastTurn: prepare("SELECT COALESCE(MAX(served), 0) AS turn FROM queue_tenants"),
      served: prepare("UPDATE queue_tenants SET served = ? WHERE tenant = ?"),
      // One tenant's next due invocations, first in first out (invocations_tenant_due).
      tenantDue: prepare("SELECT * FROM invocations WHERE tenant = ? AND status = 'queued' AND next_at <= ? ORDER BY next_at LIMIT ?"),
      refreshDue: prepare("UPDATE queue_tenants SET next_due = (SELECT MIN(next_at) FROM invocations WHERE tenant = ?1 AND status = 'queued') WHERE tenant = ?1"),
    };
  }

  usage(tenant: string): QueueUsage {
    const row = this.q["usage"]!.get(tenant) as Row | undefined;
    return row === undefined ? { messages: 0, bytes: 0 } : { messages: Number(row["messages"]), bytes: Number(row["bytes"]) };
  }

  tally(): Tally {
    return new Tally(this, this.q["account"]!);
  }

  /**
   * Up to `limit` due invocations, round robin across tenants, each passed to `take` (which
   * marks it running) as it is chosen. In passes over the tenants with something due,
   * least recently served first, each takes an equal share (at least one) of what is left,
   * first in first out; one with fewer drops out. So with N tenants waiting, a claim of N
   * or more gives each some, and smaller claims take turns. Each tenant costs an index
   * seek, never a scan of its backlog. The result is dealt in turns: a, b, c, a, b, …
   */
  takeDue(nowMs: number, limit: number, take: (row: Row) => void): Row[] {
    let active = (this.q["dueTenants"]!.all(nowMs) as Row[]).map((r) => r["tenant"] as string);
    let turn = Number((this.q["lastTurn"]!.get() as Row)["turn"]);
    const taken: Row[] = [];
    while (taken.length < limit && active.length > 0) {
      let left = limit - taken.length;
      const share = Math.max(1, Math.floor(left / active.length));
      const pass: Row[][] = [];
      const next: string[] = [];
      for (const tenant of active) {
        if (left === 0) break;
        const want = Math.min(share, left);
        const rows = this.q["tenantDue"]!.all(tenant, nowMs, want) as Row[];
        for (const row of rows) take(row);
        left -= rows.length;
        if (rows.length > 0) {
          pass.push(rows);
          this.q["served"]!.run(++turn, tenant);
        }
        // Fewer than asked: nothing more is due; its hint moves to its next due time (or none).
        if (rows.length < want) this.q["refreshDue"]!.run(tenant);
        else next.push(tenant);
      }
      for (let i = 0; pass.some((rows) => i < rows.length); i++) {
        for (const rows of pass) if (i < rows.length) taken.push(rows[i]!);
      }
      active = next;
    }
    return taken;
  }
}
