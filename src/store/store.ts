/**
 * Persistence behind one small interface, so the embedded SQLite store and a clustered
 * one (NATS JetStream, later) are interchangeable. Methods are async because a clustered
 * store talks to the network; callers on the hot path keep their own caches.
 */
import type { FunctionRecord, LogLevel, LogLine, ScaleSettings, TenantRecord, TokenRecord, VersionRecord } from "../model/index.ts";

export interface LogQuery {
  function: string;
  /** Lines at or after this time. */
  sinceMs?: number;
  /** Lines with an id greater than this (the follow cursor). */
  afterId?: number;
  limit: number;
}

export type NewLogLine = Omit<LogLine, "id">;

/** How long and how much log the store keeps (docs/limits.md). */
export const logRetention = {
  maxAgeMs: 7 * 24 * 3600 * 1000,
  maxLinesPerFunction: 10_000,
} as const;

export interface Store {
  createTenant(tenant: TenantRecord): Promise<void>;
  getTenant(name: string): Promise<TenantRecord | undefined>;
  listTenants(): Promise<TenantRecord[]>;
  /** The tenant's limit of requests in flight; null: the node's default. */
  setTenantConcurrency(name: string, concurrency: number | null): Promise<void>;

  addToken(token: TokenRecord): Promise<void>;
  tokenByHash(hash: string): Promise<TokenRecord | undefined>;

  /** Stores a bundle under its content hash (durably) and returns where a host reads it. */
  putBundle(hash: string, code: string): Promise<string>;
  bundlePath(hash: string): string;
  /** Writes the script form of bundle `hash` (build/script-form.ts), once; returns its path. */
  putScript(hash: string, code: string): Promise<string>;
  /** Where the script form of bundle `hash` is, whether or not it exists. */
  scriptPath(hash: string): string;
  /** Stores a WebAssembly module under its content hash and returns its path. */
  putWasm(hash: string, bytes: Uint8Array): Promise<string>;
  wasmPath(hash: string): string;

  /** Stores the version (if new) and points the function at it, in one transaction. */
  deploy(fn: FunctionRecord, version: VersionRecord): Promise<void>;
  setLiveVersion(name: string, versionId: string, nowMs: number): Promise<void>;
  /** Stores how the scheduler runs the function (`flick scale`). */
  setScale(name: string, scale: ScaleSettings, nowMs: number): Promise<void>;
  getFunction(name: string): Promise<FunctionRecord | undefined>;
  listFunctions(tenant?: string): Promise<FunctionRecord[]>;
  getVersion(fn: string, id: string): Promise<VersionRecord | undefined>;
  listVersions(fn: string): Promise<VersionRecord[]>;
  /** Removes the function, its versions and its logs. Bundles stay (content-addressed, maybe shared). */
  removeFunction(name: string): Promise<void>;

  appendLogs(lines: NewLogLine[]): Promise<LogLine[]>;
  readLogs(query: LogQuery): Promise<LogLine[]>;

  close(): Promise<void>;
}

export type { LogLevel };
