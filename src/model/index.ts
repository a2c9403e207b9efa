export type { Binding, DeadReason, FunctionRecord, FunctionSettings, InvocationKind, InvocationRecord, InvocationStatus, LogLevel, LogLine, NodeInfo, RequestFields, ScaleSettings, SettingKey, SettingSource, TenantRecord, TrafficShare, TokenRecord, UsageRow, VersionRecord } from "./records.ts";
export { defaultScale } from "./records.ts";
export { durationBucketsMs, functionNamePattern, limits, tenantNamePattern } from "./limits.ts";
export { hopByHop, notTheFunctions, reservedHeaderPrefix } from "./headers.ts";
