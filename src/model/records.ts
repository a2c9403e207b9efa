/**
 * The shapes Flick persists and passes between components. Types only: no behaviour,
 * no I/O, so every folder may import them.
 */

/** A tenant owns functions; tokens act for one tenant (or for the admin). */
export interface TenantRecord {
  name: string;
  createdAtMs: number;
  /** Requests in flight the tenant may have; null: the node's default. */
  concurrency?: number | null;
  /** Provisioned instances (sum of min-instances over its functions) it may reserve; null: the node's default. */
  maxProvisioned?: number | null;
  /** Provisioned memory (sum of min-instances × memory MiB over its functions) it may reserve, MiB; null: the node's default. */
  maxProvisionedMemoryMiB?: number | null;
  /** Async messages queued or running it may have; null: the node's default. */
  maxQueueMessages?: number | null;
  /** Their payload, MiB; null: the node's default. */
  maxQueueMiB?: number | null;
}

/** An API token. Only a SHA-256 of the secret is kept; the secret is shown once. */
export interface TokenRecord {
  /** Public handle of the token (`tok_…`), safe to print. */
  id: string;
  /** Hex SHA-256 of the whole token string. */
  hash: string;
  /** The tenant it acts for; `null` for the node's admin token. */
  tenant: string | null;
  createdAtMs: number;
}

/** What a deploy sets for a function; part of a version, so a settings change is a new version. */
export interface FunctionSettings {
  /** Isolate heap limit in MiB (V8 counts heap and array buffers). */
  memoryMiB: number;
  /** Wall-clock limit for one invocation, including `waitUntil` work, in ms. */
  timeoutMs: number;
  /** CPU time one invocation may use, ms; absent: bounded by the timeout only. */
  cpuLimitMs?: number;
  /** Plain variables, visible in `flick info`. */
  env: Record<string, string>;
  /** Names of secrets; their values are sealed in `VersionRecord.sealedSecrets`. */
  secretNames: string[];
  /** When true, `/fn/<name>` needs a token of the function's tenant. */
  private: boolean;
  /** Retries of an async invocation after a function error or timeout; absent: 2. */
  retries?: number;
  /** How long an async event may wait for throttles and faults to pass, ms; absent: 6 h. */
  maxEventAgeMs?: number;
  /** Cron triggers (`flick deploy --cron`), run as `scheduled` invocations; absent: none. */
  crons?: string[];
  /** IANA time zone of the cron fields; absent: UTC. */
  cronTimeZone?: string;
  /** Runs missed while the node was down: `once` (default) fires the latest once at start, `skip` fires none. */
  cronMissed?: "once" | "skip";
  /** Bindings in env (service, queue, KV …), each to something of the same tenant; absent: none. */
  bindings?: Binding[];
  /** Handlers the module exports ("fetch", "scheduled", "queue"), found at deploy; absent (older versions): fetch. */
  handlers?: string[];
}

/**
 * `env.<name>` reaches `target` of the same tenant through a binding kind (src/bindings/):
 * a function (`service`, `queue`), a KV namespace (`kv`) …
 */
export interface Binding {
  name: string;
  kind: string;
  target: string;
}

/** An immutable, content-addressed deployment of a function. */
export interface VersionRecord {
  function: string;
  /** First 16 hex chars of SHA-256 over the bundle and the settings (secrets included, sealed). */
  id: string;
  /** SHA-256 of the bundle text; the bundle is stored once per hash. */
  bundleHash: string;
  bundleBytes: number;
  settings: FunctionSettings;
  /** Secret values encrypted with the node's key (AES-256-GCM), base64; `null` when none. */
  sealedSecrets: string | null;
  /** SHA-256 of the WebAssembly modules shipped with the bundle (stored beside it). */
  wasm: string[];
  createdAtMs: number;
  /**
   * Where each setting this version has came from (key as in `SettingKey`): the deploy
   * that set it last and how. A key not here is at its default. Outside `settings`, so it
   * is not part of the version's id: the same settings given another way are the same version.
   */
  sources?: Record<string, SettingSource>;
}

/**
 * A setting's key: a scalar (`memoryMiB`, `timeoutMs`, `cpuLimitMs`, `private`, `retries`,
 * `maxEventAgeMs`, `crons`, `timeZone`, `cronMissed`) or one entry of a map
 * (`env.NAME`, `secrets.NAME`, `serviceBindings.NAME`, `queueBindings.NAME`).
 */
export type SettingKey = string;

/** Who set a setting: how (`flick.toml`, `--memory`, `flick secret put`, `api`) and in which version. */
export interface SettingSource {
  from: string;
  version: string;
}

/** A named function of one tenant and the version that serves its traffic. */
export interface FunctionRecord {
  name: string;
  tenant: string;
  liveVersion: string;
  createdAtMs: number;
  updatedAtMs: number;
  /** How the scheduler runs it (`flick scale`); absent: the node's defaults. */
  scale?: ScaleSettings;
  /**
   * A traffic split (`flick deploy --canary`, `flick traffic`): versions and their whole
   * percentages, summing to 100, `liveVersion` among them; absent: all to `liveVersion`.
   */
  traffic?: TrafficShare[];
  /**
   * The store's registry revision at this record's last change: a later change has a larger
   * one, whatever its function (the embedded store's counter; JetStream KV's revision). A
   * node holding a record never replaces it with one of a smaller revision.
   */
  revision?: number;
}

