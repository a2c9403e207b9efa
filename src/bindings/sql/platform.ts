/**
 * A SQL binding's platform side, in the node: the tenant's databases (one SQLite file each,
 * sql-registry.ts), the calls of `env.NAME` for the caller's tenant only — a database is
 * looked up by (tenant, name), so no other tenant's can be named — run on the SQL runners
 * (child processes, sql-runners.ts) with a time limit, a size limit and an authorizer that
 * lets a statement reach only the database's own tables; and what `flick db` does.
 */
import { rmSync, statSync } from "node:fs";
import { FlickError } from "../../errors/index.ts";
import type { Call, CallResult } from "../../host/protocol.ts";
import { result, type BindingPlatform, type BindingPlatformKind, type NodeServices, type StorageUse } from "../platform-types.ts";
import { sqlContract, type WireParam, type WireResult } from "./contract.ts";
import { statementsOf } from "./host.ts";
import type { SqlStatement, SqlValue, StatementResult } from "./runner-protocol.ts";
import { SqlRegistry, type SqlDatabase } from "./sql-registry.ts";
import { SqlRunners } from "./sql-runners.ts";
import { sqlDatabasePattern } from "./settings.ts";
import { splitStatements } from "./split-statements.ts";
import { TenantSqlQuota, type SqlGrant } from "./tenant-sql-quota.ts";

export const sqlLimits = {
  databasesPerTenant: 50,
  /** What one call's results may weigh (as an outbound fetch's response may). */
  resultMaxBytes: 32 * 1024 * 1024,
} as const;

/** A database as `flick db ls` shows it. */
export interface SqlDatabaseInfo {
  tenant: string;
  name: string;
  createdAtMs: number;
  /** The file's size, bytes. */
  bytes: number;
}

/** One statement's outcome as `flick db query` prints it. */
export interface SqlQueryResult {
  columns: string[];
  rows: unknown[][];
  changes: number;
  lastRowId: number;
  durationMs: number;
}

/** Blobs as D1 gives them (arrays of byte values). */
const shown = (v: SqlValue): unknown => (v instanceof Uint8Array ? Array.from(v) : v);

function wireResult(r: StatementResult): WireResult {
  return {
    columns: r.columns,
    rows: r.rows.map((row) => row.map(shown)),
    meta: {
      duration: r.meta.durationMs, changes: r.meta.changes, last_row_id: r.meta.lastRowId, rows_read: r.meta.rowsRead,
      rows_written: r.meta.rowsWritten, size_after: r.meta.sizeAfter, changed_db: r.meta.changes > 0,
    },
  };
}

export class SqlPlatform implements BindingPlatform {
  private readonly registry: SqlRegistry;
  private readonly runners: SqlRunners;
  private readonly node: NodeServices;

  private readonly quota: TenantSqlQuota;

  constructor(node: NodeServices) {
    this.node = node;
    this.registry = new SqlRegistry(node.dataDir);
    this.runners = new SqlRunners(node.options.sqlRunners, node.options.sqlTimeoutMs);
    this.quota = new TenantSqlQuota(node.options.sqlQuotaMiB * 1024 * 1024, this.maxBytes, node.options.sqlRunners);
    // Until a database's first call reports SQLite's own count, its size is its file's and its
    // WAL's together: pages not yet checkpointed are only in the WAL (after a kill -9, say),
    // and a page written twice there counts twice: an estimate that can only be too high.
    for (const db of this.registry.list(undefined)) this.quota.record(db.tenant, db.file, fileSize(db.file) + fileSize(`${db.file}-wal`));
  }

  private get maxBytes(): number {
    return this.node.options.sqlMaxMiB * 1024 * 1024;
  }

