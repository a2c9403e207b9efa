/**
 * The embedded queue: its own SQLite file (`queue.db`) in WAL mode. What acknowledges
 * something to a client — a new invocation (the 202), a replay — commits with
 * `synchronous=FULL`: the WAL is fsynced before the answer, so neither a killed process
 * nor a power cut loses it. The bookkeeping of attempts (claims, leases, ends) commits
 * with `synchronous=NORMAL`: a killed process still loses none of it, and a power cut can
 * only roll an invocation back to an earlier state, from which it runs again (at least
 * once, never zero); the next FULL commit makes those earlier ones durable too. Measured:
 * fsync on every commit halved async throughput. A separate file from flick.db, so log
 * writes never wait on these fsyncs. Callers batch (queue/group-commit.ts): one fsync
 * covers every invocation that arrived while the previous one ran.
 *
 * Per tenant, `queue_tenants` (sqlite-queue-tenants.ts) keeps what it has queued or
 * running, which its quota bounds, and what the round robin of claims needs; every
 * statement here that inserts, deletes or moves an invocation between states counts its
 * change there in the same transaction, so the quota check in `enqueue` is exact.
 */
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { FlickError } from "../errors/index.ts";
import type { DeadReason, InvocationKind, InvocationRecord, InvocationStatus } from "../model/index.ts";
import { queueFullError } from "./queue-full.ts";
import type { EnqueueOptions, EnqueueResult, Enqueued, Finish, NewInvocation, QueueCounts, QueueQuota, QueueStore, QueueUsage } from "./queue-store.ts";
import { unavailableReason } from "./sqlite-errors.ts";
import { QueueTenants, queueTenantsSchema, type Tally } from "./sqlite-queue-tenants.ts";
import { inTransaction } from "./sqlite-transaction.ts";

const schema = `
CREATE TABLE IF NOT EXISTS invocations (
  id TEXT PRIMARY KEY, function TEXT NOT NULL, tenant TEXT NOT NULL, kind TEXT NOT NULL,
  status TEXT NOT NULL, payload BLOB NOT NULL, content_type TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, failures INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, next_at INTEGER NOT NULL, lease_until INTEGER,
  idempotency_key TEXT, result TEXT, last_error TEXT, dead_reason TEXT);
CREATE INDEX IF NOT EXISTS invocations_due ON invocations (status, next_at);
CREATE INDEX IF NOT EXISTS invocations_lease ON invocations (status, lease_until);
CREATE INDEX IF NOT EXISTS invocations_idempotency ON invocations (function, idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX IF NOT EXISTS invocations_by_function ON invocations (function, status, updated_at);
CREATE TABLE IF NOT EXISTS cron_state (function TEXT NOT NULL, expression TEXT NOT NULL, last_ms INTEGER NOT NULL, PRIMARY KEY (function, expression));
`;

/**
 * Steps from one `user_version` of queue.db to the next, each in one transaction; a file
 * made by an earlier Flick (version 0: the schema above) is brought up to date on open.
 */
const migrations: string[] = [
  // 1: hops; per-tenant usage, due hint and round-robin turn, with the index a fair claim reads.
  `ALTER TABLE invocations ADD COLUMN hops INTEGER NOT NULL DEFAULT 0; ${queueTenantsSchema}`,
  // 2: the W3C trace context its attempts continue.
  "ALTER TABLE invocations ADD COLUMN trace TEXT; ALTER TABLE invocations ADD COLUMN trace_state TEXT;",
  // 3: who holds a running invocation's lease (a node, by name), so a restarted node takes back only its own.
  "ALTER TABLE invocations ADD COLUMN holder TEXT;",
];

type Row = Record<string, unknown>;

