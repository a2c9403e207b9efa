// SQL databases on a real node: D1's API on env.NAME, `flick db`, the authorizer, the time
// and size limits, a kill -9 in the middle, and what another tenant can reach.
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { FlickError } from "../src/errors/index.ts";
import { flick } from "./support/cli.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
before(async () => {
  // Small limits, so the tests reach them quickly.
  node = await startTestNode({ hosts: 2, args: ["--sql-timeout", "2s", "--db-max-mib", "2"] });
});
after(() => node?.kill("SIGKILL"));

/** A function whose fetch runs `body` (an async function body with `db` = env.DB in scope) and answers its result as JSON, or the error. */
const driver = (body: string) => `
export default {
  async fetch(request, env) {
    const db = env.DB;
    try {
      const result = await (async () => { ${body} })();
      return Response.json({ result: result === undefined ? null : result });
    } catch (err) {
      return Response.json({ error: err.name + ": " + err.message });
    }
  },
};`;

/** Deploys `body` as function `fn` bound to database `database` (code is not evaluated from strings in isolates) and calls it once. */
async function run(fn: string, database: string, body: string, on = node): Promise<{ result?: unknown; error?: string }> {
  await on.admin.deploy(fn, { code: driver(body), sqlBindings: { DB: database } });
  const res = await fetch(`${on.url}/fn/${fn}`, { method: "POST" });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { result?: unknown; error?: string };
}

test("env.NAME has D1's API: prepare, bind, first, all, run, raw, batch in one transaction, exec", async () => {
  await node.admin.sqlCreate("app");
  const exec = await run("sql-api", "app", `return db.exec("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, admin INTEGER, avatar BLOB);\\nCREATE INDEX users_name ON users(name)")`);
  assert.equal((exec.result as { count: number }).count, 2);
  const insert = await run("sql-api", "app", `return db.prepare("INSERT INTO users (name, admin, avatar) VALUES (?, ?, ?)").bind("Ada", true, new Uint8Array([1, 2, 255])).run()`);
  const meta = (insert.result as { success: boolean; meta: { changes: number; last_row_id: number; changed_db: boolean } });
  assert.equal(meta.success, true);
  assert.deepEqual([meta.meta.changes, meta.meta.last_row_id, meta.meta.changed_db], [1, 1, true]);
  const out = await run("sql-api", "app", `
    await db.prepare("INSERT INTO users (name, admin) VALUES (?1, ?2)").bind("Grace", false).run();
    const all = await db.prepare("SELECT id, name, admin, avatar FROM users ORDER BY id").all();
    const first = await db.prepare("SELECT * FROM users WHERE name = ?").bind("Grace").first();
    const name = await db.prepare("SELECT name FROM users WHERE id = ?").bind(1).first("name");
    const none = await db.prepare("SELECT * FROM users WHERE id = 99").first();
    const raw = await db.prepare("SELECT id, name FROM users ORDER BY id").raw();
    const rawNames = await db.prepare("SELECT id, name FROM users ORDER BY id").raw({ columnNames: true });
    return { all: all.results, first, name, none, raw, rawNames };`);
  assert.deepEqual(out.result, {
    all: [{ id: 1, name: "Ada", admin: 1, avatar: [1, 2, 255] }, { id: 2, name: "Grace", admin: 0, avatar: null }],
    first: { id: 2, name: "Grace", admin: 0, avatar: null },
    name: "Ada",
    none: null,
    raw: [[1, "Ada"], [2, "Grace"]],
    rawNames: [["id", "name"], [1, "Ada"], [2, "Grace"]],
  });
  // A batch is one transaction: the failing third statement undoes the first two.
  const failed = await run("sql-api", "app", `return db.batch([
    db.prepare("INSERT INTO users (name) VALUES (?)").bind("Edsger"),
    db.prepare("UPDATE users SET name = 'changed'"),
    db.prepare("INSERT INTO users (name) VALUES (NULL)"),
  ])`);
  assert.match(failed.error!, /^Error: .*NOT NULL constraint failed: users\.name/);
  const after = await run("sql-api", "app", `return (await db.prepare("SELECT name FROM users ORDER BY id").raw()).flat()`);
  assert.deepEqual(after.result, ["Ada", "Grace"]);
  const batch = await run("sql-api", "app", `const [a, b] = await db.batch([db.prepare("INSERT INTO users (name) VALUES (?)").bind("Edsger"), db.prepare("SELECT count(*) AS n FROM users")]); return [a.meta.changes, b.results]`);
  assert.deepEqual(batch.result, [1, [{ n: 3 }]]);
  // Mistakes say what is wrong.
  const errors = await run("sql-api", "app", `
    const out = [];
    for (const f of [
      () => db.prepare("SELECT * FROM nope").all(),
      () => db.prepare("SELECT ?").bind(undefined).all(),
      () => db.prepare("SELECT 1 AS a").first("b"),
      () => db.prepare("SELECT ?").bind({}).all(),
    ]) { try { await f(); out.push("ok"); } catch (err) { out.push(err.name + ": " + err.message); } }
    return out;`);
  const [noTable, undef, noColumn, object] = errors.result as string[];
  assert.match(noTable!, /^Error: no such table: nope/);
  assert.match(undef!, /^TypeError: env\.DB: cannot bind a value of type undefined/);
  assert.match(noColumn!, /^Error: env\.DB\.first\("b"\): the statement has no column "b" \(it has a\)/);
  assert.match(object!, /^TypeError: env\.DB: cannot bind a value of type object/);
});

