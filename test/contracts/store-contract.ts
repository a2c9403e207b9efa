// What every `Store` must do (src/store/store.ts: its doc comments are the contract), as
// node:test tests to run against each implementation: SQLite today, JetStream later.
// Behaviour only; what one backend does its own way (a file locked by another process,
// indexes, migrations, counters) is tested beside that backend.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FlickError } from "../../src/errors/index.ts";
import { defaultScale } from "../../src/model/index.ts";
import type { FunctionRecord, LogLine, TokenRecord, UsageRow, VersionRecord } from "../../src/model/index.ts";
import { logRetention, rollupRetention, type CodeKind, type CodeStore, type LogStore, type MeterStore, type NewLogLine, type Registry, type RegistryChange, type RollupRow, type Store, type TenantQuotas } from "../../src/store/index.ts";

type Closable = { close(): Promise<void> };

/** A backend of the whole store, or of one of its parts (a cluster may keep them apart). */
export interface PartBackend<T> {
  name: string;
  /**
   * A new, empty store, and a way to close it and open the same data again (restart).
   * `quotas`: the node-wide quotas in place of `defaultTenantQuotas` (what `flick up` flags set).
   */
  create(quotas?: Partial<TenantQuotas>): Promise<{ store: T & Closable; reopen(): Promise<T & Closable> }>;
}

export type StoreBackend = PartBackend<Store>;

const settings = { memoryMiB: 128, timeoutMs: 30_000, env: { A: "1" }, secretNames: ["S"], private: false };
const version = (fn: string, id: string, createdAtMs: number, memoryMiB = 128): VersionRecord => ({
  function: fn, id, bundleHash: "a".repeat(64), bundleBytes: 10, settings: { ...settings, memoryMiB }, sealedSecrets: "sealed", createdAtMs, wasm: ["c".repeat(64)],
});
const fnOf = (name: string, tenant: string, live: string, extra: Partial<FunctionRecord> = {}): FunctionRecord => ({
  name, tenant, liveVersion: live, createdAtMs: 1, updatedAtMs: 2, ...extra,
});
/** A function record without its revision, whose values are the store's own (a test of its own checks them). */
const bare = (fn: FunctionRecord | undefined): Omit<FunctionRecord, "revision"> | undefined => {
  if (fn === undefined) return undefined;
  const { revision: _, ...rest } = fn;
  return rest;
};
const token = (id: string, hash: string, tenant: string | null): TokenRecord => ({ id, hash, tenant, createdAtMs: 1 });
const isCode = (code: string) => (e: unknown) => e instanceof FlickError && e.code === code;
const noLimits = { concurrency: null, maxProvisioned: null, maxProvisionedMemoryMiB: null, maxQueueMessages: null, maxQueueMiB: null };

const hourMs = 3_600_000;
const minuteMs = 60_000;
/** Usage proportional to `n`, so two rows' sum is the row of their sum. */
const usage = (tenant: string, fn: string, hour: number, n: number): UsageRow => ({
  tenant, function: fn, hourMs: hour, invocations: n, wallMs: 10 * n, cpuMs: 2 * n, mibMs: 1280 * n, requestBytes: 100 * n, responseBytes: 200 * n, egressBytes: 5 * n,
});
const byKey = (rows: UsageRow[]) => [...rows].sort((a, b) => a.hourMs - b.hourMs || a.tenant.localeCompare(b.tenant) || a.function.localeCompare(b.function));
/** Counts proportional to `n` (the latency histogram too), for the same reason. */
const rollup = (tenant: string, fn: string, startMs: number, n: number): RollupRow => ({
  tenant, function: fn, startMs, invocations: n, clientErrors: 2 * n, serverErrors: 3 * n, platformErrors: 4 * n, throttled: 5 * n, coldStarts: 6 * n,
  cpuMs: 7 * n, wallMs: 8 * n, durations: Array.from({ length: 18 }, (_, i) => (i === 0 || i === 17 ? n : i === 5 ? 2 * n : 0)),
});

/**
 * Log lines are stamped near the wall clock, not at a fixed time: a store may apply its age
 * retention (logRetention.maxAgeMs) against the wall clock on its own (SQLite does, every
 * 1,000 appended lines), and lines from long ago would be gone.
 */
const line = (fn: string, message: string, extra: Partial<NewLogLine> = {}): NewLogLine => ({
  timeMs: Date.now(), function: fn, tenant: "t", invocationId: "i", level: "log", message, ...extra,
});
const messages = (lines: LogLine[]) => lines.map((l) => l.message);
const request = (status: number) => ({ method: "GET", path: "/", status, ms: 3, cold: false, cpuMs: 1 });

