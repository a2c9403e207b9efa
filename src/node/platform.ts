/**
 * The node's services behind the admin API and the gateway: who may do what, deploys,
 * versions, logs and invocations. It composes the store, the scheduler (control/) and
 * the worker host supervisor; it keeps the live registry in memory so function traffic
 * never waits on storage.
 */
import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import type {
  ApiBackend, CreateTenantResponse, DeployRequest, DeployResponse, FunctionInfo, FunctionStats, InvocationInfo, InvokeRequest, InvokeResponse,
  LogScope, LogsQuery, MetricsSeries, Principal, ScaleRequest, SeriesRequest, BindingMapsView, SettingsView, TenantInfo, TenantStorage, TenantUpdateRequest, TraceInfo, UsageAnswer, UsageRequest, VersionInfo,
} from "../api/index.ts";
import { bundleHash, scriptFormMinBytes, scriptFormWithMap, SourceMap, versionId } from "../build/index.ts";
import { Scheduler, schedulerDefaults, type FunctionPolicy, type InstanceRef, type KeepAliveSpec } from "../control/index.ts";
import { errorCodes, FlickError } from "../errors/index.ts";
import { bindingSettings as bindingKinds, type BindingPlatform, type NodeServices, type ServedResponse } from "../bindings/index.ts";
import { DoPlatform, KvPlatform, platformBindings, SqlPlatform, type BindingOptions, type KvBulkEntry, type KvNamespaceInfo, type SqlDatabaseInfo, type SqlQueryResult } from "../bindings/platform.ts";
import { checkBundleSize } from "./bundle-size.ts";
import { patiently } from "./patiently.ts";
import type { ErrorData } from "../errors/index.ts";
import { targetOf, type GatewayBackend, type ResponseWriter, type RouteTarget } from "../gateway/index.ts";
import { durationCounts, fetchLimits, outcomeOf, type AcquireResult, type Call, type CallResult, type ClientGone, type FunctionUsage, type InstanceSpec, type InstanceUsage, type RouteInfo, type ShippedLogLine, type WireLogLine, type WireRequest } from "../host/index.ts";
import { defaultScale, limits, type Binding, type NodeInfo, type FunctionRecord, type FunctionSettings, type InvocationStatus, type LogLine, type TenantRecord, type TrafficShare, type UsageRow, type VersionRecord } from "../model/index.ts";
import { parseCron, type AsyncQueue, type CronRunner, type CronTrigger, type RetrySettings } from "../queue/index.ts";
import type { CodeKind, NewLogLine, RegistryChange, Store } from "../store/index.ts";
import { apiQueueTrace, epochMs, type NodeMetrics, type SpanData, type TraceSink } from "../telemetry/index.ts";
import { invocationInfo, listedInvocationInfo, payloadOf } from "./async-invocations.ts";
import { collectResponse } from "./collect-response.ts";
import { bindingSettings, cronSettings, desiredOf, mergeSettings, sourcesOf } from "./deploy-settings.ts";
import type { AdmissionBudgets } from "./admission-budgets.ts";
import type { CodeFiles, VersionFiles } from "./code-files.ts";
import type { SecretBox } from "./secrets.ts";
import type { Supervisor } from "./supervisor.ts";
import { hashToken, mintToken } from "./tokens.ts";
import { summarizeUsage } from "./usage-summary.ts";
import { sameForwarding, type ClusterView } from "./cluster-view.ts";
import type { NodeCalls } from "./node-calls.ts";
import { spanInfo, visibleSpans } from "./trace-view.ts";
import { readSeries } from "./metrics-series.ts";
import type { RollupRecorder } from "./rollup-recorder.ts";

/** What the hot path needs about a live function, opened once per deploy. */
interface LiveFunction {
  target: RouteTarget;
  record: FunctionRecord;
  version: VersionRecord;
  /** `<tenant>/<name>`: the scheduler's function id. */
  fn: string;
  /** `<tenant>/<name>@<version>`: the version's instances. */
  key: string;
  bundlePath: string;
  /** The version's script form (build/script-form.ts), when it has one: what hosts run. */
  scriptPath: string | undefined;
  env: string[];
  wasm: Record<string, string>;
  /** What hosts get to route and admit it (no env, no secrets). */
  route: RouteInfo;
  /** A durable object's own instance (bindings/do/): the object it holds. */
  object?: { className: string; id: string; name: string };
}

export const defaultTenant = "default";

/** `flick info` latencies: the last 1,024 requests per function within the last 5 minutes. */
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

/** An instance's bindings: the version's, and for a durable object's instance, its storage (bindings/do/). */
function bindingsOf(live: LiveFunction): Binding[] {
  const own = live.version.settings.bindings ?? [];
  if (live.object === undefined) return own;
  return [...own, { name: "$storage", kind: "do", target: `${live.object.className}\n${live.object.id}\n${live.object.name}` }];
}

/** Whether `a` is a later state of a function than `b` (a store without revisions: always). */
const newer = (a: FunctionRecord, b: FunctionRecord): boolean => a.revision === undefined || b.revision === undefined || a.revision > b.revision;

/**
 * Slots a durable object's instance has on its host: its requests come one at a time, but
 * the one before may still hold its slot a moment after its answer (or run on in
 * waitUntil). Far more than that ever needs; the object's turn is what bounds it.
 */
const objectInstanceSlots = 1_000;
const statsSamples = 1024;
const statsWindowMs = 5 * 60 * 1000;

interface Stats {
  invocations: number;
  coldStarts: number;
  /** Cold starts that compiled the script form from its V8 code cache, and from source. */
  codeCacheHits: number;
  codeCacheMisses: number;
  throttled: number;
  latencies: Float64Array;
  times: Float64Array;
  next: number;
}

export interface PlatformOptions {
  /** How long a request over a limit waits for a slot before its 429 (default 0). */
  queueWaitMs: number;
  /** The node's fixed keep-alive TTL, also the hybrid policy's fallback. */
  idleTtlMs: number;
  /** A tenant's requests in flight unless `flick tenants set` says otherwise. */
  tenantConcurrency: number;
  /** Requests one instance serves at once (`flick up --concurrency`). */
  concurrency: number;
}

export class Platform implements ApiBackend, GatewayBackend {
  publicUrl = "";
  /** The node's Prometheus metrics (`/metrics`); set by the node once made. */
  metrics: NodeMetrics | undefined;
  /** Sampled spans (`flick trace`, OTLP export) and the share of new traces sampled; set by the node once made. */
  traces: TraceSink | undefined;
  traceSample = 0;
  /** The dashboard's history (per-minute and per-hour counts in the store); set by the node once made. */
  rollups: RollupRecorder | undefined;
  private readonly options: PlatformOptions;
  /** Requests waiting for a slot (queue wait), woken when any slot frees. */
  private slotWaiters: (() => void)[] = [];
  private readonly live = new Map<string, LiveFunction>();
  /** Other versions that serve requests (a split's, previews'), by key; opened on first use. */
  private readonly serving = new Map<string, LiveFunction>();
  private readonly stats = new Map<string, Stats>();
  private readonly logEvents = new EventEmitter();
  private readonly store: Store;
  private readonly supervisor: Supervisor;
  private readonly scheduler: Scheduler;
  private readonly budgets: AdmissionBudgets;
  private readonly secrets: SecretBox;
  private readonly code: CodeFiles;
  /** The last route push to the hosts: changes are answered once every host has them. */
  private routesPushed: Promise<void> = Promise.resolve();
  /** Async invocations (queue/); attached by the node once both exist. */
  private queue: AsyncQueue | undefined;
  private cron: CronRunner | undefined;

  constructor(
    store: Store,
    supervisor: Supervisor,
    scheduler: Scheduler,
    budgets: AdmissionBudgets,
    secrets: SecretBox,
    code: CodeFiles,
    options: PlatformOptions = { queueWaitMs: 0, idleTtlMs: 10 * 60 * 1000, tenantConcurrency: 1000, concurrency: schedulerDefaults.concurrency },
  ) {
    this.options = options;
    this.store = store;
    this.supervisor = supervisor;
    this.scheduler = scheduler;
    this.budgets = budgets;
    this.secrets = secrets;
    this.code = code;
    this.logEvents.setMaxListeners(0);
  }

  /** Stored code a stored version names (a settings-only deploy runs the live version's code again). */
  private async storedCode(kind: CodeKind, hash: string): Promise<Uint8Array> {
    const bytes = await this.store.getCode(kind, hash);
    if (bytes === undefined) throw new FlickError("internal", `the store has lost the ${kind} ${hash} a stored version names; deploy the code again`);
    return bytes;
  }

  /**
   * Loads every live function into memory (at start), and from then on follows the
   * registry: a change committed anywhere (in a cluster, on any node) reaches what this node
   * serves. Watching starts first, so nothing committed while loading is missed.
   */
  async load(): Promise<void> {
    await patiently(() => this.store.watch((change) => this.apply(change)));
    await patiently(() => this.loadAll());
  }

  /** The registry as it is now (again: each step may be repeated). */
  private async loadAll(): Promise<void> {
    if ((await this.store.getTenant(defaultTenant)) === undefined) {
      // In a cluster, another node starting at the same moment may create it first.
      await this.store.createTenant({ name: defaultTenant, createdAtMs: Date.now() }).catch((err: unknown) => {
        if (!(err instanceof FlickError && err.code === "tenant_exists")) throw err;
      });
    }
    for (const tenant of await this.store.listTenants()) {
      if (tenant.concurrency !== null && tenant.concurrency !== undefined) this.budgets.setLimit(tenant.name, tenant.concurrency);
      this.rememberQueueQuota(tenant);
    }
    for (const fn of await this.store.listFunctions()) {
      const version = await this.store.getVersion(fn.name, fn.liveVersion);
      if (version !== undefined) void this.setLive(fn, version, await this.code.of(version));
    }
  }

  /** What serving `version` of `record` takes: its files, its env with the secrets opened, its target. */
  private entryOf(record: FunctionRecord, version: VersionRecord, files: VersionFiles): LiveFunction {
    const env: string[] = [];
    for (const [k, v] of Object.entries(version.settings.env)) env.push(k, v);
    if (version.sealedSecrets !== null) for (const [k, v] of Object.entries(this.secrets.open(version.sealedSecrets))) env.push(k, v);
    const fn = `${record.tenant}/${record.name}`;
    const key = `${fn}@${version.id}`;
    const split = record.traffic?.map((t) => ({ version: t.version, key: `${fn}@${t.version}`, percent: t.percent }));
    const forward = this.cluster?.forwardingOf(record);
    const route: RouteInfo = {
      name: record.name, tenant: record.tenant, fn, key, version: version.id, private: version.settings.private, concurrency: this.options.concurrency,
      ...(split === undefined ? {} : { split }),
      ...(forward === undefined ? {} : { forward }),
    };
    return {
      target: targetOf(route),
      record,
      version,
      fn,
      key,
      bundlePath: files.bundlePath,
      scriptPath: files.scriptPath,
      env,
      wasm: files.wasm,
      route,
    };
  }

