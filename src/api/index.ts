export type { ApiBackend, LogFilter, LogScope, LogsQuery, Principal } from "./backend.ts";
export { FlickClient, type InvokeOptions } from "./client.ts";
export * from "./schemas.ts";
export { apiPrefix } from "./prefix.ts";
export { createApiHandler, sendError, sendJson } from "./server.ts";
