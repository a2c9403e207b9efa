/**
 * The admin API's request and response shapes: zod schemas for what comes in (so a bad
 * field is a 400 naming it), plain types for what goes out. The CLI's client uses the
 * same types, so both sides agree at compile time.
 */
import * as z from "zod";
import { functionNamePattern, limits, tenantNamePattern, type LogLine, type ScaleSettings, type SettingSource } from "../model/index.ts";
import { bindingApiKeys, bindingSettings, kvContract, kvNamespacePattern, sqlDatabasePattern, type BindingApiKey } from "../bindings/index.ts";

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envMap = z
  .record(
    z.string().regex(envName, "names are letters, digits and _, not starting with a digit"),
    z.string().max(limits.envValueMaxBytes, `values are at most ${limits.envValueMaxBytes} bytes`),
  )
  .refine((m) => Object.keys(m).length <= limits.envMaxEntries, `at most ${limits.envMaxEntries} entries`);

export const functionName = z
  .string()
  .regex(functionNamePattern, "function names are 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit");
export const tenantName = z
  .string()
  .regex(tenantNamePattern, "tenant names are 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit");

/** A setting a deploy may unset: a scalar, a whole map, or one entry of a map (`env.GREETING`). */
const settingKey = z
  .string()
  .regex(
    new RegExp(`^(?:memoryMiB|timeoutMs|cpuLimitMs|private|retries|maxEventAgeMs|crons|timeZone|cronMissed|(?:env|secrets|${bindingApiKeys.join("|")})(?:\\.[A-Za-z_][A-Za-z0-9_]*)?)$`),
    `a setting is memoryMiB, timeoutMs, cpuLimitMs, private, retries, maxEventAgeMs, crons, timeZone, cronMissed, env, secrets, ${bindingApiKeys.slice(0, -1).join(", ")} or ${bindingApiKeys.at(-1)}, or one entry of a map (env.NAME)`,
  );

/**
 * `PUT /functions/<name>`. Settings stick: a field left out keeps the live version's value;
 * the maps (env, secrets, bindings) are merged name by name; `unset` first returns settings
 * to their defaults (or removes map entries). Without `code`, the live version's code runs
 * with the changed settings.
 */
/** A binding kind's map in a deploy request: env name → its target of the same tenant (a function, a namespace …). */
const bindingMap = (target: { pattern: RegExp; rule: string }) =>
  z.record(z.string().regex(envName, "binding names are letters, digits and _, not starting with a digit"), z.string().regex(target.pattern, target.rule)).optional();
const bindingMaps = Object.fromEntries(bindingSettings.map((k) => [k.apiKey, bindingMap(k.target)])) as { [K in BindingApiKey]: ReturnType<typeof bindingMap> };

export const deployRequest = z.strictObject({
  code: z.string().min(1, "the bundle is empty").max(limits.bundleMaxUncompressedBytes, `bundles are at most ${limits.bundleMaxUncompressedBytes} bytes`).optional(),
  /** The bundle's source map (JSON, version 3), kept with the version: stack traces then name the user's files and lines. */
  sourceMap: z.string().max(limits.bundleMaxUncompressedBytes, `source maps are at most ${limits.bundleMaxUncompressedBytes} bytes`).optional(),
  /** Percent of requests the new version takes (1-99); the live version keeps the rest and stays live (`flick promote`). */
  canary: z.number().int().min(1, "a canary takes 1-99% of the requests").max(99, "a canary takes 1-99% of the requests").optional(),
  /** Settings back to their defaults before this request's values apply. */
  unset: z.array(settingKey).max(500).optional(),
  /** How each setting given was given (`flick.toml`, `--memory`), shown by `flick info`; by key as in `unset`, or a map's name for all its entries. */
  origin: z.record(settingKey, z.string().regex(/^[\x20-\x7e]{1,80}$/, "an origin is 1-80 printable ASCII characters")).optional(),
  /** Admin only: the tenant to deploy for (default `default`). */
  tenant: tenantName.optional(),
  memoryMiB: z.number().int().min(limits.memoryMiB.min).max(limits.memoryMiB.max).optional(),
  timeoutMs: z.number().int().min(limits.timeoutMs.min).max(limits.timeoutMs.max).optional(),
  /** CPU time one invocation may use, ms (the isolate's thread CPU clock); unset: the timeout bounds it. */
  cpuLimitMs: z.number().int().min(limits.cpuLimitMs.min).max(limits.cpuLimitMs.max).optional(),
  env: envMap.optional(),
  secrets: envMap.optional(),
  private: z.boolean().optional(),
  /** Retries of a failed async invocation (function error or timeout). */
  retries: z.number().int().min(limits.retries.min).max(limits.retries.max).optional(),
  /** How long an async event may wait out throttles and faults before it is dead-lettered, ms. */
  maxEventAgeMs: z.number().int().min(limits.maxEventAgeMs.min).max(limits.maxEventAgeMs.max).optional(),
  /** One map per binding kind (bindings/settings.ts), env name → function of the same tenant: `serviceBindings`, `queueBindings`. */
  ...bindingMaps,
  /** Cron triggers: 5-field expressions or @hourly-style nicknames, run by the `scheduled` handler. */
  crons: z.array(z.string().min(1).max(200)).max(10, "at most 10 cron triggers per function").optional(),
  /** IANA time zone the cron fields are read in (default UTC). */
  timeZone: z.string().min(1).max(64).optional(),
  /** Runs missed while the node was down: "once" (default) or "skip". */
  cronMissed: z.enum(["once", "skip"]).optional(),
  /** WebAssembly modules the code imports: SHA-256 (hex) → bytes in base64. */
  wasm: z
    .record(z.string().regex(/^[0-9a-f]{64}$/, "keys are the modules' SHA-256 in hex"), z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "values are base64"))
    .optional(),
});
export type DeployRequest = z.infer<typeof deployRequest>;

