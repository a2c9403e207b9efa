/**
 * A SQL runner: a child process of the node that runs tenants' queries with node:sqlite, one
 * request at a time. Queries run here, not on the node's event loop, and a query past its
 * time limit is stopped by killing this process (node:sqlite cannot interrupt a statement):
 * SQLite rolls back what the killed transaction wrote when the file is next opened.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { sqlAuthorizer, type SqlAuthorizer } from "./authorizer.ts";
import type { RunnerAnswer, RunnerRequest, SqlStatement, StatementResult, SqlValue } from "./runner-protocol.ts";
import { firstKeyword } from "./split-statements.ts";

interface Open {
  db: DatabaseSync;
  auth: SqlAuthorizer;
  pageSize: number;
  maxBytes: number;
}

/** Open databases, least recently used first. */
const open = new Map<string, Open>();
const maxOpen = 64;

function database(file: string, maxBytes: number): Open {
  let o = open.get(file);
  if (o !== undefined) {
    open.delete(file);
    open.set(file, o);
  } else {
    if (open.size >= maxOpen) {
      const [oldest, first] = open.entries().next().value as [string, Open];
      first.db.close();
      open.delete(oldest);
    }
    const db = new DatabaseSync(file, { enableForeignKeyConstraints: true });
    db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;");
    db.enableDefensive(true);
    const auth = sqlAuthorizer();
    db.setAuthorizer((action, a1, a2, dbName, trigger) => auth.check(action, a1, a2, dbName, trigger));
    auth.internal = true;
    const pageSize = Number((db.prepare("PRAGMA page_size").get() as { page_size: number }).page_size);
    auth.internal = false;
    o = { db, auth, pageSize, maxBytes: -1 };
    open.set(file, o);
  }
  if (o.maxBytes !== maxBytes) {
    o.auth.internal = true;
    o.db.exec(`PRAGMA max_page_count = ${Math.max(1, Math.floor(maxBytes / o.pageSize))}`);
    o.auth.internal = false;
    o.maxBytes = maxBytes;
  }
  return o;
}

class Refused extends Error {}
class ResultTooLarge extends Error {}

function internal(o: Open, sql: string): void {
  o.auth.internal = true;
  try {
    o.db.exec(sql);
  } finally {
    o.auth.internal = false;
  }
}

function sizeOf(o: Open): number {
  o.auth.internal = true;
  try {
    return Number((o.db.prepare("PRAGMA page_count").get() as { page_count: number }).page_count) * o.pageSize;
  } finally {
    o.auth.internal = false;
  }
}

function valueBytes(v: SqlValue): number {
  return v === null ? 4 : typeof v === "number" ? 8 : typeof v === "string" ? v.length * 2 : v.byteLength;
}

function runOne(o: Open, s: SqlStatement, budget: { bytes: number }): StatementResult {
  const keyword = firstKeyword(s.sql);
  if (keyword === "VACUUM") throw new Refused("VACUUM is not allowed in a Flick database (VACUUM INTO writes files)");
  const started = performance.now();
  let stmt: StatementSync;
  try {
    stmt = o.db.prepare(s.sql);
  } catch (err) {
    if (o.auth.lastDenial !== "" && /not authorized/i.test(String((err as Error).message))) {
      const why = o.auth.lastDenial;
      o.auth.lastDenial = "";
      throw new Refused(why);
    }
    throw err;
  }
  const columns = stmt.columns().map((c) => c.name);
  let rows: SqlValue[][] = [];
  let changes = 0;
  let lastRowId = 0;
  if (columns.length > 0) {
    stmt.setReturnArrays(true);
    for (const row of stmt.iterate(...(s.params as never[])) as Iterable<SqlValue[]>) {
      for (const v of row) budget.bytes -= valueBytes(v);
      if (budget.bytes < 0) throw new ResultTooLarge("the results are over the size limit");
      rows.push(row);
    }
  } else {
    const r = stmt.run(...(s.params as never[]));
    changes = Number(r.changes);
    lastRowId = Number(r.lastInsertRowid);
    rows = [];
  }
  return {
    columns, rows,
    meta: { changes, lastRowId, durationMs: performance.now() - started, sizeAfter: 0, rowsRead: rows.length, rowsWritten: changes },
  };
}

