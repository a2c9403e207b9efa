export { logRetention, type LogQuery, type NewLogLine, type Store } from "./store.ts";
export { SqliteStore } from "./sqlite-store.ts";
export type { Enqueued, ErrorSummary, Finish, NewInvocation, QueueCounts, QueueStore } from "./queue-store.ts";
export { SqliteQueue } from "./sqlite-queue.ts";
