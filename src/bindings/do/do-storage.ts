/**
 * Durable objects' storage on one node: `<data dir>/do/storage.db`, entries and alarms keyed
 * by namespace (`<tenant>/<function>/<class>`) and object id. Writes commit together
 * (../group-commit.ts), fsynced before they resolve. Keys are TEXT, compared by SQLite's
 * BINARY collation: the byte order of their UTF-8, as Workers lists them.
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
    this.commits = new GroupCommit(this.db, "durable object storage");
    const prepare = (sql: string) => this.db.prepare(sql);
    this.q = {
      get: prepare("SELECT value FROM entries WHERE ns = ? AND object = ? AND key = ?"),
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

  /** Writes and deletes in one transaction: [key, value] puts, [key, null] deletes. How many deletes found a key. */
  write(o: ObjectRef, ops: readonly [string, Uint8Array | null][]): Promise<number> {
    return this.commits.write(() => {
      let deleted = 0;
      for (const [key, value] of ops) {
        if (value === null) deleted += Number(this.q["delete"]!.run(o.ns, o.id, key).changes);
        else this.q["put"]!.run(o.ns, o.id, key, value);
      }
      return deleted;
    });
  }

  /** Every key of the object, and its alarm. */
  deleteAll(o: ObjectRef): Promise<void> {
    return this.commits.write(() => {
      this.q["deleteAll"]!.run(o.ns, o.id);
      this.q["deleteAlarm"]!.run(o.ns, o.id);
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

  setAlarm(o: ObjectRef, name: string, at: number): Promise<void> {
    return this.commits.write(() => void this.q["setAlarm"]!.run(o.ns, o.id, name, at));
  }

  deleteAlarm(o: ObjectRef): Promise<void> {
    return this.commits.write(() => void this.q["deleteAlarm"]!.run(o.ns, o.id));
  }

  async due(nowMs: number, max: number): Promise<DueAlarm[]> {
    return (this.q["due"]!.all(nowMs, max) as Row[]).map((r) => ({ ns: String(r["ns"]), id: String(r["object"]), name: String(r["name"]), at: Number(r["at"]), attempts: Number(r["attempts"]) }));
  }

  /** When the next alarm is due, or null. */
  async nextAt(): Promise<number | null> {
    const at = (this.q["next"]!.get() as Row)["at"];
    return at === null ? null : Number(at);
  }

  /** An alarm ran: gone, unless the object set it again meanwhile (its time changed). */
  alarmDone(a: DueAlarm): Promise<void> {
    return this.commits.write(() => void this.q["doneAlarm"]!.run(a.ns, a.id, a.at));
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
