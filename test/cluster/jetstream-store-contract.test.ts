// The store's contracts (test/contracts/store-contract.ts) against its JetStream parts,
// R3 on a real three-server NATS cluster: the registry in KV (src/cluster/kv-registry.ts),
// code in an Object Store (src/cluster/object-code-store.ts) and metered usage in KV
// (src/cluster/kv-meter-store.ts), and function logs in a stream (src/cluster/jetstream-log-store.ts). Each store is a fresh
// set of buckets; a reopen is a new store on the same buckets.
import assert from "node:assert/strict";
import { test } from "node:test";
import { JetStreamLogStore, KvMeterStore, KvRegistry, ObjectCodeStore } from "../../src/cluster/index.ts";
import { defaultTenantQuotas } from "../../src/store/index.ts";
import { reopenable } from "../contracts/reopenable.ts";
import { codeContract, logContract, meterContract, registryContract } from "../contracts/store-contract.ts";
import { natsClusterForFile } from "../support/nats-cluster.ts";

const nats = natsClusterForFile(3);

let stores = 0;
registryContract({
  name: "KvRegistry (R3)",
  async create(quotas) {
    const prefix = `c${++stores}`;
    const options = { prefix, replicas: 3, quotas: { ...defaultTenantQuotas, ...quotas } };
    return reopenable(() => KvRegistry.open(nats.nc(), options));
  },
});

codeContract({
  name: "ObjectCodeStore (R3)",
  async create() {
    const options = { bucket: `code-${++stores}`, replicas: 3 };
    return reopenable(() => ObjectCodeStore.open(nats.nc(), options));
  },
});

meterContract({
  name: "KvMeterStore (R3)",
  async create() {
    const options = { bucket: `meter-${++stores}`, replicas: 3, node: "node-a" };
    return reopenable(() => KvMeterStore.open(nats.nc(), options));
  },
});

logContract({
  name: "JetStreamLogStore (R3)",
  async create(quotas) {
    const options = { prefix: `logs${++stores}`, replicas: 3, ...(quotas?.maxLogLines === undefined ? {} : { maxLogLines: quotas.maxLogLines }) };
    return reopenable(() => JetStreamLogStore.open(nats.nc(), options));
  },
}, { byteQuota: false });

test("usage and rollups written by several nodes add up on read, each node writing only its own keys", { timeout: 60_000 }, async () => {
  const bucket = `meter-${++stores}`;
  const a = await KvMeterStore.open(nats.nc(), { bucket, replicas: 3, node: "node-a" });
  const b = await KvMeterStore.open(nats.nc(), { bucket, replicas: 3, node: "node-b" });
  const hour = 480_000 * 3_600_000;
  const row = (n: number) => ({ tenant: "t", function: "f", hourMs: hour, invocations: n, wallMs: 10 * n, cpuMs: 2 * n, mibMs: 128 * n, requestBytes: n, responseBytes: 2 * n, egressBytes: 0 });
  // At once, from both nodes, and twice from each.
  await Promise.all([a.addUsage([row(1)]), b.addUsage([row(2)]), a.addUsage([row(4)]), b.addUsage([row(8)])]);
  for (const reader of [a, b]) assert.deepEqual(await reader.readUsage({ sinceMs: hour, untilMs: hour + 1 }), [row(15)]);
  const rollup = (n: number, startMs: number) => ({
    tenant: "t", function: "f", startMs, invocations: n, clientErrors: 0, serverErrors: n, platformErrors: 0, throttled: 0, coldStarts: 0, cpuMs: n, wallMs: n, durations: [n, 0, n],
  });
  await Promise.all([a.addRollups([rollup(1, hour + 60_000)]), b.addRollups([rollup(2, hour + 60_000)])]);
  assert.deepEqual(await a.readRollups({ resolution: "minute", sinceMs: hour, untilMs: hour + 3_600_000 }), [rollup(3, hour + 60_000)]);
  assert.deepEqual(await b.readRollups({ resolution: "hour", sinceMs: hour, untilMs: hour + 3_600_000 }), [rollup(3, hour)]);
});
