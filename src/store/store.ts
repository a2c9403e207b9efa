/**
 * Persistence behind one small interface, so the embedded SQLite store and a clustered
 * one (NATS JetStream, later) are interchangeable. Methods are async because a clustered
 * store talks to the network; callers on the hot path keep their own caches.
 */
import type { FunctionRecord, LogLevel, LogLine, ScaleSettings, TenantRecord, TokenRecord, TrafficShare, UsageRow, VersionRecord } from "../model/index.ts";
import { FlickError } from "../errors/index.ts";
import { limits } from "../model/index.ts";

/** Which log lines: one function's, or a tenant's (or every tenant's), narrowed by the filter. */
export interface LogQuery extends LogFilter {
  /** One function's lines; absent: every function's of `tenant` (or of every tenant). */
  function?: string;
  tenant?: string;
  /** Lines at or after this time. */
  sinceMs?: number;
  /** Lines with an id greater than this (the follow cursor). */
  afterId?: number;
  limit: number;
}

/** `flick logs --level/--invocation/--grep`: lines of these levels, of one invocation, containing a text. */
export interface LogFilter {
  levels?: LogLevel[];
  invocationId?: string;
  /** Case-sensitive substring of the message. */
  text?: string;
  /** Lines of invocations whose request line's status is in [min, max]. */
  status?: { min: number; max: number };
}

export type NewLogLine = Omit<LogLine, "id">;

/** What changed in the registry: a function (its record, live version, split, scale; or its removal) or a tenant. */
export type RegistryChange = { kind: "function"; name: string } | { kind: "tenant"; name: string };

/**
 * What a function's code is stored as, by content hash: the bundle (an ES module), its
 * source map, its script form (build/script-form.ts) and that form's map, and WebAssembly
 * modules (hashed by their own bytes).
 */
export type CodeKind = "bundle" | "bundle-map" | "script" | "script-map" | "wasm";

/**
 * The file name of code as hosts read it: `<hash>.js`, its map beside it as `<hash>.js.map`,
 * the script form `<hash>.script.js` (and `.map`), `<hash>.wasm`. Hosts find a map and keep
 * a V8 code cache (`.v8cache`) beside the file they run, so the names go together.
 */
export function codeFileName(kind: CodeKind, hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new FlickError("bad_request", `not a content hash: "${hash.slice(0, 80)}"; code is stored under the SHA-256 of its bytes, 64 lowercase hex digits`);
  return hash + codeSuffixes[kind];
}

const codeSuffixes: Record<CodeKind, string> = { bundle: ".js", "bundle-map": ".js.map", script: ".script.js", "script-map": ".script.js.map", wasm: ".wasm" };

export interface UsageQuery {
  tenant?: string;
  sinceMs: number;
  untilMs: number;
}

/** A minute's or an hour's invocation counts of one function (the dashboard's charts). */
export interface RollupRow {
  tenant: string;
  function: string;
  /** Start of the minute or hour, epoch ms (UTC). */
  startMs: number;
  invocations: number;
  /** Invocations that answered 4xx and 5xx, and those the platform answered (an error code: a crash, a timeout, a limit). */
  clientErrors: number;
  serverErrors: number;
  platformErrors: number;
  /** Requests refused with 429 before they ran (function_limit, tenant_limit, no_capacity); not in `invocations`. */
  throttled: number;
  coldStarts: number;
  cpuMs: number;
  wallMs: number;
  /** Invocations per `durationBucketsMs` bucket by wall time, one more for above the last: enough for p50/p99. */
  durations: number[];
}

/** A usage row's amounts, without what they are of. */
export type UsageCounts = Omit<UsageRow, "tenant" | "function" | "hourMs">;

/** `into` plus `add`, field by field. */
export function addUsage(into: UsageCounts, add: UsageCounts): void {
  into.invocations += add.invocations;
  into.wallMs += add.wallMs;
  into.cpuMs += add.cpuMs;
  into.mibMs += add.mibMs;
  into.requestBytes += add.requestBytes;
  into.responseBytes += add.responseBytes;
  into.egressBytes += add.egressBytes;
}

/** A rollup row's counts, without what it is of. */
export type RollupCounts = Omit<RollupRow, "tenant" | "function" | "startMs">;

/** `into` plus `add`, field by field (histograms bucket by bucket). */
export function addRollup(into: RollupCounts, add: RollupCounts): void {
  into.invocations += add.invocations;
  into.clientErrors += add.clientErrors;
  into.serverErrors += add.serverErrors;
  into.platformErrors += add.platformErrors;
  into.throttled += add.throttled;
  into.coldStarts += add.coldStarts;
  into.cpuMs += add.cpuMs;
  into.wallMs += add.wallMs;
  for (let i = 0; i < add.durations.length; i++) into.durations[i] = (into.durations[i] ?? 0) + add.durations[i]!;
}

