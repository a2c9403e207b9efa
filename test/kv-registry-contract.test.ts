// The registry contract (test/contracts/store-contract.ts) against the JetStream KV registry
// (src/cluster/kv-registry.ts), R3 on a real three-server NATS cluster. Each store is a
// fresh set of buckets; a reopen is a new registry on the same buckets.
import { after, before } from "node:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { KvRegistry } from "../src/cluster/index.ts";
import { defaultTenantQuotas } from "../src/store/index.ts";
import { registryContract } from "./contracts/store-contract.ts";
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
