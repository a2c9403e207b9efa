export {
  addRollup, addUsage, codeFileName, defaultTenantQuotas, logRetention, type CodeKind, rollupRetention, type LogFilter, type LogQuery, type NewLogLine, type RollupCounts, type RollupQuery, type RollupResolution, type CodeStore, type LogStore, type MeterStore, type ProvisionedUsage, type Registry, type RegistryChange, type RollupRow, type Store, type TenantChange, type UsageCounts, type TenantQuotas, type UsageQuery,
} from "./store.ts";
export { SqliteStore } from "./sqlite-store.ts";
export { writeFileDurably } from "./durable-file.ts";
export type { EnqueueOptions, EnqueueResult, Enqueued, ErrorSummary, Finish, NewInvocation, QueueCounts, QueueQuota, QueueStore, QueueUsage } from "./queue-store.ts";
export { queueFullError } from "./queue-full.ts";
export { SqliteQueue } from "./sqlite-queue.ts";
export { checkProvisioned } from "./provisioned-quota.ts";