/** A whole store: every part's contract, and what spans parts (a removal takes the function's logs; a reopen keeps all). */
export function storeContract(backend: StoreBackend): void {
  describe(backend.name, () => {
    registryTests(backend);
    codeTests(backend);
    logTests(backend);
    meterTests(backend);
    test("removeFunction takes the function, its versions and its logs, only for its tenant, and frees the name", async () => {
      const { store } = await backend.create();
      await store.deploy(fnOf("f", "a", "v1"), version("f", "v1", 10));
      await store.deploy(fnOf("f", "a", "v2"), version("f", "v2", 20));
      await store.deploy(fnOf("g", "a", "w1"), version("g", "w1", 10));
      await store.appendLogs([line("f", "f's line", { tenant: "a" }), line("g", "g's line", { tenant: "a" })]);
      assert.equal(await store.removeFunction("f", "b"), false, "another tenant's");
      assert.equal((await store.getFunction("f"))?.tenant, "a");
      assert.deepEqual(messages(await store.readLogs({ function: "f", limit: 10 })), ["f's line"]);

      assert.equal(await store.removeFunction("f", "a"), true);
      assert.equal(await store.getFunction("f"), undefined);
      assert.deepEqual(await store.listVersions("f"), []);
      assert.equal(await store.getVersion("f", "v1"), undefined);
      assert.deepEqual(await store.readLogs({ function: "f", limit: 10 }), []);
      assert.deepEqual(messages(await store.readLogs({ function: "g", limit: 10 })), ["g's line"], "another function's logs stay");
      assert.deepEqual((await store.listFunctions("a")).map((f) => f.name), ["g"]);
      assert.equal(await store.removeFunction("f", "a"), false, "already gone");

      await store.deploy(fnOf("f", "b", "x1"), version("f", "x1", 30));
      assert.equal((await store.getFunction("f"))?.tenant, "b", "the name is free for anyone");
      assert.deepEqual((await store.listVersions("f")).map((v) => v.id), ["x1"], "nothing of the old owner's comes with it");
      await store.close();
    });

    test("usage, rollups and log lines survive a reopen, and later log ids follow the earlier ones", async () => {
      const { store, reopen } = await backend.create();
      const h0 = 480_000 * hourMs;
      await store.addUsage([usage("a", "f", h0, 3)]);
      await store.addRollups([rollup("a", "f", h0 + minuteMs, 2)]);
      const before = await store.appendLogs([line("f", "before", { request: request(200) })]);
      const again = await reopen();
      assert.deepEqual(await again.readUsage({ sinceMs: h0, untilMs: h0 + hourMs }), [usage("a", "f", h0, 3)]);
      assert.deepEqual(await again.readRollups({ resolution: "minute", sinceMs: h0, untilMs: h0 + hourMs }), [rollup("a", "f", h0 + minuteMs, 2)]);
      assert.deepEqual(await again.readRollups({ resolution: "hour", sinceMs: h0, untilMs: h0 + hourMs }), [rollup("a", "f", h0, 2)]);
      assert.deepEqual(await again.readLogs({ function: "f", limit: 10 }), before);
      const after = await again.appendLogs([line("f", "after")]);
      assert.ok(after[0]!.id > before[0]!.id, "a follow cursor from before the restart still works");
      assert.deepEqual(messages(await again.readLogs({ function: "f", afterId: before[0]!.id, limit: 10 })), ["after"]);
      await again.close();
    });
  });
}

/** The registry alone (store.ts `Registry`), for a backend that keeps only that part. */
export function registryContract(backend: PartBackend<Registry>): void {
  describe(`${backend.name} (registry)`, () => registryTests(backend));
}

/** Usage and rollups alone (store.ts `MeterStore`). */
export function meterContract(backend: PartBackend<MeterStore>): void {
  describe(`${backend.name} (meter)`, () => meterTests(backend));
}

/**
 * Log lines alone (store.ts `LogStore`). `byteQuota: false` for a backend that keeps each
 * tenant's line quota but not the byte quota (the JetStream log stream: docs/cluster.md "Logs").
 */
export function logContract(backend: PartBackend<LogStore>, options: { byteQuota?: boolean } = {}): void {
  describe(`${backend.name} (logs)`, () => logTests(backend, options.byteQuota ?? true));
}

/** Code alone (store.ts `CodeStore`). */
export function codeContract(backend: PartBackend<CodeStore>): void {
  describe(`${backend.name} (code)`, () => codeTests(backend));
}

