/**
 * The embedded store: one SQLite file in WAL mode plus a content-addressed bundle folder.
 * `synchronous=NORMAL` with WAL survives a killed process (SIGKILL) without losing a
 * committed transaction; only an OS crash or power loss can drop the last commits.
 */
import { mkdirSync, openSync, fsyncSync, closeSync, writeFileSync, renameSync, existsSync } from "node:fs";
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { FlickError } from "../errors/index.ts";
import type { FunctionRecord, LogLevel, LogLine, ScaleSettings, TenantRecord, TokenRecord, VersionRecord } from "../model/index.ts";
import { inTransaction } from "./sqlite-transaction.ts";
import { logRetention, type LogQuery, type NewLogLine, type Store } from "./store.ts";

const schema = `
CREATE TABLE IF NOT EXISTS tenants (name TEXT PRIMARY KEY, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (
  id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, tenant TEXT, created_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS functions (
  name TEXT PRIMARY KEY, tenant TEXT NOT NULL, live_version TEXT NOT NULL,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
  function TEXT NOT NULL, id TEXT NOT NULL, bundle_hash TEXT NOT NULL, bundle_bytes INTEGER NOT NULL,
  settings TEXT NOT NULL, sealed_secrets TEXT, created_at INTEGER NOT NULL, wasm TEXT NOT NULL DEFAULT '[]',
  PRIMARY KEY (function, id));
CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, function TEXT NOT NULL,
  tenant TEXT NOT NULL, invocation_id TEXT NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_function ON logs (function, id);
CREATE INDEX IF NOT EXISTS logs_by_time ON logs (time_ms);
`;

type Row = Record<string, unknown>;

function functionOf(row: Row): FunctionRecord {
  const fn: FunctionRecord = {
    name: row["name"] as string,
    tenant: row["tenant"] as string,
    liveVersion: row["live_version"] as string,
    createdAtMs: Number(row["created_at"]),
    updatedAtMs: Number(row["updated_at"]),
  };
  if (typeof row["scale"] === "string") fn.scale = JSON.parse(row["scale"]) as ScaleSettings;
  return fn;
}

function tenantOf(row: Row): TenantRecord {
  return { name: row["name"] as string, createdAtMs: Number(row["created_at"]), concurrency: row["concurrency"] === null || row["concurrency"] === undefined ? null : Number(row["concurrency"]) };
}

function versionOf(row: Row): VersionRecord {
  return {
    function: row["function"] as string,
    id: row["id"] as string,
    bundleHash: row["bundle_hash"] as string,
    bundleBytes: Number(row["bundle_bytes"]),
    settings: JSON.parse(row["settings"] as string) as VersionRecord["settings"],
    sealedSecrets: (row["sealed_secrets"] as string | null) ?? null,
    createdAtMs: Number(row["created_at"]),
    wasm: JSON.parse((row["wasm"] as string | undefined) ?? "[]") as string[],
  };
}

function logOf(row: Row): LogLine {
  return {
    id: Number(row["id"]),
    timeMs: Number(row["time_ms"]),
    function: row["function"] as string,
    tenant: row["tenant"] as string,
    invocationId: row["invocation_id"] as string,
    level: row["level"] as LogLevel,
    message: row["message"] as string,
  };
}

