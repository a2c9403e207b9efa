/**
 * KV namespaces in one SQLite file on the node (`<data dir>/kv.db`). Keys are stored as
 * their UTF-8 bytes, so SQLite's byte-wise BLOB order is Workers KV's list order and a
 * prefix is one index range. Each namespace row carries its keys' count and bytes, so a
 * tenant's usage is a sum over its namespaces and a removed namespace stops counting at
 * once; its entries are deleted a chunk at a time by `sweep`, never in one long stall.
 *
 * Writes that arrive together commit together (../group-commit.ts), fsynced before any of
 * them resolves — a write that resolved survives a crash or `kill -9` — each in its own
 * savepoint, so one over quota fails alone.
 */
import { randomUUID } from "node:crypto";
import * as path from "node:path";
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { FlickError } from "../../errors/index.ts";
import { GroupCommit } from "../group-commit.ts";
import { entryBytes, type KvEntry, type KvListedKey, type KvNamespace, type KvStore, type KvUsage, type KvValue } from "./kv-store.ts";

type Row = Record<string, unknown>;

/** Above every UTF-8 key: no UTF-8 string has a 0xFF byte. */
const aboveAll = Buffer.from([0xff]);

/** The smallest byte string above every key that starts with `prefix` (UTF-8 has no 0xFF byte to carry). */
function prefixEnd(prefix: Buffer): Buffer {
  if (prefix.length === 0) return aboveAll;
  const end = Buffer.from(prefix);
  end[end.length - 1]! += 1;
  return end;
}

export class SqliteKv implements KvStore {
  private readonly db: DatabaseSync;
  private readonly q: Record<string, StatementSync>;
  private readonly commits: GroupCommit;

