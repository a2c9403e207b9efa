/**
 * The store of a node in a cluster (`flick up --cluster`): the registry, code, usage and
 * rollups in JetStream (replicated, shared by every node), and function logs still in the
 * node's own SQLite file until they have a JetStream side (docs/cluster.md says so).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import type { FunctionRecord, LogLine, ScaleSettings, TenantRecord, TokenRecord, TrafficShare, UsageRow, VersionRecord } from "../model/index.ts";
import type {
  CodeKind, CodeStore, LogQuery, LogStore, MeterStore, NewLogLine, ProvisionedUsage, Registry, RegistryChange, RollupQuery, RollupRow, Store, TenantChange, UsageQuery,
} from "../store/index.ts";

type Part<T> = T & { close(): Promise<void> };

export class ClusterStore implements Store {
  private readonly registry: Part<Registry>;
  private readonly code: Part<CodeStore>;
  private readonly logs: Part<LogStore>;
  private readonly meter: Part<MeterStore>;
  /** Runs last at close: the NATS connection, which the parts share. */
  private readonly onClose: () => Promise<void>;
  /** The connection the parts share; membership heartbeats over it too. */
  readonly nats: NatsConnection;

  constructor(parts: { registry: Part<Registry>; code: Part<CodeStore>; logs: Part<LogStore>; meter: Part<MeterStore> }, nats: NatsConnection, onClose: () => Promise<void>) {
    this.nats = nats;
    this.registry = parts.registry;
    this.code = parts.code;
    this.logs = parts.logs;
    this.meter = parts.meter;
    this.onClose = onClose;
  }

  createTenant(tenant: TenantRecord, token?: TokenRecord): Promise<void> { return this.registry.createTenant(tenant, token); }
  getTenant(name: string): Promise<TenantRecord | undefined> { return this.registry.getTenant(name); }
  listTenants(): Promise<TenantRecord[]> { return this.registry.listTenants(); }
  updateTenant(name: string, change: TenantChange): Promise<TenantRecord | undefined> { return this.registry.updateTenant(name, change); }
  provisioned(tenant: string): Promise<ProvisionedUsage> { return this.registry.provisioned(tenant); }
  addToken(token: TokenRecord): Promise<void> { return this.registry.addToken(token); }
  tokenByHash(hash: string): Promise<TokenRecord | undefined> { return this.registry.tokenByHash(hash); }
  sealingKey(fingerprint?: string): Promise<string | undefined> { return this.registry.sealingKey(fingerprint); }
  deploy(fn: FunctionRecord, version: VersionRecord): Promise<FunctionRecord> { return this.registry.deploy(fn, version); }
  setLiveVersion(name: string, tenant: string, versionId: string, nowMs: number, traffic?: TrafficShare[]): Promise<FunctionRecord | undefined> {
    return this.registry.setLiveVersion(name, tenant, versionId, nowMs, traffic);
  }
  setScale(name: string, tenant: string, change: Partial<ScaleSettings>, nowMs: number): Promise<{ fn: FunctionRecord; version: VersionRecord } | undefined> {
    return this.registry.setScale(name, tenant, change, nowMs);
  }
  getFunction(name: string): Promise<FunctionRecord | undefined> { return this.registry.getFunction(name); }
  listFunctions(tenant?: string): Promise<FunctionRecord[]> { return this.registry.listFunctions(tenant); }
  getVersion(fn: string, id: string): Promise<VersionRecord | undefined> { return this.registry.getVersion(fn, id); }
  listVersions(fn: string): Promise<VersionRecord[]> { return this.registry.listVersions(fn); }
  watch(listener: (change: RegistryChange) => void): Promise<() => void> { return this.registry.watch(listener); }

  async removeFunction(name: string, tenant: string): Promise<boolean> {
    if (!(await this.registry.removeFunction(name, tenant))) return false;
    await this.logs.removeLogs(name);
    return true;
  }

  putCode(kind: CodeKind, hash: string, bytes: Uint8Array): Promise<void> { return this.code.putCode(kind, hash, bytes); }
  getCode(kind: CodeKind, hash: string): Promise<Uint8Array | undefined> { return this.code.getCode(kind, hash); }

  appendLogs(lines: NewLogLine[]) { return this.logs.appendLogs(lines); }
  readLogs(query: LogQuery) { return this.logs.readLogs(query); }
  removeLogs(fn: string): Promise<void> { return this.logs.removeLogs(fn); }
  followLogs(scope: { function?: string; tenant?: string }, onLines: (lines: LogLine[]) => void): () => void {
    if (this.logs.followLogs === undefined) throw new Error("this cluster's log store cannot follow");
    return this.logs.followLogs(scope, onLines);
  }

  addUsage(rows: readonly UsageRow[]): Promise<void> { return this.meter.addUsage(rows); }
  readUsage(query: UsageQuery): Promise<UsageRow[]> { return this.meter.readUsage(query); }
  addRollups(rows: readonly RollupRow[]): Promise<void> { return this.meter.addRollups(rows); }
  readRollups(query: RollupQuery): Promise<RollupRow[]> { return this.meter.readRollups(query); }
  pruneRollups(nowMs: number): Promise<void> { return this.meter.pruneRollups(nowMs); }

  async close(): Promise<void> {
    await Promise.all([this.registry.close(), this.code.close(), this.logs.close(), this.meter.close()]);
    await this.onClose();
  }
}
