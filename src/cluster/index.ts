export { Membership, type MembershipEvent, type MembershipOptions, type NodeInfo } from "./membership.ts";
export { KvRegistry, type KvRegistryOptions } from "./kv-registry.ts";
export { ObjectCodeStore, type ObjectCodeStoreOptions } from "./object-code-store.ts";
export { KvMeterStore, type KvMeterStoreOptions } from "./kv-meter-store.ts";
export { JetStreamLogStore, type JetStreamLogOptions } from "./jetstream-log-store.ts";
export { JetStreamQueue, type JetStreamQueueOptions } from "./jetstream-queue.ts";
export type { ClusterStore } from "./cluster-store.ts";
export { openClusterStore, type ClusterOptions } from "./open-cluster-store.ts";