  constructor(dataDir: string, options: { busyTimeoutMs?: number } = {}) {
    this.db = new DatabaseSync(path.join(dataDir, "kv.db"));
    this.db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=${Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000))};`);
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS namespaces (
        id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL,
        keys INTEGER NOT NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, UNIQUE (tenant, name));
      CREATE TABLE IF NOT EXISTS entries (
        ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL, metadata TEXT, expiration INTEGER, bytes INTEGER NOT NULL,
        PRIMARY KEY (ns, key));
      CREATE INDEX IF NOT EXISTS entries_expiring ON entries (expiration) WHERE expiration IS NOT NULL;
      -- Namespaces removed whose entries are still being deleted.
      CREATE TABLE IF NOT EXISTS removed (id TEXT PRIMARY KEY);
    `);
    this.commits = new GroupCommit(this.db, "the KV store");
    const prepare = (sql: string) => this.db.prepare(sql);
    this.q = {
      insertNs: prepare("INSERT INTO namespaces (id, tenant, name, created_ms) VALUES (?, ?, ?, ?)"),
      countNs: prepare("SELECT COUNT(*) AS n FROM namespaces WHERE tenant = ?"),
      ns: prepare("SELECT id, tenant, name, created_ms FROM namespaces WHERE tenant = ? AND name = ?"),
      nsById: prepare("SELECT 1 FROM namespaces WHERE id = ?"),
      allNs: prepare("SELECT id, tenant, name, created_ms, keys, bytes FROM namespaces ORDER BY tenant, name"),
      tenantNs: prepare("SELECT id, tenant, name, created_ms, keys, bytes FROM namespaces WHERE tenant = ? ORDER BY name"),
      removeNs: prepare("DELETE FROM namespaces WHERE tenant = ? AND name = ? RETURNING id"),
      markRemoved: prepare("INSERT OR IGNORE INTO removed (id) VALUES (?)"),
      usage: prepare("SELECT COALESCE(SUM(keys), 0) AS keys, COALESCE(SUM(bytes), 0) AS bytes FROM namespaces WHERE tenant = ?"),
      addUsage: prepare("UPDATE namespaces SET keys = keys + ?, bytes = bytes + ? WHERE id = ?"),
      get: prepare("SELECT value, metadata, expiration FROM entries WHERE ns = ? AND key = ?"),
      old: prepare("SELECT bytes FROM entries WHERE ns = ? AND key = ?"),
      upsert: prepare(
        "INSERT INTO entries (ns, key, value, metadata, expiration, bytes) VALUES (?, ?, ?, ?, ?, ?) " +
          "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value, metadata = excluded.metadata, expiration = excluded.expiration, bytes = excluded.bytes",
      ),
      delete: prepare("DELETE FROM entries WHERE ns = ? AND key = ? RETURNING bytes"),
      listFrom: prepare(
        "SELECT key, metadata, expiration FROM entries WHERE ns = ? AND key >= ? AND key < ? AND (expiration IS NULL OR expiration > ?) ORDER BY key LIMIT ?",
      ),
      listAfter: prepare(
        "SELECT key, metadata, expiration FROM entries WHERE ns = ? AND key > ? AND key < ? AND (expiration IS NULL OR expiration > ?) ORDER BY key LIMIT ?",
      ),
      expired: prepare("SELECT rowid AS id, ns, bytes FROM entries WHERE expiration IS NOT NULL AND expiration <= ? LIMIT ?"),
      deleteRow: prepare("DELETE FROM entries WHERE rowid = ?"),
      removedOne: prepare("SELECT id FROM removed LIMIT 1"),
      deleteOrphans: prepare("DELETE FROM entries WHERE rowid IN (SELECT rowid FROM entries WHERE ns = ? LIMIT ?)"),
      forget: prepare("DELETE FROM removed WHERE id = ?"),
    };
  }

  private static namespaceOf(row: Row): KvNamespace {
    return { id: String(row["id"]), tenant: String(row["tenant"]), name: String(row["name"]), createdAtMs: Number(row["created_ms"]) };
  }

  async createNamespace(tenant: string, name: string, maxPerTenant: number, nowMs: number): Promise<KvNamespace> {
    return this.write(() => {
      if (this.q["ns"]!.get(tenant, name) !== undefined) {
        throw new FlickError("kv_namespace_exists", `tenant "${tenant}" has a KV namespace "${name}" already; \`flick kv ls\` lists them`);
      }
      const count = Number((this.q["countNs"]!.get(tenant) as Row)["n"]);
      if (count >= maxPerTenant) {
        throw new FlickError("quota_exceeded", `tenant "${tenant}" has ${count} KV namespaces, the most a tenant may have; remove one (\`flick kv rm NAME\`) first`);
      }
      const ns: KvNamespace = { id: randomUUID(), tenant, name, createdAtMs: nowMs };
      this.q["insertNs"]!.run(ns.id, tenant, name, nowMs);
      return ns;
    });
  }

  async namespace(tenant: string, name: string): Promise<KvNamespace | undefined> {
    const row = this.q["ns"]!.get(tenant, name) as Row | undefined;
    return row === undefined ? undefined : SqliteKv.namespaceOf(row);
  }

  async namespaces(tenant: string | undefined): Promise<(KvNamespace & KvUsage)[]> {
    const rows = (tenant === undefined ? this.q["allNs"]!.all() : this.q["tenantNs"]!.all(tenant)) as Row[];
    return rows.map((r) => ({ ...SqliteKv.namespaceOf(r), keys: Number(r["keys"]), bytes: Number(r["bytes"]) }));
  }

  async removeNamespace(tenant: string, name: string): Promise<boolean> {
    return this.write(() => {
      const row = this.q["removeNs"]!.get(tenant, name) as Row | undefined;
      if (row === undefined) return false;
      this.q["markRemoved"]!.run(String(row["id"]));
      return true;
    });
  }

  async get(ns: KvNamespace, keys: readonly string[], nowMs: number): Promise<(KvValue | undefined)[]> {
    const now = nowMs / 1000;
    return keys.map((key) => {
      const row = this.q["get"]!.get(ns.id, Buffer.from(key)) as Row | undefined;
      if (row === undefined) return undefined;
      const expiration = row["expiration"] === null ? null : Number(row["expiration"]);
      if (expiration !== null && expiration <= now) return undefined;
      const value = row["value"] as Uint8Array;
      return { value, metadata: row["metadata"] === null ? null : String(row["metadata"]), expiration };
    });
  }

  async put(ns: KvNamespace, entries: readonly KvEntry[], quotaBytes: number, nowMs: number): Promise<void> {
    void nowMs;
    return this.write(() => {
      if (this.q["nsById"]!.get(ns.id) === undefined) throw new FlickError("kv_namespace_not_found", `the KV namespace "${ns.name}" was removed`);
      let keys = 0;
      let bytes = 0;
      const rows = entries.map((e) => {
        const key = Buffer.from(e.key);
        const size = entryBytes(e.key, e.value, e.metadata);
        const old = this.q["old"]!.get(ns.id, key) as Row | undefined;
        if (old === undefined) keys++;
        bytes += size - (old === undefined ? 0 : Number(old["bytes"]));
        return { key, size, e };
      });
      if (bytes > 0) {
        const used = Number((this.q["usage"]!.get(ns.tenant) as Row)["bytes"]);
        if (used + bytes > quotaBytes) {
          throw new FlickError("quota_exceeded", `tenant "${ns.tenant}" stores ${used} bytes in KV; ${bytes} more is over its quota of ${quotaBytes} bytes. Delete keys, or ask the operator for more`);
        }
      }
      for (const { key, size, e } of rows) this.q["upsert"]!.run(ns.id, key, e.value, e.metadata, e.expiration, size);
      this.q["addUsage"]!.run(keys, bytes, ns.id);
    });
  }

  async delete(ns: KvNamespace, keys: readonly string[]): Promise<void> {
    return this.write(() => {
      let count = 0;
      let bytes = 0;
      for (const key of keys) {
        const row = this.q["delete"]!.get(ns.id, Buffer.from(key)) as Row | undefined;
        if (row === undefined) continue;
        count++;
        bytes += Number(row["bytes"]);
      }
      if (count > 0) this.q["addUsage"]!.run(-count, -bytes, ns.id);
    });
  }

  async list(ns: KvNamespace, prefix: string, after: string | null, limit: number, nowMs: number): Promise<{ keys: KvListedKey[]; complete: boolean }> {
    const low = Buffer.from(prefix);
    const end = prefixEnd(low);
    const from = after === null ? null : Buffer.from(after);
    // After a cursor below the prefix, the listing starts at the prefix.
    const rows = (from !== null && Buffer.compare(from, low) >= 0
      ? this.q["listAfter"]!.all(ns.id, from, end, nowMs / 1000, limit + 1)
      : this.q["listFrom"]!.all(ns.id, low, end, nowMs / 1000, limit + 1)) as Row[];
    const keys = rows.slice(0, limit).map((r) => ({
      name: Buffer.from(r["key"] as Uint8Array).toString("utf8"),
      expiration: r["expiration"] === null ? null : Number(r["expiration"]),
      metadata: r["metadata"] === null ? null : String(r["metadata"]),
    }));
    return { keys, complete: rows.length <= limit };
  }

  async usage(tenant: string): Promise<KvUsage> {
    const row = this.q["usage"]!.get(tenant) as Row;
    return { keys: Number(row["keys"]), bytes: Number(row["bytes"]) };
  }

  async sweep(nowMs: number, max: number): Promise<number> {
    return this.write(() => {
      let removed = 0;
      const expired = this.q["expired"]!.all(nowMs / 1000, max) as Row[];
      for (const row of expired) {
        this.q["deleteRow"]!.run(row["id"] as number);
        this.q["addUsage"]!.run(-1, -Number(row["bytes"]), String(row["ns"]));
        removed++;
      }
      // A removed namespace's entries, a chunk at a time (they count for nobody any more).
      const gone = this.q["removedOne"]!.get() as Row | undefined;
      if (gone !== undefined && removed < max) {
        const deleted = Number(this.q["deleteOrphans"]!.run(String(gone["id"]), max - removed).changes);
        removed += deleted;
        if (deleted < max) this.q["forget"]!.run(String(gone["id"]));
      }
      return removed;
    });
  }

  private write<T>(work: () => T): Promise<T> {
    return this.commits.write(work);
  }

  async close(): Promise<void> {
    // What was queued before the close is written first.
    await this.commits.close();
    this.db.close();
  }
}