export const rollbackRequest = z.strictObject({ to: z.string().regex(/^[0-9a-f]{16}$/, "a version id is 16 hex digits").optional() });
export type RollbackRequest = z.infer<typeof rollbackRequest>;

/** `PUT /functions/<name>/secrets/<NAME>`: a new version with this secret set, everything else kept. */
export const secretRequest = z.strictObject({
  value: z.string().max(limits.envValueMaxBytes, `values are at most ${limits.envValueMaxBytes} bytes`),
});
export type SecretRequest = z.infer<typeof secretRequest>;

/** A KV namespace's name (bindings/kv/settings.ts). */
export const kvNamespaceName = z.string().regex(kvNamespacePattern, "KV namespace names are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");

/** `POST /kv`: a new namespace of the tenant (the admin names one; default: the default tenant). */
export const kvCreateRequest = z.strictObject({ name: kvNamespaceName, tenant: tenantName.optional() });

/** One entry of `PUT /kv/<ns>/bulk`, in Cloudflare's bulk format; limits are checked by the KV side. */
export const kvPutEntry = z.strictObject({
  key: z.string(),
  value: z.string(),
  base64: z.boolean().optional(),
  expiration: z.number().int().positive().optional(),
  expiration_ttl: z.number().int().positive().optional(),
  metadata: z.unknown().optional(),
});
export type KvPutEntry = z.infer<typeof kvPutEntry>;
/** A value sent raw to `PUT /kv/<ns>/values/<key>`: the KV value limit (bindings/kv/contract.ts). */
export const kvValueMaxBytes = kvContract.maxValueBytes;
export const kvBulkPut = z.array(kvPutEntry).min(1, "give at least one entry").max(10_000, "at most 10000 entries per bulk put; split the file");
export const kvBulkDelete = z.array(z.string()).min(1, "give at least one key").max(10_000, "at most 10000 keys per bulk delete; split the file");

/** A KV namespace as `GET /kv` lists it. */
export interface KvNamespaceView {
  tenant: string;
  name: string;
  createdAtMs: number;
  keys: number;
  /** Keys, values and metadata, bytes. */
  bytes: number;
}

/** A SQL database's name (bindings/sql/settings.ts). */
export const sqlDatabaseName = z.string().regex(sqlDatabasePattern, "database names are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit");
export const sqlCreateRequest = z.strictObject({ name: sqlDatabaseName, tenant: tenantName.optional() });
/** `POST /db/<name>/query`: SQL text, its statements run in one transaction. */
export const sqlQueryRequest = z.strictObject({ sql: z.string().min(1, "no SQL to run").max(limits.apiBodyMaxInflatedBytes) });
/** `POST /db/<name>/migrate`: migrations in the order they apply; each is applied once. */
export const sqlMigrateRequest = z.strictObject({
  migrations: z.array(z.strictObject({ name: z.string().min(1).max(200), sql: z.string() })).max(10_000),
});
export interface SqlDatabaseView {
  tenant: string;
  name: string;
  createdAtMs: number;
  bytes: number;
}
export interface SqlQueryView {
  columns: string[];
  rows: unknown[][];
  changes: number;
  lastRowId: number;
  durationMs: number;
}