  /**
   * Makes `version` the one `record` runs, with the record's traffic split if it has one:
   * the scheduler's policy, the hosts' routes (the returned promise settles once every host
   * has them: answer the API after it).
   */
  private setLive(record: FunctionRecord, version: VersionRecord, files: VersionFiles): Promise<void> {
    // What this node has already, or newer (the registry's watch and the API both get here).
    const current = this.live.get(record.name);
    if (current !== undefined && current.record.tenant === record.tenant && !newer(record, current.record)) return this.routesPushed;
    const policy = this.policyOf(record, version);
    this.drop(this.scheduler.configure(policy), policy.maxInstances === 0);
    const entry = this.entryOf(record, version, files);
    this.live.set(record.name, entry);
    // Versions are immutable, but the function record each entry carries is not.
    for (const key of [...this.serving.keys()]) if (key.startsWith(`${entry.fn}@`)) this.serving.delete(key);
    for (const key of [...this.objects.keys()]) if (key.startsWith(`${entry.fn}@`)) this.objects.delete(key);
    this.cron?.setTriggers(this.cronTriggers());
    return this.pushRoutes([entry.route], []);
  }

  /**
   * Applies a watched registry change. One that fails (the store did not answer in time,
   * the code could not be fetched) is tried again, 1 s later and then less and less often
   * up to every 30 s, until it succeeds: a node must not stay on an old version because a
   * change reached it while the store was busy. Each try reads the state as it is then.
   */
  private apply(change: RegistryChange, failures = 0): void {
    const key = `${change.kind}:${change.name}`;
    const sync = change.kind === "function" ? this.serially(change.name, () => this.syncFunction(change.name)) : this.syncTenant(change.name);
    sync.catch((err: unknown) => {
      // One retry waiting per name, however many changes failed meanwhile: each reads the latest state.
      if (this.retrying.has(key)) return;
      process.emitWarning(`flick: applying a registry change to ${change.kind} "${change.name}" (try ${failures + 1}): ${String(err)}; trying again`);
      this.retrying.add(key);
      setTimeout(() => {
        this.retrying.delete(key);
        this.apply(change, failures + 1);
      }, Math.min(30_000, 1000 * 2 ** failures)).unref();
    });
  }

  /** Registry changes whose retry is waiting (`apply`), by kind and name. */
  private readonly retrying = new Set<string>();

  /**
   * Brings what this node serves as `name` to what the store holds now: the function's
   * current record and live version, or nothing once it is removed (or another tenant's
   * by then). Runs one at a time per name (`serially`), after the API's own changes.
   */
  private async syncFunction(name: string): Promise<void> {
    const record = await this.store.getFunction(name);
    const live = this.live.get(name);
    if (live !== undefined && (record === undefined || record.tenant !== live.record.tenant)) await this.unload(live.record.tenant, name);
    if (record === undefined) return;
    const version = await this.store.getVersion(name, record.liveVersion);
    if (version === undefined) return;
    await this.setLive(record, version, await this.code.of(version));
  }

  /** A tenant's limits as the store holds them now. */
  private async syncTenant(name: string): Promise<void> {
    const record = await this.store.getTenant(name);
    if (record === undefined) return;
    this.budgets.setLimit(name, record.concurrency ?? this.options.tenantConcurrency);
    this.rememberQueueQuota(record);
  }

  /** Stops serving a removed function on this node: its routes, instances, cron triggers and numbers, and what its bindings kept for it alone (its durable objects). */
  private async unload(tenant: string, name: string): Promise<void> {
    this.live.delete(name);
    for (const key of [...this.serving.keys()]) if (key.startsWith(`${tenant}/${name}@`)) this.serving.delete(key);
    this.cron?.setTriggers(this.cronTriggers());
    this.drop(this.scheduler.remove(`${tenant}/${name}`), true);
    await this.pushRoutes([], [name]);
    this.stats.delete(`${tenant}/${name}`);
    await this.metrics?.removeFunction(tenant, name);
    for (const [kind, side] of this.bindingSides) {
      // The removal stands; what a kind could not drop stays on disk, and is said.
      await side.functionRemoved?.(tenant, name).catch((err: unknown) => process.emitWarning(`flick: ${kind} kept what removed function ${tenant}/${name} stored: ${String(err)}`));
    }
  }

  /**
   * What serving another version of a live function takes (one of its split, or a preview),
   * opened on first use and kept for the next requests; undefined when the function has no
   * such version.
   */
  private async servingOf(live: LiveFunction, version: string): Promise<LiveFunction | undefined> {
    if (version === live.version.id) return live;
    const key = `${live.fn}@${version}`;
    const known = this.serving.get(key);
    if (known !== undefined) return known;
    const record = await this.store.getVersion(live.record.name, version);
    const files = record === undefined ? undefined : await this.code.of(record);
    if (record === undefined || files === undefined || this.live.get(live.record.name) !== live) return undefined;
    const entry = this.entryOf(live.record, record, files);
    // A few hundred versions at most: previews of old ones come and go.
    if (this.serving.size >= 256) this.serving.delete(this.serving.keys().next().value!);
    this.serving.set(key, entry);
    return entry;
  }

  private pushRoutes(routes: RouteInfo[], removed: string[]): Promise<void> {
    const pushed = this.supervisor.pushRoutes(routes, removed);
    this.routesPushed = Promise.all([this.routesPushed, pushed]).then(() => undefined);
    return this.routesPushed;
  }

  /** In a cluster: the membership as last heard (start-node.ts sets it on each join and departure). */
  private cluster: ClusterView | undefined;

  /**
   * The cluster's members changed: each function's provisioned instances are dealt again
   * (a departed node's go to the others; the scheduler warms them on its next tick), and
   * hosts learn where to forward what this node may not run.
   */
  setCluster(view: ClusterView): void {
    this.cluster = view;
    const changed: RouteInfo[] = [];
    for (const live of this.live.values()) {
      this.drop(this.scheduler.configure(this.policyOf(live.record, live.version)));
      const forward = view.forwardingOf(live.record);
      if (sameForwarding(forward, live.route.forward)) continue;
      if (forward === undefined) delete live.route.forward;
      else live.route.forward = forward;
      live.target = targetOf(live.route);
      changed.push(live.route);
    }
    if (changed.length > 0) void this.pushRoutes(changed, []);
  }

  /** Each live function's instances right now: warm, busy, provisioned (the metrics' gauge). */
  instanceCounts(): { tenant: string; function: string; warm: number; busy: number; provisioned: number }[] {
    return [...this.live.values()].map((l) => {
      const instances = this.scheduler.instancesOf(l.fn);
      return {
        tenant: l.record.tenant, function: l.record.name, warm: instances.length,
        busy: instances.filter((i) => i.inFlight > 0).length, provisioned: instances.filter((i) => i.provisioned).length,
      };
    });
  }

  /** Every live function's route: what a (re)started host gets first. */
  routes(): RouteInfo[] {
    return [...this.live.values()].map((l) => l.route);
  }

  /** How the scheduler should run a function, from its record (`flick scale`) and version. */
  private policyOf(record: FunctionRecord, version: VersionRecord): FunctionPolicy {
    const scale = record.scale ?? defaultScale;
    const keepAlive: KeepAliveSpec | undefined =
      scale.keepAlive === null ? undefined
      : scale.keepAlive.policy === "fixed" ? { policy: "fixed", ttlMs: scale.keepAlive.ttlMs }
      : { policy: "hybrid", fallbackTtlMs: this.options.idleTtlMs };
    return {
      fn: `${record.tenant}/${record.name}`,
      tenant: record.tenant,
      key: `${record.tenant}/${record.name}@${version.id}`,
      ...(record.traffic === undefined ? {} : { alsoServing: record.traffic.filter((t) => t.version !== version.id).map((t) => `${record.tenant}/${record.name}@${t.version}`) }),
      // In a cluster, this node's part of them (cluster-view.ts).
      minInstances: this.cluster === undefined ? scale.minInstances : this.cluster.minInstancesOf(record),
      ...(scale.maxInstances === null ? {} : { maxInstances: scale.maxInstances }),
      ...(Object.keys(scale.pin).length > 0 ? { pin: scale.pin } : {}),
      ...(Object.keys(scale.avoid).length > 0 ? { avoid: scale.avoid } : {}),
      ...(keepAlive === undefined ? {} : { keepAlive }),
    };
  }

  /** Stops instances: `now` (kill switch, removal), else once what runs on them is done. */
  private drop(refs: readonly InstanceRef[], now = false): void {
    for (const { instance, host } of refs) this.supervisor.drop(host, instance, now);
  }

  // — auth —

  async authenticate(authorization: string | undefined): Promise<Principal | undefined> {
    if (authorization === undefined) return undefined;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (match === null) return undefined;
    const token = await this.store.tokenByHash(hashToken(match[1]!));
    if (token === undefined) return undefined;
    return token.tenant === null ? { role: "admin" } : { role: "tenant", tenant: token.tenant };
  }

  private static tenantOf(who: Principal): string | null {
    return who.role === "admin" ? null : who.tenant;
  }

  /** The function, if `who` may see it: 404 when absent, 403 when it is another tenant's. */
  private async owned(who: Principal, name: string): Promise<FunctionRecord> {
    const fn = await this.store.getFunction(name);
    if (fn === undefined) throw new FlickError("function_not_found", `no function named "${name}"; \`flick ls\` lists yours`);
    if (who.role === "tenant" && fn.tenant !== who.tenant) {
      throw new FlickError("forbidden", `function "${name}" belongs to another tenant; your token acts for tenant "${who.tenant}"`);
    }
    return fn;
  }

  // — functions —

  private view(settings: FunctionSettings): SettingsView {
    return {
      memoryMiB: settings.memoryMiB, timeoutMs: settings.timeoutMs, cpuLimitMs: settings.cpuLimitMs ?? null, env: settings.env, secretNames: settings.secretNames, private: settings.private,
      retries: settings.retries ?? limits.retries.default, maxEventAgeMs: settings.maxEventAgeMs ?? limits.maxEventAgeMs.default,
      crons: settings.crons ?? [], timeZone: settings.cronTimeZone ?? "UTC", cronMissed: settings.cronMissed ?? "once",
      handlers: settings.handlers ?? ["fetch"],
      ...(Object.fromEntries(bindingKinds.map((k) => [k.apiKey, Object.fromEntries((settings.bindings ?? []).filter((b) => b.kind === k.kind).map((b) => [b.name, b.target]))])) as BindingMapsView),
    };
  }