/** One version's share of a function's requests in a split. */
export interface TrafficShare {
  version: string;
  percent: number;
}

/** Per-function scheduling: provisioned and capped instances, placement and keep-alive overrides. */
export interface ScaleSettings {
  /** Instances kept warm always (provisioned concurrency). */
  minInstances: number;
  /** A cap on instances; 0 stops all execution (the kill switch); null: no cap. */
  maxInstances: number | null;
  /** Only hosts with these labels (`zone=a`). */
  pin: Record<string, string>;
  /** No host with these labels. */
  avoid: Record<string, string>;
  /** Overrides the node's keep-alive policy; null: the node's. */
  keepAlive: { policy: "fixed"; ttlMs: number } | { policy: "hybrid" } | null;
}

export const defaultScale: ScaleSettings = { minInstances: 0, maxInstances: null, pin: {}, avoid: {}, keepAlive: null };

export type LogLevel = "debug" | "info" | "log" | "warn" | "error";

/** One line a function printed (or the platform printed about one of its invocations). */
export interface LogLine {
  /** Monotonic id assigned by the store; the cursor for `logs -f`. */
  id: number;
  timeMs: number;
  function: string;
  tenant: string;
  invocationId: string;
  level: LogLevel;
  message: string;
  /** On an invocation's request line (written once it ended): what it was and how it went. */
  request?: RequestFields;
}

/** An invocation's request line, as data (`flick logs --status`, the JSON of `flick logs --json`). */
export interface RequestFields {
  /** HTTP method, or `scheduled` / `queue` for a cron run or a queue batch. */
  method: string;
  /** The path the function saw (without the query, which may carry secrets). */
  path: string;
  status: number;
  /** The platform's error code, when the platform answered. */
  code?: string;
  ms: number;
  cold: boolean;
  cpuMs: number;
}

/** Where an async invocation is: waiting (or waiting again), running under a lease, or over. */
export type InvocationStatus = "queued" | "running" | "completed" | "dead";

/** Why an event went to the dead-letter list. */
export type DeadReason = "retries_exhausted" | "expired";

/** What an async invocation delivers: a POST to the fetch handler, a cron run, or a message for the queue handler (batched). */
export type InvocationKind = "fetch" | "scheduled" | "queue";

/** One async invocation, from acknowledgement to its end (completed or dead-lettered). */
export interface InvocationRecord {
  /** `inv_…`, returned with the 202; the function sees it as `x-flick-invocation-id`. */
  id: string;
  function: string;
  tenant: string;
  kind: InvocationKind;
  status: InvocationStatus;
  /** The request body the function gets (fetch), or the cron details as JSON (scheduled). */
  payload: Uint8Array;
  contentType: string | null;
  /**
   * Queue hops behind it: 0 for an event from the API or cron, one more than the sender's
   * for a message an async invocation sent (at most `limits.asyncHops`).
   */
  hops: number;
  /** Executions started, the one running included: the function sees it as `x-flick-attempt`. */
  attempts: number;
  /** Attempts that ended in a function error or timeout (what `retries` bounds). */
  failures: number;
  createdAtMs: number;
  updatedAtMs: number;
  /** When it may run (again). */
  nextAtMs: number;
  /** While running: the lease; past it, the node that held it is presumed gone. */
  leaseUntilMs: number | null;
  idempotencyKey: string | null;
  /** The function's answer when completed: status, and up to 64 KiB of the body as text. */
  result: { status: number; body: string; truncated: boolean } | null;
  lastError: { code: string; message: string } | null;
  deadReason: DeadReason | null;
  /**
   * The W3C `traceparent` its attempts continue, as children of the span that queued it
   * (the API request's, a queue send's), and its `tracestate`; null: each attempt decides.
   */
  trace: string | null;
  traceState: string | null;
}

/** Usage of one function in one hour (`flick usage`): sums over its invocations. */
export interface UsageRow {
  tenant: string;
  function: string;
  /** Start of the hour, epoch ms (UTC). */
  hourMs: number;
  invocations: number;
  /** Wall time, from arrival to the end of the answer. */
  wallMs: number;
  /** CPU time of the isolate's thread (shared among an instance's concurrent invocations). */
  cpuMs: number;
  /** The function's memory limit × wall time, MiB·ms (as billed: GB-s = MiB·ms / 1024 / 1000). */
  mibMs: number;
  requestBytes: number;
  responseBytes: number;
  /** Bytes its outbound fetches sent and received (bodies). */
  egressBytes: number;
}

/** A node of the platform, as it says of itself in its heartbeats (cluster/membership.ts) and in `GET /nodes`. */
export interface NodeInfo {
  /** `flick up --node-name`. */
  name: string;
  /** Where it serves. */
  url: string;
  /** `flick up --labels zone=a`: fault domains. */
  labels: Record<string, string>;
  capacity: { hosts: number; memoryMiB: number; slots: number };
  /** Instances it runs now, and how many of them are serving a request. */
  load: { instances: number; busy: number };
  startedAtMs: number;
}