function run(req: Extract<RunnerRequest, { op: "run" }>): RunnerAnswer {
  const o = database(req.file, req.maxBytes);
  const budget = { bytes: req.resultMaxBytes };
  const results: StatementResult[] = [];
  try {
    if (req.transaction) internal(o, "BEGIN IMMEDIATE");
    try {
      for (const s of req.statements) results.push(runOne(o, s, budget));
      if (req.transaction) internal(o, "COMMIT");
    } catch (err) {
      if (req.transaction && o.db.isTransaction) internal(o, "ROLLBACK");
      throw err;
    }
  } catch (err) {
    let sizeAfter: number | undefined;
    try {
      sizeAfter = sizeOf(o);
    } catch {}
    return { id: req.id, error: errorOf(err, req.maxBytes), sizeAfter };
  }
  const size = sizeOf(o);
  for (const r of results) r.meta.sizeAfter = size;
  return { id: req.id, results, sizeAfter: size };
}

function errorOf(err: unknown, maxBytes: number): NonNullable<RunnerAnswer["error"]> {
  if (err instanceof Refused) return { code: "refused", message: err.message };
  if (err instanceof ResultTooLarge) return { code: "result_limit", message: err.message };
  const e = err as { message?: string; errstr?: string; errcode?: number };
  const message = String(e.message ?? err);
  // SQLITE_FULL: max_page_count reached.
  if (e.errcode === 13 || /database or disk is full/i.test(message)) {
    return { code: "size_limit", message: `the database is at its size limit of ${Math.round(maxBytes / 1024 / 1024)} MiB; delete rows, or ask the operator for more (flick up --db-max-mib)` };
  }
  return { code: "sql", message };
}

/** The database as SQL text: schema, then rows as INSERTs, then indexes, triggers and views. */
function dump(file: string, maxBytes: number): string {
  const o = database(file, maxBytes);
  o.auth.internal = true;
  try {
    const lines = ["PRAGMA foreign_keys=OFF;"];
    const objects = o.db.prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY type = 'table' DESC, rowid").all() as { type: string; name: string; sql: string }[];
    for (const t of objects.filter((x) => x.type === "table")) {
      lines.push(`${t.sql};`);
      const stmt = o.db.prepare(`SELECT * FROM "${t.name.replaceAll('"', '""')}"`);
      stmt.setReturnArrays(true);
      for (const row of stmt.iterate() as Iterable<SqlValue[]>) lines.push(`INSERT INTO "${t.name.replaceAll('"', '""')}" VALUES(${row.map(literal).join(",")});`);
    }
    for (const x of objects.filter((y) => y.type !== "table")) lines.push(`${x.sql};`);
    return lines.join("\n") + "\n";
  } finally {
    o.auth.internal = false;
  }
}

function literal(v: SqlValue): string {
  if (v === null) return "NULL";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "9e999" : v < 0 ? "-9e999" : "NULL";
  if (typeof v === "string") return `'${v.replaceAll("'", "''")}'`;
  return `X'${Buffer.from(v).toString("hex")}'`;
}

function answer(req: RunnerRequest): RunnerAnswer {
  try {
    switch (req.op) {
      case "run":
        return run(req);
      case "dump":
        return { id: req.id, dump: dump(req.file, req.maxBytes) };
      case "close": {
        const o = open.get(req.file);
        if (o !== undefined) {
          o.db.close();
          open.delete(req.file);
        }
        return { id: req.id, results: [] };
      }
    }
  } catch (err) {
    return { id: req.id, error: { code: "sql", message: String((err as Error).message ?? err) } };
  }
}

process.on("message", (req: RunnerRequest) => {
  process.send!(answer(req));
});
// The node gone, this runner goes too.
process.on("disconnect", () => process.exit(0));