test("a statement reaches only its own database: ATTACH, VACUUM INTO, extensions, pragmas that change the engine and transaction control are refused", async () => {
  await node.admin.sqlCreate("locked");
  const dir = tempDir("flick-sql-escape-");
  const out = await run("sql-locked", "locked", `
    const out = [];
    for (const sql of [
      "ATTACH DATABASE '${path.join(dir, "other.db")}' AS other",
      "VACUUM INTO '${path.join(dir, "copy.db")}'",
      "  /* hidden */ vacuum",
      "SELECT load_extension('/tmp/evil.so')",
      "PRAGMA writable_schema = ON",
      "PRAGMA journal_mode = DELETE",
      "PRAGMA max_page_count = 999999999",
      "BEGIN",
      "CREATE VIRTUAL TABLE v USING dbstat",
      "PRAGMA table_info(sqlite_schema)",
      "CREATE VIRTUAL TABLE docs USING fts5(body)",
    ]) { try { await db.prepare(sql).run(); out.push("ran"); } catch (err) { out.push(err.message); } }
    return out;`);
  const results = out.result as string[];
  assert.match(results[0]!, /ATTACH and DETACH are not allowed/);
  assert.match(results[1]!, /VACUUM is not allowed/);
  assert.match(results[2]!, /VACUUM is not allowed/);
  assert.match(results[3]!, /load_extension\(\) is not allowed/);
  assert.match(results[4]!, /PRAGMA writable_schema is not allowed/);
  assert.match(results[5]!, /PRAGMA journal_mode is not allowed/);
  assert.match(results[6]!, /PRAGMA max_page_count is not allowed/);
  assert.match(results[7]!, /BEGIN, COMMIT, ROLLBACK and SAVEPOINT are not allowed: use batch\(\)/);
  assert.match(results[8]!, /virtual tables of module dbstat are not allowed/);
  assert.equal(results[9], "ran");
  assert.equal(results[10], "ran", "full-text search is allowed");
  const { existsSync } = await import("node:fs");
  assert.equal(existsSync(path.join(dir, "other.db")), false);
  assert.equal(existsSync(path.join(dir, "copy.db")), false);
});

test("a query past the time limit is stopped and rolled back; the database and the other databases go on", async () => {
  await node.admin.sqlCreate("slow");
  await node.admin.sqlCreate("busy");
  await run("sql-slow", "slow", `await db.exec("CREATE TABLE t (x)"); await db.prepare("INSERT INTO t VALUES (1)").run();`);
  const forever = run("sql-slow", "slow", `return db.batch([
    db.prepare("INSERT INTO t VALUES (2)"),
    db.prepare("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"),
  ])`);
  // Another database answers meanwhile (it may share the stopped query's runner and wait for it).
  const other = await run("sql-busy", "busy", `return (await db.prepare("SELECT 41 + 1 AS n").first()).n`);
  assert.equal(other.result, 42);
  const stopped = await forever;
  assert.match(stopped.error!, /the query ran over the 2 s limit and was stopped; what it wrote was rolled back/);
  const rows = await run("sql-slow", "slow", `return (await db.prepare("SELECT x FROM t").raw()).flat()`);
  assert.deepEqual(rows.result, [1], "the batch's insert was rolled back");
});

