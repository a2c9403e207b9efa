// What the JetStream KV backend (src/bindings/kv/jetstream-kv.ts) promises beyond the KvStore
// contract, R3 on a real three-server NATS cluster: the quota holds for writers on two
// connections (two nodes) at once; a value over NATS's message limit goes through the
// object store and leaves nothing there once overwritten or deleted; a mark left by a
// write whose node died is found by sweeps and the namespace recounted.
import assert from "node:assert/strict";
import { test } from "node:test";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { KvBucket } from "../../src/bindings/kv/jetstream-kv-bucket.ts";
import { JetStreamKv } from "../../src/bindings/kv/jetstream-kv.ts";
import { TenantLedger } from "../../src/bindings/kv/tenant-ledger.ts";
import { FlickError } from "../../src/errors/index.ts";
import { closeQuietly, natsClusterForFile } from "../support/nats-cluster.ts";

const nats = natsClusterForFile(3);
const now = 1_800_000_000_000;
const unlimited = Number.MAX_SAFE_INTEGER;
const entry = (key: string, value: Uint8Array | string) => ({ key, value: typeof value === "string" ? new TextEncoder().encode(value) : value, metadata: null, expiration: null });

test("two nodes writing at once never take a tenant past its quota: of two puts that fit only one at a time, one passes", { timeout: 120_000 }, async () => {
  const other = await connect({ servers: nats.cluster().urls });
  try {
    const one = await JetStreamKv.open(nats.nc(), { prefix: "race", replicas: 3 });
    const two = await JetStreamKv.open(other, { prefix: "race", replicas: 3 });
    const ns = await one.createNamespace("acme", "RACE", 10, now);
    const seen = (await two.namespace("acme", "RACE"))!;
    for (let round = 0; round < 10; round++) {
      // 60 bytes each against a quota of 100: both fit alone, not together.
      const results = await Promise.allSettled([one.put(ns, [entry(`a${round}`, "x".repeat(58))], 100, now), two.put(seen, [entry(`b${round}`, "y".repeat(58))], 100, now)]);
      assert.equal(results.filter((r) => r.status === "fulfilled").length, 1, `round ${round}: ${JSON.stringify(results.map((r) => r.status))}`);
      const refused = results.find((r) => r.status === "rejected")!;
      assert.ok(refused.reason instanceof FlickError && refused.reason.code === "quota_exceeded", String(refused.reason));
      assert.deepEqual(await two.usage("acme"), { keys: 1, bytes: 60 });
      await one.delete(ns, [`a${round}`, `b${round}`]);
    }
    await one.close();
    await two.close();
  } finally {
    await closeQuietly(other);
  }
});

test("a value over NATS's 1 MiB message limit round-trips through the object store, which keeps nothing of it once overwritten or deleted", { timeout: 120_000 }, async () => {
  const store = await JetStreamKv.open(nats.nc(), { prefix: "big", replicas: 3 });
  const ns = await store.createNamespace("acme", "BIG", 10, now);
  const jsm = await jetstreamManager(nats.nc());
  const objectMessages = async () => (await jsm.streams.info("OBJ_big-kv-values")).state.messages;
  const big = Uint8Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => (i * 13) % 256);
  await store.put(ns, [entry("big", big)], unlimited, now);
  assert.ok((await objectMessages()) > 24, "3 MiB in 128 KiB chunks");
  const [got] = await store.get(ns, ["big"], now);
  assert.ok(got !== undefined && Buffer.from(got.value).equals(big));
  assert.deepEqual(await store.usage("acme"), { keys: 1, bytes: 3 + big.byteLength });
  await store.put(ns, [entry("big", big.subarray(0, 2 * 1024 * 1024))], unlimited, now);
  assert.equal((await store.get(ns, ["big"], now))[0]?.value.byteLength, 2 * 1024 * 1024);
  assert.ok((await objectMessages()) <= 17, "the overwritten value's chunks and record are gone");
  await store.put(ns, [entry("big", "small now")], unlimited, now);
  assert.equal(await objectMessages(), 0, "a value back inline leaves no object behind");
  await store.put(ns, [entry("big", big)], unlimited, now);
  await store.delete(ns, ["big"]);
  assert.equal(await objectMessages(), 0, "a deleted value leaves no object behind");
  assert.deepEqual(await store.usage("acme"), { keys: 0, bytes: 0 });
  await store.close();
});

test("a put with a namespace removed and made again under its name fails: it reaches neither the old entries nor the new namespace", { timeout: 120_000 }, async () => {
  const store = await JetStreamKv.open(nats.nc(), { prefix: "again", replicas: 3 });
  const old = await store.createNamespace("acme", "AGAIN", 10, now);
  assert.equal(await store.removeNamespace("acme", "AGAIN"), true);
  const made = await store.createNamespace("acme", "AGAIN", 10, now);
  await assert.rejects(store.put(old, [entry("late", "v")], unlimited, now), (err: unknown) => err instanceof FlickError && err.code === "kv_namespace_not_found");
  assert.deepEqual((await store.list(made, "", null, 10, now)).keys, []);
  assert.deepEqual(await store.usage("acme"), { keys: 0, bytes: 0 });
  await store.close();
});

test("a write whose node died half-way leaves its mark and reservation; sweeps recount the namespace once the mark has stayed 10 minutes", { timeout: 120_000 }, async () => {
  const store = await JetStreamKv.open(nats.nc(), { prefix: "mark", replicas: 3 });
  const ns = await store.createNamespace("acme", "MARKED", 10, now);
  await store.put(ns, [entry("k", "v")], unlimited, now);
  // What a put leaves when its node dies after reserving: a mark and 1,000 bytes counted.
  const ledger = new TenantLedger(await KvBucket.open(nats.nc(), "mark", 3));
  await ledger.change("acme", (book) => {
    book.mark("dead-write", ns.id);
    book.namespaces.get("MARKED")!.bytes += 1000;
  });
  assert.deepEqual(await store.usage("acme"), { keys: 1, bytes: 1002 });
  await assert.rejects(store.put(ns, [entry("more", "x".repeat(100))], 1050, now), (err: unknown) => err instanceof FlickError && err.code === "quota_exceeded", "until repaired, it errs on the side of refusing");
  const minute = 60_000;
  await store.sweep(now, 100); // first seen
  await store.sweep(now + 5 * minute, 100);
  assert.deepEqual(await store.usage("acme"), { keys: 1, bytes: 1002 }, "5 minutes: maybe a slow write, left alone");
  await store.sweep(now + 10 * minute, 100);
  assert.deepEqual(await store.usage("acme"), { keys: 1, bytes: 2 }, "10 minutes: recounted from the entries");
  assert.equal((await ledger.read("acme")).book.marks.size, 0);
  await store.close();
});
