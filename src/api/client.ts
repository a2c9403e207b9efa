/**
 * The typed admin API client: what the CLI (and tests) use to talk to a node.
 * A platform error comes back as the same FlickError the server threw.
 */
import { gzipSync } from "node:zlib";
import { FlickError } from "../errors/index.ts";
import type { LogLevel, LogLine, NodeInfo } from "../model/index.ts";
import { apiPrefix } from "./prefix.ts";
import type {
  CreateTenantResponse, DeployRequest, DeployResponse, FunctionInfo, InvocationInfo, InvokeRequest, InvokeResponse, MetricsSeries, ScaleRequest, SeriesRequest, TenantInfo, TenantStorage, TraceInfo,
  TenantUpdateRequest, UsageAnswer, VersionInfo, WhoAmI, KvListPage, KvNamespaceView, KvPutEntry, SqlDatabaseView, SqlQueryView,
} from "./schemas.ts";

export interface InvokeOptions {
  method?: string;
  /** Path after the function name, with query: "/users/1?x=2". */
  path?: string;
  headers?: [string, string][];
  body?: Uint8Array | string;
}

/** Bodies larger than this are sent gzipped. */
const gzipAboveBytes = 1024 * 1024;

export class FlickClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;

  constructor(baseUrl: string, token?: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.token = token;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.token === undefined ? extra : { authorization: `Bearer ${this.token}`, ...extra };
  }

  /** A call with a JSON body (or none), or raw bytes (a KV value) sent as they are. */
  private async call<T>(method: string, path: string, body?: unknown, extraHeaders: Record<string, string> = {}): Promise<T> {
    let res: Response;
    let sent: { body?: string | Uint8Array<ArrayBuffer>; headers: Record<string, string> };
    if (body instanceof Uint8Array) sent = { body: new Uint8Array(body), headers: { "content-type": "application/octet-stream", ...extraHeaders } };
    else {
      // A large body (a deploy with Wasm modules) goes gzipped: the API limit is on the bytes sent.
      const json = body === undefined ? undefined : JSON.stringify(body);
      const gzip = json !== undefined && json.length > gzipAboveBytes;
      sent = json === undefined
        ? { headers: extraHeaders }
        : { body: gzip ? new Uint8Array(gzipSync(json, { level: 1 })) : json, headers: { "content-type": "application/json", ...(gzip ? { "content-encoding": "gzip" } : {}), ...extraHeaders } };
    }
    try {
      res = await fetch(`${this.baseUrl}${apiPrefix}${path}`, {
        method,
        headers: this.headers(sent.headers),
        ...(sent.body === undefined ? {} : { body: sent.body }),
      });
    } catch (err) {
      throw new FlickError("unavailable", `cannot reach Flick at ${this.baseUrl} (${(err as Error).cause ?? err}); is \`flick up\` running? Set FLICK_URL to point elsewhere.`);
    }
    const text = await res.text();
    let data: unknown;
    try {
      data = text === "" ? {} : JSON.parse(text);
    } catch {
      throw new FlickError("internal", `${method} ${path}: the node answered ${res.status} with non-JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) throw FlickError.fromData((data as { error?: unknown }).error);
    return data as T;
  }

  whoami(): Promise<WhoAmI> {
    return this.call("GET", "/whoami");
  }
  deploy(name: string, request: DeployRequest): Promise<DeployResponse> {
    return this.call("PUT", `/functions/${encodeURIComponent(name)}`, request);
  }
  /** `flick usage`: metered usage in [sinceMs, untilMs), summed `by` function, hour or tenant. */
  usage(query: { sinceMs?: number; untilMs?: number; by?: "function" | "hour" | "tenant"; tenant?: string } = {}): Promise<UsageAnswer> {
    const params = new URLSearchParams();
    if (query.sinceMs !== undefined) params.set("since", String(query.sinceMs));
    if (query.untilMs !== undefined) params.set("until", String(query.untilMs));
    if (query.by !== undefined) params.set("by", query.by);
    if (query.tenant !== undefined) params.set("tenant", query.tenant);
    return this.call("GET", `/usage?${params}`);
  }

  /** The dashboard's charts: invocation history of a range, per step; one function's, or one tenant's (admin). */
  metricsSeries(query: SeriesRequest): Promise<MetricsSeries> {
    const params = new URLSearchParams({ range: query.range });
    if (query.function !== undefined) params.set("function", query.function);
    if (query.tenant !== undefined) params.set("tenant", query.tenant);
    return this.call("GET", `/metrics/series?${params}`);
  }

  /** `flick traffic`: version → percent (adding up to 100). */
  traffic(name: string, split: Record<string, number>): Promise<FunctionInfo> {
    return this.call("POST", `/functions/${encodeURIComponent(name)}/traffic`, { split });
  }

  /** `flick promote`: every request to `version` (default: the split's canary). */
  promote(name: string, version?: string): Promise<FunctionInfo> {
    return this.call("POST", `/functions/${encodeURIComponent(name)}/promote`, version === undefined ? {} : { version });
  }

  /** `flick secret put`: a new version with this secret set; `value` null removes it. */
  setSecret(name: string, secret: string, value: string | null): Promise<DeployResponse> {
    const path = `/functions/${encodeURIComponent(name)}/secrets/${encodeURIComponent(secret)}`;
    return value === null ? this.call("DELETE", path) : this.call("PUT", path, { value });
  }

  // — KV namespaces (`flick kv`); `tenant`: the admin's choice —

  private static kvPath(name: string, rest: string, query: Record<string, string | number | undefined> = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const q = params.toString();
    return `/kv/${encodeURIComponent(name)}${rest}${q === "" ? "" : `?${q}`}`;
  }
  async kvNamespaces(tenant?: string): Promise<KvNamespaceView[]> {
    return (await this.call<{ namespaces: KvNamespaceView[] }>("GET", tenant === undefined ? "/kv" : `/kv?tenant=${encodeURIComponent(tenant)}`)).namespaces;
  }
  kvCreate(name: string, tenant?: string): Promise<KvNamespaceView> {
    return this.call("POST", "/kv", { name, ...(tenant === undefined ? {} : { tenant }) });
  }
  async kvRemove(name: string, tenant?: string): Promise<void> {
    await this.call("DELETE", FlickClient.kvPath(name, "", { tenant }));
  }
  kvKeys(name: string, options: { prefix?: string; cursor?: string; limit?: number; tenant?: string } = {}): Promise<KvListPage> {
    return this.call("GET", FlickClient.kvPath(name, "/keys", options));
  }
  /** A key's value, metadata and expiration; throws `not_found` when it has none. */
  async kvGet(name: string, key: string, tenant?: string): Promise<{ value: Uint8Array; metadata: unknown; expiration: number | null }> {
    const got = await this.call<{ value: string; metadata: unknown; expiration: number | null }>("GET", FlickClient.kvPath(name, `/values/${encodeURIComponent(key)}`, { tenant }));
    return { value: new Uint8Array(Buffer.from(got.value, "base64")), metadata: got.metadata, expiration: got.expiration };
  }
  async kvPut(name: string, key: string, value: Uint8Array | string, options: { expiration?: number; expirationTtl?: number; metadata?: unknown; tenant?: string } = {}): Promise<void> {
    const query = {
      tenant: options.tenant, expiration: options.expiration, expiration_ttl: options.expirationTtl,
      metadata: options.metadata === undefined ? undefined : JSON.stringify(options.metadata),
    };
    await this.call("PUT", FlickClient.kvPath(name, `/values/${encodeURIComponent(key)}`, query), typeof value === "string" ? new TextEncoder().encode(value) : value);
  }
  async kvDelete(name: string, key: string, tenant?: string): Promise<void> {
    await this.call("DELETE", FlickClient.kvPath(name, `/values/${encodeURIComponent(key)}`, { tenant }));
  }
  /** Writes the entries in one transaction (Cloudflare's bulk format); how many. */
  async kvBulkPut(name: string, entries: KvPutEntry[], tenant?: string): Promise<number> {
    return (await this.call<{ written: number }>("PUT", FlickClient.kvPath(name, "/bulk", { tenant }), entries)).written;
  }
  async kvBulkDelete(name: string, keys: string[], tenant?: string): Promise<number> {
    return (await this.call<{ deleted: number }>("POST", FlickClient.kvPath(name, "/bulk/delete", { tenant }), keys)).deleted;
  }

  // — SQL databases (`flick db`); `tenant`: the admin's choice —

  private static dbPath(name: string, rest: string, tenant?: string): string {
    return `/db/${encodeURIComponent(name)}${rest}${tenant === undefined ? "" : `?tenant=${encodeURIComponent(tenant)}`}`;
  }
  async sqlDatabases(tenant?: string): Promise<SqlDatabaseView[]> {
    return (await this.call<{ databases: SqlDatabaseView[] }>("GET", tenant === undefined ? "/db" : `/db?tenant=${encodeURIComponent(tenant)}`)).databases;
  }
  sqlCreate(name: string, tenant?: string): Promise<SqlDatabaseView> {
    return this.call("POST", "/db", { name, ...(tenant === undefined ? {} : { tenant }) });
  }
  async sqlRemove(name: string, tenant?: string): Promise<void> {
    await this.call("DELETE", FlickClient.dbPath(name, "", tenant));
  }
  /** Runs SQL text (its statements in one transaction); each statement's outcome. */
  async sqlQuery(name: string, sql: string, tenant?: string): Promise<SqlQueryView[]> {
    return (await this.call<{ results: SqlQueryView[] }>("POST", FlickClient.dbPath(name, "/query", tenant), { sql })).results;
  }
  async sqlMigrate(name: string, migrations: { name: string; sql: string }[], tenant?: string): Promise<string[]> {
    return (await this.call<{ applied: string[] }>("POST", FlickClient.dbPath(name, "/migrate", tenant), { migrations })).applied;
  }
  /** The database as SQL text. */
  async sqlExport(name: string, tenant?: string): Promise<string> {
    const res = await fetch(`${this.baseUrl}${apiPrefix}${FlickClient.dbPath(name, "/export", tenant)}`, { headers: this.headers() }).catch((err: unknown) => {
      throw new FlickError("unavailable", `cannot reach Flick at ${this.baseUrl} (${String(err)})`);
    });
    const text = await res.text();
    if (!res.ok) throw FlickError.fromData((JSON.parse(text) as { error?: unknown }).error);
    return text;
  }

  async listFunctions(): Promise<FunctionInfo[]> {
    return (await this.call<{ functions: FunctionInfo[] }>("GET", "/functions")).functions;
  }
  getFunction(name: string): Promise<FunctionInfo> {
    return this.call("GET", `/functions/${encodeURIComponent(name)}`);
  }
  async removeFunction(name: string): Promise<void> {
    await this.call("DELETE", `/functions/${encodeURIComponent(name)}`);
  }
  async listVersions(name: string): Promise<VersionInfo[]> {
    return (await this.call<{ versions: VersionInfo[] }>("GET", `/functions/${encodeURIComponent(name)}/versions`)).versions;
  }
  rollback(name: string, to?: string): Promise<FunctionInfo> {
    return this.call("POST", `/functions/${encodeURIComponent(name)}/rollback`, to === undefined ? {} : { to });
  }
  /** Log lines of one function (`name`), or of every function the token sees (`null`; the admin may name a `tenant`). */
  async readLogs(name: string | null, query: LogReadOptions = {}): Promise<LogLine[]> {
    return (await this.call<{ lines: LogLine[] }>("GET", `${logsPath(name)}?${logParams(query)}`)).lines;
  }

  /**
   * Streams log lines (past ones matching `sinceMs`, or those after line `afterId`, then new
   * ones) until `signal` aborts or the node closes the stream. `onOpen` once it is open.
   */
  async followLogs(name: string | null, onLine: (line: LogLine) => void, options: LogReadOptions & { signal?: AbortSignal; onOpen?: () => void } = {}): Promise<void> {
    const params = logParams(options);
    params.set("follow", "1");
    const res = await fetch(`${this.baseUrl}${apiPrefix}${logsPath(name)}?${params}`, {
      headers: this.headers(),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    if (!res.ok) throw FlickError.fromData(((await res.json()) as { error?: unknown }).error);
    options.onOpen?.();
    const decoder = new TextDecoder();
    let buffered = "";
    try {
      for await (const chunk of res.body! as AsyncIterable<Uint8Array>) {
        buffered += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = buffered.indexOf("\n")) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line !== "") onLine(JSON.parse(line) as LogLine);
        }
      }
    } catch (err) {
      if (options.signal?.aborted) return;
      throw err;
    }
  }

  createTenant(name: string): Promise<CreateTenantResponse> {
    return this.call("POST", "/tenants", { name });
  }
  async listTenants(): Promise<TenantInfo[]> {
    return (await this.call<{ tenants: TenantInfo[] }>("GET", "/tenants")).tenants;
  }
  /** What a tenant stores on the node with each binding kind, against its quotas. */
  async tenantStorage(tenant: string): Promise<TenantStorage> {
    return this.call<TenantStorage>("GET", `/tenants/${encodeURIComponent(tenant)}/storage`);
  }
  /** The platform's nodes (admin only). */
  async listNodes(): Promise<NodeInfo[]> {
    return (await this.call<{ nodes: NodeInfo[] }>("GET", "/nodes")).nodes;
  }
  /** Changes a tenant's limits (admin only); fields left out stay, null means the node's default. */
  updateTenant(name: string, change: TenantUpdateRequest): Promise<TenantInfo> {
    return this.call("PATCH", `/tenants/${encodeURIComponent(name)}`, change);
  }
  setTenantConcurrency(name: string, concurrency: number | null): Promise<TenantInfo> {
    return this.updateTenant(name, { concurrency });
  }

  scale(name: string, change: ScaleRequest): Promise<FunctionInfo> {
    return this.call("POST", `/functions/${encodeURIComponent(name)}/scale`, change);
  }

  /** Queues an async invocation: resolves with its id once the node has it on disk. */
  invokeAsync(name: string, request: InvokeRequest, idempotencyKey?: string): Promise<InvokeResponse> {
    return this.call("POST", `/functions/${encodeURIComponent(name)}/invocations`, request, idempotencyKey === undefined ? {} : { "idempotency-key": idempotencyKey });
  }
  getInvocation(id: string): Promise<InvocationInfo> {
    return this.call("GET", `/invocations/${encodeURIComponent(id)}`);
  }
  /** The spans the node kept of the trace invocation `id` belongs to (a request's `x-flick-invocation-id`, or an async id). */
  getTrace(id: string): Promise<TraceInfo> {
    return this.call("GET", `/invocations/${encodeURIComponent(id)}/trace`);
  }
  /** A function's latest async invocations (`status`: only those), most recently changed first; payloads cut to 1 KiB. */
  async listInvocations(name: string, options: { status?: string; limit?: number } = {}): Promise<InvocationInfo[]> {
    const query = new URLSearchParams();
    if (options.status !== undefined) query.set("status", options.status);
    if (options.limit !== undefined) query.set("limit", String(options.limit));
    const q = query.size === 0 ? "" : `?${query}`;
    return (await this.call<{ invocations: InvocationInfo[] }>("GET", `/functions/${encodeURIComponent(name)}/invocations${q}`)).invocations;
  }
  async listDead(name: string, limit?: number): Promise<InvocationInfo[]> {
    const query = limit === undefined ? "" : `?limit=${limit}`;
    return (await this.call<{ invocations: InvocationInfo[] }>("GET", `/functions/${encodeURIComponent(name)}/dlq${query}`)).invocations;
  }
  async replayDead(name: string, ids?: string[]): Promise<string[]> {
    return (await this.call<{ replayed: string[] }>("POST", `/functions/${encodeURIComponent(name)}/dlq/replay`, ids === undefined ? {} : { ids })).replayed;
  }

  /** Calls the function over /fn/<name>, with this client's token (needed for --private functions). */
  invoke(name: string, options: InvokeOptions = {}): Promise<Response> {
    const path = options.path === undefined || options.path === "" ? "" : options.path.startsWith("/") ? options.path : `/${options.path}`;
    const headers = new Headers(options.headers);
    if (this.token !== undefined && !headers.has("authorization")) headers.set("authorization", `Bearer ${this.token}`);
    return fetch(`${this.baseUrl}/fn/${encodeURIComponent(name)}${path}`, {
      method: options.method ?? (options.body === undefined ? "GET" : "POST"),
      headers,
      ...(options.body === undefined ? {} : { body: options.body }),
      redirect: "manual",
    });
  }
}

/** Which lines `readLogs`/`followLogs` ask for. */
export interface LogReadOptions {
  sinceMs?: number;
  afterId?: number;
  limit?: number;
  levels?: LogLevel[];
  invocationId?: string;
  text?: string;
  /** "5xx", "502" or "400-499": lines of invocations whose request line's status is in it. */
  status?: string;
  /** With no function name, the admin's choice of tenant. */
  tenant?: string;
}

function logsPath(name: string | null): string {
  return name === null ? "/logs" : `/functions/${encodeURIComponent(name)}/logs`;
}

function logParams(query: LogReadOptions): URLSearchParams {
  const params = new URLSearchParams();
  if (query.sinceMs !== undefined) params.set("since", String(query.sinceMs));
  if (query.afterId !== undefined) params.set("after", String(query.afterId));
  if (query.limit !== undefined) params.set("limit", String(query.limit));
  if (query.levels !== undefined && query.levels.length > 0) params.set("level", query.levels.join(","));
  if (query.invocationId !== undefined) params.set("invocation", query.invocationId);
  if (query.text !== undefined) params.set("q", query.text);
  if (query.status !== undefined) params.set("status", query.status);
  if (query.tenant !== undefined) params.set("tenant", query.tenant);
  return params;
}
