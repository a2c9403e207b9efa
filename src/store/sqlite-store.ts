/**
 * The embedded store: one SQLite file in WAL mode plus a content-addressed bundle folder.
 * `synchronous=NORMAL` with WAL survives a killed process (SIGKILL) without losing a
 * committed transaction; only an OS crash or power loss can drop the last commits.
 */
import { readFile } from "node:fs/promises";
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { FlickError } from "../errors/index.ts";
import { defaultScale } from "../model/index.ts";
import type { FunctionRecord, LogLevel, LogLine, RequestFields, ScaleSettings, TenantRecord, TokenRecord, TrafficShare, UsageRow, VersionRecord } from "../model/index.ts";
import { writeFileDurably } from "./durable-file.ts";
import { checkProvisioned } from "./provisioned-quota.ts";
import { storeUnavailable } from "./sqlite-errors.ts";
import { SqliteRollups } from "./sqlite-rollups.ts";
import { inTransaction } from "./sqlite-transaction.ts";
import {
  codeFileName, defaultTenantQuotas, logRetention, type CodeKind, type LogQuery, type NewLogLine, type ProvisionedUsage, type RollupQuery, type RollupRow, type Store, type TenantChange, type TenantQuotas,
  type RegistryChange, type UsageQuery,
} from "./store.ts";

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
  sources TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (function, id));
CREATE TABLE IF NOT EXISTS logs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL, function TEXT NOT NULL,
  tenant TEXT NOT NULL, invocation_id TEXT NOT NULL, level TEXT NOT NULL, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS logs_by_function ON logs (function, id);
CREATE INDEX IF NOT EXISTS logs_by_time ON logs (time_ms);
CREATE INDEX IF NOT EXISTS logs_by_tenant ON logs (tenant, id);
CREATE INDEX IF NOT EXISTS functions_by_tenant ON functions (tenant);
CREATE TABLE IF NOT EXISTS usage (
  tenant TEXT NOT NULL, function TEXT NOT NULL, hour INTEGER NOT NULL,
  invocations INTEGER NOT NULL, wall_ms REAL NOT NULL, cpu_ms REAL NOT NULL, mib_ms REAL NOT NULL,
  request_bytes INTEGER NOT NULL, response_bytes INTEGER NOT NULL, egress_bytes INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant, function, hour));
CREATE INDEX IF NOT EXISTS usage_by_hour ON usage (hour);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