export type RollupResolution = "minute" | "hour";

export interface RollupQuery {
  resolution: RollupResolution;
  sinceMs: number;
  untilMs: number;
  tenant?: string;
  /** One function's rows (give its tenant too: a name may have had another owner before). */
  function?: string;
}

/** How long rollup rows are kept: minute rows a day (the 1 h and 24 h charts), hour rows 30 days. */
export const rollupRetention = {
  minuteMs: 24 * 3600 * 1000,
  hourMs: 30 * 24 * 3600 * 1000,
} as const;

/**
 * How long and how much log the store keeps (docs/limits.md). Per function: age and a line
 * count, applied every 1,000 appended lines (`prune`). Per tenant: lines and bytes, the
 * node's defaults below unless `flick up --tenant-log-lines/--tenant-log-mib` say
 * otherwise, enforced inside every `appendLogs` call: when the append takes the tenant past
 * either, its oldest lines go first, in work bounded by the size of that call (see
 * `SqliteStore.appendLogs`). A line counts as its message's UTF-8 bytes plus
 * `logLineOverheadBytes` (its id, time, names and index entries), so a tenant cannot fill
 * the disk with many empty lines either.
 */
export const logRetention = {
  maxAgeMs: 7 * 24 * 3600 * 1000,
  maxLinesPerFunction: 10_000,
  maxLinesPerTenant: 100_000,
  maxBytesPerTenant: 64 * 1024 * 1024,
  logLineOverheadBytes: 128,
} as const;

/** What one tenant may hold: node-wide values; `flick tenants set` overrides the provisioned ones per tenant. */
export interface TenantQuotas {
  /** Sum of min-instances over the tenant's functions. */
  maxProvisioned: number;
  /** Sum of min-instances × the live version's memory MiB over the tenant's functions. */
  maxProvisionedMemoryMiB: number;
  /** Log lines kept for the tenant, and their counted bytes (logRetention). */
  maxLogLines: number;
  maxLogBytes: number;
}

export const defaultTenantQuotas: TenantQuotas = {
  maxProvisioned: limits.tenantMaxProvisioned.default,
  maxProvisionedMemoryMiB: limits.tenantMaxProvisionedMemoryMiB.default,
  maxLogLines: logRetention.maxLinesPerTenant,
  maxLogBytes: logRetention.maxBytesPerTenant,
};

/** What a tenant reserves with provisioned instances now, and what it may (its override or the node's default). */
export interface ProvisionedUsage {
  instances: number;
  memoryMiB: number;
  maxInstances: number;
  maxMemoryMiB: number;
}

/** A change of a tenant's limits; a field left out stays as it is, null goes back to the node's default. */
export type TenantChange = Partial<Pick<TenantRecord, "concurrency" | "maxProvisioned" | "maxProvisionedMemoryMiB" | "maxQueueMessages" | "maxQueueMiB">>;

/**
 * Everything Flick keeps, in four parts a clustered deployment may keep in different places
 * (docs/cluster.md); the embedded SQLite store is all four in one file.
 *
 * Control-plane writes that cannot be done now for a reason outside Flick (disk full, I/O
 * error, the database locked by another process or read-only; no quorum) reject with
 * `store_unavailable` (503, `Retry-After`) and change nothing; `appendLogs` (the invocation
 * path's) rejects with the backend's own error. Checks that must not race a concurrent
 * write (who owns a name, tenant quotas) are part of the write itself.
 */
export interface Store extends Registry, CodeStore, LogStore, MeterStore {
  close(): Promise<void>;
}

/** Tenants, tokens, functions and their versions: who may do what, and what runs. */
export interface Registry {
  /** Creates the tenant and, in the same transaction, its first token; `tenant_exists` when taken. */
  createTenant(tenant: TenantRecord, token?: TokenRecord): Promise<void>;
  getTenant(name: string): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  /** Changes the tenant's limits; undefined when there is no such tenant. */
  updateTenant(name: string, change: TenantChange): Promise<TenantRecord | undefined>;
  /** The tenant's provisioned instances and memory, and its quotas. */
  provisioned(tenant: string): Promise<ProvisionedUsage>;

  addToken(token: TokenRecord): Promise<void>;
  tokenByHash(hash: string): Promise<TokenRecord | undefined>;

  /**
   * The fingerprint of the key that seals this platform's secrets (node/secrets.ts), so a
   * node started with another key finds out before it seals or opens anything. Given one,
   * it is kept unless one is kept already; returns the kept one (undefined: none yet).
   */
  sealingKey(fingerprint?: string): Promise<string | undefined>;

