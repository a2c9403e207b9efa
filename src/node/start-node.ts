/**
 * The composition root: one Flick node on the embedded default (SQLite store, worker
 * host processes on this machine). The worker hosts serve the node's port — `/fn/`
 * traffic they run themselves, the rest they pass to this process (the primary), which
 * keeps the control plane: admin API, store, scheduler, admission budgets, async queue
 * and cron, on a private socket in the data dir.
 */
import { createHash } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { createServer as createNetServer } from "node:net";
import { availableParallelism, hostname, networkInterfaces, tmpdir, totalmem } from "node:os";
import * as path from "node:path";
import { defaultBindingOptions } from "../bindings/platform.ts";
import { apiPrefix, createApiHandler, sendError, sendJson } from "../api/index.ts";
import { Scheduler, schedulerDefaults, TenantBudget, type PlacementPolicy } from "../control/index.ts";
import { FlickError } from "../errors/index.ts";
import { createGateway, functionPrefix } from "../gateway/index.ts";
import { EgressPolicy, relayHeader, type AccessLogFormat } from "../host/index.ts";
import { limits } from "../model/index.ts";
import { AsyncQueue, CronRunner, defaultBackoff, defaultQueueQuota } from "../queue/index.ts";
import type { NodeInfo } from "../model/index.ts";
import { defaultTenantQuotas, SqliteQueue, SqliteStore, type QueueQuota, type QueueStore, type Store, type TenantQuotas } from "../store/index.ts";
import { AdmissionBudgets } from "./admission-budgets.ts";
import { CodeFiles } from "./code-files.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { runAttempt, runBatch } from "./async-invocations.ts";
import { Platform } from "./platform.ts";
import { Supervisor } from "./supervisor.ts";
import { SecretBox } from "./secrets.ts";
import { patiently } from "./patiently.ts";
import { ClusterView } from "./cluster-view.ts";
import { NodeCalls, nodeCallPath } from "./node-calls.ts";
import { ensureAdminToken } from "./tokens.ts";
import { listenMetrics, metricsRoute, nodeMetrics } from "./metrics-endpoint.ts";
import { startOtlpExport, TraceSink, type OtlpExport } from "../telemetry/index.ts";
import { createDashboardHandler, dashboardPrefix } from "../dashboard/index.ts";
import { RollupRecorder } from "./rollup-recorder.ts";