// Log lines and counted bytes per tenant, so the per-tenant quota costs one row per append,
// not a count over the tenant's lines. Appends add to it (appendLogs); every delete, whatever
// its reason (age, per-function cap, quota, a removed function), subtracts through the trigger.
// A line counts its message's UTF-8 bytes plus logRetention.logLineOverheadBytes (changing
// that constant needs the table recounted, as below for data dirs from before it existed).
// Cost, measured on the 2-core test machine: a three-line append took ~66 µs before the
// per-tenant quota and ~87-95 µs with it, half for this row, half for the logs_by_tenant
// index that keeps the trimming of a tenant's oldest lines bounded.
const logUsageSchema = `
CREATE TABLE IF NOT EXISTS log_usage (tenant TEXT PRIMARY KEY, lines INTEGER NOT NULL, bytes INTEGER NOT NULL);
CREATE TRIGGER IF NOT EXISTS log_usage_on_delete AFTER DELETE ON logs BEGIN
  UPDATE log_usage SET lines = lines - 1, bytes = bytes - (length(CAST(old.message AS BLOB)) + ${logRetention.logLineOverheadBytes})
  WHERE tenant = old.tenant;
END;
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
  if (typeof row["traffic"] === "string") fn.traffic = JSON.parse(row["traffic"]) as TrafficShare[];
  fn.revision = Number(row["revision"] ?? 0);
  return fn;
}

const orNull = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function tenantOf(row: Row): TenantRecord {
  return {
    name: row["name"] as string,
    createdAtMs: Number(row["created_at"]),
    concurrency: orNull(row["concurrency"]),
    maxProvisioned: orNull(row["max_provisioned"]),
    maxProvisionedMemoryMiB: orNull(row["max_provisioned_memory"]),
    maxQueueMessages: orNull(row["max_queue_messages"]),
    maxQueueMiB: orNull(row["max_queue_mib"]),
  };
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
    sources: JSON.parse((row["sources"] as string | undefined) ?? "{}") as NonNullable<VersionRecord["sources"]>,
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
    ...(typeof row["request"] === "string" ? { request: JSON.parse(row["request"]) as RequestFields } : {}),
  };
}

export interface SqliteStoreOptions {
  /** What one tenant may hold unless its record says otherwise (defaultTenantQuotas). */
  quotas?: Partial<TenantQuotas>;
  /** How long a write waits for another process's lock before `store_unavailable`, ms (default 5 s; the event loop waits too). */
  busyTimeoutMs?: number;
  /** Told how long each control-plane write took to commit, seconds (the node's metrics). */
  onCommit?: (seconds: number) => void;
}

export class SqliteStore implements Store {
  private readonly onCommit: ((seconds: number) => void) | undefined;
  private readonly db: DatabaseSync;
  private readonly bundleDir: string;
  private readonly watchers = new Set<(change: RegistryChange) => void>();
  private readonly q: Record<string, StatementSync>;
  private readonly quotas: TenantQuotas;
  private readonly rollups: SqliteRollups;
  private appendedSincePrune = 0;

  constructor(dataDir: string, options: SqliteStoreOptions = {}) {
    this.quotas = { ...defaultTenantQuotas, ...options.quotas };
    this.onCommit = options.onCommit;
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.bundleDir = path.join(dataDir, "bundles");
    mkdirSync(this.bundleDir, { recursive: true, mode: 0o700 });
    // A write cut short by a crash leaves its temp file (bundles are written temp + fsync +
    // rename, by this process and by its hosts' code caches); this node owns the data dir
    // and its hosts are not running yet, so any temp file here is such a leftover.
    for (const file of readdirSync(this.bundleDir)) if (file.endsWith(".tmp")) rmSync(path.join(this.bundleDir, file), { force: true });
    this.db = new DatabaseSync(path.join(dataDir, "flick.db"));
    this.db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))}; PRAGMA foreign_keys=ON;`);
    this.db.exec(schema);
    // Data dirs from before Wasm support lack the column.
    const columns = (this.db.prepare("PRAGMA table_info(versions)").all() as Row[]).map((c) => c["name"]);
    if (!columns.includes("wasm")) this.db.exec("ALTER TABLE versions ADD COLUMN wasm TEXT NOT NULL DEFAULT '[]'");
    // …and before settings remembered where they came from.
    if (!columns.includes("sources")) this.db.exec("ALTER TABLE versions ADD COLUMN sources TEXT NOT NULL DEFAULT '{}'");
    // …and before scheduling settings.
    const fnColumns = (this.db.prepare("PRAGMA table_info(functions)").all() as Row[]).map((c) => c["name"]);
    if (!fnColumns.includes("scale")) this.db.exec("ALTER TABLE functions ADD COLUMN scale TEXT");
    // …and before request lines.
    const logColumns = (this.db.prepare("PRAGMA table_info(logs)").all() as Row[]).map((c) => c["name"]);
    if (!logColumns.includes("request")) this.db.exec("ALTER TABLE logs ADD COLUMN request TEXT");
    // …and before traffic splits.
    if (!fnColumns.includes("traffic")) this.db.exec("ALTER TABLE functions ADD COLUMN traffic TEXT");
    // …and before registry revisions (rows from before start at 0; the counter at 0 too).
    if (!fnColumns.includes("revision")) this.db.exec("ALTER TABLE functions ADD COLUMN revision INTEGER NOT NULL DEFAULT 0");
    this.db.exec("INSERT OR IGNORE INTO meta (key, value) VALUES ('registry-revision', '0')");
    const tenantColumns = (this.db.prepare("PRAGMA table_info(tenants)").all() as Row[]).map((c) => c["name"]);
    if (!tenantColumns.includes("concurrency")) this.db.exec("ALTER TABLE tenants ADD COLUMN concurrency INTEGER");
    // …and before tenant quotas.
    if (!tenantColumns.includes("max_provisioned")) this.db.exec("ALTER TABLE tenants ADD COLUMN max_provisioned INTEGER");
    if (!tenantColumns.includes("max_provisioned_memory")) this.db.exec("ALTER TABLE tenants ADD COLUMN max_provisioned_memory INTEGER");
    if (!tenantColumns.includes("max_queue_messages")) this.db.exec("ALTER TABLE tenants ADD COLUMN max_queue_messages INTEGER");
    if (!tenantColumns.includes("max_queue_mib")) this.db.exec("ALTER TABLE tenants ADD COLUMN max_queue_mib INTEGER");
    const hadLogUsage = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'log_usage'").get() !== undefined;
    if (!hadLogUsage) {
      inTransaction(this.db, () => {
        this.db.exec(logUsageSchema);
        this.db.exec(
          `INSERT INTO log_usage (tenant, lines, bytes)
           SELECT tenant, COUNT(*), SUM(length(CAST(message AS BLOB)) + ${logRetention.logLineOverheadBytes}) FROM logs GROUP BY tenant`,
        );
      });
    }
    this.rollups = new SqliteRollups(this.db);
    const prepare = (sql: string) => this.db.prepare(sql);
    this.q = {
      insertTenant: prepare(
        "INSERT INTO tenants (name, created_at, concurrency, max_provisioned, max_provisioned_memory, max_queue_messages, max_queue_mib) VALUES (?, ?, ?, ?, ?, ?, ?)",
      ),
      getTenant: prepare("SELECT * FROM tenants WHERE name = ?"),
      listTenants: prepare("SELECT * FROM tenants ORDER BY name"),
      updateTenant: prepare("UPDATE tenants SET concurrency = ?, max_provisioned = ?, max_provisioned_memory = ?, max_queue_messages = ?, max_queue_mib = ? WHERE name = ?"),
      keepMeta: prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING"),
      getMeta: prepare("SELECT value FROM meta WHERE key = ?"),
      insertToken: prepare("INSERT INTO tokens (id, hash, tenant, created_at) VALUES (?, ?, ?, ?)"),
      tokenByHash: prepare("SELECT * FROM tokens WHERE hash = ?"),
      // The name's owner never changes here: deploy checks it in the same transaction first.
      upsertFunction: prepare(
        `INSERT INTO functions (name, tenant, live_version, created_at, updated_at, traffic) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET live_version = excluded.live_version, updated_at = excluded.updated_at, traffic = excluded.traffic`,
      ),
      insertVersion: prepare(
        `INSERT OR IGNORE INTO versions (function, id, bundle_hash, bundle_bytes, settings, sealed_secrets, created_at, wasm, sources)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      setLive: prepare("UPDATE functions SET live_version = ?, updated_at = ?, traffic = ? WHERE name = ?"),
      setScale: prepare("UPDATE functions SET scale = ?, updated_at = ? WHERE name = ?"),
      // Every change to a function takes the next registry revision (removals too: a name
      // taken again later gets a larger one than its last owner's).
      nextRevision: prepare("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'registry-revision' RETURNING CAST(value AS INTEGER) AS revision"),
      setRevision: prepare("UPDATE functions SET revision = ? WHERE name = ?"),
      getFunction: prepare("SELECT * FROM functions WHERE name = ?"),
      listFunctions: prepare("SELECT * FROM functions ORDER BY name"),
      listFunctionsOf: prepare("SELECT * FROM functions WHERE tenant = ? ORDER BY name"),
      getVersion: prepare("SELECT * FROM versions WHERE function = ? AND id = ?"),
      listVersions: prepare("SELECT * FROM versions WHERE function = ? ORDER BY created_at DESC, rowid DESC"),
      deleteFunction: prepare("DELETE FROM functions WHERE name = ?"),
      deleteVersions: prepare("DELETE FROM versions WHERE function = ?"),
      deleteLogs: prepare("DELETE FROM logs WHERE function = ?"),
      // What the tenant reserves: min-instances, and min-instances × the live version's memory.
      provisioned: prepare(
        `SELECT COALESCE(SUM(json_extract(f.scale, '$.minInstances')), 0) AS instances,
                COALESCE(SUM(json_extract(f.scale, '$.minInstances') * json_extract(v.settings, '$.memoryMiB')), 0) AS memory
         FROM functions f JOIN versions v ON v.function = f.name AND v.id = f.live_version
         WHERE f.tenant = ? AND f.scale IS NOT NULL`,
      ),
      insertLog: prepare(
        "INSERT INTO logs (time_ms, function, tenant, invocation_id, level, message, request) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
      ),
      readLogs: prepare(
        "SELECT * FROM logs WHERE function = ? AND id > ? AND time_ms >= ? ORDER BY id DESC LIMIT ?",
      ),
      addLogUsage: prepare(
        `INSERT INTO log_usage (tenant, lines, bytes) VALUES (?, ?, ?)
         ON CONFLICT(tenant) DO UPDATE SET lines = lines + excluded.lines, bytes = bytes + excluded.bytes RETURNING lines, bytes`,
      ),
      getLogUsage: prepare("SELECT lines, bytes FROM log_usage WHERE tenant = ?"),
      addUsage: prepare(
        `INSERT INTO usage (tenant, function, hour, invocations, wall_ms, cpu_ms, mib_ms, request_bytes, response_bytes, egress_bytes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(tenant, function, hour) DO UPDATE SET invocations = invocations + excluded.invocations, wall_ms = wall_ms + excluded.wall_ms,
           cpu_ms = cpu_ms + excluded.cpu_ms, mib_ms = mib_ms + excluded.mib_ms, request_bytes = request_bytes + excluded.request_bytes,
           response_bytes = response_bytes + excluded.response_bytes, egress_bytes = egress_bytes + excluded.egress_bytes`,
      ),
      readUsage: prepare("SELECT * FROM usage WHERE hour >= ? AND hour < ? ORDER BY hour, tenant, function"),
      readUsageOf: prepare("SELECT * FROM usage WHERE tenant = ? AND hour >= ? AND hour < ? ORDER BY hour, function"),
      oldestLogs: prepare(`SELECT id, length(CAST(message AS BLOB)) + ${logRetention.logLineOverheadBytes} AS bytes FROM logs WHERE tenant = ? ORDER BY id LIMIT ?`),
      dropTenantLogs: prepare("DELETE FROM logs WHERE tenant = ? AND id <= ?"),
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

  /** A write in one transaction; a fault of the disk or database becomes `store_unavailable` (sqlite-errors.ts). */
  private write<T>(what: string, work: () => T): T {
    const started = performance.now();
    try {
      return inTransaction(this.db, work);
    } catch (err) {
      throw storeUnavailable(err, what);
    } finally {
      this.onCommit?.((performance.now() - started) / 1000);
    }
  }

  async createTenant(tenant: TenantRecord, token?: TokenRecord): Promise<void> {
    this.write(`tenant "${tenant.name}"`, () => {
      if (this.q["getTenant"]!.get(tenant.name) !== undefined) {
        throw new FlickError("tenant_exists", `tenant "${tenant.name}" already exists`);
      }
      this.q["insertTenant"]!.run(
        tenant.name, tenant.createdAtMs, tenant.concurrency ?? null, tenant.maxProvisioned ?? null, tenant.maxProvisionedMemoryMiB ?? null,
        tenant.maxQueueMessages ?? null, tenant.maxQueueMiB ?? null,
      );
      if (token !== undefined) this.q["insertToken"]!.run(token.id, token.hash, token.tenant, token.createdAtMs);
    });
    this.tell({ kind: "tenant", name: tenant.name });
  }

  async getTenant(name: string): Promise<TenantRecord | undefined> {
    const row = this.q["getTenant"]!.get(name) as Row | undefined;
    return row === undefined ? undefined : tenantOf(row);
  }

  async listTenants(): Promise<TenantRecord[]> {
    return (this.q["listTenants"]!.all() as Row[]).map(tenantOf);
  }

  async updateTenant(name: string, change: TenantChange): Promise<TenantRecord | undefined> {
    const changed = this.write(`the change of tenant "${name}"`, () => {
      const row = this.q["getTenant"]!.get(name) as Row | undefined;
      if (row === undefined) return undefined;
      const next = { ...tenantOf(row), ...change };
      this.q["updateTenant"]!.run(next.concurrency ?? null, next.maxProvisioned ?? null, next.maxProvisionedMemoryMiB ?? null, next.maxQueueMessages ?? null, next.maxQueueMiB ?? null, name);
      return next;
    });
    if (changed !== undefined) this.tell({ kind: "tenant", name });
    return changed;
  }

  async provisioned(tenant: string): Promise<ProvisionedUsage> {
    return this.usageOf(tenant);
  }

  private usageOf(tenant: string): ProvisionedUsage {
    const row = this.q["provisioned"]!.get(tenant) as Row;
    const record = this.q["getTenant"]!.get(tenant) as Row | undefined;
    return {
      instances: Number(row["instances"]),
      memoryMiB: Number(row["memory"]),
      maxInstances: orNull(record?.["max_provisioned"]) ?? this.quotas.maxProvisioned,
      maxMemoryMiB: orNull(record?.["max_provisioned_memory"]) ?? this.quotas.maxProvisionedMemoryMiB,
    };
  }

  /** Inside a write: refuses (and so rolls back) a change that took the tenant past a provisioned quota. */
  private checkProvisioned(tenant: string, before: ProvisionedUsage): void {
    checkProvisioned(tenant, before, this.usageOf(tenant));
  }

  async addToken(token: TokenRecord): Promise<void> {
    this.write("the token", () => this.q["insertToken"]!.run(token.id, token.hash, token.tenant, token.createdAtMs));
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    const row = this.q["tokenByHash"]!.get(hash) as Row | undefined;
    if (row === undefined) return undefined;
    return { id: row["id"] as string, hash: row["hash"] as string, tenant: (row["tenant"] as string | null) ?? null, createdAtMs: Number(row["created_at"]) };
  }

  async putCode(kind: CodeKind, hash: string, bytes: Uint8Array): Promise<void> {
    this.writeOnce(this.localCodePath(kind, hash), bytes);
  }

  async getCode(kind: CodeKind, hash: string): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.localCodePath(kind, hash)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }

  /** Code is files in `bundles/`, named as hosts read them: the node runs them from here. */
  localCodePath(kind: CodeKind, hash: string): string {
    return path.join(this.bundleDir, codeFileName(kind, hash));
  }

  async sealingKey(fingerprint?: string): Promise<string | undefined> {
    if (fingerprint !== undefined) this.write("the sealing key's fingerprint", () => this.q["keepMeta"]!.run("sealing-key", fingerprint));
    return (this.q["getMeta"]!.get("sealing-key") as Row | undefined)?.["value"] as string | undefined;
  }

  async addUsage(rows: readonly UsageRow[]): Promise<void> {
    if (rows.length === 0) return;
    inTransaction(this.db, () => {
      for (const r of rows) this.q["addUsage"]!.run(r.tenant, r.function, r.hourMs, r.invocations, r.wallMs, r.cpuMs, r.mibMs, r.requestBytes, r.responseBytes, r.egressBytes);
    });
  }

  async readUsage(query: UsageQuery): Promise<UsageRow[]> {
    const rows = (query.tenant === undefined
      ? this.q["readUsage"]!.all(query.sinceMs, query.untilMs)
      : this.q["readUsageOf"]!.all(query.tenant, query.sinceMs, query.untilMs)) as Row[];
    return rows.map((r) => ({
      tenant: r["tenant"] as string, function: r["function"] as string, hourMs: Number(r["hour"]), invocations: Number(r["invocations"]),
      wallMs: Number(r["wall_ms"]), cpuMs: Number(r["cpu_ms"]), mibMs: Number(r["mib_ms"]), requestBytes: Number(r["request_bytes"]), responseBytes: Number(r["response_bytes"]),
      egressBytes: Number(r["egress_bytes"]),
    }));
  }

  async addRollups(rows: readonly RollupRow[]): Promise<void> {
    this.rollups.add(rows);
  }

  async readRollups(query: RollupQuery): Promise<RollupRow[]> {
    return this.rollups.read(query);
  }

  async pruneRollups(nowMs: number): Promise<void> {
    this.rollups.prune(nowMs);
  }

  private writeOnce(file: string, code: Uint8Array): string {
    if (existsSync(file)) return file;
    // A bundle is either absent or complete, never torn.
    try {
      writeFileDurably(file, code);
    } catch (err) {
      throw storeUnavailable(err, path.basename(file));
    }
    return file;
  }

  async deploy(fn: FunctionRecord, version: VersionRecord): Promise<FunctionRecord> {
    const stored = this.write(`the deploy of "${fn.name}"`, () => {
      const current = this.q["getFunction"]!.get(fn.name) as Row | undefined;
      // Checked here, in the transaction that takes the name: of two tenants deploying one
      // new name at once, the second to commit finds the first's row.
      if (current !== undefined && current["tenant"] !== fn.tenant) {
        throw new FlickError("name_taken", `the name "${fn.name}" is taken by another tenant on this node; pick another name`);
      }
      // A new version may change the memory of a provisioned function.
      const provisioned = current !== undefined && typeof current["scale"] === "string" && functionOf(current).scale!.minInstances > 0;
      const before = provisioned ? this.usageOf(fn.tenant) : undefined;
      this.q["insertVersion"]!.run(
        version.function, version.id, version.bundleHash, version.bundleBytes,
        JSON.stringify(version.settings), version.sealedSecrets, version.createdAtMs, JSON.stringify(version.wasm),
        JSON.stringify(version.sources ?? {}),
      );
      this.q["upsertFunction"]!.run(fn.name, fn.tenant, fn.liveVersion, fn.createdAtMs, fn.updatedAtMs, fn.traffic === undefined ? null : JSON.stringify(fn.traffic));
      if (before !== undefined) this.checkProvisioned(fn.tenant, before);
      return this.changedFunction(fn.name);
    });
    this.tell({ kind: "function", name: fn.name });
    return stored;
  }

  /** Inside a write that changed function `name`: its next revision, and the record as it is now. */
  private changedFunction(name: string): FunctionRecord {
    this.q["setRevision"]!.run(this.nextRevision(), name);
    return functionOf(this.q["getFunction"]!.get(name) as Row);
  }

  private nextRevision(): number {
    return Number((this.q["nextRevision"]!.get() as Row)["revision"]);
  }

  /** Watchers hear of a change after its commit, never inside the transaction. */
  private tell(change: RegistryChange): void {
    if (this.watchers.size === 0) return;
    queueMicrotask(() => {
      for (const listener of this.watchers) listener(change);
    });
  }

  async watch(listener: (change: RegistryChange) => void): Promise<() => void> {
    this.watchers.add(listener);
    return () => this.watchers.delete(listener);
  }

  /** The function if it is `tenant`'s, inside a write. */
  private ownedRow(name: string, tenant: string): FunctionRecord | undefined {
    const row = this.q["getFunction"]!.get(name) as Row | undefined;
    return row === undefined || row["tenant"] !== tenant ? undefined : functionOf(row);
  }

  async setLiveVersion(name: string, tenant: string, versionId: string, nowMs: number, traffic?: TrafficShare[]): Promise<FunctionRecord | undefined> {
    const changed = this.write(`the traffic change of "${name}"`, () => {
      const current = this.ownedRow(name, tenant);
      if (current === undefined) return undefined;
      for (const v of [versionId, ...(traffic ?? []).map((t) => t.version)]) if (this.q["getVersion"]!.get(name, v) === undefined) return undefined;
      const before = this.usageOf(tenant);
      this.q["setLive"]!.run(versionId, nowMs, traffic === undefined ? null : JSON.stringify(traffic), name);
      this.checkProvisioned(tenant, before);
      return this.changedFunction(name);
    });
    if (changed !== undefined) this.tell({ kind: "function", name });
    return changed;
  }


  async setScale(name: string, tenant: string, change: Partial<ScaleSettings>, nowMs: number): Promise<{ fn: FunctionRecord; version: VersionRecord } | undefined> {
    const changed = this.write(`the scale of "${name}"`, () => {
      const current = this.ownedRow(name, tenant);
      if (current === undefined) return undefined;
      const versionRow = this.q["getVersion"]!.get(name, current.liveVersion) as Row | undefined;
      if (versionRow === undefined) return undefined;
      const scale: ScaleSettings = { ...defaultScale, ...current.scale, ...change };
      const before = this.usageOf(tenant);
      this.q["setScale"]!.run(JSON.stringify(scale), nowMs, name);
      this.checkProvisioned(tenant, before);
      return { fn: this.changedFunction(name), version: versionOf(versionRow) };
    });
    if (changed !== undefined) this.tell({ kind: "function", name });
    return changed;
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

  async removeFunction(name: string, tenant: string): Promise<boolean> {
    const removed = this.write(`the removal of "${name}"`, () => {
      if (this.ownedRow(name, tenant) === undefined) return false;
      this.nextRevision();
      this.q["deleteFunction"]!.run(name);
      this.q["deleteVersions"]!.run(name);
      this.q["deleteLogs"]!.run(name);
      return true;
    });
    if (removed) this.tell({ kind: "function", name });
    return removed;
  }

  async removeLogs(fn: string): Promise<void> {
    this.write(`the logs of "${fn}"`, () => this.q["deleteLogs"]!.run(fn));
  }

  async appendLogs(lines: NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    const stored = this.transaction(() => {
      const added = new Map<string, { lines: number; bytes: number }>();
      const out = lines.map((line) => {
        const row = this.q["insertLog"]!.get(line.timeMs, line.function, line.tenant, line.invocationId, line.level, line.message, line.request === undefined ? null : JSON.stringify(line.request)) as Row;
        let sum = added.get(line.tenant);
        if (sum === undefined) added.set(line.tenant, (sum = { lines: 0, bytes: 0 }));
        sum.lines++;
        sum.bytes += Buffer.byteLength(line.message) + logRetention.logLineOverheadBytes;
        return { ...line, id: Number(row["id"]) };
      });
      for (const [tenant, sum] of added) this.applyLogQuota(tenant, sum);
      return out;
    });
    this.appendedSincePrune += lines.length;
    if (this.appendedSincePrune >= 1000) this.prune(Date.now());
    return stored;
  }

  /**
   * Counts what an append added for `tenant` and, when that takes it past its lines or
   * bytes quota, deletes its oldest lines until it is under both. Bounded by the append:
   * every line counts at least the overhead, so the `added.bytes / overhead` oldest lines
   * free at least what was added (the quota held before the call), and 256 more let a
   * tenant over a quota the operator lowered come down a little with each append.
   */
  private applyLogQuota(tenant: string, added: { lines: number; bytes: number }): void {
    const usage = this.q["addLogUsage"]!.get(tenant, added.lines, added.bytes) as Row;
    let overLines = Number(usage["lines"]) - this.quotas.maxLogLines;
    let overBytes = Number(usage["bytes"]) - this.quotas.maxLogBytes;
    if (overLines <= 0 && overBytes <= 0) return;
    const budget = Math.ceil(added.bytes / logRetention.logLineOverheadBytes) + 256;
    let last: number | undefined;
    for (const row of this.q["oldestLogs"]!.iterate(tenant, budget) as Iterable<Row>) {
      last = Number(row["id"]);
      overLines--;
      overBytes -= Number(row["bytes"]);
      if (overLines <= 0 && overBytes <= 0) break;
    }
    if (last !== undefined) this.q["dropTenantLogs"]!.run(tenant, last);
  }

  /** Lines and counted bytes of log the store holds for the tenant (what its log quota bounds). */
  logUsage(tenant: string): { lines: number; bytes: number } {
    const row = this.q["getLogUsage"]!.get(tenant) as Row | undefined;
    return { lines: Number(row?.["lines"] ?? 0), bytes: Number(row?.["bytes"] ?? 0) };
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
    if (query.function !== undefined && query.levels === undefined && query.invocationId === undefined && query.text === undefined && query.tenant === undefined && query.status === undefined) {
      const rows = this.q["readLogs"]!.all(query.function, query.afterId ?? 0, query.sinceMs ?? 0, query.limit) as Row[];
      return rows.map(logOf).reverse();
    }
    // Filtered or tenant-wide: the statement for this shape of query, made once.
    const where = ["id > ?", "time_ms >= ?"];
    const args: (string | number)[] = [query.afterId ?? 0, query.sinceMs ?? 0];
    if (query.function !== undefined) {
      where.push("function = ?");
      args.push(query.function);
    }
    if (query.tenant !== undefined) {
      where.push("tenant = ?");
      args.push(query.tenant);
    }
    if (query.levels !== undefined && query.levels.length > 0) {
      where.push(`level IN (${query.levels.map(() => "?").join(", ")})`);
      args.push(...query.levels);
    }
    if (query.invocationId !== undefined) {
      where.push("invocation_id = ?");
      args.push(query.invocationId);
    }
    if (query.text !== undefined) {
      where.push("instr(message, ?) > 0");
      args.push(query.text);
    }
    if (query.status !== undefined) {
      // The invocations whose request line says so, within the same function or tenant.
      const scope = query.function !== undefined ? " AND function = ?" : query.tenant !== undefined ? " AND tenant = ?" : "";
      where.push(`invocation_id IN (SELECT invocation_id FROM logs WHERE request IS NOT NULL AND json_extract(request, '$.status') BETWEEN ? AND ?${scope})`);
      args.push(query.status.min, query.status.max);
      if (query.function !== undefined) args.push(query.function);
      else if (query.tenant !== undefined) args.push(query.tenant);
    }
    const sql = `SELECT * FROM logs WHERE ${where.join(" AND ")} ORDER BY id DESC LIMIT ?`;
    let statement = this.logQueries.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.logQueries.set(sql, statement);
    }
    return (statement.all(...args, query.limit) as Row[]).map(logOf).reverse();
  }

  /** Statements of filtered log reads, by their SQL (a handful of shapes). */
  private readonly logQueries = new Map<string, StatementSync>();

  async close(): Promise<void> {
    this.db.close();
  }
}
