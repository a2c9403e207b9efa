// What every `KvStore` must do (src/bindings/kv/kv-store.ts: its doc comments are the
// contract), as node:test tests to run against each backend: SQLite on one node today,
// JetStream KV in a cluster next. Time is passed in (`nowMs`), never waited for.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { KvEntry, KvNamespace, KvStore } from "../../src/bindings/kv/kv-store.ts";
import { FlickError } from "../../src/errors/index.ts";

export interface KvStoreBackend {
  name: string;
  /** A new, empty store, and a way to close it and open the same data again (restart). */
  create(): Promise<{ store: KvStore; reopen(): Promise<KvStore> }>;
}

const now = 1_800_000_000_000;
const unlimited = Number.MAX_SAFE_INTEGER;
const bytes = (text: string) => new TextEncoder().encode(text);
const text = (value: Uint8Array | undefined) => (value === undefined ? undefined : new TextDecoder().decode(value));
const entry = (key: string, value: string, more: Partial<KvEntry> = {}): KvEntry => ({ key, value: bytes(value), metadata: null, expiration: null, ...more });
const code = (c: string) => (err: unknown) => err instanceof FlickError && err.code === c;

export function kvStoreContract(backend: KvStoreBackend): void {
  describe(`KvStore contract: ${backend.name}`, () => {
    const fresh = async () => {
      const made = await backend.create();
      const ns = await made.store.createNamespace("acme", "CACHE", 10, now);
      return { ...made, ns };
    };

    test("a namespace is its tenant's by name: another tenant's of the same name is another namespace; names are unique per tenant; a tenant has at most its limit", async () => {
      const { store, ns } = await fresh();
      assert.deepEqual({ tenant: ns.tenant, name: ns.name, createdAtMs: ns.createdAtMs }, { tenant: "acme", name: "CACHE", createdAtMs: now });
      await assert.rejects(store.createNamespace("acme", "CACHE", 10, now), code("kv_namespace_exists"));
      const other = await store.createNamespace("evil", "CACHE", 10, now);
      assert.notEqual(other.id, ns.id);
      await store.put(ns, [entry("k", "acme's")], unlimited, now);
      assert.deepEqual(await store.get(other, ["k"], now), [undefined]);
      assert.equal((await store.namespace("acme", "CACHE"))?.id, ns.id);
      assert.equal(await store.namespace("acme", "NOPE"), undefined);
      await store.createNamespace("small", "one", 1, now);
      await assert.rejects(store.createNamespace("small", "two", 1, now), code("quota_exceeded"));
      assert.deepEqual((await store.namespaces("acme")).map((n) => [n.name, n.keys]), [["CACHE", 1]]);
      assert.deepEqual((await store.namespaces(undefined)).map((n) => `${n.tenant}/${n.name}`), ["acme/CACHE", "evil/CACHE", "small/one"]);
      await store.close();
    });

    test("put and get: values, metadata and expiration come back as written; several keys at once, in order; overwrite and delete", async () => {
      const { store, ns } = await fresh();
      await store.put(ns, [entry("a", "1", { metadata: '{"m":1}', expiration: now / 1000 + 3600 }), entry("b", "2")], unlimited, now);
      const [a, missing, b] = await store.get(ns, ["a", "zzz", "b"], now);
      assert.deepEqual([text(a?.value), a?.metadata, a?.expiration], ["1", '{"m":1}', now / 1000 + 3600]);
      assert.equal(missing, undefined);
      assert.deepEqual([text(b?.value), b?.metadata, b?.expiration], ["2", null, null]);
      await store.put(ns, [entry("a", "one")], unlimited, now);
      const [again] = await store.get(ns, ["a"], now);
      assert.deepEqual([text(again?.value), again?.metadata, again?.expiration], ["one", null, null], "an overwrite replaces metadata and expiration too");
      await store.delete(ns, ["a", "not-there"]);
      assert.deepEqual(await store.get(ns, ["a"], now), [undefined]);
      assert.deepEqual(await store.usage("acme"), { keys: 1, bytes: 2 });
      await store.close();
    });

    test("an expired key is gone from get and list at once, and sweep deletes it and gives its bytes back", async () => {
      const { store, ns } = await fresh();
      const at = now / 1000 + 100;
      await store.put(ns, [entry("soon", "x", { expiration: at }), entry("kept", "y")], unlimited, now);
      assert.equal(text((await store.get(ns, ["soon"], at * 1000 - 1))[0]?.value), "x");
      assert.deepEqual(await store.get(ns, ["soon"], at * 1000), [undefined]);
      assert.deepEqual((await store.list(ns, "", null, 10, at * 1000)).keys.map((k) => k.name), ["kept"]);
      assert.deepEqual(await store.usage("acme"), { keys: 2, bytes: 10 }, "until swept it still counts");
      assert.equal(await store.sweep(at * 1000, 100), 1);
      assert.deepEqual(await store.usage("acme"), { keys: 1, bytes: 5 });
      assert.equal(await store.sweep(at * 1000, 100), 0);
      await store.close();
    });

    test("list: UTF-8 byte order, prefix, a page after a key, and whether more follow", async () => {
      const { store, ns } = await fresh();
      const keys = ["b", "a", "a/2", "a/10", "é", "\u{1F600}", "z", "a\u0000x", "ÿ"];
      await store.put(ns, keys.map((k) => entry(k, "v")), unlimited, now);
      const order = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const all = await store.list(ns, "", null, 100, now);
      assert.deepEqual(all.keys.map((k) => k.name), order);
      assert.equal(all.complete, true);
      assert.deepEqual((await store.list(ns, "a/", null, 100, now)).keys.map((k) => k.name), ["a/10", "a/2"]);
      const first = await store.list(ns, "", null, 3, now);
      assert.equal(first.complete, false);
      const next = await store.list(ns, "", first.keys.at(-1)!.name, 3, now);
      assert.deepEqual([...first.keys, ...next.keys].map((k) => k.name), order.slice(0, 6));
      // A position below the prefix starts at the prefix; one past it gives nothing.
      assert.deepEqual((await store.list(ns, "a/", "0", 100, now)).keys.map((k) => k.name), ["a/10", "a/2"]);
      assert.deepEqual((await store.list(ns, "a/", "b", 100, now)).keys, []);
      const exact = await store.list(ns, "", null, keys.length, now);
      assert.equal(exact.complete, true, "a page that ends exactly at the last key is complete");
      await store.close();
    });

    test("the quota counts keys, values and metadata of the tenant's namespaces together; a put past it fails whole; overwrites count the difference", async () => {
      const { store, ns } = await fresh();
      const second = await store.createNamespace("acme", "OTHER", 10, now);
      await store.put(ns, [entry("k1", "x".repeat(40))], 100, now); // 42 bytes
      await store.put(second, [entry("k2", "y".repeat(40), { metadata: '{"a":1}' })], 100, now); // 49 bytes
      await assert.rejects(store.put(ns, [entry("k3", "z"), entry("k4", "z".repeat(20))], 100, now), (err: unknown) =>
        err instanceof FlickError && err.code === "quota_exceeded" && /stores 91 bytes in KV; 25 more is over its quota of 100 bytes/.test(err.message));
      assert.deepEqual(await store.get(ns, ["k3"], now), [undefined], "nothing of a refused put is written");
      await store.put(ns, [entry("k1", "x")], 100, now); // shrinks: 3 bytes
      await store.put(ns, [entry("k3", "z"), entry("k4", "z".repeat(20))], 100, now);
      assert.deepEqual(await store.usage("acme"), { keys: 4, bytes: 3 + 49 + 3 + 22 });
      assert.deepEqual(await store.usage("evil"), { keys: 0, bytes: 0 });
      await store.close();
    });

    test("writes made together commit together, and one over quota fails alone", async () => {
      const { store, ns } = await fresh();
      const writes = Array.from({ length: 50 }, (_, i) => store.put(ns, [entry(`k${String(i).padStart(2, "0")}`, "v".repeat(i === 7 ? 1000 : 1))], 500, now));
      const results = await Promise.allSettled(writes);
      assert.deepEqual(results.map((r, i) => [i, r.status]).filter(([, s]) => s === "rejected"), [[7, "rejected"]]);
      assert.equal((await store.list(ns, "", null, 100, now)).keys.length, 49);
      await store.close();
    });

    test("a removed namespace is gone at once and counts for nothing; one created again under its name starts empty; sweep deletes the old entries", async () => {
      const { store, ns } = await fresh();
      await store.put(ns, Array.from({ length: 30 }, (_, i) => entry(`k${i}`, "v")), unlimited, now);
      assert.equal(await store.removeNamespace("acme", "CACHE"), true);
      assert.equal(await store.removeNamespace("acme", "CACHE"), false);
      assert.equal(await store.namespace("acme", "CACHE"), undefined);
      assert.deepEqual(await store.usage("acme"), { keys: 0, bytes: 0 });
      await assert.rejects(store.put(ns, [entry("late", "v")], unlimited, now), code("kv_namespace_not_found"));
      const again = await store.createNamespace("acme", "CACHE", 10, now);
      assert.deepEqual((await store.list(again, "", null, 100, now)).keys, []);
      let swept = 0;
      for (let n = await store.sweep(now, 7); n > 0; n = await store.sweep(now, 7)) swept += n;
      assert.equal(swept, 30);
      await store.close();
    });

    test("what resolved is there after a restart", async () => {
      const { store, reopen, ns } = await fresh();
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.put(ns, [entry(`k${i}`, `v${i}`)], unlimited, now)));
      await store.delete(ns, ["k0"]);
      const reopened = await reopen();
      const same: KvNamespace = (await reopened.namespace("acme", "CACHE"))!;
      assert.equal(same.id, ns.id);
      assert.equal((await reopened.list(same, "", null, 100, now)).keys.length, 19);
      assert.equal(text((await reopened.get(same, ["k19"], now))[0]?.value), "v19");
      assert.deepEqual(await reopened.usage("acme"), { keys: 19, bytes: 9 * (2 + 2) + 10 * (3 + 3) });
      await reopened.close();
    });
  });
}