export interface NodeOptions {
  dataDir: string;
  /** 0 = any free port. */
  port: number;
  host?: string;
  /** Worker host processes (default: the number of cores). */
  hosts?: number;
  concurrency?: number;
  idleTtlMs?: number;
  /** Addresses, CIDR ranges or host names functions may fetch despite the default egress rules. */
  egressAllow?: string[];
  /** Memory each worker host may fill with instances, MiB (default: 3/4 of RAM shared by the hosts). */
  hostMemoryMiB?: number;
  /** Isolates one worker host holds at most (default 10,000). */
  hostSlots?: number;
  /** This node's labels (`zone=a`): functions may pin to or avoid them. */
  labels?: Record<string, string>;
  /** Where the other nodes of a cluster reach this one (`--advertise`); default from `host` and the port. */
  advertise?: string;
  placement?: PlacementPolicy;
  /** `fixed` (the idle TTL) or `hybrid` (histogram pre-warm and keep-alive). */
  keepAlive?: "fixed" | "hybrid";
  /** A tenant's requests in flight (default 1000). */
  tenantConcurrency?: number;
  /** A host serves one tenant at a time. */
  tenantAntiAffinity?: boolean;
  /** How long a request over a limit may wait for a slot before its 429 (default 0). */
  queueWaitMs?: number;
  /**
   * This node's name (default: the machine's host name): who holds the leases of the async
   * attempts it runs, so that when it starts again it takes back what it was running.
   */
  nodeName?: string;
  /**
   * A file with the key that seals secrets and signs code caches (32 bytes: raw, hex or
   * base64). Default: `secret.key` in the data dir, made on first start. A cluster's nodes
   * share one.
   */
  secretKeyFile?: string;
  /**
   * NATS servers of a cluster (`flick up --cluster`): the registry, code and usage are kept
   * in their JetStream, shared with every node of the cluster (docs/cluster.md). Absent: the
   * embedded single node, everything in the data dir.
   */
  cluster?: string[];
  /** Copies of each JetStream bucket (default 3; 1 for a single NATS server). */
  clusterReplicas?: number;
  /** Async attempts running at once (default 64). */
  asyncConcurrency?: number;
  /** Lease of a running async attempt, renewed every third of it while the attempt runs, ms (default 60 s). */
  asyncLeaseMs?: number;
  /** First backoff after a failed async attempt, ms (default 1 s; then doubling, with jitter). */
  retryBackoffMs?: number;
  /** On stop (SIGTERM), how long in-flight requests and async attempts get to finish, ms (default 10 s). */
  shutdownGraceMs?: number;
  /** What each tenant may have in the async queue, queued or running (default 100,000 messages, 256 MiB of payload). */
  queueQuota?: Partial<QueueQuota>;
  /** What each tenant may store in KV, MiB (default 1024). */
  kvQuotaMiB?: number;
  /** What each tenant's durable objects may store on this node, MiB (default 1024). */
  doQuotaMiB?: number;
  /** A SQL database's size limit, MiB (default 500), and one SQL call's time limit, ms (default 30 s). */
  sqlMaxMiB?: number;
  /** What all of each tenant's SQL databases may hold on this node, MiB (default 1024). */
  sqlQuotaMiB?: number;
  sqlTimeoutMs?: number;
  /** SQL runner processes (default 2). */
  sqlRunners?: number;
  /**
   * What each tenant may hold (store/store.ts defaultTenantQuotas): provisioned instances and
   * memory (per tenant: `flick tenants set`), and log lines and bytes kept.
   */
  tenantQuotas?: Partial<TenantQuotas>;
  /** Open client connections the node accepts at once, over all hosts (default: 10,000, within the file-descriptor limit). */
  maxConnections?: number;
  /** A request's headers must arrive within this, ms (default 10 s). */
  headersTimeoutMs?: number;
  /** Access lines on the node's output, one per function request: text (default), json, or off. */
  accessLog?: AccessLogFormat;
  /** `host:port` of a listener serving /metrics without a token (else /metrics on the node's port, admin token only). */
  metricsListen?: string;
  /** An OTLP/HTTP collector's base URL: spans and function log lines are exported there (telemetry/otlp-export.ts). */
  otlpEndpoint?: string;
  /** The share of new traces recorded, 0…1 (default 0.01); a caller's sampled `traceparent` is followed, within `traceMaxRate`. */
  traceSample?: number;
  /** Invocations recorded per second at most, node-wide (default 1,000; 0: no cap). */
  traceMaxRate?: number;
}

/**
 * The key that seals secrets: the operator's file, else the data dir's own. It must be the
 * one the store's secrets were sealed with (the store keeps its fingerprint); a data dir
 * from before fingerprints were kept had its own key seal what it holds.
 */
async function sealingKeyOf(store: Store, dataDir: string, keyFile: string | undefined): Promise<SecretBox> {
  const own = SecretBox.existingIn(dataDir);
  const known = await store.sealingKey();
  if (keyFile === undefined && own === undefined && known !== undefined) {
    throw new FlickError(
      "bad_request",
      `the secrets this node stores were sealed with key ${known}, and the data dir has no secret.key: start it with that key (--secret-key-file, the same file on every node), or restore secret.key from a backup`,
    );
  }
  const secrets = keyFile === undefined ? own ?? SecretBox.ofDataDir(dataDir) : SecretBox.ofFile(keyFile);
  const kept = known ?? (await store.sealingKey((own ?? secrets).fingerprint));
  if (kept !== secrets.fingerprint) {
    throw new FlickError(
      "bad_request",
      `the secrets this node stores were sealed with key ${kept}, and ${secrets.source} is key ${secrets.fingerprint}: it could open none of them. Start it with the key that sealed them (--secret-key-file, the same file on every node)${keyFile === undefined ? "" : ", or without --secret-key-file to use the data dir's own secret.key"}`,
    );
  }
  return secrets;
}