  private info(fn: FunctionRecord, version: VersionRecord): FunctionInfo {
    return {
      name: fn.name,
      tenant: fn.tenant,
      liveVersion: fn.liveVersion,
      url: `${this.publicUrl}/fn/${fn.name}`,
      settings: this.view(version.settings),
      sources: version.sources ?? {},
      traffic: fn.traffic ?? [{ version: fn.liveVersion, percent: 100 }],
      previewUrl: `${this.publicUrl}/fn/${fn.name}@<version>`,
      createdAtMs: fn.createdAtMs,
      updatedAtMs: fn.updatedAtMs,
      instances: this.scheduler.instancesOf(`${fn.tenant}/${fn.name}`).length,
      scale: fn.scale ?? defaultScale,
      stats: this.statsOf(`${fn.tenant}/${fn.name}`),
    };
  }

  private statsOf(fn: string): FunctionStats {
    const instances = this.scheduler.instancesOf(fn);
    const stats = this.stats.get(fn);
    const now = Date.now();
    const recent: number[] = [];
    if (stats !== undefined) for (let i = 0; i < stats.latencies.length; i++) if (now - stats.times[i]! <= statsWindowMs) recent.push(stats.latencies[i]!);
    recent.sort((a, b) => a - b);
    const pick = (p: number) => (recent.length === 0 ? null : Math.round(recent[Math.min(recent.length - 1, Math.ceil(p * recent.length) - 1)]! * 100) / 100);
    return {
      warm: instances.length,
      busy: instances.filter((i) => i.inFlight > 0).length,
      provisioned: instances.filter((i) => i.provisioned).length,
      invocations: stats?.invocations ?? 0,
      coldStarts: stats?.coldStarts ?? 0,
      codeCache: { hits: stats?.codeCacheHits ?? 0, misses: stats?.codeCacheMisses ?? 0 },
      throttled: stats?.throttled ?? 0,
      p50Ms: pick(0.5),
      p99Ms: pick(0.99),
      windowMs: statsWindowMs,
      keepAlive: this.scheduler.keepAliveOf(fn) ?? null,
    };
  }

  private statsFor(fn: string): Stats {
    let stats = this.stats.get(fn);
    if (stats === undefined) {
      stats = { invocations: 0, coldStarts: 0, codeCacheHits: 0, codeCacheMisses: 0, throttled: 0, latencies: new Float64Array(statsSamples), times: new Float64Array(statsSamples), next: 0 };
      this.stats.set(fn, stats);
    }
    return stats;
  }

  /** Counts a host reported for what it ran itself (a sample of its latencies). */
  private mergeStats(usage: FunctionUsage): void {
    if (this.live.get(usage.fn.slice(usage.fn.indexOf("/") + 1))?.fn !== usage.fn) return; // removed since
    const stats = this.statsFor(usage.fn);
    const slash = usage.fn.indexOf("/");
    this.metrics?.count(usage.fn.slice(0, slash), usage.fn.slice(slash + 1), usage);
    this.rollups?.count(usage.fn.slice(0, slash), usage.fn.slice(slash + 1), usage);
    stats.invocations += usage.invocations;
    stats.coldStarts += usage.coldStarts;
    stats.codeCacheHits += usage.codeCacheHits;
    stats.codeCacheMisses += usage.codeCacheMisses;
    stats.throttled += usage.throttled;
    const now = Date.now();
    for (const latency of usage.latencies) {
      stats.latencies[stats.next] = latency;
      stats.times[stats.next] = now;
      stats.next = (stats.next + 1) % statsSamples;
    }
  }

  /** What the primary ran (or refused) itself: `flick info`'s numbers and the metrics (`outcome` as in host/usage.ts). */
  private record(fn: string, what: { latencyMs?: number; cold?: boolean; fresh?: boolean; throttled?: string; codeCache?: "hit" | "miss" | "module"; outcome?: string }): void {
    const stats = this.statsFor(fn);
    if (what.throttled !== undefined) stats.throttled++;
    const slash = fn.indexOf("/");
    const counts = {
      invocations: what.latencyMs === undefined ? 0 : 1,
      coldStarts: what.cold === true ? 1 : 0,
      codeCacheHits: what.codeCache === "hit" ? 1 : 0,
      coldStartsFresh: what.fresh === true ? 1 : 0,
      outcomes: what.outcome === undefined || what.latencyMs === undefined ? {} : { [what.outcome]: 1 },
      durations: what.latencyMs === undefined ? [] : durationCounts(what.latencyMs),
      durationSumMs: what.latencyMs ?? 0,
      throttledBy: what.throttled === undefined ? {} : { [what.throttled]: 1 },
    };
    this.metrics?.count(fn.slice(0, slash), fn.slice(slash + 1), counts);
    this.rollups?.count(fn.slice(0, slash), fn.slice(slash + 1), counts);
    if (what.latencyMs !== undefined) {
      stats.invocations++;
      if (what.cold === true) stats.coldStarts++;
      if (what.codeCache === "hit") stats.codeCacheHits++;
      else if (what.codeCache === "miss") stats.codeCacheMisses++;
      stats.latencies[stats.next] = what.latencyMs;
      stats.times[stats.next] = Date.now();
      stats.next = (stats.next + 1) % statsSamples;
    }
  }

  /** Deploys of one function, one at a time: each merges into the settings the last one left. */
  private readonly deploying = new Map<string, Promise<unknown>>();