/** A page of `GET /kv/<ns>/keys`, as Workers KV's `list()` answers it. */
export interface KvListPage {
  keys: { name: string; expiration?: number; metadata?: unknown }[];
  list_complete: boolean;
  cursor?: string;
}

/** `POST /functions/<name>/traffic`: version id → whole percent; they add up to 100. */
export const trafficRequest = z.strictObject({
  split: z
    .record(z.string().regex(/^[0-9a-f]{16}$/, "a version id is 16 hex digits"), z.number().int().min(0).max(100))
    .refine((m) => Object.keys(m).length >= 1 && Object.keys(m).length <= 4, "split between 1 and 4 versions"),
});
export type TrafficRequest = z.infer<typeof trafficRequest>;

/** `POST /functions/<name>/promote`: every request to this version (default: the split's canary). */
export const promoteRequest = z.strictObject({ version: z.string().regex(/^[0-9a-f]{16}$/, "a version id is 16 hex digits").optional() });

export const createTenantRequest = z.strictObject({ name: tenantName });
export type CreateTenantRequest = z.infer<typeof createTenantRequest>;

/** env name → bound function, one map per binding kind: `serviceBindings`, `queueBindings`. */
export type BindingMapsView = { [K in BindingApiKey]: Record<string, string> };

export interface SettingsView extends BindingMapsView {
  memoryMiB: number;
  timeoutMs: number;
  /** null: no CPU limit of its own (the timeout bounds it). */
  cpuLimitMs: number | null;
  env: Record<string, string>;
  /** Names only; values are never returned. */
  secretNames: string[];
  private: boolean;
  /** Async invocations: retries after a function error or timeout, and the maximum event age. */
  retries: number;
  maxEventAgeMs: number;
  /** Cron triggers, their time zone, and what happens to runs missed while the node was down. */
  crons: string[];
  timeZone: string;
  cronMissed: "once" | "skip";
  /** Handlers the module exports: "fetch", "scheduled", "queue". */
  handlers: string[];
}

export interface FunctionInfo {
  name: string;
  tenant: string;
  liveVersion: string;
  /** Where the function answers, e.g. http://127.0.0.1:8080/fn/hello */
  url: string;
  settings: SettingsView;
  /** Where each setting that is not at its default came from, by key (`memoryMiB`, `env.GREETING`). */
  sources: Record<string, SettingSource>;
  /** Who gets the requests: the live version at 100, or a split (`flick traffic`). */
  traffic: { version: string; percent: number }[];
  /** A version's preview URL, with `<version>` to fill in; it needs a token of the function's tenant. */
  previewUrl: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** Warm instances right now. */
  instances: number;
  /** How the scheduler runs it (`flick scale`). */
  scale: ScaleSettings;
  /** What it did lately (this node, since it started; latencies over the last 5 minutes). */
  stats: FunctionStats;
  /** Its async invocations on this node by status (`GET /functions/<name>` only). */
  invocations?: { queued: number; running: number; completed: number; dead: number };
  /** Its cron triggers and their next runs (`GET /functions/<name>` only). */
  cron?: { expression: string; timeZone: string; next: number[] }[];
}

export interface FunctionStats {
  warm: number;
  busy: number;
  provisioned: number;
  invocations: number;
  coldStarts: number;
  /** Cold starts of a script-form version (bundles ≥ 32 KiB) from its V8 code cache, and from source. */
  codeCache: { hits: number; misses: number };
  throttled: number;
  /** Latency at the node, ms, over `windowMs` (null without requests in it). */
  p50Ms: number | null;
  p99Ms: number | null;
  windowMs: number;
  /** The keep-alive windows the node's policy gives it now, where they come from, and what its idle-time histogram holds (control/ KeepAliveView). */
  keepAlive: {
    prewarmMs: number;
    keepAliveMs: number;
    holdMs?: number;
    basis: "fixed" | "histogram" | "few-samples" | "flat" | "out-of-range";
    samples: number;
    histogram?: { p5Ms: number; p50Ms: number; p99Ms: number; outOfRange: number; cv: number };
  } | null;
}

const labelMap = z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/, "label names are letters, digits, ., - and _"), z.string().max(256));

