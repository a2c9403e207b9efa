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
 */
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { FlickError } from "../errors/index.ts";
import type { DeadReason, InvocationKind, InvocationRecord, InvocationStatus } from "../model/index.ts";
import type { Enqueued, Finish, NewInvocation, QueueCounts, QueueStore } from "./queue-store.ts";
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

type Row = Record<string, unknown>;

function recordOf(row: Row): InvocationRecord {
  const payload = row["payload"] as Uint8Array;
  return {
    id: row["id"] as string,
    function: row["function"] as string,
    tenant: row["tenant"] as string,
    kind: row["kind"] as InvocationKind,
    status: row["status"] as InvocationStatus,
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
  };
}

// SQLite primary result codes that mean "cannot write now", not "Flick has a bug".
const unavailableCodes = new Map<number, string>([
  [5, "the queue database is locked by another process (SQLITE_BUSY)"],
  [6, "the queue database is locked (SQLITE_LOCKED)"],
  [8, "the queue database is read-only (SQLITE_READONLY)"],
  [10, "a disk I/O error (SQLITE_IOERR)"],
  [13, "the disk is full (SQLITE_FULL)"],
  [14, "the queue database cannot be opened (SQLITE_CANTOPEN)"],
]);

/** A write SQLite refused for a reason outside Flick becomes a 503 with Retry-After. */
function unavailable(err: unknown): unknown {
  const code = (err as { errcode?: unknown }).errcode;
  if (typeof code !== "number") return err;
  const why = unavailableCodes.get(code & 0xff);
  if (why === undefined) return err;
  return new FlickError("store_unavailable", `the invocation was not accepted: ${why}; nothing was queued, retry in 1 s`, {
    details: { retryAfterSeconds: 1 },
    cause: err,
  });
}

export class SqliteQueue implements QueueStore {
  private readonly db: DatabaseSync;
  private readonly q: Record<string, StatementSync>;