  private serially<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.deploying.get(name) ?? Promise.resolve();
    const run = previous.then(work, work);
    const tail = run.then(() => undefined, () => undefined);
    this.deploying.set(name, tail);
    void tail.then(() => {
      if (this.deploying.get(name) === tail) this.deploying.delete(name);
    });
    return run;
  }

  deploy(who: Principal, name: string, request: DeployRequest): Promise<DeployResponse> {
    return this.serially(name, () => this.deployNow(who, name, request));
  }

  /** `flick secret put` / `rm`: the live code and settings again, with this secret changed. */
  async changeSecret(who: Principal, name: string, secret: string, value: string | null): Promise<DeployResponse> {
    // Another tenant's function is a 403 here, not a name clash.
    const fn = await this.owned(who, name);
    const request: DeployRequest = value === null
      ? { tenant: fn.tenant, unset: [`secrets.${secret}`] }
      : { tenant: fn.tenant, secrets: { [secret]: value }, origin: { [`secrets.${secret}`]: "flick secret put" } };
    return this.deploy(who, name, request);
  }

  private async deployNow(who: Principal, name: string, request: DeployRequest): Promise<DeployResponse> {
    let tenant: string;
    // The admin redeploying a tenant's function without --tenant means that function.
    if (who.role === "admin") tenant = request.tenant ?? (await this.store.getFunction(name))?.tenant ?? defaultTenant;
    else {
      if (request.tenant !== undefined && request.tenant !== who.tenant) {
        throw new FlickError("forbidden", `your token acts for tenant "${who.tenant}"; it cannot deploy for "${request.tenant}"`);
      }
      tenant = who.tenant;
    }
    if ((await this.store.getTenant(tenant)) === undefined) {
      throw new FlickError("tenant_not_found", `tenant "${tenant}" does not exist; create it with \`flick tenants create ${tenant}\``);
    }
    // Early, so a taken name fails before validation; the store checks again in the
    // transaction that takes the name (two tenants may deploy one new name at once).
    const existing = await this.store.getFunction(name);
    if (existing !== undefined && existing.tenant !== tenant) {
      throw new FlickError("name_taken", `the name "${name}" is taken by another tenant on this node; pick another name`);
    }
    const live = existing === undefined ? undefined : await this.store.getVersion(name, existing.liveVersion);
    if (request.code === undefined && live === undefined) {
      throw new FlickError("function_not_found", `no function named "${name}" to change; deploy its code first (flick deploy)`);
    }
    if (request.sourceMap !== undefined) {
      if (request.code === undefined) throw new FlickError("validation_failed", "sourceMap: a source map goes with the code it maps; send both");
      try {
        new SourceMap(request.sourceMap);
      } catch (err) {
        throw new FlickError("validation_failed", `sourceMap: ${(err as Error).message}; send the map esbuild wrote for this bundle (or none)`);
      }
    }
    const code = request.code ?? new TextDecoder().decode(await this.storedCode("bundle", live!.bundleHash));
    const wasmGiven = request.code !== undefined
      ? request.wasm ?? {}
      : Object.fromEntries(await Promise.all(live!.wasm.map(async (h) => [h, Buffer.from(await this.storedCode("wasm", h)).toString("base64")] as const)));
    // Settings stick: the live version's, with what this deploy unsets and sets.
    const { desired, set } = mergeSettings(
      live === undefined ? undefined : desiredOf(live.settings, live.sealedSecrets === null ? {} : this.secrets.open(live.sealedSecrets), live.sources),
      request,
    );
    const secrets = desired.secrets ?? {};
    const env = desired.env ?? {};
    const clash = Object.keys(secrets).find((k) => k in env);
    if (clash !== undefined) throw new FlickError("validation_failed", `"${clash}" is both an env var and a secret; give it one role (flick secret rm ${clash}, or --unset env.${clash})`);
    for (const [what, map] of [["env", env], ["secrets", secrets]] as const) {
      if (Object.keys(map).length > limits.envMaxEntries) throw new FlickError("validation_failed", `${what}: at most ${limits.envMaxEntries} entries; unset some first`);
    }
    const settings: FunctionSettings = {
      memoryMiB: desired.memoryMiB ?? limits.memoryMiB.default,
      timeoutMs: desired.timeoutMs ?? limits.timeoutMs.default,
      // Only when set, so a version made before this setting existed keeps its id.
      ...(desired.cpuLimitMs === undefined ? {} : { cpuLimitMs: desired.cpuLimitMs }),
      env: Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))),
      secretNames: Object.keys(secrets).sort(),
      private: desired.private ?? false,
      // Only when set, so a version made before these settings existed keeps its id.
      ...(desired.retries === undefined ? {} : { retries: desired.retries }),
      ...(desired.maxEventAgeMs === undefined ? {} : { maxEventAgeMs: desired.maxEventAgeMs }),
      ...cronSettings(desired),
      ...(await bindingSettings(desired, name, env, secrets, (b) => this.checkBindingTarget(b.kind, tenant, name, b.name, b.target))),
    };
    const id = versionId(code, JSON.stringify(settings), settings.secretNames.length === 0 ? "" : this.secrets.digest(secrets));
    // A canary takes `canary`% of the requests; the live version keeps the rest (and stays live).
    const canary = request.canary;
    if (canary !== undefined && (existing === undefined || live === undefined)) {
      throw new FlickError("validation_failed", `canary: "${name}" has no live version yet to share its traffic with; deploy it once without --canary`);
    }
    const traffic = canary === undefined || existing === undefined || id === existing.liveVersion
      ? undefined
      : [{ version: existing.liveVersion, percent: 100 - canary }, { version: id, percent: canary }];
    const unchanged = traffic === undefined
      ? existing?.liveVersion === id && existing.traffic === undefined
      : JSON.stringify(traffic) === JSON.stringify(existing?.traffic);
    if (existing !== undefined && live !== undefined && unchanged) {
      // A version deployed before maps were kept gets one now.
      if (request.sourceMap !== undefined) await this.store.putCode("bundle-map", live.bundleHash, utf8(request.sourceMap));
      return { function: this.info(existing, live), version: id, changed: false };
    }
    const wasm: Record<string, Uint8Array> = {};
    let wasmBytes = 0;
    for (const [hash, base64] of Object.entries(wasmGiven)) {
      const bytes = new Uint8Array(Buffer.from(base64, "base64"));
      if (bundleHash(bytes) !== hash) throw new FlickError("validation_failed", `wasm.${hash}: the bytes do not hash to their key; send each module under its SHA-256`);
      wasm[hash] = bytes;
      wasmBytes += bytes.byteLength;
    }
    await checkBundleSize(code, Object.values(wasm));
    const hash = bundleHash(code);
    // What hosts will run: the script form, from a V8 code cache, when the module is big enough to gain.
    const form = Buffer.byteLength(code) >= scriptFormMinBytes ? await scriptFormWithMap(code, request.sourceMap) : null;
    const script = form?.script ?? null;
    const checked = await this.supervisor.validate(
      code, `${tenant}/${name}.js`, settings.timeoutMs, wasm,
      script === null ? undefined : { code: script, path: this.code.pathOf("script", hash) },
    );
    if (checked.error !== null) throw FlickError.fromData(checked.error);
    // What the module exports decides how queue messages reach it (after the id: derived from the code).
    settings.handlers = checked.handlers;
    // A durable object binding names a class this module exports (the class's instances hold the objects).
    for (const b of settings.bindings ?? []) {
      if (b.kind === "do" && !checked.handlers.includes(`class:${b.target}`)) {
        const classes = checked.handlers.filter((h) => h.startsWith("class:")).map((h) => h.slice(6));
        throw new FlickError("validation_failed", `do binding ${b.name}: the module exports no class ${b.target} (it exports ${classes.length === 0 ? "no class" : classes.join(", ")}); add \`export class ${b.target} { constructor(state, env) { … } async fetch(request) { … } }\``);
      }
    }
    if ((settings.crons?.length ?? 0) > 0 && !checked.handlers.includes("scheduled")) {
      throw new FlickError(
        "validation_failed",
        `crons: the module has no scheduled handler for ${settings.crons!.map((c) => `"${c}"`).join(", ")} to run (its default export has ${checked.handlers.filter((h) => !h.startsWith("class:")).join(", ") || "no handler"}); add \`async scheduled(controller, env, ctx) { … }\` or deploy without --cron (--unset cron drops the ones it has)`,
      );
    }

    const now = Date.now();
    await this.store.putCode("bundle", hash, utf8(code));
    // Maps before the version that uses them: a host that starts it finds them.
    if (request.sourceMap !== undefined) await this.store.putCode("bundle-map", hash, utf8(request.sourceMap));
    if (script !== null && checked.scriptOk) {
      await this.store.putCode("script", hash, utf8(script));
      if (form?.map != null) await this.store.putCode("script-map", hash, utf8(form.map));
    }
    for (const [wasmHash, bytes] of Object.entries(wasm)) await this.store.putCode("wasm", wasmHash, bytes);
    const version: VersionRecord = (await this.store.getVersion(name, id)) ?? {
      function: name,
      id,
      bundleHash: hash,
      bundleBytes: Buffer.byteLength(code),
      settings,
      sealedSecrets: settings.secretNames.length === 0 ? null : this.secrets.seal(secrets),
      createdAtMs: now,
      wasm: Object.keys(wasm).sort(),
      sources: sourcesOf(desired, set, request.origin, live, id),
    };
    // A new version keeps how the function scales (`flick scale` is about the function): the
    // store returns the record as committed, its scale included.
    // Without --canary, a deploy ends any split: all requests go to the new version.
    const record = await this.store.deploy(
      { name, tenant, liveVersion: traffic === undefined ? id : existing!.liveVersion, createdAtMs: existing?.createdAtMs ?? now, updatedAtMs: now, ...(traffic === undefined ? {} : { traffic }) },
      version,
    );
    const liveVersion = traffic === undefined ? version : live!;
    await this.setLive(record, liveVersion, await this.code.of(liveVersion));
    return { function: this.info(record, liveVersion), version: id, changed: true };
  }

  async listFunctions(who: Principal): Promise<FunctionInfo[]> {
    const tenant = Platform.tenantOf(who);
    const fns = await this.store.listFunctions(tenant ?? undefined);
    // What hosts ran until now is in the numbers.
    await this.supervisor.flushReports();
    return fns.flatMap((fn) => {
      const live = this.live.get(fn.name);
      return live === undefined ? [] : [this.info(fn, live.version)];
    });
  }

  async getFunction(who: Principal, name: string): Promise<FunctionInfo> {
    const fn = await this.owned(who, name);
    const version = await this.store.getVersion(name, fn.liveVersion);
    if (version === undefined) throw new FlickError("internal", `function "${name}" points at a missing version ${fn.liveVersion}`);
    await this.supervisor.flushReports();
    const info = this.info(fn, version);
    if (this.queue !== undefined) info.invocations = await this.queue.counts(name);
    if (this.cron !== undefined && (version.settings.crons?.length ?? 0) > 0) info.cron = this.cron.upcoming(name, 3);
    return info;
  }

  async removeFunction(who: Principal, name: string): Promise<void> {
    const fn = await this.owned(who, name);
    // Only if it is still that tenant's: the name may have been removed and taken meanwhile.
    if (!(await this.store.removeFunction(name, fn.tenant))) throw new FlickError("function_not_found", `no function named "${name}"; \`flick ls\` lists yours`);
    await this.queue?.removeFunction(name);
    if (this.live.get(name)?.record.tenant === fn.tenant) await this.unload(fn.tenant, name);
  }

  async listVersions(who: Principal, name: string): Promise<VersionInfo[]> {
    const fn = await this.owned(who, name);
    return (await this.store.listVersions(name)).map((v) => ({
      id: v.id,
      createdAtMs: v.createdAtMs,
      bundleBytes: v.bundleBytes,
      live: v.id === fn.liveVersion,
      percent: fn.traffic === undefined ? (v.id === fn.liveVersion ? 100 : 0) : (fn.traffic.find((t) => t.version === v.id)?.percent ?? 0),
      previewUrl: `${this.publicUrl}/fn/${fn.name}@${v.id}`,
      settings: this.view(v.settings),
    }));
  }

  rollback(who: Principal, name: string, to: string | undefined): Promise<FunctionInfo> {
    return this.serially(name, () => this.rollbackNow(who, name, to));
  }

  private async rollbackNow(who: Principal, name: string, to: string | undefined): Promise<FunctionInfo> {
    const fn = await this.owned(who, name);
    const versions = await this.store.listVersions(name);
    let target: VersionRecord | undefined;
    if (to !== undefined) {
      target = versions.find((v) => v.id === to);
      if (target === undefined) throw new FlickError("version_not_found", `function "${name}" has no version ${to}; \`flick versions ${name}\` lists them`);
    } else if (fn.traffic !== undefined) {
      // During a split, rolling back ends it: every request goes to the live (stable) version again.
      target = versions.find((v) => v.id === fn.liveVersion);
    } else {
      const liveIndex = versions.findIndex((v) => v.id === fn.liveVersion);
      target = versions[liveIndex + 1];
      if (target === undefined) throw new FlickError("bad_request", `function "${name}" has no version older than the live one (${fn.liveVersion}) to roll back to`);
    }
    if (target === undefined) throw new FlickError("internal", `function "${name}" points at a missing version ${fn.liveVersion}`);
    return this.route(fn, target.id, undefined);
  }

  /**
   * `flick traffic`: splits requests between versions by whole percentages summing to 100
   * (at most 4 versions). The version with the largest share (the first given on a tie) is
   * the live one: settings of later deploys start from it. One version at 100 ends the split.
   */
  traffic(who: Principal, name: string, shares: Record<string, number>): Promise<FunctionInfo> {
    return this.serially(name, async () => {
      const fn = await this.owned(who, name);
      const given = Object.entries(shares).filter(([, p]) => p > 0);
      const total = given.reduce((sum, [, p]) => sum + p, 0);
      if (given.length === 0 || total !== 100) {
        throw new FlickError("validation_failed", `split: the percentages add up to ${total}, not 100 (e.g. flick traffic ${name} <live>=90 <new>=10)`);
      }
      const versions = new Set((await this.store.listVersions(name)).map((v) => v.id));
      const unknown = given.find(([v]) => !versions.has(v));
      if (unknown !== undefined) throw new FlickError("version_not_found", `function "${name}" has no version ${unknown[0]}; \`flick versions ${name}\` lists them`);
      let live = given[0]!;
      for (const share of given) if (share[1] > live[1]) live = share;
      const traffic = given.length === 1 ? undefined : given.map(([version, percent]) => ({ version, percent }));
      return this.route(fn, live[0], traffic);
    });
  }

  /** `flick promote`: every request to `version` (default: the split's canary, the largest share that is not live); the split ends. */
  promote(who: Principal, name: string, version: string | undefined): Promise<FunctionInfo> {
    return this.serially(name, async () => {
      const fn = await this.owned(who, name);
      let target = version;
      if (target === undefined) {
        const canaries = (fn.traffic ?? []).filter((t) => t.version !== fn.liveVersion).sort((a, b) => b.percent - a.percent);
        if (canaries.length === 0) throw new FlickError("bad_request", `function "${name}" has no traffic split to promote from; name a version: flick promote ${name} <version>`);
        target = canaries[0]!.version;
      }
      if ((await this.store.getVersion(name, target)) === undefined) {
        throw new FlickError("version_not_found", `function "${name}" has no version ${target}; \`flick versions ${name}\` lists them`);
      }
      return this.route(fn, target, undefined);
    });
  }

  /** Points `fn` at `liveVersion` with `traffic` (or none) and makes it so on every host. */
  private async route(fn: FunctionRecord, liveVersion: string, traffic: TrafficShare[] | undefined): Promise<FunctionInfo> {
    const name = fn.name;
    const record = await this.store.setLiveVersion(name, fn.tenant, liveVersion, Date.now(), traffic);
    const version = record === undefined ? undefined : await this.store.getVersion(name, liveVersion);
    if (record === undefined || version === undefined) {
      throw new FlickError("function_not_found", `function "${name}" was removed or redeployed meanwhile; \`flick versions ${name}\` lists its versions now`);
    }
    await this.setLive(record, version, await this.code.of(version));
    return this.info(record, version);
  }

  // — usage —

  /**
   * `flick usage`: metered usage in [sinceMs, untilMs), summed by function, by hour or by
   * tenant. A tenant sees its own; the admin all, or one tenant's. Exact up to this moment:
   * every host reports what it ran before the rows are read.
   */
  async usage(who: Principal, query: UsageRequest): Promise<UsageAnswer> {
    const own = Platform.tenantOf(who);
    if (own !== null && query.tenant !== undefined && query.tenant !== own) {
      throw new FlickError("forbidden", `your token acts for tenant "${own}"; it cannot read the usage of "${query.tenant}"`);
    }
    const tenant = own ?? query.tenant;
    await this.supervisor.flushReports();
    await this.usageWrites;
    const rows = await this.store.readUsage({ ...(tenant === undefined ? {} : { tenant }), sinceMs: query.sinceMs, untilMs: query.untilMs });
    return summarizeUsage(rows, query);
  }

  /**
   * The dashboard's charts: invocation history of one function, of a tenant's functions
   * (a tenant's token: its own), or of every tenant's (the admin). Exact up to this moment,
   * as `usage` is: hosts report, and pending counts are written, before the rows are read.
   */
  async metricsSeries(who: Principal, query: SeriesRequest): Promise<MetricsSeries> {
    const own = Platform.tenantOf(who);
    if (own !== null && query.tenant !== undefined && query.tenant !== own) {
      throw new FlickError("forbidden", `your token acts for tenant "${own}"; it cannot read the metrics of "${query.tenant}"`);
    }
    let tenant = own ?? query.tenant;
    if (query.function !== undefined) {
      // 404 when absent, 403 when another tenant's, as every function route answers.
      const fn = await this.owned(who, query.function);
      if (tenant !== undefined && fn.tenant !== tenant) throw new FlickError("function_not_found", `tenant "${tenant}" has no function named "${query.function}"`);
      tenant = fn.tenant;
    }
    await this.supervisor.flushReports();
    await this.rollups?.flush();
    return readSeries(this.store, { range: query.range, ...(tenant === undefined ? {} : { tenant }), ...(query.function === undefined ? {} : { function: query.function }) }, Date.now());
  }

  // — logs —

  /** The store's scope for `scope`: a function `who` owns, its own tenant, or (the admin) the tenant it names, or all. */
  private async logScope(who: Principal, scope: LogScope): Promise<{ function: string; tenant: string } | { tenant?: string }> {
    if ("function" in scope) {
      // The owner's lines only: a name removed and taken again by another tenant starts with none of the old owner's.
      return { function: scope.function, tenant: (await this.owned(who, scope.function)).tenant };
    }
    if (who.role === "tenant") {
      if (scope.tenant !== undefined && scope.tenant !== who.tenant) {
        throw new FlickError("forbidden", `your token acts for tenant "${who.tenant}"; it cannot read the logs of "${scope.tenant}"`);
      }
      return { tenant: who.tenant };
    }
    return scope.tenant === undefined ? {} : { tenant: scope.tenant };
  }

  async readLogs(who: Principal, scope: LogScope, query: LogsQuery): Promise<LogLine[]> {
    return this.store.readLogs({ ...(await this.logScope(who, scope)), ...query });
  }

  /** New lines of the scope as they are stored: one function's (`fn:<name>`), a tenant's (`tenant:<t>`) or all (`*`). */
  async followLogs(who: Principal, scope: LogScope, onLines: (lines: LogLine[]) => void): Promise<() => void> {
    const resolved = await this.logScope(who, scope);
    // A store several nodes write to follows every node's lines; a node's own, only this one's (below).
    if (this.store.followLogs !== undefined) return this.store.followLogs(resolved, onLines);
    const channel = "function" in resolved ? `fn:${resolved.function}` : resolved.tenant !== undefined ? `tenant:${resolved.tenant}` : "*";
    this.logEvents.on(channel, onLines);
    return () => this.logEvents.off(channel, onLines);
  }

  private async appendLogs(lines: NewLogLine[]): Promise<void> {
    const stored = await this.store.appendLogs(lines);
    // Also to the OTLP collector, when one is set (`--otlp-endpoint`): what was stored, as stored.
    this.traces?.exporter?.logs(stored);
    if (stored.length === 0) return;
    // All lines of one append are one function's (and so one tenant's).
    for (const channel of [`fn:${stored[0]!.function}`, `tenant:${stored[0]!.tenant}`, "*"]) {
      if (this.logEvents.listenerCount(channel) > 0) this.logEvents.emit(channel, stored);
    }
  }

  // — tenants —

  async createTenant(who: Principal, name: string): Promise<CreateTenantResponse> {
    if (who.role !== "admin") throw new FlickError("forbidden", "only the node's admin token can create tenants");
    const now = Date.now();
    const { token, record } = mintToken(name, now);
    // One transaction: a tenant is never left without its token by a failed write.
    await this.store.createTenant({ name, createdAtMs: now }, record);
    return { tenant: name, token };
  }

  /** Who is in the platform: set by the node (this node alone, or its cluster's membership). */
  nodes: () => NodeInfo[] = () => [];

  async listNodes(who: Principal): Promise<NodeInfo[]> {
    if (who.role !== "admin") throw new FlickError("forbidden", "only the admin token can list the platform's nodes");
    return this.nodes();
  }

  /** What a tenant stores on this node with each binding kind that stores, against its quotas. */
  async tenantStorage(who: Principal, tenant: string): Promise<TenantStorage> {
    if (who.role === "tenant" && who.tenant !== tenant) throw new FlickError("forbidden", `your token acts for tenant "${who.tenant}"; it cannot see tenant "${tenant}"'s storage`);
    if ((await this.store.getTenant(tenant)) === undefined) throw new FlickError("tenant_not_found", `tenant "${tenant}" does not exist; \`flick tenants ls\` lists them`);
    const kinds: TenantStorage["kinds"] = [];
    for (const [kind, side] of this.bindingSides) {
      if (side.storageUsed !== undefined) kinds.push({ kind, ...(await side.storageUsed(tenant)) });
    }
    return { tenant, node: this.selfName, kinds };
  }

  async listTenants(who: Principal): Promise<TenantInfo[]> {
    if (who.role !== "admin") throw new FlickError("forbidden", "only the node's admin token can list tenants");
    return Promise.all((await this.store.listTenants()).map((t) => this.tenantInfo(t)));
  }

  private async tenantInfo(record: TenantRecord): Promise<TenantInfo> {
    return {
      name: record.name,
      createdAtMs: record.createdAtMs,
      concurrency: record.concurrency ?? null,
      maxProvisioned: record.maxProvisioned ?? null,
      maxProvisionedMemoryMiB: record.maxProvisionedMemoryMiB ?? null,
      maxQueueMessages: record.maxQueueMessages ?? null,
      maxQueueMiB: record.maxQueueMiB ?? null,
      provisioned: await this.store.provisioned(record.name),
    };
  }

  // — function traffic the primary runs (relays, async attempts, binding calls) —

  resolve(name: string, version?: string): RouteTarget | undefined {
    const live = this.live.get(name);
    if (live === undefined) return undefined;
    return live.route.split === undefined && version === undefined ? live.target : targetOf(live.route, version);
  }

  /**
   * Runs a request the primary originates on a worker host: an async attempt, a service
   * binding call, or a request a host relayed (`relayedFrom`: that host holds the tenant's
   * token, and its own instances are full). The response streams to `writer`.
   */
  async invoke(
    target: RouteTarget,
    request: WireRequest,
    invocationId: string,
    writer: ResponseWriter,
    body?: AsyncIterable<Uint8Array>,
    clientGone?: ClientGone,
    relayedFrom?: number,
  ): Promise<{ error: ErrorData | null }> {
    // In a cluster, a function this node may not run runs on a node that may (node-calls.ts).
    const forward = this.live.get(target.name)?.route.forward;
    if (forward !== undefined && forward.overflow !== true && relayedFrom === undefined && this.nodeCalls !== undefined) {
      return this.nodeCalls.invoke(forward, target, request, invocationId, writer, body);
    }
    return this.invokeHere(target, request, invocationId, writer, body, clientGone, relayedFrom);
  }

  /** Calls between nodes (node-calls.ts); set in a cluster. */
  nodeCalls: NodeCalls | undefined;

  /** `invoke` on this node's own hosts, wherever the function's pins say it runs (a call from another node). */
  async invokeHere(
    target: RouteTarget,
    request: WireRequest,
    invocationId: string,
    writer: ResponseWriter,
    body?: AsyncIterable<Uint8Array>,
    clientGone?: ClientGone,
    relayedFrom?: number,
  ): Promise<{ error: ErrorData | null }> {
    const current = this.live.get(target.name);
    if (current === undefined) return { error: { code: "function_not_found", message: `function "${target.name}" was removed` } };
    // The version the gateway picked (and named in x-flick-version): a split's, or a preview.
    const live = target.key === current.key ? current : await this.servingOf(current, target.version);
    if (live === undefined) return { error: { code: "version_not_found", message: `function "${target.name}" has no version ${target.version}; \`flick versions ${target.name}\` lists them` } };
    return this.invokeLive(live, request, invocationId, writer, body, clientGone, relayedFrom);
  }

  /** Runs `request` on an instance of `live` (a version, or a durable object's), within the tenant's budget. */
  private async invokeLive(
    live: LiveFunction,
    request: WireRequest,
    invocationId: string,
    writer: ResponseWriter,
    body?: AsyncIterable<Uint8Array>,
    clientGone?: ClientGone,
    relayedFrom?: number,
  ): Promise<{ error: ErrorData | null }> {
    request.invocationId = invocationId;
    const tenant = live.record.tenant;
    const tokenHeld = relayedFrom !== undefined;
    if (!tokenHeld && (await this.budgets.acquire("primary", tenant, 1)) === 0) {
      this.record(live.fn, { throttled: "tenant_limit" });
      const retryAfterSeconds = Math.ceil(schedulerDefaults.retryAfterMs / 1000);
      throw new FlickError("tenant_limit", `tenant ${tenant} has ${this.budgets.limitOf(tenant)} requests in flight, its limit; retry in ${retryAfterSeconds} s`, {
        details: { retryAfterSeconds },
      });
    }
    try {
      return await this.runOnHost(live, request, invocationId, writer, body, clientGone, relayedFrom);
    } finally {
      if (!tokenHeld) this.budgets.release("primary", tenant, 1);
    }
  }

  private async runOnHost(
    live: LiveFunction,
    request: WireRequest,
    invocationId: string,
    writer: ResponseWriter,
    body: AsyncIterable<Uint8Array> | undefined,
    clientGone: ClientGone | undefined,
    exclude: number | undefined,
  ): Promise<{ error: ErrorData | null }> {
    const store = (logs: WireLogLine[]) =>
      this.appendLogs(logs.map(([timeMs, level, message, request]) => ({
        timeMs, level, message, function: live.record.name, tenant: live.record.tenant, invocationId, ...(request === undefined ? {} : { request }),
      })));
    // Sink events are applied in order; log lines that come with the end of the body are
    // stored before the client sees that end, so a line whose effect was seen is never lost
    // (a store that fails does not hold the answer back). Without log lines to store first
    // (the common case), events go straight to the writer.
    let chain: Promise<void> | undefined;
    const then = (logs: WireLogLine[], write: () => void) => {
      if (chain === undefined && logs.length === 0) return write();
      chain = (chain ?? Promise.resolve())
        .then(async () => {
          if (logs.length > 0) await store(logs).catch(() => undefined);
          write();
        })
        .catch((err: unknown) => process.emitWarning(`flick: writing a response failed: ${String(err)}`));
    };
    const started = performance.now();
    let sentStatus: number | undefined;
    for (let attempt = 0; ; attempt++) {
      let placement;
      try {
        placement = await this.slot(live, exclude);
      } catch (err) {
        this.record(live.fn, { throttled: err instanceof FlickError ? err.code : "internal" });
        throw err;
      }
      let result;
      try {
        result = await this.supervisor.invoke(
          placement.host,
          placement.instance,
          placement.cold ? this.specOf(live, placement.instance) : undefined,
          request,
          {
            head: (status, headers, bytes, end, logs, cold) => {
              sentStatus = status;
              then(logs, () => writer.head(status, headers, bytes, end, cold));
            },
            chunk: (bytes, end, logs, written) => then(logs, () => writer.chunk(bytes, end, written)),
          },
          body,
          clientGone,
        );
      } catch (err) {
        this.scheduler.forget(placement.instance);
        throw err;
      } finally {
        this.scheduler.release(placement.instance, Date.now());
        this.wakeSlotWaiters();
      }
      // The host had no free slot on it (its own requests took them), or it was going: elsewhere.
      if (!result.started && result.error?.code === "instance_terminated" && body === undefined && attempt < 3) {
        // A durable object's instance takes every request of its object (a full one would
        // not be passed over for another), so it refused only because it is going.
        if (live.object === undefined) this.scheduler.markFull(placement.instance);
        else this.scheduler.forget(placement.instance);
        continue;
      }
      const code = result.error?.code;
      this.record(live.fn, {
        latencyMs: performance.now() - started, cold: result.cold, ...(result.codeCache === undefined ? {} : { codeCache: result.codeCache }),
        fresh: result.cold && result.pooled === false && result.codeCache !== "hit",
        outcome: outcomeOf(sentStatus, code, code === undefined ? undefined : errorCodes[code]),
      });
      if (chain !== undefined) await chain;
      if (result.logs.length > 0) await store(result.logs).catch(() => undefined);
      return { error: result.error };
    }
  }

  /**
   * A slot for one request, or the 429 that says why not. Over a limit, the request may
   * wait up to the node's queue wait for a slot to free (never longer: no hangs).
   */
  private async slot(live: LiveFunction, exclude?: number): Promise<{ instance: string; host: number; cold: boolean }> {
    const fn = live.fn;
    const deadline = Date.now() + this.options.queueWaitMs;
    for (;;) {
      const got = this.scheduler.acquire(fn, live.key, Date.now(), { ...(exclude === undefined ? {} : { exclude }), ...(live.object === undefined ? {} : { sole: true }) });
      this.drop(got.evicted);
      if (got.ok === true) return got;
      if (got.ok === "relay") throw new FlickError("internal", "the scheduler answered a relay to the primary");
      const wait = deadline - Date.now();
      if (wait <= 0) {
        throw new FlickError(got.reason, `${got.message}; retry in ${Math.ceil(got.retryAfterMs / 1000)} s`, {
          details: { retryAfterSeconds: Math.ceil(got.retryAfterMs / 1000) },
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, wait);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.slotWaiters.push(done);
      });
    }
  }

  private wakeSlotWaiters(): void {
    if (this.slotWaiters.length === 0) return;
    const waiters = this.slotWaiters;
    this.slotWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Scheduler time: stops instances idle past their keep-alive, starts provisioned and pre-warmed ones. */
  tick(nowMs: number): void {
    const { stop, warm } = this.scheduler.tick(nowMs);
    this.drop(stop);
    for (const w of warm) {
      const live = this.live.get(w.fn.slice(w.fn.indexOf("/") + 1));
      if (live !== undefined && live.key === w.key) this.supervisor.warm(w.host, this.specOf(live, w.instance));
    }
  }

  private specOf(live: LiveFunction, instance: string): InstanceSpec {
    const settings = live.version.settings;
    return {
      instance,
      function: live.fn,
      tenant: live.record.tenant,
      key: live.key,
      versionId: live.version.id,
      bundlePath: live.bundlePath,
      ...(live.scriptPath === undefined ? {} : { scriptPath: live.scriptPath }),
      memoryMiB: settings.memoryMiB,
      timeoutMs: settings.timeoutMs,
      cpuLimitMs: settings.cpuLimitMs ?? null,
      // A durable object's requests come one at a time from its turn (bindings/do/platform.ts);
      // its host must not refuse the next one because the last has not let go of its slot yet.
      concurrency: live.object === undefined ? live.route.concurrency : objectInstanceSlots,
      env: live.env,
      wasm: live.wasm,
      ...(settings.bindings === undefined && live.object === undefined ? {} : { bindings: bindingsOf(live) }),
      ...(live.object === undefined ? {} : { object: live.object }),
    };
  }

  // — what worker hosts ask (node/supervisor.ts HostRequests) —

  /**
   * A host's miss: it needs a tenant token, an instance of `key`, or both. Tokens come from
   * the tenant's budget; an instance is placed on that host when the function and the host
   * allow it (the next requests then stay local), else the request is relayed.
   */
  async hostAcquire(host: number, fn: string, key: string, token: boolean, instance: boolean): Promise<AcquireResult> {
    const current = this.live.get(fn.slice(fn.indexOf("/") + 1));
    if (current === undefined || current.fn !== fn) return { kind: "gone", message: `function ${fn} was removed` };
    // The version the host's gateway picked: the live one, a split's, or a preview.
    const live = key === current.key || !key.startsWith(`${fn}@`) ? current : await this.servingOf(current, key.slice(fn.length + 1));
    if (live === undefined) return { kind: "gone", message: `function ${fn.slice(fn.indexOf("/") + 1)} has no version ${key.slice(fn.length + 1)}` };
    const tenant = live.record.tenant;
    const spare = this.budgets.chunk(tenant);
    const tokens = token ? await this.budgets.acquire(host, tenant, 1) : 0;
    if (token && tokens === 0) {
      return {
        kind: "throttle", reason: "tenant_limit", tokens: 0, spare,
        message: `tenant ${tenant} has ${this.budgets.limitOf(tenant)} requests in flight, its limit`, retryAfterMs: schedulerDefaults.retryAfterMs,
      };
    }
    if (!instance) return { kind: "tokens", tokens, spare };
    const got = this.scheduler.acquire(live.fn, live.key, Date.now(), { origin: host });
    this.drop(got.evicted);
    if (got.ok === true) return { kind: "place", spec: this.specOf(live, got.instance), tokens, spare };
    if (got.ok === "relay") return { kind: "relay", tokens, spare };
    // The host counts the throttle in its report.
    return { kind: "throttle", reason: got.reason, message: got.message, retryAfterMs: got.retryAfterMs, tokens, spare };
  }

  hostTokensBack(host: number, tenant: string, n: number): void {
    this.budgets.release(host, tenant, n);
  }

  /** Metered usage on its way to the store, in report order (`usage` waits for it). */
  private usageWrites: Promise<void> = Promise.resolve();

  /** What a host ran itself since its last report. */
  hostReport(instances: InstanceUsage[], functions: FunctionUsage[], memory: [string, number][], meter: UsageRow[] = []): void {
    if (meter.length > 0) {
      this.usageWrites = this.usageWrites
        .then(() => this.store.addUsage(meter))
        .catch((err: unknown) => process.emitWarning(`flick: usage of ${meter.length} function-hours could not be stored: ${String(err)}`));
    }
    const now = Date.now();
    for (const [instance, inFlight, lastUsedMs] of instances) this.scheduler.report(instance, inFlight, lastUsedMs, now);
    for (const [instance, memoryMiB] of memory) this.scheduler.reportMemory(instance, memoryMiB);
    for (const f of functions) this.mergeStats(f);
  }

  /** Log lines a host ships; false when the store could not take them (the lines are lost, the answer is not held). */
  async hostLogs(lines: ShippedLogLine[]): Promise<boolean> {
    try {
      const byFunction = new Map<string, NewLogLine[]>();
      for (const l of lines) {
        const list = byFunction.get(l.function) ?? [];
        list.push({ timeMs: l.timeMs, level: l.level, message: l.message, function: l.function, tenant: l.tenant, invocationId: l.invocationId, ...(l.request === undefined ? {} : { request: l.request }) });
        byFunction.set(l.function, list);
      }
      for (const list of byFunction.values()) await this.appendLogs(list);
      return true;
    } catch (err) {
      this.droppedLogLines += lines.length;
      process.emitWarning(`flick: ${lines.length} log lines could not be stored: ${String(err)}`);
      return false;
    }
  }

  /** Log lines the store refused (disk full, I/O error) since start. */
  droppedLogLines = 0;

  hostDown(host: number): void {
    this.scheduler.hostDown(host);
    this.budgets.dropHost(host);
  }

  hostUp(host: number): void {
    this.scheduler.hostUp(host);
  }

  // — async invocations (queue/, node/async-invocations.ts) —

  attachQueue(queue: AsyncQueue): void {
    this.queue = queue;
  }

  /** Cron triggers: the runner is told whenever the live functions change. */
  attachCron(cron: CronRunner): void {
    this.cron = cron;
    cron.setTriggers(this.cronTriggers());
  }

  private cronTriggers(): CronTrigger[] {
    const triggers: CronTrigger[] = [];
    for (const live of this.live.values()) {
      const s = live.version.settings;
      for (const expression of s.crons ?? []) {
        triggers.push({ fn: live.record.name, tenant: live.record.tenant, schedule: parseCron(expression, s.cronTimeZone ?? "UTC"), missed: s.cronMissed ?? "once" });
      }
    }
    return triggers;
  }

  private asyncQueue(): AsyncQueue {
    if (this.queue === undefined) throw new FlickError("unavailable", "async invocations are not running on this node yet; retry");
    return this.queue;
  }

  /** A function's retry budget and maximum event age (the defaults once it is gone). */
  retrySettingsOf(name: string): RetrySettings {
    const settings = this.live.get(name)?.version.settings;
    return { retries: settings?.retries ?? limits.retries.default, maxEventAgeMs: settings?.maxEventAgeMs ?? limits.maxEventAgeMs.default };
  }

  async invokeAsync(
    who: Principal, name: string, request: InvokeRequest, idempotencyKey: string | null, caller: { traceparent?: string; tracestate?: string } = {},
  ): Promise<InvokeResponse> {
    const start = epochMs(performance.now());
    const fn = await this.owned(who, name);
    const { payload, contentType } = payloadOf(request);
    // Its attempts continue the caller's trace (telemetry/queue-trace.ts).
    const trace = apiQueueTrace(this.traces, this.traceSample, caller.traceparent, caller.tracestate, `POST /api/v1/functions/${name}/invocations`);
    const commitStart = epochMs(performance.now());
    let queued: Awaited<ReturnType<AsyncQueue["submit"]>>;
    try {
      queued = await this.asyncQueue().submit({ function: name, tenant: fn.tenant, kind: "fetch", payload, contentType, idempotencyKey, trace: trace.trace, traceState: trace.traceState });
    } catch (err) {
      trace.record(start, commitStart, epochMs(performance.now()), { "flick.tenant": fn.tenant, "flick.function": name }, err instanceof Error ? err.message : String(err));
      throw err;
    }
    trace.record(start, commitStart, epochMs(performance.now()), { "flick.tenant": fn.tenant, "flick.function": name, "flick.invocation_id": queued.id, "flick.duplicate": queued.duplicate }, undefined);
    return { id: queued.id, duplicate: queued.duplicate };
  }

  /**
   * The spans kept of the trace an invocation belongs to (`flick trace`): the primary's own
   * (what it queued) and every host's (what ran there). A tenant sees its own functions' spans only.
   */
  async traceOf(who: Principal, invocationId: string): Promise<TraceInfo> {
    let traceId = this.traces?.traceIdOf(invocationId) ?? null;
    let spans: SpanData[] = [];
    if (traceId === null) {
      const found = (await this.supervisor.spansOf(invocationId, null)).find((h) => h.traceId !== null);
      traceId = found?.traceId ?? null;
    }
    if (traceId !== null) {
      const id = traceId;
      spans = [...(this.traces?.spansOf(id) ?? []), ...(await this.supervisor.spansOf(invocationId, id)).flatMap((h) => h.spans)];
    }
    const visible = visibleSpans(spans, Platform.tenantOf(who));
    if (traceId === null || !visible.some((s) => s.attributes["flick.invocation_id"] === invocationId)) {
      throw new FlickError(
        "trace_not_found",
        `no trace kept for invocation ${invocationId}: it was not sampled (\`flick up --trace-sample\`, now ${this.traceSample}; or send \`traceparent: 00-<trace id>-<span id>-01\`), or it is older than the last 8 MiB of spans (about 20,000) each worker host keeps in memory`,
      );
    }
    return { traceId, spans: visible.sort((a, b) => a.startMs - b.startMs).map(spanInfo) };
  }

  /**
   * Runs the function's `scheduled` handler (as a cron run at this moment would) or gives its
   * `queue` handler one message, now: `flick dev` fires them by hand. Through the async
   * queue, as cron and queue bindings do, so retries and logs are the same.
   */
  async fire(who: Principal, name: string, kind: "scheduled" | "queue", body: string): Promise<InvokeResponse> {
    const fn = await this.owned(who, name);
    const handlers = this.live.get(name)?.version.settings.handlers ?? ["fetch"];
    if (!handlers.includes(kind)) {
      throw new FlickError("validation_failed", `function "${name}" has no ${kind} handler (its default export has ${handlers.filter((h) => !h.startsWith("class:")).join(", ")}); add \`async ${kind}(${kind === "scheduled" ? "controller" : "batch"}, env, ctx) { … }\``);
    }
    const payload = kind === "scheduled" ? JSON.stringify({ cron: "manual", scheduledTime: Date.now() }) : body;
    const queued = await this.asyncQueue().submit({
      function: name, tenant: fn.tenant, kind, payload: new TextEncoder().encode(payload),
      contentType: kind === "scheduled" ? "application/json" : "text/plain;charset=UTF-8", idempotencyKey: null,
    });
    return { id: queued.id, duplicate: queued.duplicate };
  }

  async getInvocation(who: Principal, id: string): Promise<InvocationInfo> {
    const inv = await this.asyncQueue().get(id);
    const tenant = Platform.tenantOf(who);
    if (inv === undefined || (tenant !== null && inv.tenant !== tenant)) {
      throw new FlickError("invocation_not_found", `no async invocation ${id}; ids come back with the 202 of \`flick invoke --async\``);
    }
    return invocationInfo(inv);
  }

  async listDead(who: Principal, name: string, limit: number): Promise<InvocationInfo[]> {
    return this.listInvocations(who, name, "dead", limit);
  }

  /** A function's latest async invocations, of one status or any, most recently changed first (payloads cut to 1 KiB). */
  async listInvocations(who: Principal, name: string, status: InvocationStatus | null, limit: number): Promise<InvocationInfo[]> {
    await this.owned(who, name);
    return (await this.asyncQueue().list(name, status, limit)).map(listedInvocationInfo);
  }

  async replayDead(who: Principal, name: string, ids: string[] | null): Promise<string[]> {
    await this.owned(who, name);
    return this.asyncQueue().replay(name, ids);
  }

  // — bindings (host/protocol.ts Call; the guest and host sides are in src/bindings/) —

  /** Each binding kind's platform side (src/bindings/platform.ts), opened at start. */
  private readonly bindingSides = new Map<string, BindingPlatform>();

  /** Durable objects' instances by key (`<version key>#<class>:<id>`), each its own "version" to the scheduler. */
  private readonly objects = new Map<string, LiveFunction>();

  /**
   * What serving durable object `id` of `className` takes: the function's live version with
   * a key of its own, so the scheduler gives the object an instance of its own, and a
   * storage binding that reaches that object's storage only.
   */
  private objectEntry(live: LiveFunction, className: string, id: string, name: string): LiveFunction {
    const base = `${live.key}#${className}:${id}`;
    const known = this.objects.get(base);
    if (known !== undefined) return known;
    // An object reset after a lost write gets an instance under a new key: the old one idles out unused.
    const resets = this.objectResets.get(base);
    const key = resets === undefined ? base : `${base}~${resets}`;
    const entry: LiveFunction = { ...live, key, target: { ...live.target, key }, route: { ...live.route, key }, object: { className, id, name } };
    // Objects idle out of the scheduler; their entries here are a bounded cache.
    if (this.objects.size >= 10_000) this.objects.delete(this.objects.keys().next().value!);
    this.objects.set(base, entry);
    return entry;
  }

  /** How many times each object was reset (bindings/do/platform.ts), by its key without them. */
  private readonly objectResets = new Map<string, number>();

  /** This node's name in its cluster (its data dir's on its own), set when its bindings open. */
  private selfName = "";

  /** Opens every binding kind's platform side with what the node offers them. */
  async openBindings(dataDir: string, options: BindingOptions, nats: NodeServices["nats"], self: string): Promise<void> {
    this.selfName = self;
    const node: NodeServices = {
      dataDir,
      self,
      forwardObject: (home, fn, className, id, name, request) => this.forwardObject(home, fn, className, id, name, request),
      resetObject: (fn, className, id) => {
        const live = this.live.get(fn);
        if (live === undefined) return;
        const key = `${live.key}#${className}:${id}`;
        this.objectResets.set(key, (this.objectResets.get(key) ?? 0) + 1);
        this.objects.delete(key);
      },
      clustered: nats !== undefined,
      nats,
      options,
      liveFunction: (name) => {
        const live = this.live.get(name);
        return live === undefined ? undefined : { tenant: live.record.tenant, route: live.target, handlers: live.version.settings.handlers ?? ["fetch"] };
      },
      functionTenant: async (name) => (await this.store.getFunction(name))?.tenant,
      submit: (submissions) => this.asyncQueue().submitAll(submissions),
      serve: (route, request) => collectResponse(this, route, request, randomUUID(), fetchLimits.maxResponseBytes, true),
      serveObject: (fn, className, id, name, request) => {
        const live = this.live.get(fn);
        if (live === undefined) throw new FlickError("function_not_found", `function "${fn}" was removed; its durable objects have nothing to run`);
        const entry = this.objectEntry(live, className, id, name);
        return collectResponse({ invoke: (_target, req, invocationId, writer, body, gone) => this.invokeLive(entry, req, invocationId, writer, body, gone) }, entry.target, request, randomUUID(), fetchLimits.maxResponseBytes, true);
      },
      maxServedBytes: fetchLimits.maxResponseBytes,
      traces: this.traces,
    };
    for (const kind of platformBindings) this.bindingSides.set(kind.kind, await kind.open(node));
  }

  /** Runs a durable object's request on its home node (bindings/do/object-homes.ts), buffered. */
  private async forwardObject(home: string, fn: string, className: string, id: string, name: string, request: WireRequest): Promise<ServedResponse> {
    const live = this.live.get(fn);
    if (live === undefined) throw new FlickError("function_not_found", `function "${fn}" was removed; its durable objects have nothing to run`);
    const unavailable = () => new FlickError("unavailable", `durable object ${className} ${id.slice(0, 12)}… lives on node "${home}", which does not answer now; its objects answer again once it is back`, {
      details: { retryAfterSeconds: 5 },
    });
    const url = this.nodes().find((n) => n.name === home)?.url;
    const calls = this.nodeCalls;
    if (url === undefined || calls === undefined) throw unavailable();
    const served = await collectResponse({
      invoke: async (_target, req, invocationId, writer) => {
        const outcome = await calls.invokeObject(url, fn, { className, id, name }, req, invocationId, writer);
        if (outcome === "not_taken") throw unavailable();
        return outcome;
      },
    }, live.target, request, randomUUID(), fetchLimits.maxResponseBytes, true);
    // A connection to the home that broke before any answer (it was just killed) is the home not answering.
    if (served.status === 0 && served.error?.code === "unavailable") throw unavailable();
    return served;
  }

  /** A durable object's request another node sent to this one, its home (node-calls.ts). */
  async objectHere(fn: string, object: { className: string; id: string; name: string }, request: WireRequest): Promise<ServedResponse> {
    const side = this.bindingSides.get("do");
    if (!(side instanceof DoPlatform)) throw new FlickError("unavailable", "durable objects are not open on this node (it is starting or stopping)");
    return side.serveHere(fn, object.className, object.id, object.name, request);
  }

  async closeBindings(): Promise<void> {
    for (const side of this.bindingSides.values()) await side.close();
    this.bindingSides.clear();
  }

  /**
   * A binding call from an instance: the kind's platform side answers it, for the caller's
   * tenant as the registry has it (the host's word is not taken for it).
   */
  async handleCall(call: Call): Promise<CallResult> {
    const side = this.bindingSides.get(call.kind);
    const caller = call.caller.slice(call.caller.indexOf("/") + 1);
    const tenant = this.live.get(caller)?.record.tenant;
    if (side === undefined || tenant === undefined || `${tenant}/${caller}` !== call.caller) {
      return { errorName: "TypeError", error: `no ${call.kind.slice(0, 32)} binding for ${call.caller.slice(0, 128)} on this node`, strings: [], buffers: [] };
    }
    return side.call(call, tenant);
  }

  /** At deploy: a binding's target is the tenant's to bind (its kind's check). */
  private checkBindingTarget(kind: string, tenant: string, fn: string, binding: string, target: string): Promise<void> {
    const side = this.bindingSides.get(kind);
    if (side === undefined) throw new FlickError("validation_failed", `no binding kind "${kind}" on this node`);
    return side.checkTarget(tenant, fn, binding, target);
  }

  /** Refuses to remove what a live function of `tenant` binds (that function would fail): names them and how to unbind. */
  private refuseWhileBound(tenant: string, kind: string, target: string, what: string): void {
    const bound = [...this.live.values()]
      .filter((l) => l.record.tenant === tenant && (l.version.settings.bindings ?? []).some((b) => b.kind === kind && b.target === target))
      .map((l) => l.record.name);
    if (bound.length === 0) return;
    const flag = bindingKinds.find((k) => k.kind === kind)?.flag ?? `${kind}-binding`;
    const them = bound.length === 1 ? "it" : "them";
    throw new FlickError("validation_failed", `${what} is bound by ${bound.map((n) => `"${n}"`).join(", ")}; deploy ${them} without the binding (\`flick deploy --unset ${flag}.NAME\`) or remove ${them} first`);
  }

  // — KV namespaces (bindings/kv/): what `flick kv` does —

  private kvSide(): KvPlatform {
    const side = this.bindingSides.get("kv");
    if (!(side instanceof KvPlatform)) throw new FlickError("unavailable", "KV is not open on this node (it is starting or stopping)");
    return side;
  }

  /**
   * The tenant a KV command acts for: a tenant token's own (naming another is refused), the
   * one the admin names, else the default tenant; undefined for the admin listing every tenant's.
   */
  private async kvTenant(who: Principal, tenant: string | undefined, all = false, what = "KV namespaces"): Promise<string | undefined> {
    if (who.role === "tenant") {
      if (tenant !== undefined && tenant !== who.tenant) throw new FlickError("forbidden", `your token acts for tenant "${who.tenant}"; it cannot reach tenant "${tenant}"'s ${what}`);
      return who.tenant;
    }
    if (tenant === undefined) return all ? undefined : defaultTenant;
    if ((await this.store.getTenant(tenant)) === undefined) throw new FlickError("tenant_not_found", `tenant "${tenant}" does not exist; \`flick tenants ls\` lists them`);
    return tenant;
  }

  async kvNamespaces(who: Principal, tenant: string | undefined): Promise<KvNamespaceInfo[]> {
    return this.kvSide().namespaces(await this.kvTenant(who, tenant, true));
  }

  async kvCreate(who: Principal, tenant: string | undefined, name: string): Promise<KvNamespaceInfo> {
    return this.kvSide().create((await this.kvTenant(who, tenant))!, name);
  }

  /** Removes a namespace and its keys, unless a live function binds it (that function would fail). */
  async kvRemove(who: Principal, tenant: string | undefined, name: string): Promise<void> {
    const owner = (await this.kvTenant(who, tenant))!;
    this.refuseWhileBound(owner, "kv", name, `KV namespace "${name}"`);
    await this.kvSide().remove(owner, name);
  }

  async kvKeys(who: Principal, tenant: string | undefined, name: string, prefix: string, cursor: string | null, limit: number): Promise<unknown> {
    return this.kvSide().keys((await this.kvTenant(who, tenant))!, name, prefix, cursor, limit);
  }

  async kvGet(who: Principal, tenant: string | undefined, name: string, key: string): Promise<{ value: Uint8Array; metadata: unknown; expiration: number | null }> {
    return this.kvSide().get((await this.kvTenant(who, tenant))!, name, key);
  }

  async kvPut(who: Principal, tenant: string | undefined, name: string, entries: KvBulkEntry[]): Promise<number> {
    return this.kvSide().put((await this.kvTenant(who, tenant))!, name, entries);
  }

  async kvDelete(who: Principal, tenant: string | undefined, name: string, keys: string[]): Promise<void> {
    await this.kvSide().delete((await this.kvTenant(who, tenant))!, name, keys);
  }

  // — SQL databases (bindings/sql/): what `flick db` does —

  private sqlSide(): SqlPlatform {
    const side = this.bindingSides.get("sql");
    if (!(side instanceof SqlPlatform)) throw new FlickError("unavailable", "SQL is not open on this node (it is starting or stopping)");
    return side;
  }

  private sqlTenant(who: Principal, tenant: string | undefined, all = false): Promise<string | undefined> {
    return this.kvTenant(who, tenant, all, "SQL databases");
  }

  async sqlDatabases(who: Principal, tenant: string | undefined): Promise<SqlDatabaseInfo[]> {
    return this.sqlSide().databases(await this.sqlTenant(who, tenant, true));
  }

  async sqlCreate(who: Principal, tenant: string | undefined, name: string): Promise<SqlDatabaseInfo> {
    return this.sqlSide().create((await this.sqlTenant(who, tenant))!, name);
  }

  /** Removes a database and its file, unless a live function binds it. */
  async sqlRemove(who: Principal, tenant: string | undefined, name: string): Promise<void> {
    const owner = (await this.sqlTenant(who, tenant))!;
    this.refuseWhileBound(owner, "sql", name, `SQL database "${name}"`);
    await this.sqlSide().remove(owner, name);
  }

  async sqlQuery(who: Principal, tenant: string | undefined, name: string, sql: string): Promise<SqlQueryResult[]> {
    return this.sqlSide().query((await this.sqlTenant(who, tenant))!, name, sql);
  }

  async sqlMigrate(who: Principal, tenant: string | undefined, name: string, migrations: { name: string; sql: string }[]): Promise<string[]> {
    return this.sqlSide().migrate((await this.sqlTenant(who, tenant))!, name, migrations);
  }

  async sqlExport(who: Principal, tenant: string | undefined, name: string): Promise<string> {
    return this.sqlSide().export((await this.sqlTenant(who, tenant))!, name);
  }

  // — scaling —

  async scale(who: Principal, name: string, change: ScaleRequest): Promise<FunctionInfo> {
    const fn = await this.owned(who, name);
    // Merged, checked against the tenant's provisioned quotas and stored in one transaction,
    // only if the function is still that tenant's.
    const now = Date.now();
    const changed = await this.store.setScale(name, fn.tenant, change, now);
    if (changed === undefined) throw new FlickError("function_not_found", `function "${name}" was removed while scaling it; \`flick ls\` lists yours`);
    await this.setLive(changed.fn, changed.version, await this.code.of(changed.version));
    this.tick(now);
    return this.info(changed.fn, changed.version);
  }

  /** Admin only: a tenant's limits (requests in flight, provisioned quotas); null goes back to the node's default. */
  /** Tenants' own queue quotas, kept in memory: the queue asks inside its enqueue transaction. */
  private readonly queueQuotas = new Map<string, { maxQueueMessages: number | null; maxQueueMiB: number | null }>();

  /** A tenant's async queue quota: its own where set, else the node's. */
  queueQuotaOf(tenant: string, node: { maxMessages: number; maxBytes: number }): { maxMessages: number; maxBytes: number } {
    const own = this.queueQuotas.get(tenant);
    if (own === undefined) return node;
    return {
      maxMessages: own.maxQueueMessages ?? node.maxMessages,
      maxBytes: own.maxQueueMiB === null ? node.maxBytes : own.maxQueueMiB * 1024 * 1024,
    };
  }

  private rememberQueueQuota(record: TenantRecord): void {
    if ((record.maxQueueMessages ?? null) === null && (record.maxQueueMiB ?? null) === null) this.queueQuotas.delete(record.name);
    else this.queueQuotas.set(record.name, { maxQueueMessages: record.maxQueueMessages ?? null, maxQueueMiB: record.maxQueueMiB ?? null });
  }

  async updateTenant(who: Principal, tenant: string, change: TenantUpdateRequest): Promise<TenantInfo> {
    if (who.role !== "admin") throw new FlickError("forbidden", "only the node's admin token can change a tenant's limits");
    const record = await this.store.updateTenant(tenant, change);
    if (record === undefined) throw new FlickError("tenant_not_found", `tenant "${tenant}" does not exist; \`flick tenants ls\` lists them`);
    if (change.concurrency !== undefined) this.budgets.setLimit(tenant, change.concurrency ?? this.options.tenantConcurrency);
    this.rememberQueueQuota(record);
    return this.tenantInfo(record);
  }
}
