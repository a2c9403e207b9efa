/**
 * What one tenant's SQL databases may hold on this node, all together (`flick up
 * --tenant-sql-mib`): without it a tenant could fill the node's disk with 50 databases of
 * 500 MiB each, and every tenant's KV, logs and queue share that disk.
 *
 * A database's size is SQLite's (page_count × page_size, what the runner reports after
 * each call). SQLite enforces the limit itself: a call runs with max_page_count set to what
 * this grants it when it is sent to its runner, and a write past that fails with
 * SQLITE_FULL and is rolled back. The grant is the database's size plus a share of what the
 * tenant has left: what its databases hold and what calls running now were granted are
 * taken off the quota, and a call gets 1/R of the rest (R = the number of runners, the most
 * of a tenant's calls that can run at once), so calls running together can never pass the
 * quota between them. A call alone may therefore grow its database by at most 1/R of what
 * is left; far from the quota the database's own limit is the smaller one.
 */
export interface SqlGrant {
  readonly tenant: string;
  readonly file: string;
  /** The size the database may reach in this call, bytes (the runner's max_page_count). */
  readonly maxBytes: number;
  /** Whether the tenant's quota, not the database's own limit, set `maxBytes`. */
  readonly byTenant: boolean;
  /** Bytes beyond the database's size held for this call until it settles. */
  readonly room: number;
}

export class TenantSqlQuota {
  private readonly quotaBytes: number;
  private readonly dbMaxBytes: number;
  private readonly shares: number;
  /** Each database's size on record, by file, with its tenant. */
  private readonly sizes = new Map<string, { tenant: string; bytes: number }>();
  /** What each tenant's databases hold, summed. */
  private readonly used = new Map<string, number>();
  /** What calls running now were granted beyond their databases' sizes, by tenant. */
  private readonly reserved = new Map<string, number>();

  constructor(quotaBytes: number, dbMaxBytes: number, shares: number) {
    this.quotaBytes = quotaBytes;
    this.dbMaxBytes = dbMaxBytes;
    this.shares = Math.max(1, shares);
  }

  get quota(): number {
    return this.quotaBytes;
  }

  /** What the tenant's databases hold, bytes. */
  usedBy(tenant: string): number {
    return this.used.get(tenant) ?? 0;
  }

  /** Records a database's size (at start-up from its file, after each call from SQLite's count). */
  record(tenant: string, file: string, bytes: number): void {
    const before = this.sizes.get(file)?.bytes ?? 0;
    this.sizes.set(file, { tenant, bytes });
    this.used.set(tenant, this.usedBy(tenant) - before + bytes);
  }

  /** The database is gone (`flick db rm`): its bytes no longer count. */
  forget(file: string): void {
    const had = this.sizes.get(file);
    if (had === undefined) return;
    this.sizes.delete(file);
    const left = this.usedBy(had.tenant) - had.bytes;
    if (left > 0) this.used.set(had.tenant, left);
    else this.used.delete(had.tenant);
  }

  /** What a call on `file` may grow it to; held until `settle`. */
  grant(tenant: string, file: string): SqlGrant {
    const size = this.sizes.get(file)?.bytes ?? 0;
    const ownRoom = Math.max(0, this.dbMaxBytes - size);
    const left = Math.max(0, this.quotaBytes - this.usedBy(tenant) - (this.reserved.get(tenant) ?? 0));
    const share = Math.floor(left / this.shares);
    const room = Math.min(ownRoom, share);
    if (room > 0) this.reserved.set(tenant, (this.reserved.get(tenant) ?? 0) + room);
    return { tenant, file, maxBytes: size + room, byTenant: share < ownRoom, room };
  }

  /** The call ended: its hold is let go, and the database's size is what the runner counted (when it said). */
  settle(grant: SqlGrant, sizeAfter: number | undefined): void {
    if (grant.room > 0) {
      const left = (this.reserved.get(grant.tenant) ?? 0) - grant.room;
      if (left > 0) this.reserved.set(grant.tenant, left);
      else this.reserved.delete(grant.tenant);
    }
    // A database removed while the call ran stays forgotten.
    if (sizeAfter !== undefined && this.sizes.has(grant.file)) this.record(grant.tenant, grant.file, sizeAfter);
  }
}