test("a database stops at its size limit with an error that says so; deleting makes room", async () => {
  await node.admin.sqlCreate("full");
  const out = await run("sql-full", "full", `
    await db.exec("CREATE TABLE blobs (b BLOB)");
    let n = 0;
    try { for (;;) { await db.prepare("INSERT INTO blobs VALUES (?)").bind(new Uint8Array(100_000)).run(); n++; } }
    catch (err) { return { n, error: err.message }; }`);
  const { n, error } = out.result as { n: number; error: string };
  assert.ok(n >= 10 && n <= 21, `2 MiB holds about 20 rows of 100 kB, got ${n}`);
  assert.match(error, /the database is at its size limit of 2 MiB/);
  const again = await run("sql-full", "full", `await db.prepare("DELETE FROM blobs").run(); await db.prepare("INSERT INTO blobs VALUES (?)").bind(new Uint8Array(100_000)).run(); return "fits"`);
  assert.equal(again.result, "fits");
});

test("flick db: create, migrate (each file once, a failing one rolled back), query, export and import, rm; a bound database cannot be removed", async () => {
  const env = { FLICK_URL: node.url, FLICK_TOKEN: node.adminToken };
  const dir = tempDir("flick-db-cli-");
  const ok = async (args: string[]) => {
    const r = await flick(args, env, dir);
    assert.equal(r.code, 0, `flick ${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  assert.match((await ok(["db", "create", "shop"])).stdout, /SQL database shop created for tenant default; bind it with --sql-binding NAME=shop/);
  mkdirSync(path.join(dir, "migrations"));
  writeFileSync(path.join(dir, "migrations", "0001_init.sql"), "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price REAL);\n-- a comment; with a semicolon\nINSERT INTO items (name, price) VALUES ('pen; blue', 1.5);\n");
  writeFileSync(path.join(dir, "migrations", "0002_trigger.sql"), "CREATE TABLE log (msg TEXT);\nCREATE TRIGGER items_log AFTER INSERT ON items BEGIN INSERT INTO log VALUES ('added ' || NEW.name); SELECT CASE WHEN NEW.price < 0 THEN RAISE(ABORT, 'negative price') END; END;\n");
  assert.match((await ok(["db", "migrate", "shop", "migrations"])).stderr, /shop: applied 0001_init\.sql, 0002_trigger\.sql/);
  assert.match((await ok(["db", "migrate", "shop", "migrations"])).stderr, /shop: up to date \(2 migrations applied before\)/);
  writeFileSync(path.join(dir, "migrations", "0003_bad.sql"), "CREATE TABLE extra (x);\nINSERT INTO nowhere VALUES (1);\n");
  const bad = await flick(["db", "migrate", "shop", "migrations"], env, dir);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /migration 0003_bad\.sql failed and was rolled back: .*no such table: nowhere/);
  const tables = await ok(["db", "query", "shop", "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", "--json"]);
  assert.deepEqual((JSON.parse(tables.stdout) as { rows: string[][] }[])[0]!.rows.flat(), ["_flick_migrations", "items", "log"], "0003 left nothing behind");
  await ok(["db", "query", "shop", "INSERT INTO items (name, price) VALUES ('ink', 3)"]);
  const rows = await ok(["db", "query", "shop", "SELECT name, price FROM items ORDER BY id"]);
  assert.match(rows.stdout, /NAME\s+PRICE\npen; blue\s+1\.5\nink\s+3/);
  const trig = await flick(["db", "query", "shop", "INSERT INTO items (name, price) VALUES ('debt', -1)"], env, dir);
  assert.match(trig.stderr, /negative price/);
  const dump = await ok(["db", "export", "shop"]);
  assert.match(dump.stdout, /INSERT INTO "items" VALUES\(1,'pen; blue',1\.5\);/);
  writeFileSync(path.join(dir, "shop.sql"), dump.stdout);
  await ok(["db", "create", "copy"]);
  await ok(["db", "import", "copy", "shop.sql"]);
  const copied = await ok(["db", "query", "copy", "SELECT (SELECT group_concat(name) FROM items), (SELECT count(*) FROM log)", "--json"]);
  assert.deepEqual((JSON.parse(copied.stdout) as { rows: unknown[][] }[])[0]!.rows, [["pen; blue,ink", 1]], "the rows, and the one log row the trigger wrote (it came after the pen)");
  assert.match((await ok(["db", "ls"])).stdout, /^shop\s+default\s/m);
  await node.admin.deploy("sql-bound", { code: driver("return 1"), sqlBindings: { DB: "copy" } });
  const refused = await flick(["db", "rm", "copy"], env, dir);
  assert.match(refused.stderr, /SQL database "copy" is bound by "sql-bound"/);
  await node.admin.deploy("sql-bound", { unset: ["sqlBindings.DB"] });
  await ok(["db", "rm", "copy"]);
  assert.doesNotMatch((await ok(["db", "ls"])).stdout, /^copy\s/m);
  const missing = await flick(["db", "query", "copy", "SELECT 1"], env, dir);
  assert.match(missing.stderr, /tenant "default" has no SQL database "copy"/);
});

test("tenants never reach each other's databases: not by binding, not through the API", async () => {
  const a = await node.admin.createTenant("sql-a");
  const b = await node.admin.createTenant("sql-b");
  const ta = new FlickClient(node.url, a.token);
  const tb = new FlickClient(node.url, b.token);
  await ta.sqlCreate("private");
  await ta.sqlQuery("private", "CREATE TABLE secrets (s TEXT); INSERT INTO secrets VALUES ('hunter2')");
  await assert.rejects(tb.deploy("sqlb-fn", { code: driver("return 1"), sqlBindings: { DB: "private" } }), /tenant "sql-b" has no SQL database "private"/);
  await assert.rejects(tb.sqlQuery("private", "SELECT * FROM secrets"), (err: FlickError) => err.code === "sql_database_not_found");
  await assert.rejects(tb.sqlQuery("private", "SELECT * FROM secrets", "sql-a"), (err: FlickError) => err.code === "forbidden");
  await assert.rejects(tb.sqlExport("private", "sql-a"), (err: FlickError) => err.code === "forbidden");
  await assert.rejects(tb.sqlRemove("private", "sql-a"), (err: FlickError) => err.code === "forbidden");
  assert.deepEqual(await tb.sqlDatabases(), []);
  await tb.sqlCreate("private");
  await tb.deploy("sqlb-fn", { code: driver(`return (await db.prepare("SELECT name FROM sqlite_schema").raw()).flat()`), sqlBindings: { DB: "private" } });
  const seen = (await (await fetch(`${node.url}/fn/sqlb-fn`)).json()) as { result: unknown };
  assert.deepEqual(seen.result, []);
  assert.deepEqual((await ta.sqlQuery("private", "SELECT s FROM secrets"))[0]!.rows, [["hunter2"]]);
});

test("writes a function saw succeed survive kill -9 of the node", async () => {
  const solo = await startTestNode({ hosts: 1 });
  try {
    await solo.admin.sqlCreate("durable");
    await solo.admin.sqlQuery("durable", "CREATE TABLE n (i INTEGER)");
    await solo.admin.deploy("sql-durable", {
      code: `export default { async fetch(request, env) {
        await Promise.all(Array.from({ length: 100 }, (_, i) => env.DB.prepare("INSERT INTO n VALUES (?)").bind(i).run()));
        return new Response("wrote 100");
      } };`,
      sqlBindings: { DB: "durable" },
    });
    assert.equal(await (await fetch(`${solo.url}/fn/sql-durable`)).text(), "wrote 100");
    await solo.kill("SIGKILL");
    const again = await startTestNode({ hosts: 1, dataDir: solo.dataDir });
    try {
      assert.deepEqual((await again.admin.sqlQuery("durable", "SELECT count(*), sum(i) FROM n"))[0]!.rows, [[100, 4950]]);
    } finally {
      await again.kill("SIGKILL");
    }
  } finally {
    await solo.kill("SIGKILL").catch(() => {});
  }
});

test("tenants take turns on a SQL runner: one tenant's queue of slow queries holds another's query for one of them, not all", async () => {
  const fair = await startTestNode({ hosts: 1, args: ["--sql-runners", "1", "--sql-timeout", "1s"] });
  try {
    const hog = new FlickClient(fair.url, (await fair.admin.createTenant("sql-hog")).token);
    const calm = new FlickClient(fair.url, (await fair.admin.createTenant("sql-calm")).token);
    await hog.sqlCreate("slow");
    await calm.sqlCreate("quick");
    const forever = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    const done: string[] = [];
    const hogs = Array.from({ length: 4 }, (_, i) => hog.sqlQuery("slow", forever).then(() => done.push(`hog ${i}`), () => done.push(`hog ${i}`)));
    const quick = calm.sqlQuery("quick", "SELECT 42").then((r) => {
      done.push("calm");
      return r;
    });
    assert.deepEqual((await quick)[0]!.rows, [[42]]);
    await Promise.all(hogs);
    assert.ok(done.indexOf("calm") <= 1, `the calm tenant's query waited for the hog's running query at most: ${done.join(", ")}`);
  } finally {
    await fair.kill("SIGKILL");
  }
});
