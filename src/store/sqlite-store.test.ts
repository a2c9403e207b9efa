// The embedded store against a real SQLite file: round trips, reopen, retention.
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
const record = (name: string, live: string): FunctionRecord => ({ name, tenant: "t", liveVersion: live, createdAtMs: 1, updatedAtMs: 2 });

test("functions, versions, tokens and tenants survive closing and reopening the file", async () => {
  const d = dir();
  const store = new SqliteStore(d);
  await store.createTenant({ name: "t", createdAtMs: 1 });
  await assert.rejects(store.createTenant({ name: "t", createdAtMs: 2 }), (e: unknown) => e instanceof FlickError && e.code === "tenant_exists");
  await store.addToken({ id: "tok_1", hash: "h1", tenant: "t", createdAtMs: 1 });
  await store.deploy(record("f", "v1"), version("f", "v1", 10));
  await store.deploy(record("f", "v2"), version("f", "v2", 20));
  await store.setLiveVersion("f", "t", "v1", 30);
  await store.setScale("f", "t", { minInstances: 2, maxInstances: 5, pin: { zone: "a" }, avoid: {}, keepAlive: { policy: "hybrid" } }, 31);
  await store.updateTenant("t", { concurrency: 7, maxQueueMessages: 500 });
  await store.close();

  const again = new SqliteStore(d);
  assert.deepEqual(await again.getTenant("t"), {
    name: "t", createdAtMs: 1, concurrency: 7, maxProvisioned: null, maxProvisionedMemoryMiB: null, maxQueueMessages: 500, maxQueueMiB: null,
  });
  assert.deepEqual((await again.getFunction("f"))?.scale, { minInstances: 2, maxInstances: 5, pin: { zone: "a" }, avoid: {}, keepAlive: { policy: "hybrid" } });
  assert.deepEqual(await again.tokenByHash("h1"), { id: "tok_1", hash: "h1", tenant: "t", createdAtMs: 1 });
  assert.equal((await again.getFunction("f"))?.liveVersion, "v1");
  assert.deepEqual((await again.listVersions("f")).map((v) => v.id), ["v2", "v1"]);
  assert.deepEqual((await again.getVersion("f", "v2"))?.settings, settings);
  assert.deepEqual((await again.getVersion("f", "v2"))?.wasm, ["c".repeat(64)]);
  assert.equal(await again.removeFunction("f", "someone-else"), false, "only the owner's removal removes");
  assert.equal(await again.removeFunction("f", "t"), true);
  assert.equal(await again.getFunction("f"), undefined);
  assert.deepEqual(await again.listVersions("f"), []);
  await again.close();
});

test("bundles are stored once by content hash, complete", async () => {
  const d = dir();
  const store = new SqliteStore(d);
  const hash = "b".repeat(64);
  const file = await store.putBundle(hash, "export default {}");
  assert.equal(readFileSync(file, "utf8"), "export default {}");
  assert.equal(await store.putBundle(hash, "ignored: same hash"), file);
  assert.equal(readFileSync(file, "utf8"), "export default {}");
  assert.throws(() => store.bundlePath("../../etc/passwd"), /not a bundle hash/);
  assert.equal(existsSync(`${file}.${process.pid}.tmp`), false);
  await store.close();
});