export const scaleRequest = z.strictObject({
  minInstances: z.number().int().min(0).max(1000).optional(),
  maxInstances: z.number().int().min(0).max(100_000).nullable().optional(),
  pin: labelMap.optional(),
  avoid: labelMap.optional(),
  keepAlive: z
    .union([z.strictObject({ policy: z.literal("fixed"), ttlMs: z.number().int().min(0).max(7 * 24 * 3600 * 1000) }), z.strictObject({ policy: z.literal("hybrid") })])
    .nullable()
    .optional(),
});
export type ScaleRequest = z.infer<typeof scaleRequest>;

/** `PATCH /tenants/<name>`: each field left out stays as it is; null goes back to the node's default. */
export const tenantUpdateRequest = z.strictObject({
  concurrency: z.number().int().min(1).max(1_000_000).nullable().optional(),
  /** Provisioned instances (sum of min-instances over its functions) the tenant may reserve. */
  maxProvisioned: z.number().int().min(0).max(limits.tenantMaxProvisioned.max).nullable().optional(),
  /** Provisioned memory (sum of min-instances × memory) the tenant may reserve, MiB. */
  maxProvisionedMemoryMiB: z.number().int().min(0).max(limits.tenantMaxProvisionedMemoryMiB.max).nullable().optional(),
  /** Async messages queued or running the tenant may have. */
  maxQueueMessages: z.number().int().min(1).max(100_000_000).nullable().optional(),
  /** Their payload, MiB. */
  maxQueueMiB: z.number().int().min(1).max(1_048_576).nullable().optional(),
});
export type TenantUpdateRequest = z.infer<typeof tenantUpdateRequest>;

/**
 * `POST /functions/<name>/invocations`. `data` is the body the function gets: a string as
 * text, anything else as JSON; `base64` for bytes. `mode` is `async` (sync calls go to
 * `/fn/<name>`).
 */
export const invokeRequest = z
  .strictObject({
    mode: z.literal("async", { error: 'mode must be "async" (a synchronous call is a request to /fn/<name>)' }),
    data: z.json().optional(),
    base64: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, "base64 is standard base64").optional(),
    contentType: z.string().min(1).max(256).optional(),
  })
  .refine((r) => r.data === undefined || r.base64 === undefined, "send data or base64, not both");
export type InvokeRequest = z.infer<typeof invokeRequest>;

export interface InvokeResponse {
  id: string;
  /** True when the Idempotency-Key was used within its window: this is the first invocation, and nothing new runs. */
  duplicate: boolean;
}

export const replayRequest = z.strictObject({
  /** Replays these dead-lettered invocations; absent: all of the function's. */
  ids: z.array(z.string().min(1).max(100)).max(10_000).optional(),
});

/** One span of a trace (`GET /api/v1/invocations/<id>/trace`); docs/observability.md lists them. */
export interface SpanInfo {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: "server" | "client" | "internal" | "producer" | "consumer";
  /** Unix epoch ms (fractional), and length in ms. */
  startMs: number;
  durationMs: number;
  attributes: Record<string, string | number | boolean>;
  /** Set when its work failed. */
  error: string | null;
}

export interface TraceInfo {
  traceId: string;
  spans: SpanInfo[];
}

/** An async invocation as the API shows it. */
export interface InvocationInfo {
  id: string;
  function: string;
  kind: string;
  status: string;
  attempts: number;
  failures: number;
  createdAtMs: number;
  updatedAtMs: number;
  nextAtMs: number | null;
  idempotencyKey: string | null;
  result: { status: number; body: string; truncated: boolean } | null;
  lastError: { code: string; message: string } | null;
  deadReason: string | null;
  /**
   * The payload as sent: text when it is UTF-8, else base64. In lists (`…/invocations`,
   * `…/dlq`) only its first 1 KiB, with `truncated` set when there is more: one
   * invocation (`GET /invocations/<id>`) has all of it.
   */
  payload: ({ text: string } | { base64: string }) & { truncated?: boolean };
}

export interface DeployResponse {
  function: FunctionInfo;
  version: string;
  /** False when the same code and settings were already live: nothing changed. */
  changed: boolean;
}

export interface VersionInfo {
  id: string;
  createdAtMs: number;
  bundleBytes: number;
  live: boolean;
  /** Its share of the requests now (0 when it takes none). */
  percent: number;
  /** Where to try it (with a token of the function's tenant), whatever its share. */
  previewUrl: string;
  settings: SettingsView;
}

