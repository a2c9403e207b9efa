export { logRetention, type LogQuery, type NewLogLine, type Store } from "./store.ts";
export { SqliteStore } from "./sqlite-store.ts";