/** Tenants, tokens, functions and versions, the sealing key's fingerprint and the watch. */
function registryTests(backend: PartBackend<Registry>): void {
  test("functions, versions, tokens and tenants survive closing and reopening the store", async () => {
    const { store, reopen } = await backend.create();
    await store.createTenant({ name: "t", createdAtMs: 1 });
    await assert.rejects(store.createTenant({ name: "t", createdAtMs: 2 }), isCode("tenant_exists"));
    await store.addToken({ id: "tok_1", hash: "h1", tenant: "t", createdAtMs: 1 });
    await store.deploy(fnOf("f", "t", "v1"), version("f", "v1", 10));
    await store.deploy(fnOf("f", "t", "v2"), version("f", "v2", 20));
    await store.setLiveVersion("f", "t", "v1", 30);
    await store.setScale("f", "t", { minInstances: 2, maxInstances: 5, pin: { zone: "a" }, avoid: {}, keepAlive: { policy: "hybrid" } }, 31);
    await store.updateTenant("t", { concurrency: 7, maxQueueMessages: 500 });

    const again = await reopen();
    assert.deepEqual(await again.getTenant("t"), { name: "t", createdAtMs: 1, ...noLimits, concurrency: 7, maxQueueMessages: 500 });
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

  test("a tenant is created with its first token in one write; a second create of its name is tenant_exists and keeps nothing of it", async () => {
    const { store } = await backend.create();
    await store.createTenant({ name: "acme", createdAtMs: 1 }, token("tok_1", "h1", "acme"));
    assert.deepEqual(await store.getTenant("acme"), { name: "acme", createdAtMs: 1, ...noLimits });
    assert.deepEqual(await store.tokenByHash("h1"), token("tok_1", "h1", "acme"));
    await assert.rejects(store.createTenant({ name: "acme", createdAtMs: 2, concurrency: 3 }, token("tok_2", "h2", "acme")), isCode("tenant_exists"));
    assert.equal(await store.tokenByHash("h2"), undefined, "the refused create's token is not kept");
    assert.deepEqual(await store.getTenant("acme"), { name: "acme", createdAtMs: 1, ...noLimits }, "nor its limits");
    await store.createTenant({ name: "globex", createdAtMs: 3 });
    assert.deepEqual((await store.listTenants()).map((t) => t.name).sort(), ["acme", "globex"]);
    assert.equal(await store.getTenant("initech"), undefined);
    await store.close();
  });

  test("limits given when a tenant is created are kept", async () => {
    const { store } = await backend.create();
    const limits = { concurrency: 5, maxProvisioned: 6, maxProvisionedMemoryMiB: 700, maxQueueMessages: 800, maxQueueMiB: 9 };
    await store.createTenant({ name: "acme", createdAtMs: 1, ...limits });
    assert.deepEqual(await store.getTenant("acme"), { name: "acme", createdAtMs: 1, ...limits });
    await store.close();
  });

  test("a tenant change sets only the fields it names, null puts one back to the node's default, and an unknown tenant is undefined", async () => {
    const { store } = await backend.create({ maxProvisioned: 4, maxProvisionedMemoryMiB: 1024 });
    await store.createTenant({ name: "t", createdAtMs: 1 });
    assert.deepEqual(await store.provisioned("t"), { instances: 0, memoryMiB: 0, maxInstances: 4, maxMemoryMiB: 1024 });
    const set = await store.updateTenant("t", { concurrency: 7, maxProvisioned: 10, maxQueueMessages: 300 });
    assert.deepEqual(set, { name: "t", createdAtMs: 1, ...noLimits, concurrency: 7, maxProvisioned: 10, maxQueueMessages: 300 });
    assert.deepEqual(await store.getTenant("t"), set);
    assert.equal((await store.provisioned("t")).maxInstances, 10, "the tenant's own quota");
    const back = await store.updateTenant("t", { maxProvisioned: null, maxQueueMiB: 5 });
    assert.deepEqual(back, { name: "t", createdAtMs: 1, ...noLimits, concurrency: 7, maxQueueMessages: 300, maxQueueMiB: 5 });
    assert.deepEqual(await store.getTenant("t"), back);
    assert.deepEqual(await store.provisioned("t"), { instances: 0, memoryMiB: 0, maxInstances: 4, maxMemoryMiB: 1024 }, "null: the node's default again");
    assert.equal(await store.updateTenant("nobody", { concurrency: 1 }), undefined);
    assert.equal(await store.getTenant("nobody"), undefined, "an update does not create a tenant");
    await store.close();
  });

  test("tokens are found by the hash of their secret, the admin's with no tenant", async () => {
    const { store } = await backend.create();
    await store.createTenant({ name: "t", createdAtMs: 1 });
    await store.addToken(token("tok_t", "h-t", "t"));
    await store.addToken(token("tok_admin", "h-admin", null));
    assert.deepEqual(await store.tokenByHash("h-t"), token("tok_t", "h-t", "t"));
    assert.deepEqual(await store.tokenByHash("h-admin"), token("tok_admin", "h-admin", null));
    assert.equal(await store.tokenByHash("tok_t"), undefined, "found by hash, not by id");
    assert.equal(await store.tokenByHash("h-other"), undefined);
    await store.close();
  });

  test("the sealing key's fingerprint is kept once: the first one given stays, also after a reopen", async () => {
    const { store, reopen } = await backend.create();
    assert.equal(await store.sealingKey(), undefined, "none yet");
    assert.equal(await store.sealingKey("fp-1"), "fp-1");
    assert.equal(await store.sealingKey("fp-2"), "fp-1", "another key does not replace it");
    assert.equal(await store.sealingKey(), "fp-1");
    const again = await reopen();
    assert.equal(await again.sealingKey(), "fp-1");
    assert.equal(await again.sealingKey("fp-3"), "fp-1");
    await again.close();
  });

  test("a deploy stores the version if new and points the function at it; functions and versions read back as stored", async () => {
    const { store } = await backend.create();
    const v1 = { ...version("f", "v1", 10), sources: { memoryMiB: { from: "--memory", version: "v1" } } };
    assert.deepEqual(bare(await store.deploy(fnOf("f", "a", "v1"), v1)), fnOf("f", "a", "v1"), "the function as stored");
    assert.deepEqual(bare(await store.getFunction("f")), fnOf("f", "a", "v1"));
    assert.deepEqual(await store.getVersion("f", "v1"), v1);
    const v2 = { ...version("f", "v2", 20, 256), sealedSecrets: null, wasm: [], sources: {} };
    await store.deploy(fnOf("f", "a", "v2", { updatedAtMs: 20 }), v2);
    assert.equal((await store.getFunction("f"))?.liveVersion, "v2");
    assert.equal((await store.getFunction("f"))?.updatedAtMs, 20);
    assert.deepEqual(await store.getVersion("f", "v2"), v2);
    // Deploying the same version again (the same code and settings) points at it and keeps it as first stored.
    await store.deploy(fnOf("f", "a", "v1", { updatedAtMs: 30 }), { ...v1, bundleBytes: 999, createdAtMs: 30 });
    assert.equal((await store.getFunction("f"))?.liveVersion, "v1");
    assert.deepEqual(await store.getVersion("f", "v1"), v1);
    assert.deepEqual((await store.listVersions("f")).map((v) => v.id).sort(), ["v1", "v2"]);

    await store.deploy(fnOf("g", "a", "w1"), version("g", "w1", 10));
    await store.deploy(fnOf("h", "b", "x1"), version("h", "x1", 10));
    assert.deepEqual((await store.listFunctions("a")).map((f) => f.name).sort(), ["f", "g"]);
    assert.deepEqual((await store.listFunctions("b")).map((f) => f.name), ["h"]);
    assert.deepEqual((await store.listFunctions()).map((f) => f.name).sort(), ["f", "g", "h"]);
    assert.deepEqual(await store.listFunctions("c"), []);
    assert.equal(await store.getVersion("g", "v1"), undefined, "versions are a function's own");
    assert.deepEqual((await store.listVersions("g")).map((v) => v.id), ["w1"]);
    assert.equal(await store.getFunction("nope"), undefined);
    assert.deepEqual(await store.listVersions("nope"), []);
    await store.close();
  });

  test("a deploy keeps the traffic split it is given, and one without a split sends all traffic to its version", async () => {
    const { store } = await backend.create();
    await store.deploy(fnOf("f", "a", "v1"), version("f", "v1", 10));
    const canary = [{ version: "v1", percent: 90 }, { version: "v2", percent: 10 }];
    const deployed = await store.deploy(fnOf("f", "a", "v1", { traffic: canary }), version("f", "v2", 20));
    assert.deepEqual(deployed.traffic, canary);
    assert.deepEqual((await store.getFunction("f"))?.traffic, canary);
    await store.deploy(fnOf("f", "a", "v3"), version("f", "v3", 30));
    assert.equal((await store.getFunction("f"))?.traffic, undefined);
    await store.close();
  });

  test("setLiveVersion points the function at one of its versions, with a traffic split or none, only for its tenant", async () => {
    const { store } = await backend.create();
    await store.deploy(fnOf("f", "a", "v1"), version("f", "v1", 10));
    await store.deploy(fnOf("f", "a", "v2"), version("f", "v2", 20));
    const split = [{ version: "v1", percent: 80 }, { version: "v2", percent: 20 }];
    const canary = await store.setLiveVersion("f", "a", "v1", 30, split);
    assert.deepEqual(bare(canary), fnOf("f", "a", "v1", { updatedAtMs: 30, traffic: split }));
    assert.deepEqual(await store.getFunction("f"), canary);
    const whole = await store.setLiveVersion("f", "a", "v2", 40);
    assert.deepEqual(bare(whole), fnOf("f", "a", "v2", { updatedAtMs: 40 }), "no split: all to v2");
    assert.deepEqual(await store.getFunction("f"), whole);

    assert.equal(await store.setLiveVersion("f", "a", "v9", 50), undefined, "a version it does not have");
    assert.equal(await store.setLiveVersion("f", "a", "v1", 50, [{ version: "v1", percent: 50 }, { version: "v9", percent: 50 }]), undefined, "a split naming one it does not have");
    assert.equal(await store.setLiveVersion("f", "b", "v1", 50), undefined, "another tenant's");
    assert.equal(await store.setLiveVersion("nope", "a", "v1", 50), undefined, "no such function");
    assert.deepEqual(await store.getFunction("f"), whole, "refused changes change nothing");
    await store.close();
  });

  test("setScale merges a change into the function's scale and returns it with the live version, only for its tenant; a deploy keeps it", async () => {
    const { store } = await backend.create();
    const v1 = { ...version("f", "v1", 10), sources: {} };
    await store.deploy(fnOf("f", "a", "v1"), v1);
    const first = await store.setScale("f", "a", { minInstances: 1, pin: { zone: "a" } }, 5);
    assert.deepEqual({ ...first, fn: bare(first?.fn) }, {
      fn: fnOf("f", "a", "v1", { updatedAtMs: 5, scale: { ...defaultScale, minInstances: 1, pin: { zone: "a" } } }),
      version: v1,
    }, "unnamed fields at the node's defaults");
    const scale = { ...defaultScale, minInstances: 1, pin: { zone: "a" }, maxInstances: 0, keepAlive: { policy: "fixed" as const, ttlMs: 5000 } };
    assert.deepEqual((await store.setScale("f", "a", { maxInstances: 0, keepAlive: { policy: "fixed", ttlMs: 5000 } }, 6))?.fn.scale, scale, "fields not named stay");
    assert.deepEqual((await store.getFunction("f"))?.scale, scale);
    assert.equal(await store.setScale("f", "b", { minInstances: 0 }, 7), undefined, "another tenant's");
    assert.equal(await store.setScale("nope", "a", { minInstances: 0 }, 7), undefined, "no such function");
    assert.deepEqual((await store.getFunction("f"))?.scale, scale, "refused changes change nothing");
    assert.deepEqual((await store.deploy(fnOf("f", "a", "v2"), version("f", "v2", 20))).scale, scale, "a new version runs as the function was scaled");
    assert.deepEqual((await store.getFunction("f"))?.scale, scale);
    await store.close();
  });

  test("watchers hear of every committed change to tenants and functions, in order, and revisions grow with each change", { timeout: 60_000 }, async (t) => {
    const { store } = await backend.create();
    const heard: RegistryChange[] = [];
    let waiting: { count: number; resolve: () => void } | undefined;
    const stop = await store.watch((change) => {
      heard.push(change);
      if (waiting !== undefined && heard.length >= waiting.count) waiting.resolve();
    });
    // Changes may be told later than the write's answer (a clustered store hears them back): wait for them.
    const hearing = (count: number) =>
      heard.length >= count ? Promise.resolve() : new Promise<void>((resolve, reject) => {
        waiting = { count, resolve };
        t.signal.addEventListener("abort", () => reject(new Error(`heard ${JSON.stringify(heard)}, waited for ${count}`)), { once: true });
      });
    await store.createTenant({ name: "a", createdAtMs: 1 });
    const first = await store.deploy(fnOf("f", "a", "v1"), version("f", "v1", 10));
    const second = await store.deploy(fnOf("f", "a", "v2"), version("f", "v2", 20));
    const rolled = await store.setLiveVersion("f", "a", "v1", 30);
    const scaled = await store.setScale("f", "a", { minInstances: 0 }, 40);
    await store.updateTenant("a", { concurrency: 3 });
    await assert.rejects(store.deploy(fnOf("f", "b", "x1"), version("f", "x1", 50)), isCode("name_taken"));
    assert.equal(await store.setLiveVersion("f", "b", "v1", 50), undefined, "another tenant's: no change");
    const other = await store.deploy(fnOf("g", "a", "w1"), version("g", "w1", 60));
    assert.equal(await store.removeFunction("f", "a"), true);
    const again = await store.deploy(fnOf("f", "b", "y1"), version("f", "y1", 70));
    await hearing(9);
    assert.deepEqual(heard, [
      { kind: "tenant", name: "a" },
      { kind: "function", name: "f" },
      { kind: "function", name: "f" },
      { kind: "function", name: "f" },
      { kind: "function", name: "f" },
      { kind: "tenant", name: "a" },
      { kind: "function", name: "g" },
      { kind: "function", name: "f" },
      { kind: "function", name: "f" },
    ], "refused writes tell nothing");
    const revisions = [first, second, rolled, scaled?.fn, other, again].map((fn) => fn?.revision);
    assert.ok(revisions.every((r) => typeof r === "number"), `every record has a revision: ${revisions.join(", ")}`);
    for (let i = 1; i < revisions.length; i++) assert.ok(revisions[i]! > revisions[i - 1]!, `revisions grow: ${revisions.join(", ")}`);
    assert.equal((await store.getFunction("f"))?.revision, again.revision, "read back as written");
    stop();
    await store.deploy(fnOf("h", "a", "z1"), version("h", "z1", 80));
    await store.updateTenant("a", { concurrency: 4 });
    // Nothing more is heard once stopped; a second watcher (started after) hears the next one.
    const later: RegistryChange[] = [];
    const stopLater = await store.watch((change) => later.push(change));
    await store.updateTenant("a", { concurrency: 5 });
    while (later.length === 0 && !t.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(heard.length, 9);
    assert.deepEqual(later, [{ kind: "tenant", name: "a" }]);
    stopLater();
    await store.close();
  });

  test("who owns a name is checked in the deploy's write: a second tenant gets name_taken and stores nothing", async () => {
    const { store } = await backend.create();
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

  test("of two tenants deploying one new name at once, exactly one gets it and the other gets name_taken", async () => {
    const { store } = await backend.create();
    const results = await Promise.allSettled([
      store.deploy(fnOf("new", "a", "va"), version("new", "va", 10)),
      store.deploy(fnOf("new", "b", "vb"), version("new", "vb", 10)),
    ]);
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    assert.equal(won.length, 1, "one deploy succeeds");
    assert.equal(lost.length, 1);
    assert.ok(isCode("name_taken")(lost[0]), `the other is name_taken: ${String(lost[0])}`);
    const winner = won[0]!.tenant;
    assert.equal((await store.getFunction("new"))?.tenant, winner);
    assert.deepEqual((await store.listVersions("new")).map((v) => v.id), [winner === "a" ? "va" : "vb"]);
    await store.close();
  });

  test("provisioned quotas are checked in the write: instances and memory, on scale, deploy and rollback", async () => {
    const { store } = await backend.create({ maxProvisioned: 3, maxProvisionedMemoryMiB: 512 });
    await store.createTenant({ name: "t", createdAtMs: 1 });
    await store.deploy(fnOf("f", "t", "f1"), version("f", "f1", 10, 128));
    await store.deploy(fnOf("g", "t", "g1"), version("g", "g1", 10, 128));
    await store.setScale("f", "t", { minInstances: 2 }, 3);
    await assert.rejects(store.setScale("g", "t", { minInstances: 2 }, 3), (e: unknown) => isCode("quota_exceeded")(e) && /max-provisioned quota of 3/.test((e as Error).message));
    assert.equal((await store.getFunction("g"))?.scale, undefined, "a refused change is not stored");
    assert.deepEqual(await store.provisioned("t"), { instances: 2, memoryMiB: 256, maxInstances: 3, maxMemoryMiB: 512 });

    // A tenant's own quota overrides the node's.
    await store.updateTenant("t", { maxProvisioned: 10 });
    await store.setScale("g", "t", { minInstances: 2 }, 4); // 4 instances, 512 MiB
    await assert.rejects(store.setScale("g", "t", { minInstances: 3 }, 5), (e: unknown) => isCode("quota_exceeded")(e) && /max-provisioned-memory quota of 512 MiB/.test((e as Error).message));
    // A new version with more memory is more provisioned memory.
    await assert.rejects(store.deploy(fnOf("f", "t", "f2"), version("f", "f2", 10, 256)), isCode("quota_exceeded"));
    assert.equal((await store.getFunction("f"))?.liveVersion, "f1");
    assert.deepEqual((await store.listVersions("f")).map((v) => v.id), ["f1"]);
    // …and so is rolling back to one.
    await store.setScale("f", "t", { minInstances: 0 }, 6);
    await store.deploy(fnOf("f", "t", "f2"), version("f", "f2", 10, 256));
    await store.deploy(fnOf("f", "t", "f3"), version("f", "f3", 10, 128));
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

}

/** Function log lines: order, cursors, filters, tenant scoping and quotas. */
function logTests(backend: PartBackend<LogStore>, byteQuota = true): void {
  test("log lines read in order with their ids as cursors, since a time, the newest kept by a limit", async () => {
    const { store } = await backend.create();
    const now = Date.now();
    const stored = await store.appendLogs([
      line("f", "one", { timeMs: now - 3 }), line("f", "two", { timeMs: now - 2, level: "warn" }), line("g", "other", { timeMs: now - 1 }),
    ]);
    assert.deepEqual(await store.readLogs({ function: "f", limit: 10 }), [stored[0], stored[1]], "as stored, with their ids");
    assert.deepEqual(stored.map((l) => l.message), ["one", "two", "other"]);
    assert.ok(stored[0]!.id < stored[1]!.id && stored[1]!.id < stored[2]!.id, "ids grow in the order of the append");
    assert.deepEqual(messages(await store.readLogs({ function: "f", limit: 10 })), ["one", "two"]);
    assert.deepEqual(messages(await store.readLogs({ function: "f", afterId: stored[0]!.id, limit: 10 })), ["two"]);
    assert.deepEqual(messages(await store.readLogs({ function: "f", sinceMs: now - 2, limit: 10 })), ["two"]);
    assert.deepEqual(messages(await store.readLogs({ function: "f", limit: 1 })), ["two"], "the limit keeps the newest");
    const later = await store.appendLogs([line("f", "three", { invocationId: "i2", request: { ...request(502), code: "function_error" } })]);
    assert.ok(later[0]!.id > stored[2]!.id, "a later append's ids are greater");
    assert.deepEqual(await store.readLogs({ function: "f", afterId: stored[1]!.id, limit: 10 }), later, "the follow cursor; request fields kept");
    assert.deepEqual(await store.appendLogs([]), []);
    await store.close();
  });

  test("log reads filter by level, invocation, text and request status, and the filters combine", async () => {
    const { store } = await backend.create();
    await store.appendLogs([
      line("f", "hello from i1", { invocationId: "i1" }),
      line("f", "careful", { invocationId: "i1", level: "warn" }),
      line("f", "GET /a 200", { invocationId: "i1", level: "info", request: request(200) }),
      line("f", "Boom", { invocationId: "i2", level: "error" }),
      line("f", "GET /b 503", { invocationId: "i2", level: "info", request: request(503) }),
      line("f", "hello from i3", { invocationId: "i3", level: "debug" }),
      line("f", "GET /c 404", { invocationId: "i3", level: "info", request: request(404) }),
      line("g", "Boom in g", { invocationId: "j1", level: "error" }),
    ]);
    const read = async (filter: Omit<Parameters<Store["readLogs"]>[0], "limit">, limit = 100) => messages(await store.readLogs({ function: "f", ...filter, limit }));
    assert.deepEqual(await read({ levels: ["warn", "error"] }), ["careful", "Boom"]);
    assert.deepEqual(await read({ invocationId: "i2" }), ["Boom", "GET /b 503"]);
    assert.deepEqual(await read({ text: "hello" }), ["hello from i1", "hello from i3"]);
    assert.deepEqual(await read({ text: "boom" }), [], "text is case-sensitive");
    assert.deepEqual(await read({ status: { min: 500, max: 599 } }), ["Boom", "GET /b 503"], "every line of the invocations whose request line says so");
    assert.deepEqual(await read({ status: { min: 400, max: 599 } }), ["Boom", "GET /b 503", "hello from i3", "GET /c 404"]);
    assert.deepEqual(await read({ status: { min: 500, max: 599 }, levels: ["error"] }), ["Boom"]);
    assert.deepEqual(await read({ text: "hello", invocationId: "i3" }), ["hello from i3"]);
    assert.deepEqual(await read({ levels: ["info"] }, 2), ["GET /b 503", "GET /c 404"], "the limit keeps the newest of the matches");
    const [firstRequest] = await store.readLogs({ function: "f", levels: ["info"], limit: 100 });
    assert.deepEqual(await read({ levels: ["info", "error"], afterId: firstRequest!.id }), ["Boom", "GET /b 503", "GET /c 404"], "a follow cursor with a filter");
    assert.deepEqual(messages(await store.readLogs({ tenant: "t", levels: ["error"], limit: 100 })), ["Boom", "Boom in g"], "a tenant-wide read filters too");
    await store.close();
  });

  test("removeLogs drops every line of one function and no other's", async () => {
    const { store } = await backend.create();
    await store.appendLogs([line("f", "f one"), line("g", "g one"), line("f", "f two")]);
    await store.removeLogs("f");
    assert.deepEqual(await store.readLogs({ function: "f", limit: 10 }), []);
    assert.deepEqual(messages(await store.readLogs({ function: "g", limit: 10 })), ["g one"]);
    assert.deepEqual(messages(await store.readLogs({ tenant: "t", limit: 10 })), ["g one"]);
    await store.close();
  });

  test("a tenant's log read returns only its own lines, whatever the filter", async () => {
    const { store } = await backend.create();
    await store.appendLogs([
      line("a-fn", "a's line", { tenant: "a", invocationId: "shared" }),
      line("a-fn", "GET / 500", { tenant: "a", invocationId: "shared", request: request(500) }),
      line("b-fn", "b's secret", { tenant: "b", invocationId: "shared" }),
      line("b-fn", "GET / 200", { tenant: "b", invocationId: "shared", request: request(200) }),
    ]);
    const of = async (query: Omit<Parameters<Store["readLogs"]>[0], "limit">) => messages(await store.readLogs({ ...query, limit: 100 }));
    assert.deepEqual(await of({ tenant: "a" }), ["a's line", "GET / 500"]);
    assert.deepEqual(await of({ tenant: "b" }), ["b's secret", "GET / 200"]);
    assert.deepEqual(await of({ tenant: "b", invocationId: "shared" }), ["b's secret", "GET / 200"]);
    assert.deepEqual(await of({ tenant: "b", status: { min: 500, max: 599 } }), [], "another tenant's request line with the same invocation id does not count");
    assert.deepEqual(await of({ function: "b-fn", status: { min: 500, max: 599 } }), [], "…nor another function's");
    assert.deepEqual(await of({ tenant: "a", status: { min: 500, max: 599 } }), ["a's line", "GET / 500"]);
    assert.deepEqual(await of({ tenant: "a", text: "secret" }), []);
    assert.deepEqual(await of({ tenant: "b", function: "a-fn" }), [], "another tenant's function");
    assert.deepEqual(await of({}), ["a's line", "GET / 500", "b's secret", "GET / 200"], "no tenant: every tenant's (the admin's view)");
    await store.close();
  });

  test("each tenant keeps at most its quota of log lines and bytes, oldest dropped first, others untouched", async () => {
    const overhead = logRetention.logLineOverheadBytes;
    const { store } = await backend.create({ maxLogLines: 100, maxLogBytes: 40 * (1000 + overhead) });
    const of = (tenant: string, fn: string, message: string) => line(fn, message, { tenant });
    await store.appendLogs([of("b", "b-fn", "keep me")]);
    for (let i = 0; i < 150; i++) await store.appendLogs([of("a", i % 2 === 0 ? "a-one" : "a-two", `n${i} ✓`)]);
    const kept = messages([...(await store.readLogs({ function: "a-one", limit: 1000 })), ...(await store.readLogs({ function: "a-two", limit: 1000 }))]);
    assert.equal(kept.length, 100, "the line quota spans the tenant's functions");
    assert.ok(kept.includes("n149 ✓") && kept.includes("n50 ✓") && !kept.includes("n49 ✓"), "the oldest went first");
    assert.equal((await store.readLogs({ tenant: "a", limit: 1000 })).length, 100);
    assert.deepEqual(messages(await store.readLogs({ function: "b-fn", limit: 10 })), ["keep me"]);
    if (!byteQuota) return store.close();

    // Bytes: 1,000-byte lines, room for 40 of them (one call of 60 lines).
    await store.appendLogs(Array.from({ length: 60 }, (_, i) => of("c", "c-fn", `${String(i).padStart(3, "0")}${"x".repeat(997)}`)));
    const big = await store.readLogs({ function: "c-fn", limit: 1000 });
    assert.equal(big.length, 40);
    assert.equal(big[0]!.message.slice(0, 3), "020");
    assert.deepEqual(messages(await store.readLogs({ function: "b-fn", limit: 10 })), ["keep me"], "another tenant's quota is its own");
    assert.equal((await store.readLogs({ tenant: "a", limit: 1000 })).length, 100);
    await store.close();
  });

}

/** Usage and rollups. */
function meterTests(backend: PartBackend<MeterStore>): void {
  test("usage is summed per tenant, function and hour, and read by tenant and by hours in [since, until)", async () => {
    const { store } = await backend.create();
    const h0 = 480_000 * hourMs;
    await store.addUsage([usage("a", "f", h0, 1), usage("a", "f", h0, 2), usage("a", "g", h0, 1), usage("b", "f2", h0, 4)]);
    await store.addUsage([usage("a", "f", h0, 3), usage("a", "f", h0 + hourMs, 5)]);
    await store.addUsage([]);
    const first = [usage("a", "f", h0, 6), usage("a", "g", h0, 1), usage("b", "f2", h0, 4)];
    const second = [usage("a", "f", h0 + hourMs, 5)];
    assert.deepEqual(byKey(await store.readUsage({ sinceMs: h0, untilMs: h0 + 2 * hourMs })), [...first, ...second], "rows of one key summed, within a call and across calls");
    assert.deepEqual(byKey(await store.readUsage({ tenant: "a", sinceMs: h0, untilMs: h0 + 2 * hourMs })), [first[0]!, first[1]!, ...second]);
    assert.deepEqual(await store.readUsage({ tenant: "b", sinceMs: h0, untilMs: h0 + 2 * hourMs }), [first[2]!]);
    assert.deepEqual(await store.readUsage({ sinceMs: h0 + hourMs, untilMs: h0 + 2 * hourMs }), second, "since is inclusive");
    assert.deepEqual(byKey(await store.readUsage({ sinceMs: h0, untilMs: h0 + hourMs })), first, "until is exclusive");
    assert.deepEqual(await store.readUsage({ tenant: "c", sinceMs: 0, untilMs: h0 * 2 }), []);
    await store.close();
  });

  test("rollups are summed into their minute and their hour, and read by resolution, tenant and function, oldest first", async () => {
    const { store } = await backend.create();
    const h0 = 480_000 * hourMs;
    await store.addRollups([rollup("a", "f", h0, 1), rollup("a", "f", h0 + minuteMs, 2), rollup("a", "f", h0, 4)]);
    await store.addRollups([rollup("a", "f", h0 + minuteMs, 8), rollup("a", "g", h0 + 5 * minuteMs, 16), rollup("b", "f", h0 + hourMs + minuteMs, 32)]);
    await store.addRollups([]);
    const range = { sinceMs: h0, untilMs: h0 + 2 * hourMs };
    assert.deepEqual(await store.readRollups({ resolution: "minute", ...range, tenant: "a", function: "f" }), [rollup("a", "f", h0, 5), rollup("a", "f", h0 + minuteMs, 10)]);
    assert.deepEqual(await store.readRollups({ resolution: "hour", ...range, tenant: "a", function: "f" }), [rollup("a", "f", h0, 15)], "an hour sums its minutes");
    assert.deepEqual(await store.readRollups({ resolution: "hour", ...range, tenant: "a" }), [rollup("a", "f", h0, 15), rollup("a", "g", h0, 16)].sort((x, y) => x.function.localeCompare(y.function)));
    // A name may have had another owner: a function's rows are its tenant's.
    assert.deepEqual(await store.readRollups({ resolution: "hour", ...range, tenant: "b", function: "f" }), [rollup("b", "f", h0 + hourMs, 32)]);
    assert.deepEqual(await store.readRollups({ resolution: "minute", ...range, tenant: "b" }), [rollup("b", "f", h0 + hourMs + minuteMs, 32)]);
    const every = await store.readRollups({ resolution: "minute", ...range });
    assert.equal(every.length, 4);
    assert.deepEqual(every.map((r) => r.startMs), [...every.map((r) => r.startMs)].sort((x, y) => x - y), "oldest first");
    assert.deepEqual(await store.readRollups({ resolution: "minute", sinceMs: h0 + minuteMs, untilMs: h0 + 5 * minuteMs, tenant: "a" }), [rollup("a", "f", h0 + minuteMs, 10)], "[since, until)");
    assert.deepEqual(await store.readRollups({ resolution: "hour", ...range, tenant: "c" }), []);
    await store.close();
  });

  test("pruneRollups drops minute rows older than a day and hour rows older than 30 days, as of nowMs", async () => {
    const { store } = await backend.create();
    const now = 20_000 * 24 * hourMs;
    await store.addRollups([
      rollup("a", "f", now - rollupRetention.hourMs - 2 * hourMs, 1),
      rollup("a", "f", now - rollupRetention.minuteMs - 2 * minuteMs, 2),
      rollup("a", "f", now - rollupRetention.minuteMs + minuteMs, 4),
    ]);
    const all = { sinceMs: 0, untilMs: now + hourMs, tenant: "a", function: "f" };
    assert.equal((await store.readRollups({ resolution: "minute", ...all })).length, 3);
    assert.equal((await store.readRollups({ resolution: "hour", ...all })).length, 3);
    await store.pruneRollups(now);
    assert.deepEqual(await store.readRollups({ resolution: "minute", ...all }), [rollup("a", "f", now - rollupRetention.minuteMs + minuteMs, 4)]);
    assert.deepEqual(await store.readRollups({ resolution: "hour", ...all }), [
      rollup("a", "f", now - rollupRetention.minuteMs - hourMs, 2),
      rollup("a", "f", now - rollupRetention.minuteMs, 4),
    ]);
    await store.close();
  });

}

/** Code by content hash (putCode/getCode): bytes in, the same bytes out, whatever the store keeps them in. */
function codeTests(backend: PartBackend<CodeStore>): void {
  const hash = (c: string) => c.repeat(64);
  const text = (s: string) => new TextEncoder().encode(s);

  test("code comes back byte for byte: text, bytes that are not UTF-8, and 3 MB", async () => {
    const { store } = await backend.create();
    const bundle = text("export default { fetch: () => new Response('✓') }");
    const notUtf8 = new Uint8Array([0x00, 0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xed, 0xa0, 0x80, 0x0d, 0x0a, 0x80]);
    const large = new Uint8Array(3 * 1024 * 1024);
    for (let i = 0; i < large.length; i++) large[i] = (i * 2654435761) >>> 24;
    await store.putCode("bundle", hash("1"), bundle);
    await store.putCode("wasm", hash("2"), notUtf8);
    await store.putCode("script", hash("3"), large);
    assert.deepEqual(await store.getCode("bundle", hash("1")), bundle);
    assert.deepEqual(await store.getCode("wasm", hash("2")), notUtf8);
    const back = await store.getCode("script", hash("3"));
    assert.equal(back?.byteLength, large.byteLength);
    assert.ok(back !== undefined && Buffer.from(back).equals(Buffer.from(large)), "3 MB, every byte");
    assert.equal(await store.getCode("bundle", hash("4")), undefined, "nothing stored under that hash");
    await store.close();
  });

  test("each kind of code is its own namespace for a hash", async () => {
    const { store } = await backend.create();
    const kinds: CodeKind[] = ["bundle", "bundle-map", "script", "script-map", "wasm"];
    await store.putCode("bundle", hash("a"), text("the bundle"));
    for (const kind of kinds.slice(1)) assert.equal(await store.getCode(kind, hash("a")), undefined, `no ${kind} yet`);
    for (const kind of kinds.slice(1)) await store.putCode(kind, hash("a"), text(`the ${kind}`));
    for (const kind of kinds) assert.deepEqual(await store.getCode(kind, hash("a")), text(`the ${kind}`));
    await store.close();
  });

  test("a second put of the same kind and hash keeps the first bytes", async () => {
    const { store } = await backend.create();
    await store.putCode("bundle", hash("b"), text("export default {}"));
    await store.putCode("bundle", hash("b"), text("ignored: same hash"));
    assert.deepEqual(await store.getCode("bundle", hash("b")), text("export default {}"));
    await store.close();
  });

  test("a hash that is not 64 lowercase hex digits is refused with bad_request", async () => {
    const { store } = await backend.create();
    for (const bad of ["../../etc/passwd", "b".repeat(63), "b".repeat(65), "B".repeat(64), "g".repeat(64), `${"b".repeat(63)}/`, ""]) {
      await assert.rejects(store.putCode("bundle", bad, text("x")), isCode("bad_request"), JSON.stringify(bad));
    }
    await store.close();
  });

  test("stored code survives a reopen", async () => {
    const { store, reopen } = await backend.create();
    const wasm = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]);
    await store.putCode("wasm", hash("c"), wasm);
    await store.putCode("bundle-map", hash("c"), text('{"version":3}'));
    const again = await reopen();
    assert.deepEqual(await again.getCode("wasm", hash("c")), wasm);
    assert.deepEqual(await again.getCode("bundle-map", hash("c")), text('{"version":3}'));
    assert.equal(await again.getCode("bundle", hash("c")), undefined);
    await again.close();
  });
}