  /**
   * Stores the version (if new) and points the function at it, in one transaction, and
   * returns the function as stored (its scale included). `name_taken` when the name
   * belongs to another tenant by then; `quota_exceeded` when the version's memory would
   * take the tenant past its provisioned memory.
   */
  deploy(fn: FunctionRecord, version: VersionRecord): Promise<FunctionRecord>;
  /**
   * Points the function at one of its versions, with a traffic split among its versions or
   * none (all to that one), if it is still `tenant`'s and has them all; undefined otherwise.
   * `quota_exceeded` as for deploy.
   */
  setLiveVersion(name: string, tenant: string, versionId: string, nowMs: number, traffic?: TrafficShare[]): Promise<FunctionRecord | undefined>;
  /**
   * Applies a `flick scale` change to how the scheduler runs the function, if it is still
   * `tenant`'s, and returns it with its live version; undefined otherwise.
   * `quota_exceeded` when the change would take the tenant past a provisioned quota.
   */
  setScale(name: string, tenant: string, change: Partial<ScaleSettings>, nowMs: number): Promise<{ fn: FunctionRecord; version: VersionRecord } | undefined>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  listFunctions(tenant?: string): Promise<FunctionRecord[]>;
  getVersion(fn: string, id: string): Promise<VersionRecord | undefined>;
  listVersions(fn: string): Promise<VersionRecord[]>;
  /**
   * Removes the function and its versions if it is `tenant`'s (a whole `Store`: its logs
   * too); false when it is not there (or another's). Code stays (content-addressed, maybe
   * shared).
   */
  removeFunction(name: string, tenant: string): Promise<boolean>;

  /**
   * Tells `listener` of every committed change to tenants and functions, whoever made it
   * (in a cluster, any node), in commit order, after the commit. It says what changed, not
   * how: a listener reads the current state (and a function's `revision` orders what it
   * reads). Resolves once watching (every change committed after that is told) to a
   * function that stops it.
   */
  watch(listener: (change: RegistryChange) => void): Promise<() => void>;

}

/** Function code by content hash. */
export interface CodeStore {
  /**
   * Stores code by content hash (64 lowercase hex digits: the bundle's SHA-256, or the
   * WebAssembly module's), durably, once: a second put of the same kind and hash changes
   * nothing. `bad_request` for a hash that is not one. The store hands out bytes; where a
   * node's hosts read them from is the node's business (node/code-files.ts).
   */
  putCode(kind: CodeKind, hash: string, bytes: Uint8Array): Promise<void>;
  /** The stored bytes, or undefined when there are none. */
  getCode(kind: CodeKind, hash: string): Promise<Uint8Array | undefined>;
  /**
   * Optional, for a store whose code already is files on this machine (the embedded one):
   * where the file of `kind` and `hash` is (or would be), laid out as `codeFileName` says,
   * so the node need not copy it. A clustered store has no such path.
   */
  localCodePath?(kind: CodeKind, hash: string): string;

}

/** Function log lines, with per-tenant quotas. */
export interface LogStore {
  /** Stores lines and applies the per-tenant log quotas (logRetention) in the same transaction. */
  appendLogs(lines: NewLogLine[]): Promise<LogLine[]>;
  readLogs(query: LogQuery): Promise<LogLine[]>;
  /** Drops every line of a removed function (a whole `Store` does it in `removeFunction`). */
  removeLogs(fn: string): Promise<void>;
  /**
   * New lines of a scope as they are stored by any node, until the returned stop is called:
   * a store shared by several nodes has it (the JetStream log stream); a node's own store
   * does not, and the node tells its followers of what it stores itself.
   */
  followLogs?(scope: { function?: string; tenant?: string }, onLines: (lines: LogLine[]) => void): () => void;

}

/** Metered usage and the dashboard's per-minute and per-hour rollups. */
export interface MeterStore {
  /** Adds metered usage to its (tenant, function, hour) rows, in one transaction. */
  addUsage(rows: readonly UsageRow[]): Promise<void>;
  /** Usage rows of hours in [sinceMs, untilMs), of one tenant or all. */
  readUsage(query: UsageQuery): Promise<UsageRow[]>;

  /**
   * Adds per-minute counts to their (tenant, function, minute) rows and to the rows of
   * their hours, in one transaction (the dashboard's history; rollupRetention).
   */
  addRollups(rows: readonly RollupRow[]): Promise<void>;
  /** Rows of one resolution whose start is in [sinceMs, untilMs), of one tenant (and function) or all, oldest first. */
  readRollups(query: RollupQuery): Promise<RollupRow[]>;
  /** Deletes minute rows and hour rows older than rollupRetention keeps, as of `nowMs`. */
  pruneRollups(nowMs: number): Promise<void>;

}

export type { LogLevel };