/** This package's version: the `service.version` of exported telemetry. */
const flickVersion = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** `--trace-sample` when not given: 1 % of new traces (a caller's sampled traceparent is always followed). */
export const defaultTraceSample = 0.01;

/** `--trace-max-rate` when not given: at most 1,000 recorded invocations a second per node. */
export const defaultTraceMaxRate = 1000;

export interface RunningNode {
  url: string;
  port: number;
  dataDir: string;
  adminToken: string;
  platform: Platform;
  supervisor: Supervisor;
  /** Stops taking work, gives in-flight work the shutdown grace, then stops everything. */
  stop(graceMs?: number): Promise<void>;
}

/** The soft limit on open files of this process, from /proc (Linux); undefined elsewhere. */
function openFilesLimit(): number | undefined {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/**
 * Connections the node takes at once: what was asked, or 10,000, kept below what the
 * file-descriptor limit allows each host (a host needs descriptors for files, pipes and
 * outbound fetches too).
 */
function connectionCap(asked: number | undefined, hosts: number): number {
  const perHostFds = openFilesLimit();
  const wanted = Math.ceil((asked ?? 10_000) / hosts);
  return perHostFds === undefined ? wanted : Math.max(16, Math.min(wanted, perHostFds - 256));
}

/** Memory each worker host may fill with instances: what was asked, or 3/4 of RAM shared by the hosts. */
function hostMemoryMiB(options: NodeOptions, hosts: number): number {
  return options.hostMemoryMiB ?? Math.floor((totalmem() / 2 ** 20) * 0.75 / hosts);
}

/** A path for the primary's private socket: in the data dir unless that path is too long for a socket. */
function socketPath(dataDir: string): string {
  const inDir = path.join(dataDir, "primary.sock");
  if (Buffer.byteLength(inDir) < 100) return inDir;
  return path.join(tmpdir(), `flick-${createHash("sha256").update(dataDir).digest("hex").slice(0, 16)}.sock`);
}

/** Checks the port is free (and picks one for port 0); the hosts then share it with SO_REUSEPORT. */
function reservePort(port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new FlickError(
          "unavailable",
          err.code === "EADDRINUSE"
            ? `port ${port} on ${host} is already in use (another flick up?); stop it or pass --port 0 for any free port`
            : `cannot listen on ${host}:${port} (${err.code ?? String(err)})`,
        ),
      ),
    );
    probe.listen({ port, host, exclusive: true }, () => {
      const address = probe.address();
      const chosen = typeof address === "object" && address !== null ? address.port : port;
      probe.close(() => resolve(chosen));
    });
  });
}

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const dataDir = path.resolve(options.dataDir);
  // Everything the node writes is for this user only — the database (and its -wal, -shm),
  // bundles, secret.key, admin.token, node.json, the runtime snapshot and code caches — so
  // files are 0600 and folders 0700, written by this process or by the worker hosts it
  // forks (they inherit the mask). Before anything is written; a data dir made by an older
  // version is closed to others too (what is inside is then out of their reach).
  process.umask(0o077);
  if (existsSync(dataDir)) chmodSync(dataDir, 0o700);
  else mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // One node per data dir, before anything in it is touched (a second one is refused).
  const lock = lockDataDir(dataDir);
  let node: RunningNode;
  try {
    node = await startLocked(options, dataDir);
  } catch (err) {
    lock.release();
    throw err;
  }
  const stop = node.stop;
  node.stop = (graceMs?: number) => stop(graceMs).finally(() => lock.release());
  return node;
}

