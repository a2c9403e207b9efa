/**
 * Joins a node to a cluster's store: one NATS connection (reconnecting for as long as it
 * takes), and on it the registry, code and meter buckets and the log stream.
 */
import { connect } from "@nats-io/transport-node";
import type { TenantQuotas } from "../store/index.ts";
import { JetStreamLogStore } from "./jetstream-log-store.ts";
import { ClusterStore } from "./cluster-store.ts";
import { KvMeterStore } from "./kv-meter-store.ts";
import { KvRegistry } from "./kv-registry.ts";
import { ObjectCodeStore } from "./object-code-store.ts";
import { storeUnavailable } from "./store-unavailable.ts";
import { FlickError } from "../errors/index.ts";

export interface ClusterOptions {
  /** NATS servers (`flick up --cluster nats://a:4222,nats://b:4222`). */
  servers: string[];
  /** This node's name: its usage keys and its NATS connection's name. */
  nodeName: string;
  /** Copies of each bucket (default 3: R3 on a three-server cluster). */
  replicas?: number;
  quotas: Pick<TenantQuotas, "maxProvisioned" | "maxProvisionedMemoryMiB" | "maxLogLines">;
  /** The log stream's total size, bytes (default 1 GiB). */
  logMaxBytes?: number;
}

export async function openClusterStore(options: ClusterOptions): Promise<ClusterStore> {
  const nc = await storeUnavailable(`connecting to NATS at ${options.servers.join(", ")}`, () =>
    connect({ servers: options.servers, name: `flick ${options.nodeName}`, maxReconnectAttempts: -1 }));
  try {
    checkServerVersion(nc.info?.version, options.servers);
    const replicas = options.replicas ?? 3;
    const [registry, code, meter, logs] = await Promise.all([
      KvRegistry.open(nc, { replicas, quotas: options.quotas }),
      ObjectCodeStore.open(nc, { replicas }),
      KvMeterStore.open(nc, { replicas, node: options.nodeName }),
      JetStreamLogStore.open(nc, { replicas, maxLogLines: options.quotas.maxLogLines, ...(options.logMaxBytes === undefined ? {} : { maxBytes: options.logMaxBytes }) }),
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

/**
 * nats-server before 2.10 lets concurrent writes to a replicated stream that each expect
 * the same last revision all succeed (measured on 2.9.10: every one of 200 rounds of six
 * racing updates), so two tenants could both take a name. docs/cluster.md, "NATS version".
 */
export function checkServerVersion(version: string | undefined, servers: string[]): void {
  const match = /^(\d+)\.(\d+)\./.exec(version ?? "");
  if (match !== null && Number(match[1]) * 100 + Number(match[2]) >= 210) return;
  throw new FlickError(
    "bad_request",
    `the NATS server at ${servers.join(", ")} is ${version === undefined ? "of an unknown version" : `version ${version}`}; Flick's cluster needs nats-server 2.10 or later, whose replicated streams check each write's expected revision (upgrade the NATS servers, then start the node again)`,
  );
}
