// The embedded store's own behaviour, on real SQLite files: a file locked by another
// process, code as files, retention by prune, the log usage counters. What every Store
// does is in test/contracts/store-contract.ts, run against this one by test/store-contract.test.ts.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { test } from "node:test";
import { FlickError } from "../errors/index.ts";
import type { FunctionRecord, VersionRecord } from "../model/index.ts";
import { SqliteStore } from "./sqlite-store.ts";
import { logRetention } from "./store.ts";

const dir = () => mkdtempSync(path.join(tmpdir(), "flick-store-"));
const settings = { memoryMiB: 128, timeoutMs: 30_000, env: { A: "1" }, secretNames: ["S"], private: false };
const version = (fn: string, id: string, createdAtMs: number): VersionRecord => ({
  function: fn, id, bundleHash: "a".repeat(64), bundleBytes: 10, settings, sealedSecrets: "sealed", createdAtMs, wasm: ["c".repeat(64)],
});
const fnOf = (name: string, tenant: string, live: string): FunctionRecord => ({ name, tenant, liveVersion: live, createdAtMs: 1, updatedAtMs: 2 });
const isCode = (code: string) => (e: unknown) => e instanceof FlickError && e.code === code;

test("code is stored as files named as hosts read them, complete, with no temp file left", async () => {
  const store = new SqliteStore(dir());
  const hash = "b".repeat(64);
  await store.putCode("bundle", hash, new TextEncoder().encode("export default {}"));
  const file = store.localCodePath("bundle", hash);
  assert.equal(path.basename(file), `${hash}.js`);
  assert.equal(readFileSync(file, "utf8"), "export default {}");
  assert.equal(existsSync(`${file}.${process.pid}.tmp`), false);
  await store.close();
});

test("prune applies log retention: lines past the age limit go, and each function keeps its newest lines up to the cap", async () => {
  const store = new SqliteStore(dir());
  const now = Date.now();
  const line = (fn: string, timeMs: number, message: string) => ({ timeMs, function: fn, tenant: "t", invocationId: "i", level: "log" as const, message });
  await store.appendLogs([line("old", now - logRetention.maxAgeMs - 1, "too old"), line("old", now, "fresh")]);
  const many = Array.from({ length: logRetention.maxLinesPerFunction + 50 }, (_, i) => line("busy", now, `n${i}`));
  await store.appendLogs(many);
  store.prune(now);
  assert.deepEqual((await store.readLogs({ function: "old", limit: 10 })).map((l) => l.message), ["fresh"]);
  const busy = await store.readLogs({ function: "busy", limit: 20_000 });
  assert.equal(busy.length, logRetention.maxLinesPerFunction);
  assert.equal(busy.at(-1)!.message, `n${logRetention.maxLinesPerFunction + 49}`, "the newest lines are kept");
  assert.equal(busy[0]!.message, "n50");
  await store.close();
});

test("a write the database refuses (locked by another process) is store_unavailable and changes nothing", async () => {
  const d = dir();
  const store = new SqliteStore(d, { busyTimeoutMs: 0 });
  const other = new DatabaseSync(path.join(d, "flick.db"));
  other.exec("BEGIN IMMEDIATE");
  const unavailable = (e: unknown) => isCode("store_unavailable")(e) && (e as FlickError).details?.["retryAfterSeconds"] === 1 && /locked/.test((e as Error).message);
  await assert.rejects(store.createTenant({ name: "t", createdAtMs: 1 }, { id: "tok_1", hash: "h1", tenant: "t", createdAtMs: 1 }), unavailable);
  await assert.rejects(store.deploy(fnOf("f", "t", "v1"), version("f", "v1", 10)), unavailable);
  other.exec("ROLLBACK");
  other.close();
  // Nothing half-done: the retry creates the tenant with its token.
  await store.createTenant({ name: "t", createdAtMs: 1 }, { id: "tok_1", hash: "h1", tenant: "t", createdAtMs: 1 });
  assert.equal((await store.tokenByHash("h1"))?.tenant, "t");
  assert.equal(await store.getFunction("f"), undefined);
  await store.close();
});

test("the log usage counters the per-tenant quota reads agree with the lines, whatever deleted them", async () => {
  const d = dir();
  const overhead = logRetention.logLineOverheadBytes;
  const store = new SqliteStore(d, { quotas: { maxLogLines: 100, maxLogBytes: 40 * (1000 + overhead) } });
  const now = Date.now();
  const line = (tenant: string, fn: string, message: string) => ({ timeMs: now, function: fn, tenant, invocationId: "i", level: "log" as const, message });
  const recount = (tenant: string) => {
    const db = new DatabaseSync(path.join(d, "flick.db"));
    const row = db.prepare(`SELECT COUNT(*) AS lines, COALESCE(SUM(length(CAST(message AS BLOB)) + ${overhead}), 0) AS bytes FROM logs WHERE tenant = ?`).get(tenant) as { lines: number; bytes: number };
    db.close();
    return { lines: Number(row.lines), bytes: Number(row.bytes) };
  };

  // The appends of the contract's log quota test: past the line quota (a), past the bytes quota (c).
  await store.appendLogs([line("b", "b-fn", "keep me")]);
  for (let i = 0; i < 150; i++) await store.appendLogs([line("a", i % 2 === 0 ? "a-one" : "a-two", `n${i} ✓`)]);
  await store.appendLogs(Array.from({ length: 60 }, (_, i) => line("c", "c-fn", `${String(i).padStart(3, "0")}${"x".repeat(997)}`)));

  for (const t of ["a", "b", "c"]) assert.deepEqual(store.logUsage(t), recount(t), `tenant ${t}`);
  await store.deploy(fnOf("a-two", "a", "v1"), version("a-two", "v1", 10));
  await store.removeFunction("a-two", "a"); // its logs go with it
  assert.deepEqual(store.logUsage("a"), recount("a"));
  assert.equal(store.logUsage("a").lines, 50);
  store.prune(now + logRetention.maxAgeMs + 1); // age: everything goes
  for (const t of ["a", "b", "c"]) assert.deepEqual(store.logUsage(t), { lines: 0, bytes: 0 }, `tenant ${t}`);
  await store.close();
});

test("an append does bounded work: a tenant far over a lowered log quota comes down over several appends", async () => {
  const d = dir();
  const now = Date.now();
  const line = (message: string) => ({ timeMs: now, function: "f", tenant: "t", invocationId: "i", level: "log" as const, message });
  const first = new SqliteStore(d);
  await first.appendLogs(Array.from({ length: 2000 }, (_, i) => line(`n${i}`)));
  await first.close();

  // The usage counters survive a restart; the operator lowers the quota to 10 lines.
  const store = new SqliteStore(d, { quotas: { maxLogLines: 10 } });
  assert.equal(store.logUsage("t").lines, 2000);
  await store.appendLogs([line("new")]);
  const after = store.logUsage("t").lines;
  assert.ok(after < 2001 && after >= 2001 - 258, `one one-line append deleted ${2001 - after} lines (at most 258)`);
  let appends = 1;
  while (store.logUsage("t").lines > 10) {
    await store.appendLogs([line(`more${appends++}`)]);
    assert.ok(appends < 20, "it converges");
  }
  assert.equal(store.logUsage("t").lines, 10);
  assert.equal((await store.readLogs({ function: "f", limit: 100 })).at(-1)!.message, `more${appends - 1}`);
  await store.close();
});