function recordOf(row: Row): InvocationRecord {
  const payload = row["payload"] as Uint8Array;
  return {
    id: row["id"] as string,
    function: row["function"] as string,
    tenant: row["tenant"] as string,
    kind: row["kind"] as InvocationKind,
    status: row["status"] as InvocationStatus,
    hops: Number(row["hops"] ?? 0),
    payload: new Uint8Array(payload),
    contentType: (row["content_type"] as string | null) ?? null,
    attempts: Number(row["attempts"]),
    failures: Number(row["failures"]),
    createdAtMs: Number(row["created_at"]),
    updatedAtMs: Number(row["updated_at"]),
    nextAtMs: Number(row["next_at"]),
    leaseUntilMs: row["lease_until"] === null ? null : Number(row["lease_until"]),
    idempotencyKey: (row["idempotency_key"] as string | null) ?? null,
    result: row["result"] === null ? null : (JSON.parse(row["result"] as string) as InvocationRecord["result"]),
    lastError: row["last_error"] === null ? null : (JSON.parse(row["last_error"] as string) as InvocationRecord["lastError"]),
    deadReason: (row["dead_reason"] as DeadReason | null) ?? null,
    trace: (row["trace"] as string | null | undefined) ?? null,
    traceState: (row["trace_state"] as string | null | undefined) ?? null,
  };
}

/** A write SQLite refused for a reason outside Flick (sqlite-errors.ts) becomes a 503 with Retry-After. */
function unavailable(err: unknown): unknown {
  const why = unavailableReason(err);
  if (why === undefined || err instanceof FlickError) return err;
  return new FlickError("store_unavailable", `the invocation was not accepted: ${why}; nothing was queued, retry in 1 s`, {
    details: { retryAfterSeconds: 1 },
    cause: err,
  });
}

export class SqliteQueue implements QueueStore {
  private readonly db: DatabaseSync;
  private readonly q: Record<string, StatementSync>;
  private readonly tenants: QueueTenants;