async function startLocked(options: NodeOptions, dataDir: string): Promise<RunningNode> {
  // Fail at start, in the primary, on a malformed allow rule (hosts would die on it).
  new EgressPolicy(options.egressAllow ?? []);
  const hosts = options.hosts ?? availableParallelism();
  const listenHost = options.host ?? "127.0.0.1";
  // Made before the parts it reads (they are asked only at scrape time).
  let queueRef: AsyncQueue | undefined;
  let platformRef: Platform | undefined;
  const scheduler = new Scheduler({
    hosts: Array.from({ length: hosts }, () => ({ memoryMiB: hostMemoryMiB(options, hosts), slots: options.hostSlots ?? 10_000, labels: options.labels ?? {} })),
    concurrency: options.concurrency ?? schedulerDefaults.concurrency,
    placement: options.placement ?? "best-fit",
    keepAlive: options.keepAlive === "hybrid"
      ? { policy: "hybrid", fallbackTtlMs: options.idleTtlMs ?? schedulerDefaults.idleTtlMs }
      : { policy: "fixed", ttlMs: options.idleTtlMs ?? schedulerDefaults.idleTtlMs },
    tenantAntiAffinity: options.tenantAntiAffinity ?? false,
  });
  const metrics = nodeMetrics({ platform: () => platformRef!, scheduler, queue: () => queueRef });
  const nodeName = options.nodeName ?? hostname();
  let store: Store;
  /** In a cluster: joins its membership once the node serves (the others then list it). */
  let joinCluster: ((self: () => NodeInfo, changed: (members: NodeInfo[]) => void) => Promise<{ members(): NodeInfo[]; leave(): Promise<void> }>) | undefined;
  /** In a cluster: the async queue in JetStream, shared by every node (else this node's own file). */
  let clusterQueue: (QueueStore & { onNewWork?: () => void }) | undefined;
  /** In a cluster: the NATS connection and copies per stream, for binding kinds whose state is shared (KV). */
  let bindingNats: Parameters<Platform["openBindings"]>[2];
  if (options.cluster !== undefined) {
    // The registry, code, logs and usage in JetStream, shared with every node (docs/cluster.md).
    // Loaded only here: a single node never loads the NATS client.
    const { JetStreamQueue, Membership, openClusterStore } = await import("../cluster/index.ts");
    const quotas = { ...defaultTenantQuotas, ...options.tenantQuotas };
    const shared = await openClusterStore({ servers: options.cluster, nodeName, quotas, ...(options.clusterReplicas === undefined ? {} : { replicas: options.clusterReplicas }) });
    store = shared;
    bindingNats = { connection: shared.nats, replicas: options.clusterReplicas ?? 3 };
    joinCluster = async (self, changed) => {
      let joined: { members(): NodeInfo[] } | undefined;
      // A join or a departure (not a heartbeat's new load) moves provisioned instances and forwarding.
      const onEvent = (event: { kind: string }) => {
        if (event.kind !== "updated" && joined !== undefined) changed(joined.members());
      };
      const membership = await Membership.join(shared.nats, self, {
        onEvent, onError: (err) => process.emitWarning(`flick: cluster heartbeat: ${String(err)}`),
        ...(options.clusterReplicas === undefined ? {} : { replicas: options.clusterReplicas }),
      });
      joined = membership;
      changed(membership.members());
      return membership;
    };
    clusterQueue = await JetStreamQueue.open(shared.nats, {
      leaseMs: options.asyncLeaseMs ?? 60_000,
      idempotencyWindowMs: limits.idempotencyWindowMs,
      ...(options.clusterReplicas === undefined ? {} : { replicas: options.clusterReplicas }),
    }).catch(async (err: unknown) => {
      await shared.close();
      throw err;
    });
  } else store = new SqliteStore(dataDir, { quotas: options.tenantQuotas ?? {}, onCommit: (seconds) => metrics.storeCommit.observe(seconds) });
  let adminToken: string;
  try {
    adminToken = await patiently(() => ensureAdminToken(store, dataDir, Date.now()));
  } catch (err) {
    await store.close();
    throw err;
  }
  const idleTtlMs = options.idleTtlMs ?? schedulerDefaults.idleTtlMs;
  const tenantConcurrency = options.tenantConcurrency ?? schedulerDefaults.tenantConcurrency;
  const concurrency = options.concurrency ?? schedulerDefaults.concurrency;
  const shutdownGraceMs = options.shutdownGraceMs ?? 10_000;
  let secrets: SecretBox;
  try {
    secrets = await patiently(() => sealingKeyOf(store, dataDir, options.secretKeyFile));
  } catch (err) {
    await store.close();
    throw err;
  }
  let port: number;
  try {
    port = await reservePort(options.port, listenHost);
  } catch (err) {
    await store.close();
    throw err;
  }
  const primarySocket = socketPath(dataDir);
  // The spans the primary records (what it queues): kept for `flick trace`, exported when a
  // collector is set. Hosts keep and export their own (checked here first: a bad URL stops the start).
  let exporter: OtlpExport | undefined;
  try {
    exporter = options.otlpEndpoint === undefined ? undefined : await startOtlpExport(options.otlpEndpoint, { name: "flick", version: flickVersion, instance: `${listenHost}:${port}` });
  } catch (err) {
    await store.close();
    throw new FlickError("bad_request", err instanceof Error ? err.message : String(err));
  }
  const traces = new TraceSink(exporter === undefined ? {} : { exporter });
  const supervisor: Supervisor = new Supervisor({
    hosts,
    port,
    listenHost,
    nodeName,
    primarySocket,
    maxConnectionsPerHost: connectionCap(options.maxConnections, hosts),
    headersTimeoutMs: options.headersTimeoutMs ?? 10_000,
    ...(options.accessLog === undefined ? {} : { accessLog: options.accessLog }),
    queueWaitMs: options.queueWaitMs ?? 0,
    shutdownGraceMs,
    traceSample: options.traceSample ?? defaultTraceSample,
    traceMaxRate: options.traceMaxRate ?? defaultTraceMaxRate,
    ...(options.otlpEndpoint === undefined ? {} : { otlpEndpoint: options.otlpEndpoint }),
    version: flickVersion,
    egressAllow: options.egressAllow ?? [],
    codeCacheKey: secrets.deriveKey("v8 code cache"),
    runtimeCachePath: path.join(dataDir, "runtime"),
    snapshotPath: path.join(dataDir, "runtime.snapshot"),
    routes: () => platform.routes(),
    requests: {
      acquire: (host, fn, key, token, instance) => platform.hostAcquire(host, fn, key, token, instance),
      tokensBack: (host, tenant, n) => platform.hostTokensBack(host, tenant, n),
      report: (_host, instances, functions, memory, meter) => platform.hostReport(instances, functions, memory, meter),
      logs: (lines) => platform.hostLogs(lines),
      auth: async (authorization) => (await platform.authenticate(authorization)) ?? null,
      call: (call) => platform.handleCall(call),
      gone: (instance) => scheduler.forget(instance),
      hostDown: (host) => platform.hostDown(host),
      restarting: (host) => metrics.hostRestarts.inc({ host: String(host) }),
      hostUp: (host) => platform.hostUp(host),
    },
  });
  const budgets = new AdmissionBudgets(new TenantBudget(tenantConcurrency, () => supervisor.size), (host, tenant) => supervisor.reclaim(host, tenant));
  const platform = new Platform(store, supervisor, scheduler, budgets, secrets, new CodeFiles(store, dataDir), { queueWaitMs: options.queueWaitMs ?? 0, idleTtlMs, tenantConcurrency, concurrency });
  // Nodes of one cluster sign their calls to each other with a key only they hold (derived from --secret-key-file).
  if (options.cluster !== undefined) platform.nodeCalls = new NodeCalls(secrets.deriveKey("calls between nodes"), nodeName);
  platformRef = platform;
  platform.metrics = metrics;
  platform.traces = traces;
  // Each binding kind's platform side (service, queue, KV …): its storage opens under the data dir.
  const bindingOptions = { ...defaultBindingOptions };
  if (options.kvQuotaMiB !== undefined) bindingOptions.kvQuotaMiB = options.kvQuotaMiB;
  if (options.doQuotaMiB !== undefined) bindingOptions.doQuotaMiB = options.doQuotaMiB;
  if (options.sqlMaxMiB !== undefined) bindingOptions.sqlMaxMiB = options.sqlMaxMiB;
  if (options.sqlQuotaMiB !== undefined) bindingOptions.sqlQuotaMiB = options.sqlQuotaMiB;
  if (options.sqlTimeoutMs !== undefined) bindingOptions.sqlTimeoutMs = options.sqlTimeoutMs;
  if (options.sqlRunners !== undefined) bindingOptions.sqlRunners = options.sqlRunners;
  await platform.openBindings(dataDir, bindingOptions, bindingNats, nodeName);
  platform.traceSample = options.traceSample ?? defaultTraceSample;
  // The dashboard's history: counts batched in memory, written every few seconds (started with the hosts).
  const rollups = new RollupRecorder(store);
  platform.rollups = rollups;
  await platform.load();

  // The primary's private socket: the admin API, health, and requests hosts relay.
  const api = createApiHandler(platform);
  const dashboard = createDashboardHandler();
  const relays = createGateway(platform, { relayHeader });
  // Requests being answered, so a stop can let them finish (log follows are not waited for).
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const server: Server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    if (!req.url?.includes("follow=1")) {
      inFlight++;
      res.once("close", () => {
        if (--inFlight === 0) drained?.();
      });
    }
    let url: URL;
    try {
      url = new URL(req.url ?? "/", "http://localhost");
    } catch {
      sendError(res, new FlickError("bad_request", `cannot parse the request target ${req.url}`));
      return;
    }
    const p = url.pathname;
    if (p.startsWith(functionPrefix)) void relays(req, res, url);
    else if (p === nodeCallPath && platform.nodeCalls !== undefined) void platform.nodeCalls.serve(req, res, platform);
    else if (p === apiPrefix || p.startsWith(`${apiPrefix}/`)) void api(req, res, url);
    else if (p === "/metrics") metricsRoute(req, res, metrics, platform).catch((err: unknown) => sendError(res, err));
    else if (p === dashboardPrefix || p.startsWith(`${dashboardPrefix}/`)) {
      try {
        dashboard(req, res, url);
      } catch (err) {
        sendError(res, err);
      }
    } else if (p === "/healthz") sendJson(res, 200, { ok: true });
    else if (p === "/readyz") sendJson(res, 200, { ok: true, hosts: supervisor.pids().length });
    else if (p === "/" && req.method === "GET") {
      const text = "Flick is running.\nFunctions answer on /fn/<name>; the admin API is on /api/v1 (see `flick --help`); the dashboard is at /dashboard.\n";
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    } else sendError(res, new FlickError("not_found", `nothing at ${p}; functions are under /fn/<name>, the API under ${apiPrefix}`));
  });
  if (existsSync(primarySocket)) rmSync(primarySocket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(primarySocket, () => resolve());
  });
  try {
    await supervisor.start();
  } catch (err) {
    await supervisor.stop();
    server.close();
    await store.close();
    throw err instanceof FlickError ? err : new FlickError("unavailable", `the worker hosts did not start: ${String(err)}`);
  }
  const url = `http://${listenHost.includes(":") ? `[${listenHost}]` : listenHost}:${port}`;
  platform.publicUrl = url;
  const advertised = options.advertise ?? advertisedUrl(listenHost, port);
  // What this node says of itself: in its cluster's heartbeats, or alone in GET /nodes.
  const startedAtMs = Date.now();
  const self = (): NodeInfo => {
    const counts = platform.instanceCounts();
    return {
      name: nodeName, url: advertised, labels: options.labels ?? {}, startedAtMs,
      capacity: { hosts, memoryMiB: hosts * hostMemoryMiB(options, hosts), slots: hosts * (options.hostSlots ?? 10_000) },
      load: { instances: counts.reduce((n, c) => n + c.warm, 0), busy: counts.reduce((n, c) => n + c.busy, 0) },
    };
  };
  const membership = await joinCluster?.(self, (members) => platform.setCluster(new ClusterView(nodeName, members)));
  platform.nodes = membership === undefined ? () => [self()] : () => membership.members();

  const queueStore = clusterQueue ?? new SqliteQueue(dataDir);
  const queueQuota: QueueQuota = { ...defaultQueueQuota, ...options.queueQuota };
  const queue = new AsyncQueue({
    store: queueStore,
    // A tenant's own queue quota (`flick tenants set`) goes over the node's; asked inside
    // the enqueue transaction, so from memory.
    quotaOf: (tenant) => platform.queueQuotaOf(tenant, queueQuota),
    run: (inv) => runAttempt(platform, inv, platform.publicUrl),
    runBatch: (batch) => runBatch(platform, batch, platform.publicUrl),
    settingsOf: (fn) => platform.retrySettingsOf(fn),
    idempotencyWindowMs: limits.idempotencyWindowMs,
    holder: nodeName,
    concurrency: options.asyncConcurrency ?? 64,
    leaseMs: options.asyncLeaseMs ?? 60_000,
    backoff: { ...defaultBackoff, failureBaseMs: options.retryBackoffMs ?? defaultBackoff.failureBaseMs },
    onError: (err) => process.emitWarning(`flick: async queue: ${String(err)}`),
    onFinish: (inv, finish) => {
      const labels = { tenant: inv.tenant, function: inv.function };
      const failed = finish.outcome !== "completed" && finish.failed;
      metrics.asyncAttempts.inc({ ...labels, result: finish.outcome === "completed" ? "completed" : failed ? "failed" : "throttled" });
      if (finish.outcome === "dead") metrics.deadLettered.inc({ ...labels, reason: finish.reason });
    },
  });
  queueRef = queue;
  // Work another node queued wakes this node's dispatcher at once (in a cluster).
  if (clusterQueue !== undefined) clusterQueue.onNewWork = () => queue.dispatcher.poke();
  platform.attachQueue(queue);
  // Cron runs go through the queue: durable, retried, dead-lettered like any async invocation.
  const cron = new CronRunner({
    store: queueStore,
    ...cronClock(process.env["FLICK_CRON_CLOCK"]),
    fire: async (trigger, scheduledTime) => {
      // A run fired well after its time is one the node was down for (fired once at start).
      metrics.cronRuns.inc({ tenant: trigger.tenant, function: trigger.fn, trigger: Date.now() - scheduledTime > 60_000 ? "missed" : "schedule" });
      await queue.submit({
        function: trigger.fn,
        tenant: trigger.tenant,
        kind: "scheduled",
        payload: new TextEncoder().encode(JSON.stringify({ cron: trigger.schedule.expression, scheduledTime })),
        contentType: "application/json",
        idempotencyKey: `cron:${trigger.schedule.expression}:${scheduledTime}`,
      });
    },
    onError: (err) => process.emitWarning(`flick: cron: ${String(err)}`),
  });
  platform.attachCron(cron);

  const metricsServer = options.metricsListen === undefined ? undefined : await listenMetrics(options.metricsListen, metrics);
  const ticker = setInterval(() => platform.tick(Date.now()), 1000);
  rollups.start();
  ticker.unref();
  // This node is the only user of its data dir: attempts a killed run left mid-way go again now.
  await queue.start();
  await patiently(() => cron.start());

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    dataDir,
    adminToken,
    platform,
    supervisor,
    stop(graceMs = shutdownGraceMs) {
      stopped ??= (async () => {
        const deadline = Date.now() + graceMs;
        clearInterval(ticker);
        cron.stop();
        // The hosts stop accepting connections and finish what they run within the grace.
        const hostsStopped = supervisor.stop(graceMs);
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            drained = resolve;
            setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
          });
        }
        // Queued events stay queued for the next start; running attempts get what is left of the grace.
        await queue.stop(Math.max(0, deadline - Date.now()));
        await hostsStopped;
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        rmSync(primarySocket, { force: true });
        metricsServer?.close();
        // What the exporter still holds goes out now (bounded by its export timeout).
        await traces.close().catch((err: unknown) => process.emitWarning(`flick: OTLP export at stop: ${String(err)}`));
        // The hosts' last reports are in: their counts go to the store before it closes.
        await rollups.close();
        await platform.closeBindings();
        // The others hear at once that this node is gone (a killed node: after the time-to-live).
        await membership?.leave().catch((err: unknown) => process.emitWarning(`flick: leaving the cluster: ${String(err)}`));
        await store.close();
      })();
      return stopped;
    },
  };
}