  /** `busyTimeoutMs`: how long a write waits for another process's lock before a 503 (the event loop waits too). */
  constructor(dataDir: string, options: { busyTimeoutMs?: number } = {}) {
    this.db = new DatabaseSync(path.join(dataDir, "queue.db"));
    this.db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=${Math.max(0, Math.floor(options.busyTimeoutMs ?? 1000))};`);
    this.db.exec(schema);
    const prepare = (sql: string) => this.db.prepare(sql);
    this.q = {
      insert: prepare(
        `INSERT INTO invocations (id, function, tenant, kind, status, payload, content_type, created_at, updated_at, next_at, idempotency_key)
         VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)`,
      ),
      byKey: prepare("SELECT id FROM invocations WHERE function = ? AND idempotency_key = ? AND created_at >= ? ORDER BY created_at LIMIT 1"),
      due: prepare(
        `SELECT * FROM invocations WHERE status = 'queued' AND next_at <= ? ORDER BY next_at LIMIT ?`,
      ),
      expired: prepare(`SELECT * FROM invocations WHERE status = 'running' AND lease_until <= ? ORDER BY lease_until LIMIT ?`),
      take: prepare("UPDATE invocations SET status = 'running', attempts = attempts + 1, lease_until = ?, updated_at = ? WHERE id = ?"),
      extend: prepare("UPDATE invocations SET lease_until = ? WHERE id = ? AND status = 'running'"),
      complete: prepare(
        "UPDATE invocations SET status = 'completed', result = ?, lease_until = NULL, updated_at = ? WHERE id = ? AND status = 'running'",
      ),
      retry: prepare(
        `UPDATE invocations SET status = 'queued', next_at = ?, last_error = ?, failures = failures + ?, lease_until = NULL, updated_at = ?
         WHERE id = ? AND status = 'running'`,
      ),
      dead: prepare(
        `UPDATE invocations SET status = 'dead', dead_reason = ?, last_error = ?, failures = failures + ?, lease_until = NULL, updated_at = ?
         WHERE id = ? AND status = 'running'`,
      ),
      requeueRunning: prepare("UPDATE invocations SET status = 'queued', next_at = ?, lease_until = NULL WHERE status = 'running'"),
      get: prepare("SELECT * FROM invocations WHERE id = ?"),
      listDead: prepare("SELECT * FROM invocations WHERE function = ? AND status = 'dead' ORDER BY updated_at DESC LIMIT ?"),
      replayAll: prepare(
        `UPDATE invocations SET status = 'queued', attempts = 0, failures = 0, next_at = ?, dead_reason = NULL, created_at = ?, updated_at = ?
         WHERE function = ? AND status = 'dead' RETURNING id`,
      ),
      replayOne: prepare(
        `UPDATE invocations SET status = 'queued', attempts = 0, failures = 0, next_at = ?, dead_reason = NULL, created_at = ?, updated_at = ?
         WHERE function = ? AND status = 'dead' AND id = ? RETURNING id`,
      ),
      nextQueued: prepare("SELECT MIN(next_at) AS t FROM invocations WHERE status = 'queued'"),
      nextLease: prepare("SELECT MIN(lease_until) AS t FROM invocations WHERE status = 'running'"),
      counts: prepare("SELECT status, COUNT(*) AS n FROM invocations GROUP BY status"),
      countsOf: prepare("SELECT status, COUNT(*) AS n FROM invocations WHERE function = ? GROUP BY status"),
      pruneCompleted: prepare("DELETE FROM invocations WHERE status = 'completed' AND updated_at < ?"),
      pruneDead: prepare("DELETE FROM invocations WHERE status = 'dead' AND updated_at < ?"),
      removeFunction: prepare("DELETE FROM invocations WHERE function = ?"),
      removeCron: prepare("DELETE FROM cron_state WHERE function = ?"),
      cronState: prepare("SELECT function, expression, last_ms FROM cron_state"),
      setCron: prepare(
        "INSERT INTO cron_state (function, expression, last_ms) VALUES (?, ?, ?) ON CONFLICT (function, expression) DO UPDATE SET last_ms = excluded.last_ms",
      ),
    };
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

  async enqueue(items: NewInvocation[], idempotencySinceMs: number): Promise<Enqueued[]> {
    try {
      return this.transaction(() => {
        const out: Enqueued[] = [];
        // Keys first used within this batch count too.
        const batchKeys = new Map<string, string>();
        for (const item of items) {
          if (item.idempotencyKey !== null) {
            const slot = `${item.function}\0${item.idempotencyKey}`;
            const first = batchKeys.get(slot) ?? (this.q["byKey"]!.get(item.function, item.idempotencyKey, idempotencySinceMs) as Row | undefined)?.["id"];
            if (typeof first === "string") {
              out.push({ id: first, duplicate: true });
              continue;
            }
            batchKeys.set(slot, item.id);
          }
          this.q["insert"]!.run(
            item.id, item.function, item.tenant, item.kind, item.payload, item.contentType,
            item.createdAtMs, item.createdAtMs, item.nextAtMs, item.idempotencyKey,
          );
          out.push({ id: item.id, duplicate: false });
        }
        return out;
      }, true);
    } catch (err) {
      throw unavailable(err);
    }
  }

  async claim(nowMs: number, limit: number, leaseUntilMs: number): Promise<InvocationRecord[]> {
    return this.transaction(() => {
      const rows = [...(this.q["expired"]!.all(nowMs, limit) as Row[])];
      if (rows.length < limit) rows.push(...(this.q["due"]!.all(nowMs, limit - rows.length) as Row[]));
      return rows.map((row) => {
        this.q["take"]!.run(leaseUntilMs, nowMs, row["id"] as string);
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
      for (const f of batch) {
        if (f.outcome === "completed") this.q["complete"]!.run(JSON.stringify(f.result), f.nowMs, f.id);
        else if (f.outcome === "retry") this.q["retry"]!.run(f.nextAtMs, JSON.stringify(f.error), f.failed ? 1 : 0, f.nowMs, f.id);
        else this.q["dead"]!.run(f.reason, JSON.stringify(f.error), f.failed ? 1 : 0, f.nowMs, f.id);
      }
    });
  }

  async requeueRunning(nowMs: number): Promise<number> {
    return Number(this.q["requeueRunning"]!.run(nowMs).changes);
  }

  async get(id: string): Promise<InvocationRecord | undefined> {
    const row = this.q["get"]!.get(id) as Row | undefined;
    return row === undefined ? undefined : recordOf(row);
  }

  async listDead(fn: string, limit: number): Promise<InvocationRecord[]> {
    return (this.q["listDead"]!.all(fn, limit) as Row[]).map(recordOf);
  }

  async replay(fn: string, ids: readonly string[] | null, nowMs: number): Promise<string[]> {
    return this.transaction(() => {
      if (ids === null) return (this.q["replayAll"]!.all(nowMs, nowMs, nowMs, fn) as Row[]).map((r) => r["id"] as string);
      return ids.flatMap((id) => (this.q["replayOne"]!.all(nowMs, nowMs, nowMs, fn, id) as Row[]).map((r) => r["id"] as string));
    }, true);
  }

  async nextWakeMs(): Promise<number | null> {
    const queued = (this.q["nextQueued"]!.get() as Row)["t"];
    const lease = (this.q["nextLease"]!.get() as Row)["t"];
    const times = [queued, lease].filter((t): t is number | bigint => t !== null && t !== undefined).map(Number);
    return times.length === 0 ? null : Math.min(...times);
  }

  async counts(fn?: string): Promise<QueueCounts> {
    const rows = (fn === undefined ? this.q["counts"]!.all() : this.q["countsOf"]!.all(fn)) as Row[];
    const counts: QueueCounts = { queued: 0, running: 0, completed: 0, dead: 0 };
    for (const row of rows) counts[row["status"] as InvocationStatus] = Number(row["n"]);
    return counts;
  }

  async prune(completedBeforeMs: number, deadBeforeMs: number): Promise<number> {
    return this.transaction(
      () => Number(this.q["pruneCompleted"]!.run(completedBeforeMs).changes) + Number(this.q["pruneDead"]!.run(deadBeforeMs).changes),
    );
  }

  async removeFunction(fn: string): Promise<void> {
    this.transaction(() => {
      this.q["removeFunction"]!.run(fn);
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