export class SqliteStore implements Store {
  private readonly db: DatabaseSync;
  private readonly bundleDir: string;
  private readonly q: Record<string, StatementSync>;
  private appendedSincePrune = 0;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.bundleDir = path.join(dataDir, "bundles");
    mkdirSync(this.bundleDir, { recursive: true });
    this.db = new DatabaseSync(path.join(dataDir, "flick.db"));
    this.db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON;");
    this.db.exec(schema);
    // Data dirs from before Wasm support lack the column.
    const columns = (this.db.prepare("PRAGMA table_info(versions)").all() as Row[]).map((c) => c["name"]);
    if (!columns.includes("wasm")) this.db.exec("ALTER TABLE versions ADD COLUMN wasm TEXT NOT NULL DEFAULT '[]'");
    // …and before scheduling settings.
    const fnColumns = (this.db.prepare("PRAGMA table_info(functions)").all() as Row[]).map((c) => c["name"]);
    if (!fnColumns.includes("scale")) this.db.exec("ALTER TABLE functions ADD COLUMN scale TEXT");
    const tenantColumns = (this.db.prepare("PRAGMA table_info(tenants)").all() as Row[]).map((c) => c["name"]);
    if (!tenantColumns.includes("concurrency")) this.db.exec("ALTER TABLE tenants ADD COLUMN concurrency INTEGER");
    const prepare = (sql: string) => this.db.prepare(sql);
    this.q = {
      insertTenant: prepare("INSERT INTO tenants (name, created_at) VALUES (?, ?)"),
      getTenant: prepare("SELECT * FROM tenants WHERE name = ?"),
      listTenants: prepare("SELECT * FROM tenants ORDER BY name"),
      insertToken: prepare("INSERT INTO tokens (id, hash, tenant, created_at) VALUES (?, ?, ?, ?)"),
      tokenByHash: prepare("SELECT * FROM tokens WHERE hash = ?"),
      upsertFunction: prepare(
        `INSERT INTO functions (name, tenant, live_version, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET live_version = excluded.live_version, updated_at = excluded.updated_at`,
      ),
      insertVersion: prepare(
        `INSERT OR IGNORE INTO versions (function, id, bundle_hash, bundle_bytes, settings, sealed_secrets, created_at, wasm)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      setLive: prepare("UPDATE functions SET live_version = ?, updated_at = ? WHERE name = ?"),
      setScale: prepare("UPDATE functions SET scale = ?, updated_at = ? WHERE name = ?"),
      setTenantConcurrency: prepare("UPDATE tenants SET concurrency = ? WHERE name = ?"),
      getFunction: prepare("SELECT * FROM functions WHERE name = ?"),
      listFunctions: prepare("SELECT * FROM functions ORDER BY name"),
      listFunctionsOf: prepare("SELECT * FROM functions WHERE tenant = ? ORDER BY name"),
      getVersion: prepare("SELECT * FROM versions WHERE function = ? AND id = ?"),
      listVersions: prepare("SELECT * FROM versions WHERE function = ? ORDER BY created_at DESC, rowid DESC"),
      deleteFunction: prepare("DELETE FROM functions WHERE name = ?"),
      deleteVersions: prepare("DELETE FROM versions WHERE function = ?"),
      deleteLogs: prepare("DELETE FROM logs WHERE function = ?"),
      insertLog: prepare(
        "INSERT INTO logs (time_ms, function, tenant, invocation_id, level, message) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
      ),
      readLogs: prepare(
        "SELECT * FROM logs WHERE function = ? AND id > ? AND time_ms >= ? ORDER BY id DESC LIMIT ?",
      ),
      pruneOld: prepare("DELETE FROM logs WHERE time_ms < ?"),
      logFunctions: prepare("SELECT function, COUNT(*) AS n FROM logs GROUP BY function HAVING n > ?"),
      pruneFunction: prepare(
        "DELETE FROM logs WHERE function = ? AND id <= (SELECT id FROM logs WHERE function = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
      ),
    };
  }

  private transaction<T>(work: () => T): T {
    return inTransaction(this.db, work);
  }

  async createTenant(tenant: TenantRecord): Promise<void> {
    if (this.q["getTenant"]!.get(tenant.name) !== undefined) {
      throw new FlickError("tenant_exists", `tenant "${tenant.name}" already exists`);
    }
    this.q["insertTenant"]!.run(tenant.name, tenant.createdAtMs);
  }

  async getTenant(name: string): Promise<TenantRecord | undefined> {
    const row = this.q["getTenant"]!.get(name) as Row | undefined;
    return row === undefined ? undefined : tenantOf(row);
  }

  async listTenants(): Promise<TenantRecord[]> {
    return (this.q["listTenants"]!.all() as Row[]).map(tenantOf);
  }

  async setTenantConcurrency(name: string, concurrency: number | null): Promise<void> {
    this.q["setTenantConcurrency"]!.run(concurrency, name);
  }

  async addToken(token: TokenRecord): Promise<void> {
    this.q["insertToken"]!.run(token.id, token.hash, token.tenant, token.createdAtMs);
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const row = this.q["tokenByHash"]!.get(hash) as Row | undefined;
    if (row === undefined) return undefined;
    return { id: row["id"] as string, hash: row["hash"] as string, tenant: (row["tenant"] as string | null) ?? null, createdAtMs: Number(row["created_at"]) };
  }

  bundlePath(hash: string): string {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new FlickError("bad_request", `not a bundle hash: ${hash}`);
    return path.join(this.bundleDir, `${hash}.js`);
  }

  scriptPath(hash: string): string {
    return this.bundlePath(hash).replace(/\.js$/, ".script.js");
  }

  async putScript(hash: string, code: string): Promise<string> {
    return this.writeOnce(this.scriptPath(hash), code);
  }

  wasmPath(hash: string): string {
    return this.bundlePath(hash).replace(/\.js$/, ".wasm");
  }

  async putWasm(hash: string, bytes: Uint8Array): Promise<string> {
    return this.writeOnce(this.wasmPath(hash), bytes);
  }

  async putBundle(hash: string, code: string): Promise<string> {
    return this.writeOnce(this.bundlePath(hash), code);
  }

  private writeOnce(file: string, code: string | Uint8Array): string {
    if (existsSync(file)) return file;
    // Write, fsync, rename: a bundle is either absent or complete, never torn.
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    const fd = openSync(tmp, "r");
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
    return file;
  }

  async deploy(fn: FunctionRecord, version: VersionRecord): Promise<void> {
    this.transaction(() => {
      this.q["insertVersion"]!.run(
        version.function, version.id, version.bundleHash, version.bundleBytes,
        JSON.stringify(version.settings), version.sealedSecrets, version.createdAtMs, JSON.stringify(version.wasm),
      );
      this.q["upsertFunction"]!.run(fn.name, fn.tenant, fn.liveVersion, fn.createdAtMs, fn.updatedAtMs);
    });
  }

  async setLiveVersion(name: string, versionId: string, nowMs: number): Promise<void> {
    this.q["setLive"]!.run(versionId, nowMs, name);
  }

  async setScale(name: string, scale: ScaleSettings, nowMs: number): Promise<void> {
    this.q["setScale"]!.run(JSON.stringify(scale), nowMs, name);
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    const row = this.q["getFunction"]!.get(name) as Row | undefined;
    return row === undefined ? undefined : functionOf(row);
  }

  async listFunctions(tenant?: string): Promise<FunctionRecord[]> {
    const rows = (tenant === undefined ? this.q["listFunctions"]!.all() : this.q["listFunctionsOf"]!.all(tenant)) as Row[];
    return rows.map(functionOf);
  }

  async getVersion(fn: string, id: string): Promise<VersionRecord | undefined> {
    const row = this.q["getVersion"]!.get(fn, id) as Row | undefined;
    return row === undefined ? undefined : versionOf(row);
  }

  async listVersions(fn: string): Promise<VersionRecord[]> {
    return (this.q["listVersions"]!.all(fn) as Row[]).map(versionOf);
  }

  async removeFunction(name: string): Promise<void> {
    this.transaction(() => {
      this.q["deleteFunction"]!.run(name);
      this.q["deleteVersions"]!.run(name);
      this.q["deleteLogs"]!.run(name);
    });
  }

  async appendLogs(lines: NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    const stored = this.transaction(() =>
      lines.map((line) => {
        const row = this.q["insertLog"]!.get(line.timeMs, line.function, line.tenant, line.invocationId, line.level, line.message) as Row;
        return { ...line, id: Number(row["id"]) };
      }),
    );
    this.appendedSincePrune += lines.length;
    if (this.appendedSincePrune >= 1000) this.prune(Date.now());
    return stored;
  }

  /** Applies the retention policy: age first, then a cap per function. */
  prune(nowMs: number): void {
    this.appendedSincePrune = 0;
    this.q["pruneOld"]!.run(nowMs - logRetention.maxAgeMs);
    for (const row of this.q["logFunctions"]!.all(logRetention.maxLinesPerFunction) as Row[]) {
      const fn = row["function"] as string;
      this.q["pruneFunction"]!.run(fn, fn, logRetention.maxLinesPerFunction);
    }
  }

  async readLogs(query: LogQuery): Promise<LogLine[]> {
    const rows = this.q["readLogs"]!.all(query.function, query.afterId ?? 0, query.sinceMs ?? 0, query.limit) as Row[];
    return rows.map(logOf).reverse();
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
