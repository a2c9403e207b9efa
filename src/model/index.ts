export type { FunctionRecord, FunctionSettings, LogLevel, LogLine, TenantRecord, TokenRecord, VersionRecord } from "./records.ts";
export { functionNamePattern, limits, tenantNamePattern } from "./limits.ts";