/**
 * A fast clock for cron, for tests only (docs/cluster.md): `FLICK_CRON_CLOCK=<epoch ms>x<speed>`
 * runs cron time from the epoch `speed` times faster than real time, so a test sees 60 minute
 * slots in a minute. Nodes given the same epoch agree on the time. Absent: the real clock.
 */
function cronClock(value: string | undefined): { now?: () => number; speed?: number } {
  if (value === undefined || value === "") return {};
  const match = /^(\d+)x(\d+)$/.exec(value);
  if (match === null) throw new FlickError("bad_request", `FLICK_CRON_CLOCK=${value} is not <epoch ms>x<speed> (e.g. 1767225600000x60); unset it to use the real clock`);
  const epoch = Number(match[1]);
  const speed = Number(match[2]);
  return { now: () => epoch + (Date.now() - epoch) * speed, speed };
}

/**
 * Where other nodes reach this one when `--advertise` does not say: the listening address,
 * or, for one that listens on every address (0.0.0.0, ::), this machine's first
 * non-loopback IPv4 address (loopback when it has none: a cluster on one machine).
 */
function advertisedUrl(listenHost: string, port: number): string {
  let host = listenHost;
  if (host === "0.0.0.0" || host === "::") {
    const found = Object.values(networkInterfaces()).flat().find((a) => a !== undefined && a.family === "IPv4" && !a.internal);
    host = found?.address ?? "127.0.0.1";
  }
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