test("logs read in order with cursors, and retention bounds age and count", async () => {
  const store = new SqliteStore(dir());
  const now = Date.now();
  const line = (fn: string, timeMs: number, message: string) => ({ timeMs, function: fn, tenant: "t", invocationId: "i", level: "log" as const, message });
  const stored = await store.appendLogs([line("f", now - 3, "one"), line("f", now - 2, "two"), line("g", now - 1, "other")]);
  assert.deepEqual((await store.readLogs({ function: "f", limit: 10 })).map((l) => l.message), ["one", "two"]);
  assert.deepEqual((await store.readLogs({ function: "f", afterId: stored[0]!.id, limit: 10 })).map((l) => l.message), ["two"]);
  assert.deepEqual((await store.readLogs({ function: "f", sinceMs: now - 2, limit: 10 })).map((l) => l.message), ["two"]);
  assert.deepEqual((await store.readLogs({ function: "f", limit: 1 })).map((l) => l.message), ["two"], "the limit keeps the newest");

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

const fnOf = (name: string, tenant: string, live: string): FunctionRecord => ({ name, tenant, liveVersion: live, createdAtMs: 1, updatedAtMs: 2 });
const versionWith = (fn: string, id: string, memoryMiB: number): VersionRecord => ({ ...version(fn, id, 10), settings: { ...settings, memoryMiB } });
const isCode = (code: string) => (e: unknown) => e instanceof FlickError && e.code === code;

test("who owns a name is checked in the deploy's transaction: a second tenant gets name_taken and stores nothing", async () => {
  const store = new SqliteStore(dir());
  // Both passed any earlier check (the platform's, before validation); the store decides.
  await store.deploy(fnOf("contested", "a", "va"), version("contested", "va", 10));
  await assert.rejects(store.deploy(fnOf("contested", "b", "vb"), version("contested", "vb", 20)), isCode("name_taken"));
  assert.equal((await store.getFunction("contested"))?.tenant, "a");
  assert.equal((await store.getFunction("contested"))?.liveVersion, "va");
  assert.deepEqual((await store.listVersions("contested")).map((v) => v.id), ["va"], "the loser's version is not kept");
  assert.equal(await store.setLiveVersion("contested", "b", "va", 30), undefined, "another tenant cannot roll it back");
  assert.equal(await store.setScale("contested", "b", { minInstances: 1 }, 30), undefined, "…nor scale it");
  assert.equal(await store.removeFunction("contested", "b"), false, "…nor remove it");
  assert.equal((await store.getFunction("contested"))?.scale, undefined);
  await store.close();
});

test("provisioned quotas are checked in the write: instances and memory, on scale, deploy and rollback", async () => {
  const store = new SqliteStore(dir(), { quotas: { maxProvisioned: 3, maxProvisionedMemoryMiB: 512 } });
  await store.createTenant({ name: "t", createdAtMs: 1 });
  await store.deploy(fnOf("f", "t", "f1"), versionWith("f", "f1", 128));
  await store.deploy(fnOf("g", "t", "g1"), versionWith("g", "g1", 128));
  await store.setScale("f", "t", { minInstances: 2 }, 3);
  await assert.rejects(store.setScale("g", "t", { minInstances: 2 }, 3), (e: unknown) => isCode("quota_exceeded")(e) && /max-provisioned quota of 3/.test((e as Error).message));
  assert.equal((await store.getFunction("g"))?.scale, undefined, "a refused change is not stored");
  assert.deepEqual(await store.provisioned("t"), { instances: 2, memoryMiB: 256, maxInstances: 3, maxMemoryMiB: 512 });

  // A tenant's own quota overrides the node's.
  await store.updateTenant("t", { maxProvisioned: 10 });
  await store.setScale("g", "t", { minInstances: 2 }, 4); // 4 instances, 512 MiB
  await assert.rejects(store.setScale("g", "t", { minInstances: 3 }, 5), (e: unknown) => isCode("quota_exceeded")(e) && /max-provisioned-memory quota of 512 MiB/.test((e as Error).message));
  // A new version with more memory is more provisioned memory.
  await assert.rejects(store.deploy(fnOf("f", "t", "f2"), versionWith("f", "f2", 256)), isCode("quota_exceeded"));
  assert.equal((await store.getFunction("f"))?.liveVersion, "f1");
  assert.deepEqual((await store.listVersions("f")).map((v) => v.id), ["f1"]);
  // …and so is rolling back to one.
  await store.setScale("f", "t", { minInstances: 0 }, 6);
  await store.deploy(fnOf("f", "t", "f2"), versionWith("f", "f2", 256));
  await store.deploy(fnOf("f", "t", "f3"), versionWith("f", "f3", 128));
  await store.setScale("f", "t", { minInstances: 2 }, 7);
  await assert.rejects(store.setLiveVersion("f", "t", "f2", 8), isCode("quota_exceeded"));
  assert.equal((await store.getFunction("f"))?.liveVersion, "f3");

  // Over a quota the operator lowered, a tenant can still come down, not go up.
  await store.updateTenant("t", { maxProvisioned: 1, maxProvisionedMemoryMiB: null });
  await store.setScale("g", "t", { minInstances: 1 }, 9);
  await assert.rejects(store.setScale("g", "t", { minInstances: 2 }, 10), isCode("quota_exceeded"));
  assert.deepEqual(await store.provisioned("t"), { instances: 3, memoryMiB: 384, maxInstances: 1, maxMemoryMiB: 512 });
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

test("each tenant keeps at most its quota of log lines and bytes, oldest dropped first, others untouched", async () => {
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

  await store.appendLogs([line("b", "b-fn", "keep me")]);
  for (let i = 0; i < 150; i++) await store.appendLogs([line("a", i % 2 === 0 ? "a-one" : "a-two", `n${i} ✓`)]);
  const kept = [...(await store.readLogs({ function: "a-one", limit: 1000 })), ...(await store.readLogs({ function: "a-two", limit: 1000 }))].map((l) => l.message);
  assert.equal(kept.length, 100, "the line quota spans the tenant's functions");
  assert.ok(kept.includes("n149 ✓") && kept.includes("n50 ✓") && !kept.includes("n49 ✓"), "the oldest went first");
  assert.deepEqual((await store.readLogs({ function: "b-fn", limit: 10 })).map((l) => l.message), ["keep me"]);

  // Bytes: 1,000-byte lines, room for 40 of them (one call of 60 lines).
  await store.appendLogs(Array.from({ length: 60 }, (_, i) => line("c", "c-fn", `${String(i).padStart(3, "0")}${"x".repeat(997)}`)));
  const big = await store.readLogs({ function: "c-fn", limit: 1000 });
  assert.equal(big.length, 40);
  assert.equal(big[0]!.message.slice(0, 3), "020");

  // The counters the quota reads agree with the lines, whatever deleted them.
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