export interface TenantInfo {
  name: string;
  createdAtMs: number;
  /** Requests in flight the tenant may have; null: the node's default. */
  concurrency?: number | null;
  /** Its own provisioned quotas; null: the node's defaults (`flick up --tenant-max-provisioned[-memory]`). */
  maxProvisioned?: number | null;
  maxProvisionedMemoryMiB?: number | null;
  /** Its own async queue quotas; null: the node's (`flick up --tenant-queue-messages/--tenant-queue-mib`). */
  maxQueueMessages?: number | null;
  maxQueueMiB?: number | null;
  /** What it reserves with provisioned instances now, and the quotas in force (its own or the node's). */
  provisioned?: { instances: number; memoryMiB: number; maxInstances: number; maxMemoryMiB: number };
}

/** What a tenant stores on a node, kind by kind, against its quotas (`flick tenants storage`). */
export interface TenantStorage {
  tenant: string;
  /** The node that counted ("node"-scoped figures are this node's alone). */
  node: string;
  kinds: { kind: string; bytes: number; quotaBytes: number; scope: "node" | "cluster" }[];
}

export interface CreateTenantResponse {
  tenant: string;
  /** Shown once; only its hash is stored. */
  token: string;
}

export interface WhoAmI {
  role: "admin" | "tenant";
  tenant: string | null;
}

export type { LogLine };

/** Turns a zod failure into one line per field: "memoryMiB: Too big: expected number to be <=1024". */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.length === 0 ? "body" : issue.path.map(String).join(".");
    return `${where}: ${issue.message}`;
  });
}

/** `GET /usage?since=<ms>&until=<ms>&by=function|hour|tenant&tenant=<name>`. */
export interface UsageRequest {
  sinceMs: number;
  untilMs: number;
  by: "function" | "hour" | "tenant";
  /** Admin only: one tenant's (a tenant's token always reads its own). */
  tenant?: string;
}

/** Sums over metered invocations: one row per function, per hour or per tenant. */
export interface UsageLine {
  tenant: string;
  /** With `by=function`. */
  function?: string;
  /** With `by=hour`: the hour's start, epoch ms (UTC). */
  hourMs?: number;
  invocations: number;
  wallMs: number;
  cpuMs: number;
  /** Memory limit × wall time, MiB·ms, and the same in GB-seconds (MiB·ms / 1024 / 1000). */
  mibMs: number;
  gbSeconds: number;
  requestBytes: number;
  responseBytes: number;
  /** Bytes outbound fetches sent and received (bodies). */
  egressBytes: number;
}

export interface UsageAnswer {
  sinceMs: number;
  untilMs: number;
  by: UsageRequest["by"];
  lines: UsageLine[];
  total: Omit<UsageLine, "tenant" | "function" | "hourMs">;
}

/** The time spans of `GET /metrics/series` (the dashboard's 1 h, 24 h, 7 d; 30 d from the hour rows). */
export const seriesRanges = ["1h", "24h", "7d", "30d"] as const;
export type SeriesRange = (typeof seriesRanges)[number];

/** `GET /metrics/series?range=1h|24h|7d|30d&function=<name>&tenant=<name>`. */
export interface SeriesRequest {
  range: SeriesRange;
  /** One function's (a tenant's token: its own only). */
  function?: string;
  /** Admin only: one tenant's (a tenant's token always reads its own). */
  tenant?: string;
}

/** Sums over a span or one step of it. Latencies are estimated from histogram buckets, as Prometheus does. */
export interface SeriesTotals {
  invocations: number;
  /** Invocations answered 4xx and 5xx, and those the platform answered (a crash, a timeout, a limit). */
  clientErrors: number;
  serverErrors: number;
  platformErrors: number;
  /** 429s before running (not in `invocations`). */
  throttled: number;
  coldStarts: number;
  cpuMs: number;
  wallMs: number;
  /** Wall time quantiles, ms; null without invocations. */
  p50Ms: number | null;
  p99Ms: number | null;
}

/** Invocation history of a tenant's functions (or one function, or the node's): per step and in total. */
export interface MetricsSeries {
  range: SeriesRange;
  /** Width of each step, ms; steps start at multiples of it (UTC). */
  stepMs: number;
  sinceMs: number;
  untilMs: number;
  tenant: string | null;
  function: string | null;
  /** One entry per step, oldest first, zeros where nothing ran; `startMs` is each step's start (epoch ms). */
  points: { startMs: number[] } & { [K in keyof SeriesTotals]: SeriesTotals[K][] };
  total: SeriesTotals;
}
