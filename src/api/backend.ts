/**
 * What the admin API needs from the node. The node implements it; the API only parses,
 * authenticates and renders, so it can be read (and tested) without the rest.
 */
import type { InvocationStatus, LogLevel, LogLine, NodeInfo } from "../model/index.ts";

/** `flick logs --level/--invocation/--grep`: these levels, one invocation, a substring of the message. */
export interface LogFilter {
  levels?: LogLevel[];
  invocationId?: string;
  text?: string;
  /** Lines of invocations whose request line's status is in [min, max] (following: the request lines themselves). */
  status?: { min: number; max: number };
}
import type {
  CreateTenantResponse, DeployRequest, DeployResponse, FunctionInfo, InvocationInfo, InvokeRequest, InvokeResponse, MetricsSeries, ScaleRequest, SeriesRequest, TenantInfo, TenantStorage, TraceInfo,
  TenantUpdateRequest, UsageAnswer, UsageRequest, VersionInfo, KvNamespaceView, KvPutEntry, SqlDatabaseView, SqlQueryView,
} from "./schemas.ts";

export type Principal = { role: "admin" } | { role: "tenant"; tenant: string };

export interface LogsQuery extends LogFilter {
  sinceMs?: number;
  afterId?: number;
  limit: number;
}

/** Whose lines: one function's (by name), or a tenant's — a tenant token's own, or the one the admin names (none: all). */
export type LogScope = { function: string } | { tenant?: string };

export interface ApiBackend {
  /** The principal for an `Authorization` header value, or undefined when missing/unknown. */
  authenticate(authorization: string | undefined): Promise<Principal | undefined>;
  deploy(who: Principal, name: string, request: DeployRequest): Promise<DeployResponse>;
  /** A new version of the live one with this secret set (a value) or removed (null). */
  changeSecret(who: Principal, name: string, secret: string, value: string | null): Promise<DeployResponse>;
  listFunctions(who: Principal): Promise<FunctionInfo[]>;
  getFunction(who: Principal, name: string): Promise<FunctionInfo>;
  removeFunction(who: Principal, name: string): Promise<void>;
  listVersions(who: Principal, name: string): Promise<VersionInfo[]>;
  rollback(who: Principal, name: string, to: string | undefined): Promise<FunctionInfo>;
  /** `flick usage`: metered usage summed by function, hour or tenant. */
  usage(who: Principal, query: UsageRequest): Promise<UsageAnswer>;
  /** The dashboard's charts: invocation history per step of a range (a tenant sees its own functions). */
  metricsSeries(who: Principal, query: SeriesRequest): Promise<MetricsSeries>;
  /** `flick traffic`: a split between versions (version → percent, adding up to 100). */
  traffic(who: Principal, name: string, shares: Record<string, number>): Promise<FunctionInfo>;
  /** `flick promote`: every request to this version (default: the split's canary). */
  promote(who: Principal, name: string, version: string | undefined): Promise<FunctionInfo>;
  readLogs(who: Principal, scope: LogScope, query: LogsQuery): Promise<LogLine[]>;
  /** Calls `onLines` with every new line of the function until the returned function is called. */
  followLogs(who: Principal, scope: LogScope, onLines: (lines: LogLine[]) => void): Promise<() => void>;
  createTenant(who: Principal, name: string): Promise<CreateTenantResponse>;
  listTenants(who: Principal): Promise<TenantInfo[]>;
  /** The platform's nodes (admin only): this one, or every node of its cluster heard from within the time-to-live. */
  listNodes(who: Principal): Promise<NodeInfo[]>;
  /** `flick scale`: provisioned and capped instances, placement constraints, keep-alive. */
  scale(who: Principal, name: string, change: ScaleRequest): Promise<FunctionInfo>;
  /** Admin only: a tenant's limits — requests in flight, provisioned quotas (null: the node's default). */
  updateTenant(who: Principal, tenant: string, change: TenantUpdateRequest): Promise<TenantInfo>;
  /** What a tenant stores here with each binding kind, against its quotas: the admin any tenant's, a tenant token its own. */
  tenantStorage(who: Principal, tenant: string): Promise<TenantStorage>;
  /** Queues an async invocation; resolves once it is durable (the 202). */
  /** `caller`: the request's W3C trace context, which the attempts continue. */
  invokeAsync(who: Principal, name: string, request: InvokeRequest, idempotencyKey: string | null, caller?: { traceparent?: string; tracestate?: string }): Promise<InvokeResponse>;
  /** The kept spans of the trace an invocation belongs to (`trace_not_found` when none). */
  traceOf(who: Principal, invocationId: string): Promise<TraceInfo>;
  getInvocation(who: Principal, id: string): Promise<InvocationInfo>;
  listDead(who: Principal, name: string, limit: number): Promise<InvocationInfo[]>;
  /** A function's latest async invocations, of one status or any, most recently changed first. */
  listInvocations(who: Principal, name: string, status: InvocationStatus | null, limit: number): Promise<InvocationInfo[]>;
  /** Queues dead-lettered invocations again (these ids, or all); returns the ids replayed. */
  replayDead(who: Principal, name: string, ids: string[] | null): Promise<string[]>;

  // KV namespaces of a tenant (`flick kv`): `tenant` is the admin's choice (default: the
  // default tenant; listing: every tenant); a tenant token acts for its own only.
  kvNamespaces(who: Principal, tenant: string | undefined): Promise<KvNamespaceView[]>;
  kvCreate(who: Principal, tenant: string | undefined, name: string): Promise<KvNamespaceView>;
  kvRemove(who: Principal, tenant: string | undefined, name: string): Promise<void>;
  kvKeys(who: Principal, tenant: string | undefined, name: string, prefix: string, cursor: string | null, limit: number): Promise<unknown>;
  kvGet(who: Principal, tenant: string | undefined, name: string, key: string): Promise<{ value: Uint8Array; metadata: unknown; expiration: number | null }>;
  /** Writes the entries in one transaction; how many. */
  kvPut(who: Principal, tenant: string | undefined, name: string, entries: KvPutEntry[]): Promise<number>;
  kvDelete(who: Principal, tenant: string | undefined, name: string, keys: string[]): Promise<void>;
  // SQL databases of a tenant (`flick db`), tenants as for KV.
  sqlDatabases(who: Principal, tenant: string | undefined): Promise<SqlDatabaseView[]>;
  sqlCreate(who: Principal, tenant: string | undefined, name: string): Promise<SqlDatabaseView>;
  sqlRemove(who: Principal, tenant: string | undefined, name: string): Promise<void>;
  /** Runs SQL text, its statements in one transaction; each statement's outcome. */
  sqlQuery(who: Principal, tenant: string | undefined, name: string, sql: string): Promise<SqlQueryView[]>;
  /** Applies the migrations not applied yet, in order; the names applied now. */
  sqlMigrate(who: Principal, tenant: string | undefined, name: string, migrations: { name: string; sql: string }[]): Promise<string[]>;
  /** The database as SQL text. */
  sqlExport(who: Principal, tenant: string | undefined, name: string): Promise<string>;
}
