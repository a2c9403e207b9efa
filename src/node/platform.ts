/**
 * The node's services behind the admin API and the gateway: who may do what, deploys,
 * versions, logs and invocations. It composes the store, the scheduler (control/) and
 * the worker host supervisor; it keeps the live registry in memory so function traffic
 * never waits on storage.
 */
import { EventEmitter } from "node:events";
import { existsSync } from "node:fs";
import type {
  ApiBackend, CreateTenantResponse, DeployRequest, DeployResponse, FunctionInfo, FunctionStats, InvocationInfo, InvokeRequest, InvokeResponse,
  LogsQuery, Principal, ScaleRequest, SettingsView, TenantInfo, TenantUpdateRequest, VersionInfo,
} from "../api/index.ts";
import { bundleHash, scriptForm, scriptFormMinBytes, versionId } from "../build/index.ts";
import { Scheduler, type FunctionPolicy, type InstanceRef, type KeepAliveSpec } from "../control/index.ts";
import { FlickError } from "../errors/index.ts";
import type { ErrorData } from "../errors/index.ts";
import type { GatewayBackend, ResponseWriter, RouteTarget } from "../gateway/index.ts";
import type { Call, CallResult, ClientGone, InstanceSpec, Supervisor, WireLogLine, WireRequest } from "../host/index.ts";
import { defaultScale, limits, type FunctionRecord, type FunctionSettings, type LogLine, type TenantRecord, type VersionRecord } from "../model/index.ts";
import { parseCron, type AsyncQueue, type CronRunner, type CronTrigger, type RetrySettings } from "../queue/index.ts";
import type { NewLogLine, Store } from "../store/index.ts";
import { invocationInfo, payloadOf } from "./async-invocations.ts";
import { runBindingCall } from "./binding-calls.ts";
import { bindingSettings, cronSettings } from "./deploy-settings.ts";
import type { SecretBox } from "./secrets.ts";
import { hashToken, mintToken } from "./tokens.ts";

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
}

export const defaultTenant = "default";

/** `flick info` latencies: the last 1,024 requests per function within the last 5 minutes. */
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
}

export class Platform implements ApiBackend, GatewayBackend {
  publicUrl = "";
  private readonly options: PlatformOptions;
  /** Requests waiting for a slot (queue wait), woken when any slot frees. */
  private slotWaiters: (() => void)[] = [];
  private readonly live = new Map<string, LiveFunction>();
  private readonly stats = new Map<string, Stats>();
  private readonly logEvents = new EventEmitter();
  private readonly store: Store;
  private readonly supervisor: Supervisor;
  private readonly scheduler: Scheduler;
  private readonly secrets: SecretBox;
  /** Async invocations (queue/); attached by the node once both exist. */
  private queue: AsyncQueue | undefined;
  private cron: CronRunner | undefined;

  constructor(store: Store, supervisor: Supervisor, scheduler: Scheduler, secrets: SecretBox, options: PlatformOptions = { queueWaitMs: 0, idleTtlMs: 10 * 60 * 1000, tenantConcurrency: 1000 }) {
    this.options = options;
    this.store = store;
    this.supervisor = supervisor;
    this.scheduler = scheduler;
    this.secrets = secrets;
    this.logEvents.setMaxListeners(0);
  }

  /** Loads every live function into memory (at start). */
  async load(): Promise<void> {
    if ((await this.store.getTenant(defaultTenant)) === undefined) {
      await this.store.createTenant({ name: defaultTenant, createdAtMs: Date.now() });
    }
    for (const tenant of await this.store.listTenants()) {
      if (tenant.concurrency !== null && tenant.concurrency !== undefined) this.scheduler.setTenantLimit(tenant.name, tenant.concurrency);
    }
    for (const fn of await this.store.listFunctions()) {
      const version = await this.store.getVersion(fn.name, fn.liveVersion);
      if (version !== undefined) this.setLive(fn, version);
    }
  }