  /** `busyTimeoutMs`: how long a write waits for another process's lock before a 503 (the event loop waits too). */
  constructor(dataDir: string, options: { busyTimeoutMs?: number } = {}) {
    this.db = new DatabaseSync(path.join(dataDir, "queue.db"));
    this.db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=${Math.max(0, Math.floor(options.busyTimeoutMs ?? 1000))};`);
    inTransaction(this.db, () => {
      this.db.exec(schema);
      const version = Number((this.db.prepare("PRAGMA user_version").get() as Row)["user_version"]);
      for (let v = version; v < migrations.length; v++) this.db.exec(migrations[v]!);
      if (version < migrations.length) this.db.exec(`PRAGMA user_version = ${migrations.length}`);
    });
    const prepare = (sql: string) => this.db.prepare(sql);
    this.q = {
      insert: prepare(
        `INSERT INTO invocations (id, function, tenant, kind, status, payload, content_type, created_at, updated_at, next_at, idempotency_key, hops, trace, trace_state)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      byKey: prepare("SELECT id FROM invocations WHERE function = ? AND idempotency_key = ? AND created_at >= ? ORDER BY created_at LIMIT 1"),
      expired: prepare(`SELECT * FROM invocations WHERE status = 'running' AND lease_until <= ? ORDER BY lease_until LIMIT ?`),
      take: prepare("UPDATE invocations SET status = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ?, holder = ? WHERE id = ?"),
      extend: prepare("UPDATE invocations SET lease_until = ? WHERE id = ? AND status = 'running'"),
      // Each statement that moves an invocation returns what its tenant's tally needs.
      complete: prepare(
        `UPDATE invocations SET status = 'completed', result = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'running'
         RETURNING tenant, length(payload) AS bytes`,
      ),
      retry: prepare(
        `UPDATE invocations SET status = 'queued', next_at = ?, last_error = ?, failures = failures + ?, lease_until = NULL, updated_at = ?
         WHERE id = ? AND status = 'running' RETURNING tenant, next_at`,
      ),
      dead: prepare(
        `UPDATE invocations SET status = 'dead', dead_reason = ?, last_error = ?, failures = failures + ?, lease_until = NULL, updated_at = ?
         WHERE id = ? AND status = 'running' RETURNING tenant, length(payload) AS bytes`,
      ),
      // A lease without a holder was taken before migration 3, by the only node that ever used this file.
      releaseHeld: prepare(
        "UPDATE invocations SET status = 'queued', next_at = ?1, updated_at = ?1, lease_until = NULL, holder = NULL WHERE status = 'running' AND (holder = ?2 OR holder IS NULL) RETURNING tenant",
      ),
      get: prepare("SELECT * FROM invocations WHERE id = ?"),
      listOne: prepare("SELECT * FROM invocations WHERE function = ? AND status = ? ORDER BY updated_at DESC LIMIT ?"),
      // Newest of every status: each status read along the (function, status, updated_at) index, never a sort of all of them.
      listAll: prepare(
        `SELECT * FROM (
           SELECT * FROM (SELECT * FROM invocations WHERE function = ?1 AND status = 'queued' ORDER BY updated_at DESC LIMIT ?2)
           UNION ALL SELECT * FROM (SELECT * FROM invocations WHERE function = ?1 AND status = 'running' ORDER BY updated_at DESC LIMIT ?2)
           UNION ALL SELECT * FROM (SELECT * FROM invocations WHERE function = ?1 AND status = 'completed' ORDER BY updated_at DESC LIMIT ?2)
           UNION ALL SELECT * FROM (SELECT * FROM invocations WHERE function = ?1 AND status = 'dead' ORDER BY updated_at DESC LIMIT ?2)
         ) ORDER BY updated_at DESC LIMIT ?2`,
      ),
      deadOf: prepare("SELECT id, tenant, length(payload) AS bytes FROM invocations WHERE function = ? AND status = 'dead'"),
      replayOne: prepare(
        `UPDATE invocations SET status = 'queued', attempts = 0, failures = 0, next_at = ?, dead_reason = NULL, created_at = ?, updated_at = ?
         WHERE function = ? AND status = 'dead' AND id = ? RETURNING id, tenant, length(payload) AS bytes`,
      ),
      nextQueued: prepare("SELECT MIN(next_at) AS t FROM invocations WHERE status = 'queued'"),
      nextLease: prepare("SELECT MIN(lease_until) AS t FROM invocations WHERE status = 'running'"),
      counts: prepare("SELECT status, COUNT(*) AS n FROM invocations GROUP BY status"),
      backlog: prepare("SELECT status, COUNT(*) AS n, MIN(created_at) AS oldest FROM invocations WHERE status IN ('queued', 'running', 'dead') GROUP BY status"),
      countsOf: prepare("SELECT status, COUNT(*) AS n FROM invocations WHERE function = ? GROUP BY status"),
      pruneCompleted: prepare("DELETE FROM invocations WHERE status = 'completed' AND updated_at < ?"),
      pruneDead: prepare("DELETE FROM invocations WHERE status = 'dead' AND updated_at < ?"),
      removeFunction: prepare("DELETE FROM invocations WHERE function = ? RETURNING tenant, status IN ('queued', 'running') AS unfinished, length(payload) AS bytes"),
      removeCron: prepare("DELETE FROM cron_state WHERE function = ?"),
      cronState: prepare("SELECT function, expression, last_ms FROM cron_state"),
      setCron: prepare(
        "INSERT INTO cron_state (function, expression, last_ms) VALUES (?, ?, ?) ON CONFLICT (function, expression) DO UPDATE SET last_ms = excluded.last_ms",
      ),
    };
    this.tenants = new QueueTenants(this.db);
  }

  /** One transaction; `durable`: committed with synchronous=FULL (fsynced before it returns). */
  private transaction<T>(work: () => T, durable = false): T {
    if (durable) this.db.exec("PRAGMA synchronous=FULL");
    try {
      return inTransaction(this.db, work);
    } finally {
      if (durable) this.db.exec("PRAGMA synchronous=NORMAL");
    }
  }

  async enqueue(groups: readonly (readonly NewInvocation[])[], options: EnqueueOptions): Promise<EnqueueResult[]> {
    try {
      return this.transaction(() => {
        // Keys first used within this transaction count too, and so does what it added.
        const batchKeys = new Map<string, string>();
        const tally = this.tenants.tally();
        const results = groups.map((group) => this.enqueueGroup(group, options, batchKeys, tally));
        tally.apply();
        return results;
      }, true);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** One group inside the enqueue transaction: duplicates found, the quota checked, then all of it inserted or none. */
  private enqueueGroup(group: readonly NewInvocation[], options: EnqueueOptions, batchKeys: Map<string, string>, tally: Tally): EnqueueResult {
    const items: Enqueued[] = [];
    const fresh: NewInvocation[] = [];
    const keys = new Map<string, string>();
    const adding = new Map<string, QueueUsage>();
    for (const item of group) {
      if (item.idempotencyKey !== null) {
        const slot = `${item.function}\0${item.idempotencyKey}`;
        const first = keys.get(slot) ?? batchKeys.get(slot) ?? (this.q["byKey"]!.get(item.function, item.idempotencyKey, options.idempotencySinceMs) as Row | undefined)?.["id"];
        if (typeof first === "string") {
          items.push({ id: first, duplicate: true });
          continue;
        }
        keys.set(slot, item.id);
      }
      fresh.push(item);
      items.push({ id: item.id, duplicate: false });
      const add = adding.get(item.tenant) ?? { messages: 0, bytes: 0 };
      adding.set(item.tenant, { messages: add.messages + 1, bytes: add.bytes + item.payload.byteLength });
    }
    for (const [tenant, add] of adding) {
      const refusal = this.overQuota(tenant, add, options.quotaOf(tenant), tally);
      if (refusal !== undefined) return refusal;
    }
    for (const item of fresh) {
      this.q["insert"]!.run(
        item.id, item.function, item.tenant, item.kind, item.payload, item.contentType,
        item.createdAtMs, item.createdAtMs, item.nextAtMs, item.idempotencyKey, item.hops, item.trace ?? null, item.traceState ?? null,
      );
      tally.add(item.tenant, 1, item.payload.byteLength, item.nextAtMs);
    }
    for (const [slot, id] of keys) batchKeys.set(slot, id);
    return { ok: true, items };
  }

  /** Whether adding `add` takes `tenant` past `quota`, counted in the open transaction (its `tally` included). */
  private overQuota(tenant: string, add: QueueUsage, quota: QueueQuota, tally: Tally): Extract<EnqueueResult, { ok: false }> | undefined {
    const usage = tally.usage(tenant);
    if (usage.messages + add.messages <= quota.maxMessages && usage.bytes + add.bytes <= quota.maxBytes) return undefined;
    return { ok: false, tenant, usage, quota, adding: add };
  }

  async usage(tenant: string): Promise<QueueUsage> {
    return this.tenants.usage(tenant);
  }

  async claim(nowMs: number, limit: number, leaseUntilMs: number, holder: string): Promise<InvocationRecord[]> {
    return this.transaction(() => {
      // Running to running: no tenant's usage changes.
      const take = (row: Row) => this.q["take"]!.run(leaseUntilMs, nowMs, holder, row["id"] as string);
      const rows = this.q["expired"]!.all(nowMs, limit) as Row[];
      rows.forEach(take);
      if (rows.length < limit) rows.push(...this.tenants.takeDue(nowMs, limit - rows.length, take));
      return rows.map((row) => {
        const record = recordOf(row);
        return { ...record, status: "running" as const, attempts: record.attempts + 1, leaseUntilMs, updatedAtMs: nowMs };
      });
    });
  }

  async extendLeases(ids: readonly string[], leaseUntilMs: number): Promise<void> {
    if (ids.length === 0) return;
    this.transaction(() => {
      for (const id of ids) this.q["extend"]!.run(leaseUntilMs, id);
    });
  }

  async finish(batch: readonly Finish[]): Promise<void> {
    if (batch.length === 0) return;
    this.transaction(() => {
      const tally = this.tenants.tally();
      for (const f of batch) {
        if (f.outcome === "retry") {
          const row = this.q["retry"]!.get(f.nextAtMs, JSON.stringify(f.error), f.failed ? 1 : 0, f.nowMs, f.id) as Row | undefined;
          if (row !== undefined) tally.add(row["tenant"] as string, 0, 0, Number(row["next_at"]));
          continue;
        }
        const row = (f.outcome === "completed"
          ? this.q["complete"]!.get(JSON.stringify(f.result), f.nowMs, f.id)
          : this.q["dead"]!.get(f.reason, JSON.stringify(f.error), f.failed ? 1 : 0, f.nowMs, f.id)) as Row | undefined;
        if (row !== undefined) tally.add(row["tenant"] as string, -1, -Number(row["bytes"]));
      }
      tally.apply();
    });
  }

  async releaseHeld(holder: string, nowMs: number): Promise<number> {
    return this.transaction(() => {
      const rows = this.q["releaseHeld"]!.all(nowMs, holder) as Row[];
      const tally = this.tenants.tally();
      for (const row of rows) tally.add(row["tenant"] as string, 0, 0, nowMs);
      tally.apply();
      return rows.length;
    });
  }

  async get(id: string): Promise<InvocationRecord | undefined> {
    const row = this.q["get"]!.get(id) as Row | undefined;
    return row === undefined ? undefined : recordOf(row);
  }

  async list(fn: string, status: InvocationStatus | null, limit: number): Promise<InvocationRecord[]> {
    const rows = status === null ? this.q["listAll"]!.all(fn, limit) : this.q["listOne"]!.all(fn, status, limit);
    return (rows as Row[]).map(recordOf);
  }

  async replay(fn: string, ids: readonly string[] | null, nowMs: number, quotaOf: (tenant: string) => QueueQuota): Promise<string[]> {
    return this.transaction(() => {
      const all = this.q["deadOf"]!.all(fn) as Row[];
      const byId = new Map<string, Row>(all.map((r) => [r["id"] as string, r]));
      const dead = ids === null ? all : [...new Set(ids)].map((id) => byId.get(id)).filter((r) => r !== undefined);
      // Queued again, they count against the quota like new ones: all of them fit, or none goes.
      const adding = new Map<string, QueueUsage>();
      for (const r of dead) {
        const tenant = r["tenant"] as string;
        const add = adding.get(tenant) ?? { messages: 0, bytes: 0 };
        adding.set(tenant, { messages: add.messages + 1, bytes: add.bytes + Number(r["bytes"]) });
      }
      const tally = this.tenants.tally();
      for (const [tenant, add] of adding) {
        const refusal = this.overQuota(tenant, add, quotaOf(tenant), tally);
        if (refusal !== undefined) throw queueFullError(refusal);
      }
      const replayed = dead.flatMap((r) => this.q["replayOne"]!.all(nowMs, nowMs, nowMs, fn, r["id"] as string) as Row[]);
      for (const r of replayed) tally.add(r["tenant"] as string, 1, Number(r["bytes"]), nowMs);
      tally.apply();
      return replayed.map((r) => r["id"] as string);
    }, true);
  }

  async nextWakeMs(): Promise<number | null> {
    const queued = (this.q["nextQueued"]!.get() as Row)["t"];
    const lease = (this.q["nextLease"]!.get() as Row)["t"];
    const times = [queued, lease].filter((t): t is number | bigint => t !== null && t !== undefined).map(Number);
    return times.length === 0 ? null : Math.min(...times);
  }

  async backlog(): Promise<{ queued: number; running: number; dead: number; oldestQueuedMs: number | null }> {
    const out = { queued: 0, running: 0, dead: 0, oldestQueuedMs: null as number | null };
    for (const row of this.q["backlog"]!.all() as Row[]) {
      const status = row["status"] as "queued" | "running" | "dead";
      out[status] = Number(row["n"]);
      if (status === "queued") out.oldestQueuedMs = Number(row["oldest"]);
    }
    return out;
  }

  async counts(fn?: string): Promise<QueueCounts> {
    const rows = (fn === undefined ? this.q["counts"]!.all() : this.q["countsOf"]!.all(fn)) as Row[];
    const counts: QueueCounts = { queued: 0, running: 0, completed: 0, dead: 0 };
    for (const row of rows) counts[row["status"] as InvocationStatus] = Number(row["n"]);
    return counts;
  }

  async prune(completedBeforeMs: number, deadBeforeMs: number): Promise<number> {
    // Only completed and dead ones: no tenant's usage changes.
    return this.transaction(
      () => Number(this.q["pruneCompleted"]!.run(completedBeforeMs).changes) + Number(this.q["pruneDead"]!.run(deadBeforeMs).changes),
    );
  }

  async removeFunction(fn: string): Promise<void> {
    this.transaction(() => {
      const tally = this.tenants.tally();
      for (const row of this.q["removeFunction"]!.all(fn) as Row[]) {
        if (Number(row["unfinished"]) === 1) tally.add(row["tenant"] as string, -1, -Number(row["bytes"]));
      }
      tally.apply();
      this.q["removeCron"]!.run(fn);
    });
  }

  async cronState(): Promise<{ fn: string; expression: string; lastMs: number }[]> {
    return (this.q["cronState"]!.all() as Row[]).map((r) => ({ fn: r["function"] as string, expression: r["expression"] as string, lastMs: Number(r["last_ms"]) }));
  }

  async setCronState(fn: string, expression: string, lastMs: number): Promise<void> {
    this.q["setCron"]!.run(fn, expression, lastMs);
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