  /**
   * Runs statements on a tenant's database within what it may grow to (tenant-sql-quota.ts),
   * saying which limit a write that did not fit met.
   */
  private async runWithin(db: SqlDatabase, statements: SqlStatement[], transaction: boolean): ReturnType<SqlRunners["run"]> {
    let grant: SqlGrant | undefined;
    let ran: Awaited<ReturnType<SqlRunners["run"]>> | undefined;
    try {
      ran = await this.runners.run(db.tenant, db.file, () => (grant = this.quota.grant(db.tenant, db.file)).maxBytes, statements, transaction, sqlLimits.resultMaxBytes);
    } finally {
      if (grant !== undefined) this.quota.settle(grant, ran?.sizeAfter);
    }
    if ("error" in ran && ran.error.code === "size_limit" && grant?.byTenant === true) {
      const mib = (n: number) => (n / 1024 / 1024).toFixed(1);
      ran.error.message = `tenant "${db.tenant}"'s SQL databases hold ${mib(this.quota.usedBy(db.tenant))} MiB on this node, and its quota is ${mib(this.quota.quota)} MiB: `
        + `this write needed more room than was left for it (a call may take ${this.node.options.sqlRunners > 1 ? `1/${this.node.options.sqlRunners} of what is left, as that many can run at once` : "what is left"}); nothing of it was kept. `
        + "Delete rows (their pages are used again) or databases (flick db rm), or ask the operator for more (flick up --tenant-sql-mib)";
    }
    return ran;
  }

  async storageUsed(tenant: string): Promise<StorageUse> {
    return { bytes: this.quota.usedBy(tenant), quotaBytes: this.quota.quota, scope: "node" };
  }

  /** A node of a cluster has no shared SQL yet: a database is one node's file. */
  private refuseOnCluster(): void {
    if (this.node.clustered) throw new FlickError("validation_failed", "SQL databases are not available on a cluster yet (a database is one node's file); run them on a single node");
  }

  async checkTarget(tenant: string, _fn: string, binding: string, target: string): Promise<void> {
    this.refuseOnCluster();
    if (this.registry.get(tenant, target) === undefined) {
      throw new FlickError("validation_failed", `sql binding ${binding}: tenant "${tenant}" has no SQL database "${target}"; create it with \`flick db create ${target}\``);
    }
  }

  async call(call: Call, tenant: string): Promise<CallResult> {
    const parsed = statementsOf(call.method, call.buffers);
    if (typeof parsed === "string") return result(parsed, "TypeError");
    const db = this.registry.get(tenant, call.target);
    if (db === undefined) return result(`the SQL database "${call.target}" was removed; create it again (\`flick db create ${call.target}\`)`);
    const blobs = call.buffers.slice(1);
    const toValue = (p: WireParam): SqlValue => (p !== null && typeof p === "object" ? blobs[p.$b]! : p);
    let statements: SqlStatement[] = (parsed as { sql: string; params: WireParam[] }[]).map((s) => ({ sql: s.sql, params: s.params.map(toValue) }));
    if (call.method === sqlContract.exec) statements = splitStatements(statements[0]!.sql).map((sql) => ({ sql, params: [] }));
    const started = performance.now();
    let ran;
    try {
      ran = await this.runWithin(db, statements, call.method !== sqlContract.query);
    } catch (err) {
      return result(err instanceof FlickError ? err.message : String(err));
    }
    if ("error" in ran) {
      const message = ran.error.code === "result_limit"
        ? `the results are over ${sqlLimits.resultMaxBytes / 1024 / 1024} MiB; select fewer rows or columns (LIMIT, a cursor by key)`
        : ran.error.message;
      return result(message);
    }
    const body = call.method === sqlContract.exec
      ? { count: ran.results.length, duration: performance.now() - started }
      : call.method === sqlContract.batch ? ran.results.map(wireResult) : wireResult(ran.results[0]!);
    return result("", "", [], [Buffer.from(JSON.stringify(body))]);
  }

  async close(): Promise<void> {
    await this.runners.stop();
    this.registry.close();
  }

  // — what `flick db` does, for a tenant the API has resolved —

  private existing(tenant: string, name: string): SqlDatabase {
    const db = this.registry.get(tenant, name);
    if (db === undefined) {
      throw new FlickError("sql_database_not_found", `tenant "${tenant}" has no SQL database "${name.slice(0, 80)}"; \`flick db ls\` lists them, \`flick db create ${name.slice(0, 80)}\` makes one`);
    }
    return db;
  }