  private setLive(record: FunctionRecord, version: VersionRecord): void {
    this.drop(this.scheduler.configure(this.policyOf(record, version)));
    const env: string[] = [];
    for (const [k, v] of Object.entries(version.settings.env)) env.push(k, v);
    if (version.sealedSecrets !== null) for (const [k, v] of Object.entries(this.secrets.open(version.sealedSecrets))) env.push(k, v);
    this.live.set(record.name, {
      target: { name: record.name, tenant: record.tenant, private: version.settings.private },
      record,
      version,
      fn: `${record.tenant}/${record.name}`,
      key: `${record.tenant}/${record.name}@${version.id}`,
      bundlePath: this.store.bundlePath(version.bundleHash),
      scriptPath: existsSync(this.store.scriptPath(version.bundleHash)) ? this.store.scriptPath(version.bundleHash) : undefined,
      env,
      wasm: Object.fromEntries(version.wasm.map((hash) => [hash, this.store.wasmPath(hash)])),
    });
    this.cron?.setTriggers(this.cronTriggers());
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
      minInstances: scale.minInstances,
      ...(scale.maxInstances === null ? {} : { maxInstances: scale.maxInstances }),
      ...(Object.keys(scale.pin).length > 0 ? { pin: scale.pin } : {}),
      ...(Object.keys(scale.avoid).length > 0 ? { avoid: scale.avoid } : {}),
      ...(keepAlive === undefined ? {} : { keepAlive }),
    };
  }

  private drop(refs: readonly InstanceRef[]): void {
    for (const { instance, host } of refs) this.supervisor.drop(host, instance);
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
      memoryMiB: settings.memoryMiB, timeoutMs: settings.timeoutMs, env: settings.env, secretNames: settings.secretNames, private: settings.private,
      retries: settings.retries ?? limits.retries.default, maxEventAgeMs: settings.maxEventAgeMs ?? limits.maxEventAgeMs.default,
      crons: settings.crons ?? [], timeZone: settings.cronTimeZone ?? "UTC", cronMissed: settings.cronMissed ?? "once",
      handlers: settings.handlers ?? ["fetch"],
      serviceBindings: Object.fromEntries((settings.bindings ?? []).filter((b) => b.kind === "service").map((b) => [b.name, b.target])),
      queueBindings: Object.fromEntries((settings.bindings ?? []).filter((b) => b.kind === "queue").map((b) => [b.name, b.target])),
    };
  }

  private info(fn: FunctionRecord, version: VersionRecord): FunctionInfo {
    return {
      name: fn.name,
      tenant: fn.tenant,
      liveVersion: fn.liveVersion,
      url: `${this.publicUrl}/fn/${fn.name}`,
      settings: this.view(version.settings),
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

  private record(fn: string, what: { latencyMs?: number; cold?: boolean; throttled?: boolean; codeCache?: "hit" | "miss" | "module" }): void {
    let stats = this.stats.get(fn);
    if (stats === undefined) {
      stats = { invocations: 0, coldStarts: 0, codeCacheHits: 0, codeCacheMisses: 0, throttled: 0, latencies: new Float64Array(statsSamples), times: new Float64Array(statsSamples), next: 0 };
      this.stats.set(fn, stats);
    }
    if (what.throttled === true) stats.throttled++;
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

  async deploy(who: Principal, name: string, request: DeployRequest): Promise<DeployResponse> {
    let tenant: string;
    if (who.role === "admin") tenant = request.tenant ?? defaultTenant;
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
    const secrets = request.secrets ?? {};
    const env = request.env ?? {};
    const clash = Object.keys(secrets).find((k) => k in env);
    if (clash !== undefined) throw new FlickError("validation_failed", `"${clash}" is both an env var and a secret; give it one role`);
    const settings: FunctionSettings = {
      memoryMiB: request.memoryMiB ?? limits.memoryMiB.default,
      timeoutMs: request.timeoutMs ?? limits.timeoutMs.default,
      env: Object.fromEntries(Object.entries(env).sort(([a], [b]) => (a < b ? -1 : 1))),
      secretNames: Object.keys(secrets).sort(),
      private: request.private ?? false,
      // Only when set, so a version made before these settings existed keeps its id.
      ...(request.retries === undefined ? {} : { retries: request.retries }),
      ...(request.maxEventAgeMs === undefined ? {} : { maxEventAgeMs: request.maxEventAgeMs }),
      ...cronSettings(request),
      ...(await bindingSettings(request, tenant, name, env, secrets, (fn) => this.store.getFunction(fn))),
    };
    const id = versionId(request.code, JSON.stringify(settings), settings.secretNames.length === 0 ? "" : this.secrets.digest(secrets));
    if (existing !== undefined && existing.liveVersion === id) {
      const version = (await this.store.getVersion(name, id))!;
      return { function: this.info(existing, version), version: id, changed: false };
    }
    const wasm: Record<string, Uint8Array> = {};
    let wasmBytes = 0;
    for (const [hash, base64] of Object.entries(request.wasm ?? {})) {
      const bytes = new Uint8Array(Buffer.from(base64, "base64"));
      if (bundleHash(bytes) !== hash) throw new FlickError("validation_failed", `wasm.${hash}: the bytes do not hash to their key; send each module under its SHA-256`);
      wasm[hash] = bytes;
      wasmBytes += bytes.byteLength;
    }
    if (Buffer.byteLength(request.code) + wasmBytes > limits.bundleMaxBytes) {
      throw new FlickError("validation_failed", `code and wasm: the bundle is ${Buffer.byteLength(request.code) + wasmBytes} bytes, over the ${limits.bundleMaxBytes}-byte limit`);
    }
    const hash = bundleHash(request.code);
    // What hosts will run: the script form, from a V8 code cache, when the module is big enough to gain.
    const script = Buffer.byteLength(request.code) >= scriptFormMinBytes ? await scriptForm(request.code) : null;
    const checked = await this.supervisor.validate(
      request.code, `${tenant}/${name}.js`, wasm,
      script === null ? undefined : { code: script, path: this.store.scriptPath(hash) },
    );
    if (checked.error !== null) throw FlickError.fromData(checked.error);
    // What the module exports decides how queue messages reach it (after the id: derived from the code).
    settings.handlers = checked.handlers;

    const now = Date.now();
    await this.store.putBundle(hash, request.code);
    if (script !== null && checked.scriptOk) await this.store.putScript(hash, script);
    for (const [wasmHash, bytes] of Object.entries(wasm)) await this.store.putWasm(wasmHash, bytes);
    const version: VersionRecord = (await this.store.getVersion(name, id)) ?? {
      function: name,
      id,
      bundleHash: hash,
      bundleBytes: Buffer.byteLength(request.code),
      settings,
      sealedSecrets: settings.secretNames.length === 0 ? null : this.secrets.seal(secrets),
      createdAtMs: now,
      wasm: Object.keys(wasm).sort(),
    };
    // A new version keeps how the function scales (`flick scale` is about the function): the
    // store returns the record as committed, its scale included.
    const record = await this.store.deploy({ name, tenant, liveVersion: id, createdAtMs: existing?.createdAtMs ?? now, updatedAtMs: now }, version);
    this.setLive(record, version);
    return { function: this.info(record, version), version: id, changed: true };
  }

  async listFunctions(who: Principal): Promise<FunctionInfo[]> {
    const tenant = Platform.tenantOf(who);
    const fns = await this.store.listFunctions(tenant ?? undefined);
    return fns.flatMap((fn) => {
      const live = this.live.get(fn.name);
      return live === undefined ? [] : [this.info(fn, live.version)];
    });
  }

  async getFunction(who: Principal, name: string): Promise<FunctionInfo> {
    const fn = await this.owned(who, name);
    const version = await this.store.getVersion(name, fn.liveVersion);
    if (version === undefined) throw new FlickError("internal", `function "${name}" points at a missing version ${fn.liveVersion}`);
    const info = this.info(fn, version);
    if (this.queue !== undefined) info.invocations = await this.queue.counts(name);
    if (this.cron !== undefined && (version.settings.crons?.length ?? 0) > 0) info.cron = this.cron.upcoming(name, 3);
    return info;
  }

  async removeFunction(who: Principal, name: string): Promise<void> {
    const fn = await this.owned(who, name);
    // Only if it is still that tenant's: the name may have been removed and taken meanwhile.
    if (!(await this.store.removeFunction(name, fn.tenant))) throw new FlickError("function_not_found", `no function named "${name}"; \`flick ls\` lists yours`);
    this.live.delete(name);
    await this.queue?.removeFunction(name);
    this.cron?.setTriggers(this.cronTriggers());
    this.drop(this.scheduler.remove(`${fn.tenant}/${name}`));
    this.stats.delete(`${fn.tenant}/${name}`);
  }

  async listVersions(who: Principal, name: string): Promise<VersionInfo[]> {
    const fn = await this.owned(who, name);
    return (await this.store.listVersions(name)).map((v) => ({
      id: v.id,
      createdAtMs: v.createdAtMs,
      bundleBytes: v.bundleBytes,
      live: v.id === fn.liveVersion,
      settings: this.view(v.settings),
    }));
  }

  async rollback(who: Principal, name: string, to: string | undefined): Promise<FunctionInfo> {
    const fn = await this.owned(who, name);
    const versions = await this.store.listVersions(name);
    let target: VersionRecord | undefined;
    if (to !== undefined) {
      target = versions.find((v) => v.id === to);
      if (target === undefined) throw new FlickError("version_not_found", `function "${name}" has no version ${to}; \`flick versions ${name}\` lists them`);
    } else {
      const liveIndex = versions.findIndex((v) => v.id === fn.liveVersion);
      target = versions[liveIndex + 1];
      if (target === undefined) throw new FlickError("bad_request", `function "${name}" has no version older than the live one (${fn.liveVersion}) to roll back to`);
    }
    const record = await this.store.setLiveVersion(name, fn.tenant, target.id, Date.now());
    if (record === undefined) throw new FlickError("function_not_found", `function "${name}" was removed or redeployed while rolling back; \`flick versions ${name}\` lists its versions now`);
    this.setLive(record, target);
    return this.info(record, target);
  }

  // — logs —

  async readLogs(who: Principal, name: string, query: LogsQuery): Promise<LogLine[]> {
    await this.owned(who, name);
    return this.store.readLogs({ function: name, ...query });
  }

  async followLogs(who: Principal, name: string, onLines: (lines: LogLine[]) => void): Promise<() => void> {
    await this.owned(who, name);
    this.logEvents.on(name, onLines);
    return () => this.logEvents.off(name, onLines);
  }

  private async appendLogs(lines: NewLogLine[]): Promise<void> {
    const stored = await this.store.appendLogs(lines);
    if (stored.length > 0 && this.logEvents.listenerCount(stored[0]!.function) > 0) this.logEvents.emit(stored[0]!.function, stored);
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
      provisioned: await this.store.provisioned(record.name),
    };
  }

  // — function traffic —

  resolve(name: string): RouteTarget | undefined {
    return this.live.get(name)?.target;
  }

  async invoke(
    target: RouteTarget,
    request: WireRequest,
    invocationId: string,
    writer: ResponseWriter,
    body?: AsyncIterable<Uint8Array>,
    clientGone?: ClientGone,
  ): Promise<{ error: ErrorData | null }> {
    const live = this.live.get(target.name);
    if (live === undefined) return { error: { code: "function_not_found", message: `function "${target.name}" was removed` } };
    request.invocationId = invocationId;
    const store = (logs: WireLogLine[]) =>
      this.appendLogs(logs.map(([timeMs, level, message]) => ({ timeMs, level, message, function: live.record.name, tenant: live.record.tenant, invocationId })));
    // Sink events are applied in order; log lines that come with the end of the body are
    // stored before the client sees that end, so a line whose effect was seen is never lost.
    // Without log lines to store first (the common case), events go straight to the writer.
    let chain: Promise<void> | undefined;
    const then = (logs: WireLogLine[], write: () => void) => {
      if (chain === undefined && logs.length === 0) return write();
      chain = (chain ?? Promise.resolve())
        .then(async () => {
          if (logs.length > 0) await store(logs);
          write();
        })
        .catch((err: unknown) => process.emitWarning(`flick: writing a response failed: ${String(err)}`));
    };
    const fnKey = live.fn;
    const started = performance.now();
    let placement;
    try {
      placement = await this.slot(live);
    } catch (err) {
      this.record(fnKey, { throttled: true });
      throw err;
    }
    let result;
    try {
      result = await this.supervisor.invoke(
        placement.host,
        this.specOf(live, placement.instance),
        request,
        {
          head: (status, headers, body, end, logs, cold) => then(logs, () => writer.head(status, headers, body, end, cold)),
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
    this.record(fnKey, { latencyMs: performance.now() - started, cold: result.cold, ...(result.codeCache === undefined ? {} : { codeCache: result.codeCache }) });
    if (result.memoryMiB !== undefined) this.scheduler.reportMemory(placement.instance, result.memoryMiB);
    if (chain !== undefined) await chain;
    if (result.logs.length > 0) await store(result.logs);
    return { error: result.error };
  }

  /**
   * A slot for one request, or the 429 that says why not. Over a limit, the request may
   * wait up to the node's queue wait for a slot to free (never longer: no hangs).
   */
  private async slot(live: LiveFunction): Promise<{ instance: string; host: number; cold: boolean }> {
    const fn = live.fn;
    const deadline = Date.now() + this.options.queueWaitMs;
    for (;;) {
      const got = this.scheduler.acquire(fn, live.key, Date.now());
      this.drop(got.evicted);
      if (got.ok) return got;
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
    return {
      instance,
      function: live.fn,
      versionId: live.version.id,
      bundlePath: live.bundlePath,
      ...(live.scriptPath === undefined ? {} : { scriptPath: live.scriptPath }),
      memoryMiB: live.version.settings.memoryMiB,
      timeoutMs: live.version.settings.timeoutMs,
      env: live.env,
      wasm: live.wasm,
      ...(live.version.settings.bindings === undefined ? {} : { bindings: live.version.settings.bindings }),
    };
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

  async invokeAsync(who: Principal, name: string, request: InvokeRequest, idempotencyKey: string | null): Promise<InvokeResponse> {
    const fn = await this.owned(who, name);
    const { payload, contentType } = payloadOf(request);
    const queued = await this.asyncQueue().submit({ function: name, tenant: fn.tenant, kind: "fetch", payload, contentType, idempotencyKey });
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
    await this.owned(who, name);
    return (await this.asyncQueue().listDead(name, limit)).map(invocationInfo);
  }

  async replayDead(who: Principal, name: string, ids: string[] | null): Promise<string[]> {
    await this.owned(who, name);
    return this.asyncQueue().replay(name, ids);
  }

  // — bindings (host/protocol.ts Call; the guest side is runtime/guest/bindings.ts) —

  /** A binding call from an instance (service fetch, queue send): node/binding-calls.ts. */
  handleCall(call: Call): Promise<CallResult> {
    return runBindingCall(call, {
      target: (name) => {
        const live = this.live.get(name);
        return live === undefined ? undefined : { tenant: live.record.tenant, route: live.target, handlers: live.version.settings.handlers ?? ["fetch"] };
      },
      submit: (submissions) => this.asyncQueue().submitAll(submissions),
      invoke: (...args) => this.invoke(...args),
    });
  }

  // — scaling —

  async scale(who: Principal, name: string, change: ScaleRequest): Promise<FunctionInfo> {
    const fn = await this.owned(who, name);
    // Merged, checked against the tenant's provisioned quotas and stored in one transaction,
    // only if the function is still that tenant's.
    const now = Date.now();
    const changed = await this.store.setScale(name, fn.tenant, change, now);
    if (changed === undefined) throw new FlickError("function_not_found", `function "${name}" was removed while scaling it; \`flick ls\` lists yours`);
    this.setLive(changed.fn, changed.version);
    this.tick(now);
    return this.info(changed.fn, changed.version);
  }

  /** Admin only: a tenant's limits (requests in flight, provisioned quotas); null goes back to the node's default. */
  async updateTenant(who: Principal, tenant: string, change: TenantUpdateRequest): Promise<TenantInfo> {
    if (who.role !== "admin") throw new FlickError("forbidden", "only the node's admin token can change a tenant's limits");
    const record = await this.store.updateTenant(tenant, change);
    if (record === undefined) throw new FlickError("tenant_not_found", `tenant "${tenant}" does not exist; \`flick tenants ls\` lists them`);
    if (change.concurrency !== undefined) this.scheduler.setTenantLimit(tenant, change.concurrency ?? this.options.tenantConcurrency);
    return this.tenantInfo(record);
  }
}
