/**
 * `flick db`: a tenant's SQL databases — create, list, remove, run SQL, apply migrations,
 * export as SQL text and import it. Functions reach a database through
 * `--sql-binding NAME=DB` (D1's API); this command is for people and scripts.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { FlickError } from "../errors/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { bytes, table, time } from "./format.ts";

const usage = "db create <DB> | db ls | db rm <DB> | db query <DB> <SQL> | db migrate <DB> <DIR> | db export <DB> | db import <DB> <FILE.sql>";

function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new FlickError("bad_request", `cannot read ${file}: ${(err as Error).message}`);
  }
}

/** A cell as text: null as NULL, a blob (an array of bytes) as x'…'. */
function cell(v: unknown): string {
  if (v === null) return "NULL";
  if (Array.isArray(v)) return `x'${Buffer.from(v as number[]).toString("hex")}'`;
  return String(v);
}

export const db: Command = {
  name: "db",
  summary: "SQL databases of a tenant (SQLite, D1's API in functions): create, list, query, migrate, export, import.",
  usage: `${usage}   [--tenant T]`,
  optionHelp: [
    "--file F            db query: run the SQL in file F instead of <SQL>",
    "--tenant T          admin only: the tenant whose databases (default: `default`; db ls: all)",
    jsonHelp,
    ...connectionHelp,
  ],
  examples: [
    "flick db create shop",
    "flick db migrate shop migrations/      # 0001_init.sql, 0002_orders.sql … each applied once, in order",
    "flick deploy app.ts --sql-binding DB=shop",
    "flick db query shop \"SELECT * FROM orders LIMIT 5\"",
    "flick db export shop > shop.sql && flick db import copy shop.sql",
  ],
  options: { ...connectionOptions, ...jsonOption, file: { type: "string" }, tenant: { type: "string" } },
  positionals: { min: 1, max: 3 },
  async run({ values, positionals }) {
    const client = clientFor(resolveConnection(values as never));
    const tenant = values["tenant"] as string | undefined;
    const json = values["json"] === true;
    const [action, name, arg] = positionals;
    const wrong = (): number => {
      console.error(`usage: flick ${usage}`);
      return 2;
    };
    switch (action) {
      case "create": {
        if (name === undefined || arg !== undefined) return wrong();
        const created = await client.sqlCreate(name, tenant);
        if (json) return void printJson(created);
        console.log(`SQL database ${created.name} created for tenant ${created.tenant}; bind it with --sql-binding NAME=${created.name}`);
        return;
      }
      case "ls": {
        if (name !== undefined) return wrong();
        const list = await client.sqlDatabases(tenant);
        if (json) return void printJson(list);
        if (list.length === 0) return void console.log("no SQL databases yet; `flick db create NAME` makes one");
        console.log(table(["DATABASE", "TENANT", "SIZE", "CREATED"], list.map((d) => [d.name, d.tenant, bytes(d.bytes), time(d.createdAtMs)])));
        return;
      }
      case "rm": {
        if (name === undefined || arg !== undefined) return wrong();
        await client.sqlRemove(name, tenant);
        if (json) return void printJson({ removed: true });
        console.error(`SQL database ${name} removed`);
        return;
      }
      case "query": {
        const file = values["file"] as string | undefined;
        if (name === undefined || (arg === undefined) === (file === undefined)) {
          console.error("give the SQL as an argument or as --file F (one of them)");
          return wrong();
        }
        const results = await client.sqlQuery(name, arg ?? readText(file!), tenant);
        if (json) return void printJson(results);
        for (const r of results) {
          if (r.columns.length > 0) console.log(table(r.columns.map((c) => c.toUpperCase()), r.rows.map((row) => row.map(cell))));
          else console.error(`${r.changes} row${r.changes === 1 ? "" : "s"} changed${r.lastRowId > 0 && r.changes > 0 ? ` (last row id ${r.lastRowId})` : ""}`);
        }
        return;
      }
      case "migrate": {
        if (name === undefined || arg === undefined) return wrong();
        let files: string[];
        try {
          if (!statSync(arg).isDirectory()) throw new Error("not a folder");
          files = readdirSync(arg).filter((f) => f.endsWith(".sql")).sort();
        } catch (err) {
          throw new FlickError("bad_request", `${arg}: ${(err as Error).message}; give a folder of .sql files (0001_init.sql, 0002_…), applied in name order`);
        }
        if (files.length === 0) throw new FlickError("bad_request", `${arg} holds no .sql files; name them so they sort in order (0001_init.sql, 0002_…)`);
        const applied = await client.sqlMigrate(name, files.map((f) => ({ name: f, sql: readText(path.join(arg, f)) })), tenant);
        if (json) return void printJson({ applied });
        console.error(applied.length === 0 ? `${name}: up to date (${files.length} migration${files.length === 1 ? "" : "s"} applied before)` : `${name}: applied ${applied.join(", ")}`);
        return;
      }
      case "export": {
        if (name === undefined || arg !== undefined) return wrong();
        process.stdout.write(await client.sqlExport(name, tenant));
        return;
      }
      case "import": {
        if (name === undefined || arg === undefined) return wrong();
        const results = await client.sqlQuery(name, readText(arg), tenant);
        if (json) return void printJson({ statements: results.length });
        console.error(`${name}: ${results.length} statements run from ${arg}`);
        return;
      }
      default:
        return wrong();
    }
  },
};
