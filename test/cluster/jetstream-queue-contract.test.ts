// The QueueStore contract (test/contracts/queue-store-contract.ts) against the async queue
// in JetStream (src/cluster/jetstream-queue.ts), R3 on a real three-server NATS cluster. Each
// store is a fresh set of streams and buckets; a reopen is a new store on the same ones.
import { JetStreamQueue } from "../../src/cluster/index.ts";
import { queueStoreContract } from "../contracts/queue-store-contract.ts";
import { reopenable } from "../contracts/reopenable.ts";
import { natsClusterForFile } from "../support/nats-cluster.ts";

const nats = natsClusterForFile(3);

let stores = 0;
queueStoreContract({
  name: "JetStreamQueue (R3)",
  ownLeaseClock: "JetStream ends a lease when the consumer's ack wait runs out on its own clock",
  async create() {
    // The contract's clock is virtual (times like 100 or 1,000,000 ms), so every message not
    // due yet stays on the store that pulled it rather than going back to JetStream with a
    // delay in real milliseconds.
    const options = { prefix: `q${++stores}`, replicas: 3, leaseMs: 60_000, idempotencyWindowMs: 86_400_000, holdMs: Number.MAX_SAFE_INTEGER };
    return reopenable(() => JetStreamQueue.open(nats.nc(), options));
  },
});
