/**
 * Which SQL databases exist: a tenant's by name, each a file `<data dir>/sql/<id>.sqlite`
 * under an id the tenant never sees (a database removed and created again under its name is
 * a new file). Kept in `<data dir>/sql/databases.db`.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync } from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { FlickError } from "../../errors/index.ts";

export interface SqlDatabase {
  tenant: string;
  name: string;
  id: string;
  createdAtMs: number;
  /** The database's file. */
  file: string;
}

type Row = Record<string, unknown>;

export class SqlRegistry {
  private readonly db: DatabaseSync;
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, "sql");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    this.db = new DatabaseSync(path.join(this.dir, "databases.db"));
    this.db.exec(`PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
      CREATE TABLE IF NOT EXISTS databases (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, name TEXT NOT NULL, created_ms INTEGER NOT NULL, UNIQUE (tenant, name));`);
  }

  private of(row: Row): SqlDatabase {
    const id = String(row["id"]);
    return { id, tenant: String(row["tenant"]), name: String(row["name"]), createdAtMs: Number(row["created_ms"]), file: path.join(this.dir, `${id}.sqlite`) };
  }

  create(tenant: string, name: string, maxPerTenant: number, nowMs: number): SqlDatabase {
    if (this.get(tenant, name) !== undefined) throw new FlickError("sql_database_exists", `tenant "${tenant}" has a SQL database "${name}" already; \`flick db ls\` lists them`);
    const count = Number((this.db.prepare("SELECT COUNT(*) AS n FROM databases WHERE tenant = ?").get(tenant) as Row)["n"]);
    if (count >= maxPerTenant) throw new FlickError("quota_exceeded", `tenant "${tenant}" has ${count} SQL databases, the most a tenant may have; remove one (\`flick db rm NAME\`) first`);
    const id = randomUUID();
    this.db.prepare("INSERT INTO databases (id, tenant, name, created_ms) VALUES (?, ?, ?, ?)").run(id, tenant, name, nowMs);
    return this.of({ id, tenant, name, created_ms: nowMs });
  }

  get(tenant: string, name: string): SqlDatabase | undefined {
    const row = this.db.prepare("SELECT id, tenant, name, created_ms FROM databases WHERE tenant = ? AND name = ?").get(tenant, name) as Row | undefined;
    return row === undefined ? undefined : this.of(row);
  }

  list(tenant: string | undefined): SqlDatabase[] {
    const rows = (tenant === undefined
      ? this.db.prepare("SELECT id, tenant, name, created_ms FROM databases ORDER BY tenant, name").all()
      : this.db.prepare("SELECT id, tenant, name, created_ms FROM databases WHERE tenant = ? ORDER BY name").all(tenant)) as Row[];
    return rows.map((r) => this.of(r));
  }

  remove(tenant: string, name: string): SqlDatabase | undefined {
    const row = this.db.prepare("DELETE FROM databases WHERE tenant = ? AND name = ? RETURNING id, tenant, name, created_ms").get(tenant, name) as Row | undefined;
    return row === undefined ? undefined : this.of(row);
  }

  close(): void {
    this.db.close();
  }
}
