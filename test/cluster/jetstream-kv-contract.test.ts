// The KvStore contract (test/contracts/kv-store-contract.ts) against KV namespaces in
// JetStream (src/bindings/kv/jetstream-kv.ts), R3 on a real three-server NATS cluster. Each
// store is a fresh bucket and object store (a prefix of its own); a reopen is a new store
// on the same ones.
import { JetStreamKv } from "../../src/bindings/kv/jetstream-kv.ts";
import { kvStoreContract } from "../contracts/kv-store-contract.ts";
import { reopenable } from "../contracts/reopenable.ts";
import { natsClusterForFile } from "../support/nats-cluster.ts";

const nats = natsClusterForFile(3);

let stores = 0;
kvStoreContract({
  name: "JetStreamKv (R3)",
  async create() {
    const prefix = `kvc${++stores}`;
    return reopenable(() => JetStreamKv.open(nats.nc(), { prefix, replicas: 3 }));
  },
});