  private info(db: SqlDatabase): SqlDatabaseInfo {
    return { tenant: db.tenant, name: db.name, createdAtMs: db.createdAtMs, bytes: fileSize(db.file) };
  }

  async create(tenant: string, name: string): Promise<SqlDatabaseInfo> {
    this.refuseOnCluster();
    if (!sqlDatabasePattern.test(name)) {
      throw new FlickError("validation_failed", `"${name.slice(0, 80)}" cannot name a SQL database: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
    const db = this.registry.create(tenant, name, sqlLimits.databasesPerTenant, Date.now());
    this.quota.record(tenant, db.file, fileSize(db.file));
    return this.info(db);
  }

  async databases(tenant: string | undefined): Promise<SqlDatabaseInfo[]> {
    return this.registry.list(tenant).map((db) => this.info(db));
  }

  async remove(tenant: string, name: string): Promise<void> {
    const db = this.registry.remove(tenant, name);
    if (db === undefined) throw this.notFound(tenant, name);
    await this.runners.close(tenant, db.file);
    for (const suffix of ["", "-wal", "-shm", "-journal"]) rmSync(db.file + suffix, { force: true });
    this.quota.forget(db.file);
  }

  private notFound(tenant: string, name: string): FlickError {
    return new FlickError("sql_database_not_found", `tenant "${tenant}" has no SQL database "${name.slice(0, 80)}"; \`flick db ls\` lists them`);
  }

  /** Runs SQL text (one or more statements, in one transaction); each statement's outcome. */
  async query(tenant: string, name: string, sql: string): Promise<SqlQueryResult[]> {
    const db = this.existing(tenant, name);
    const statements = splitStatements(sql);
    if (statements.length === 0) throw new FlickError("validation_failed", "no SQL to run");
    return this.runAll(db, statements.map((s) => ({ sql: s, params: [] })));
  }

  private async runAll(db: SqlDatabase, statements: SqlStatement[]): Promise<SqlQueryResult[]> {
    const ran = await this.runWithin(db, statements, true);
    if ("error" in ran) {
      const code = ran.error.code === "size_limit" ? "quota_exceeded" : "validation_failed";
      throw new FlickError(code, ran.error.code === "sql" ? `the SQL failed, nothing was changed: ${ran.error.message}` : ran.error.message);
    }
    return ran.results.map((r) => ({ columns: r.columns, rows: r.rows.map((row) => row.map(shown)), changes: r.meta.changes, lastRowId: r.meta.lastRowId, durationMs: r.meta.durationMs }));
  }

  /**
   * Applies the migrations not applied yet, in order, each in its own transaction with its
   * record in `_flick_migrations`; the names applied now.
   */
  async migrate(tenant: string, name: string, migrations: { name: string; sql: string }[]): Promise<string[]> {
    const db = this.existing(tenant, name);
    const table = "CREATE TABLE IF NOT EXISTS _flick_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)";
    const [, done] = await this.runAll(db, [{ sql: table, params: [] }, { sql: "SELECT name FROM _flick_migrations", params: [] }]);
    const applied = new Set(done!.rows.map((r) => String(r[0])));
    const now: string[] = [];
    for (const m of migrations) {
      if (applied.has(m.name)) continue;
      const statements = splitStatements(m.sql).map((sql) => ({ sql, params: [] as SqlValue[] }));
      try {
        await this.runAll(db, [...statements, { sql: "INSERT INTO _flick_migrations (name, applied_at) VALUES (?, ?)", params: [m.name, Date.now()] }]);
      } catch (err) {
        const e = err instanceof FlickError ? err : new FlickError("internal", String(err));
        throw new FlickError(e.code, `migration ${m.name} failed and was rolled back${now.length === 0 ? "" : ` (applied before it: ${now.join(", ")})`}: ${e.message}`);
      }
      now.push(m.name);
    }
    return now;
  }

  async export(tenant: string, name: string): Promise<string> {
    const db = this.existing(tenant, name);
    return this.runners.dump(tenant, db.file, this.maxBytes);
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0; // not made yet: a database's file is created by its first call
  }
}

export const sqlPlatform: BindingPlatformKind = {
  kind: sqlContract.kind,
  open: (node) => new SqlPlatform(node),
};
