// The store's contracts (test/contracts/store-contract.ts) against its JetStream parts,
// R3 on a real three-server NATS cluster: the registry in KV (src/cluster/kv-registry.ts)
// and code in an Object Store (src/cluster/object-code-store.ts). Each store is a fresh
// set of buckets; a reopen is a new store on the same buckets.
import { after, before } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { KvRegistry, ObjectCodeStore } from "../src/cluster/index.ts";
import { defaultTenantQuotas } from "../src/store/index.ts";
import { codeContract, registryContract } from "./contracts/store-contract.ts";
import { closeQuietly, startNatsCluster, type NatsCluster } from "./support/nats-cluster.ts";

let cluster: NatsCluster;
let nc: NatsConnection;
before(async () => {
  cluster = await startNatsCluster(3);
  nc = await connect({ servers: cluster.urls });
});
after(async () => {
  await closeQuietly(nc);
  await cluster?.stop();
});

let stores = 0;
registryContract({
  name: "KvRegistry (R3)",
  async create(quotas) {
    const prefix = `c${++stores}`;
    const options = { prefix, replicas: 3, quotas: { ...defaultTenantQuotas, ...quotas } };
    let current = await KvRegistry.open(nc, options);
    return {
      store: current,
      async reopen() {
        await current.close();
        current = await KvRegistry.open(nc, options);
        return current;
      },
    };
  },
});

codeContract({
  name: "ObjectCodeStore (R3)",
  async create() {
    const options = { bucket: `code-${++stores}`, replicas: 3 };
    let current = await ObjectCodeStore.open(nc, options);
    return {
      store: current,
      async reopen() {
        await current.close();
        current = await ObjectCodeStore.open(nc, options);
        return current;
      },
    };
  },
});
