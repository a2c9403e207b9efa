/**
 * Durable objects' storage on one node: `<data dir>/do/storage.db`, entries and alarms keyed
 * by namespace (`<tenant>/<function>/<class>`) and object id. Writes commit together
 * (../group-commit.ts), fsynced before they resolve. Keys are TEXT, compared by SQLite's
 * BINARY collation: the byte order of their UTF-8, as Workers lists them.
 *
 * Each tenant's stored bytes (a key's UTF-8 and its value's encoding, for every entry, and
 * `alarmBytes` for every alarm) are kept in `tenant_bytes`, changed in the transaction that
 * changes the entries, so the quota's count survives a restart without a scan.
 */
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { GroupCommit } from "../group-commit.ts";

type Row = Record<string, unknown>;

export interface ObjectRef {
  ns: string;
  id: string;
}

export interface DueAlarm extends ObjectRef {
  name: string;
  at: number;
  attempts: number;
}

export interface ListRange {
  start: string;
  startAfter: string;
  end: string;
  prefix: string;
  reverse: boolean;
  limit: number;
}

/** What an alarm counts for on the quota: its row (namespace, id, name, time), rounded up. */
export const alarmBytes = 256;

/** The bytes an entry counts for: its key's UTF-8 and its value. */
export function entryBytes(key: string, value: Uint8Array): number {
  return Buffer.byteLength(key) + value.byteLength;
}

/** `<tenant>/<function>/` and the first string after every namespace under it ('0' follows '/'). */
function functionRange(tenant: string, fn: string): [string, string] {
  const from = `${tenant}/${fn}/`;
  return [from, `${from.slice(0, -1)}0`];
}

/** The tenant of a namespace `<tenant>/<function>/<class>`. */
export const tenantOf = (ns: string): string => ns.slice(0, ns.indexOf("/"));

export class DoStorage {
  private readonly db: DatabaseSync;
  private readonly q: Record<string, StatementSync>;
  private readonly commits: GroupCommit;

