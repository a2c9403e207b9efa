/**
 * The dashboard's history in flick.db: invocation counts per (tenant, function) and minute,
 * and the same per hour, so a chart of 1 h, 24 h or 7 d reads at most a few hundred rows per
 * function instead of every request. Writes come in batches (node/rollup-recorder.ts flushes
 * every few seconds), each one transaction; `prune` keeps minute rows a day and hour rows
 * 30 days (rollupRetention).
 *
 * The latency histogram of a row is a JSON array of bucket counts: rows are merged in
 * JavaScript (read, add, write back) inside the transaction, which costs one read per
 * touched row per flush — a handful per active function.
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { inTransaction } from "./sqlite-transaction.ts";
import { addRollup, rollupRetention, type RollupQuery, type RollupRow } from "./store.ts";

const minuteMs = 60_000;
const hourMs = 3_600_000;

// `step` is the row's resolution in ms (60,000 or 3,600,000). The key serves one function's
// and one tenant's reads; `rollups_by_start` every tenant's and the pruning.
const rollupSchema = `
CREATE TABLE IF NOT EXISTS rollups (
  step INTEGER NOT NULL, tenant TEXT NOT NULL, function TEXT NOT NULL, start INTEGER NOT NULL,
  invocations INTEGER NOT NULL, client_errors INTEGER NOT NULL, server_errors INTEGER NOT NULL, platform_errors INTEGER NOT NULL,
  throttled INTEGER NOT NULL, cold_starts INTEGER NOT NULL, cpu_ms REAL NOT NULL, wall_ms REAL NOT NULL, durations TEXT NOT NULL,
  PRIMARY KEY (step, tenant, function, start)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rollups_by_start ON rollups (step, start);
`;

type Row = Record<string, unknown>;

function rowOf(r: Row): RollupRow {
  return {
    tenant: r["tenant"] as string,
    function: r["function"] as string,
    startMs: Number(r["start"]),
    invocations: Number(r["invocations"]),
    clientErrors: Number(r["client_errors"]),
    serverErrors: Number(r["server_errors"]),
    platformErrors: Number(r["platform_errors"]),
    throttled: Number(r["throttled"]),
    coldStarts: Number(r["cold_starts"]),
    cpuMs: Number(r["cpu_ms"]),
    wallMs: Number(r["wall_ms"]),
    durations: JSON.parse(r["durations"] as string) as number[],
  };
}

export class SqliteRollups {
  private readonly db: DatabaseSync;
  private readonly q: Record<string, StatementSync>;
  /** Read statements by their SQL (a few shapes: every tenant's, a tenant's, a function's). */
  private readonly reads = new Map<string, StatementSync>();

  constructor(db: DatabaseSync) {
    this.db = db;
    db.exec(rollupSchema);
    this.q = {
      get: db.prepare("SELECT * FROM rollups WHERE step = ? AND tenant = ? AND function = ? AND start = ?"),
      put: db.prepare(
        `INSERT OR REPLACE INTO rollups (step, tenant, function, start, invocations, client_errors, server_errors, platform_errors, throttled, cold_starts, cpu_ms, wall_ms, durations)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      prune: db.prepare("DELETE FROM rollups WHERE step = ? AND start < ?"),
    };
  }

  /** Adds minute rows to their minutes and their hours, in one transaction. */
  add(rows: readonly RollupRow[]): void {
    if (rows.length === 0) return;
    // Merged here first: one flush may carry several minutes of one hour.
    const pending = new Map<string, { step: number; row: RollupRow }>();
    for (const r of rows) {
      for (const step of [minuteMs, hourMs]) {
        const startMs = Math.floor(r.startMs / step) * step;
        const key = `${step}|${r.tenant}|${r.function}|${startMs}`;
        const seen = pending.get(key);
        if (seen === undefined) pending.set(key, { step, row: { ...r, startMs, durations: [...r.durations] } });
        else addRollup(seen.row, r);
      }
    }
    inTransaction(this.db, () => {
      for (const { step, row } of pending.values()) {
        const stored = this.q["get"]!.get(step, row.tenant, row.function, row.startMs) as Row | undefined;
        const merged = stored === undefined ? row : rowOf(stored);
        if (stored !== undefined) addRollup(merged, row);
        this.q["put"]!.run(
          step, merged.tenant, merged.function, merged.startMs, merged.invocations, merged.clientErrors, merged.serverErrors, merged.platformErrors,
          merged.throttled, merged.coldStarts, merged.cpuMs, merged.wallMs, JSON.stringify(merged.durations),
        );
      }
    });
  }

  read(query: RollupQuery): RollupRow[] {
    const where = ["step = ?", "start >= ?", "start < ?"];
    const args: (string | number)[] = [query.resolution === "minute" ? minuteMs : hourMs, query.sinceMs, query.untilMs];
    if (query.tenant !== undefined) {
      where.push("tenant = ?");
      args.push(query.tenant);
    }
    if (query.function !== undefined) {
      where.push("function = ?");
      args.push(query.function);
    }
    const sql = `SELECT * FROM rollups WHERE ${where.join(" AND ")} ORDER BY start, tenant, function`;
    let statement = this.reads.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.reads.set(sql, statement);
    }
    return (statement.all(...args) as Row[]).map(rowOf);
  }

  prune(nowMs: number): void {
    inTransaction(this.db, () => {
      this.q["prune"]!.run(minuteMs, nowMs - rollupRetention.minuteMs);
      this.q["prune"]!.run(hourMs, nowMs - rollupRetention.hourMs);
    });
  }
}
