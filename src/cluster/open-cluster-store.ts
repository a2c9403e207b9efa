/**
 * Joins a node to a cluster's store: one NATS connection (reconnecting for as long as it
 * takes), the registry, code and meter buckets on it, and the node's own log store.
 */
import { connect } from "@nats-io/transport-node";
import type { LogStore, TenantQuotas } from "../store/index.ts";
import { ClusterStore } from "./cluster-store.ts";
import { KvMeterStore } from "./kv-meter-store.ts";
import { KvRegistry } from "./kv-registry.ts";
import { ObjectCodeStore } from "./object-code-store.ts";
import { storeUnavailable } from "./store-unavailable.ts";

export interface ClusterOptions {
  /** NATS servers (`flick up --cluster nats://a:4222,nats://b:4222`). */
  servers: string[];
  /** This node's name: its usage keys and its NATS connection's name. */
  nodeName: string;
  /** Copies of each bucket (default 3: R3 on a three-server cluster). */
  replicas?: number;
  quotas: Pick<TenantQuotas, "maxProvisioned" | "maxProvisionedMemoryMiB">;
}

export async function openClusterStore(options: ClusterOptions, logs: LogStore & { close(): Promise<void> }): Promise<ClusterStore> {
  const nc = await storeUnavailable(`connecting to NATS at ${options.servers.join(", ")}`, () =>
    connect({ servers: options.servers, name: `flick ${options.nodeName}`, maxReconnectAttempts: -1 }));
  try {
    const replicas = options.replicas ?? 3;
    const [registry, code, meter] = await Promise.all([
      KvRegistry.open(nc, { replicas, quotas: options.quotas }),
      ObjectCodeStore.open(nc, { replicas }),
      KvMeterStore.open(nc, { replicas, node: options.nodeName }),
    ]);
    return new ClusterStore({ registry, code, logs, meter }, nc, async () => {
      // What was sent is flushed, for at most 5 s: NATS gone must not keep a node from stopping.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([nc.drain().catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, 5000)))]);
      clearTimeout(timer);
      if (!nc.isClosed()) await Promise.race([nc.close().catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, 1000).unref())]);
    });
  } catch (err) {
    await nc.close();
    throw err;
  }
}