  constructor(dataDir: string) {
    const dir = path.join(dataDir, "do");
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.db = new DatabaseSync(path.join(dir, "storage.db"));
    this.db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=5000;
      CREATE TABLE IF NOT EXISTS entries (ns TEXT NOT NULL, object TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, object, key));
      CREATE TABLE IF NOT EXISTS alarms (ns TEXT NOT NULL, object TEXT NOT NULL, name TEXT NOT NULL, at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, object));
      CREATE INDEX IF NOT EXISTS alarms_due ON alarms (at);`);
    // A file from before the byte counts: counted once, from its entries.
    const counted = this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tenant_bytes'").get() !== undefined;
    if (!counted) {
      this.db.exec(`BEGIN IMMEDIATE;
        CREATE TABLE tenant_bytes (tenant TEXT PRIMARY KEY, bytes INTEGER NOT NULL);
        INSERT INTO tenant_bytes SELECT tenant, SUM(n) FROM (
          SELECT substr(ns, 1, instr(ns, '/') - 1) AS tenant, length(CAST(key AS BLOB)) + length(value) AS n FROM entries
          UNION ALL SELECT substr(ns, 1, instr(ns, '/') - 1), ${alarmBytes} FROM alarms) GROUP BY tenant;
        COMMIT;`);
    }
    this.commits = new GroupCommit(this.db, "durable object storage");
    const prepare = (sql: string) => this.db.prepare(sql);
    this.q = {
      get: prepare("SELECT value FROM entries WHERE ns = ? AND object = ? AND key = ?"),
      size: prepare("SELECT length(value) AS n FROM entries WHERE ns = ? AND object = ? AND key = ?"),
      objectBytes: prepare("SELECT COALESCE(SUM(length(CAST(key AS BLOB)) + length(value)), 0) AS n FROM entries WHERE ns = ? AND object = ?"),
      rangeBytes: prepare(`SELECT (SELECT COALESCE(SUM(length(CAST(key AS BLOB)) + length(value)), 0) FROM entries WHERE ns >= ?1 AND ns < ?2)
        + ${alarmBytes} * (SELECT COUNT(*) FROM alarms WHERE ns >= ?1 AND ns < ?2) AS n`),
      deleteRange: prepare("DELETE FROM entries WHERE ns >= ? AND ns < ?"),
      deleteRangeAlarms: prepare("DELETE FROM alarms WHERE ns >= ? AND ns < ?"),
      tenantBytes: prepare("SELECT bytes FROM tenant_bytes WHERE tenant = ?"),
      nextEntryNs: prepare("SELECT ns FROM entries WHERE ns >= ? ORDER BY ns LIMIT 1"),
      nextAlarmNs: prepare("SELECT ns FROM alarms WHERE ns >= ? ORDER BY ns LIMIT 1"),
      addBytes: prepare("INSERT INTO tenant_bytes (tenant, bytes) VALUES (?1, ?2) ON CONFLICT (tenant) DO UPDATE SET bytes = bytes + ?2"),
      put: prepare("INSERT INTO entries (ns, object, key, value) VALUES (?, ?, ?, ?) ON CONFLICT (ns, object, key) DO UPDATE SET value = excluded.value"),
      delete: prepare("DELETE FROM entries WHERE ns = ? AND object = ? AND key = ?"),
      deleteAll: prepare("DELETE FROM entries WHERE ns = ? AND object = ?"),
      listUp: prepare(
        "SELECT key, value FROM entries WHERE ns = ?1 AND object = ?2 AND key >= ?3 AND (?4 = '' OR key > ?4) AND (?5 = '' OR key < ?5) AND substr(key, 1, length(?6)) = ?6 ORDER BY key LIMIT ?7",
      ),
      listDown: prepare(
        "SELECT key, value FROM entries WHERE ns = ?1 AND object = ?2 AND key >= ?3 AND (?4 = '' OR key > ?4) AND (?5 = '' OR key < ?5) AND substr(key, 1, length(?6)) = ?6 ORDER BY key DESC LIMIT ?7",
      ),
      getAlarm: prepare("SELECT at FROM alarms WHERE ns = ? AND object = ?"),
      setAlarm: prepare("INSERT INTO alarms (ns, object, name, at, attempts) VALUES (?, ?, ?, ?, 0) ON CONFLICT (ns, object) DO UPDATE SET at = excluded.at, attempts = 0"),
      deleteAlarm: prepare("DELETE FROM alarms WHERE ns = ? AND object = ?"),
      due: prepare("SELECT ns, object, name, at, attempts FROM alarms WHERE at <= ? ORDER BY at LIMIT ?"),
      next: prepare("SELECT MIN(at) AS at FROM alarms"),
      doneAlarm: prepare("DELETE FROM alarms WHERE ns = ? AND object = ? AND at = ?"),
      retryAlarm: prepare("UPDATE alarms SET at = ?, attempts = attempts + 1 WHERE ns = ? AND object = ? AND at = ?"),
    };
  }

  /** What is committed for `keys` (synchronous: the caller applies its pending writes over it in the same turn). */
  get(o: ObjectRef, keys: readonly string[]): (Uint8Array | undefined)[] {
    return keys.map((k) => (this.q["get"]!.get(o.ns, o.id, k) as Row | undefined)?.["value"] as Uint8Array | undefined);
  }

  /** The committed size of each of `keys`' values, -1 for a key not stored (synchronous, as `get`). */
  sizes(o: ObjectRef, keys: readonly string[]): number[] {
    return keys.map((k) => {
      const row = this.q["size"]!.get(o.ns, o.id, k) as Row | undefined;
      return row === undefined ? -1 : Number(row["n"]);
    });
  }

  /**
   * Every `[tenant, function]` with entries or alarms stored, in order. It steps through the
   * primary keys' index from one function to the next, so it reads a row per function, not
   * every row.
   */
  functions(): [string, string][] {
    const found = new Map<string, [string, string]>();
    for (const next of [this.q["nextEntryNs"]!, this.q["nextAlarmNs"]!]) {
      let from = "";
      for (;;) {
        const row = next.get(from) as Row | undefined;
        if (row === undefined) break;
        const [tenant = "", fn = ""] = String(row["ns"]).split("/");
        found.set(`${tenant}/${fn}`, [tenant, fn]);
        from = functionRange(tenant, fn)[1];
      }
    }
    return [...found.values()];
  }

  /** The bytes `tenant`'s entries take, as committed. */
  tenantBytes(tenant: string): number {
    const row = this.q["tenantBytes"]!.get(tenant) as Row | undefined;
    return row === undefined ? 0 : Number(row["bytes"]);
  }

  /**
   * Writes and deletes in one transaction: [key, value] puts, [key, null] deletes. Resolves
   * with the bytes the tenant's entries grew by (negative when they shrank).
   */
  write(o: ObjectRef, ops: readonly [string, Uint8Array | null][]): Promise<number> {
    return this.commits.write(() => {
      let delta = 0;
      for (const [key, value] of ops) {
        const old = this.q["size"]!.get(o.ns, o.id, key) as Row | undefined;
        if (old !== undefined) delta -= Buffer.byteLength(key) + Number(old["n"]);
        if (value === null) this.q["delete"]!.run(o.ns, o.id, key);
        else {
          this.q["put"]!.run(o.ns, o.id, key, value);
          delta += entryBytes(key, value);
        }
      }
      if (delta !== 0) this.q["addBytes"]!.run(tenantOf(o.ns), delta);
      return delta;
    });
  }

  /** Every key of the object, and its alarm. Resolves with the bytes freed, as a negative change. */
  deleteAll(o: ObjectRef): Promise<number> {
    return this.commits.write(() => {
      let freed = Number((this.q["objectBytes"]!.get(o.ns, o.id) as Row)["n"]);
      this.q["deleteAll"]!.run(o.ns, o.id);
      freed += alarmBytes * Number(this.q["deleteAlarm"]!.run(o.ns, o.id).changes);
      if (freed === 0) return 0;
      this.q["addBytes"]!.run(tenantOf(o.ns), -freed);
      return -freed;
    });
  }

  /** Every object of a removed function (all its classes): entries and alarms. Resolves with the bytes freed, as a negative change. */
  removeFunction(tenant: string, fn: string): Promise<number> {
    const [from, to] = functionRange(tenant, fn);
    return this.commits.write(() => {
      const freed = Number((this.q["rangeBytes"]!.get(from, to) as Row)["n"]);
      this.q["deleteRange"]!.run(from, to);
      this.q["deleteRangeAlarms"]!.run(from, to);
      if (freed === 0) return 0;
      this.q["addBytes"]!.run(tenant, -freed);
      return -freed;
    });
  }

  list(o: ObjectRef, r: ListRange): [string, Uint8Array][] {
    const rows = this.q[r.reverse ? "listDown" : "listUp"]!.all(o.ns, o.id, r.start, r.startAfter, r.end, r.prefix, r.limit) as Row[];
    return rows.map((row) => [String(row["key"]), row["value"] as Uint8Array]);
  }

  async getAlarm(o: ObjectRef): Promise<number | null> {
    const row = this.q["getAlarm"]!.get(o.ns, o.id) as Row | undefined;
    return row === undefined ? null : Number(row["at"]);
  }

  /** Sets the object's alarm; resolves with the bytes the tenant's count grew by (`alarmBytes` for a new one). */
  setAlarm(o: ObjectRef, name: string, at: number): Promise<number> {
    return this.commits.write(() => {
      const grown = this.q["getAlarm"]!.get(o.ns, o.id) === undefined ? alarmBytes : 0;
      this.q["setAlarm"]!.run(o.ns, o.id, name, at);
      if (grown !== 0) this.q["addBytes"]!.run(tenantOf(o.ns), grown);
      return grown;
    });
  }

  /** Resolves with the bytes freed, as a negative change. */
  deleteAlarm(o: ObjectRef): Promise<number> {
    return this.commits.write(() => this.dropAlarm(o.ns, Number(this.q["deleteAlarm"]!.run(o.ns, o.id).changes)));
  }

  private dropAlarm(ns: string, dropped: number): number {
    if (dropped === 0) return 0;
    this.q["addBytes"]!.run(tenantOf(ns), -alarmBytes * dropped);
    return -alarmBytes * dropped;
  }

  async due(nowMs: number, max: number): Promise<DueAlarm[]> {
    return (this.q["due"]!.all(nowMs, max) as Row[]).map((r) => ({ ns: String(r["ns"]), id: String(r["object"]), name: String(r["name"]), at: Number(r["at"]), attempts: Number(r["attempts"]) }));
  }

  /** When the next alarm is due, or null. */
  async nextAt(): Promise<number | null> {
    const at = (this.q["next"]!.get() as Row)["at"];
    return at === null ? null : Number(at);
  }

  /** An alarm ran: gone, unless the object set it again meanwhile (its time changed). Resolves with the bytes freed, as a negative change. */
  alarmDone(a: DueAlarm): Promise<number> {
    return this.commits.write(() => this.dropAlarm(a.ns, Number(this.q["doneAlarm"]!.run(a.ns, a.id, a.at).changes)));
  }

  /** An alarm failed: again at `retryAt`, unless the object set it again meanwhile. */
  alarmRetry(a: DueAlarm, retryAt: number): Promise<void> {
    return this.commits.write(() => void this.q["retryAlarm"]!.run(retryAt, a.ns, a.id, a.at));
  }

  async close(): Promise<void> {
    await this.commits.close();
    this.db.close();
  }
}
