// The embedded store against a real SQLite file: round trips, reopen, retention.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
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
  await store.setLiveVersion("f", "v1", 30);
  await store.setScale("f", { minInstances: 2, maxInstances: 5, pin: { zone: "a" }, avoid: {}, keepAlive: { policy: "hybrid" } }, 31);
  await store.setTenantConcurrency("t", 7);
  await store.close();

  const again = new SqliteStore(d);
  assert.deepEqual(await again.getTenant("t"), { name: "t", createdAtMs: 1, concurrency: 7 });
  assert.deepEqual((await again.getFunction("f"))?.scale, { minInstances: 2, maxInstances: 5, pin: { zone: "a" }, avoid: {}, keepAlive: { policy: "hybrid" } });
  assert.deepEqual(await again.tokenByHash("h1"), { id: "tok_1", hash: "h1", tenant: "t", createdAtMs: 1 });
  assert.equal((await again.getFunction("f"))?.liveVersion, "v1");
  assert.deepEqual((await again.listVersions("f")).map((v) => v.id), ["v2", "v1"]);
  assert.deepEqual((await again.getVersion("f", "v2"))?.settings, settings);
  assert.deepEqual((await again.getVersion("f", "v2"))?.wasm, ["c".repeat(64)]);
  await again.removeFunction("f");
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
