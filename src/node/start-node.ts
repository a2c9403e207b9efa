/**
 * The composition root: one Flick node on the embedded default (SQLite store, worker
 * host processes on this machine), serving function traffic, the admin API and health
 * endpoints on one HTTP port.
 */
import { chmodSync, existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { availableParallelism, totalmem } from "node:os";
import * as path from "node:path";
import { apiPrefix, createApiHandler, sendError, sendJson } from "../api/index.ts";
import { Scheduler, schedulerDefaults, type PlacementPolicy } from "../control/index.ts";
import { FlickError } from "../errors/index.ts";
import { createGateway, functionPrefix } from "../gateway/index.ts";
import { EgressPolicy, Supervisor } from "../host/index.ts";
import { limits } from "../model/index.ts";
import { AsyncQueue, CronRunner, defaultBackoff, defaultQueueQuota } from "../queue/index.ts";
import { SqliteQueue, SqliteStore, type QueueQuota, type TenantQuotas } from "../store/index.ts";
import { runAttempt, runBatch } from "./async-invocations.ts";
import { Platform } from "./platform.ts";
import { SecretBox } from "./secrets.ts";
import { ensureAdminToken } from "./tokens.ts";

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
  placement?: PlacementPolicy;
  /** `fixed` (the idle TTL) or `hybrid` (histogram pre-warm and keep-alive). */
  keepAlive?: "fixed" | "hybrid";
  /** A tenant's requests in flight (default 1000). */
  tenantConcurrency?: number;
  /** A host serves one tenant at a time. */
  tenantAntiAffinity?: boolean;
  /** How long a request over a limit may wait for a slot before its 429 (default 0). */
  queueWaitMs?: number;
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
  /**
   * What each tenant may hold (store/store.ts defaultTenantQuotas): provisioned instances and
   * memory (per tenant: `flick tenants set`), and log lines and bytes kept.
   */
  tenantQuotas?: Partial<TenantQuotas>;
}

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

export async function startNode(options: NodeOptions): Promise<RunningNode> {
  const dataDir = path.resolve(options.dataDir);
  // Everything the node writes is for this user only — the database (and its -wal, -shm),
  // bundles, secret.key, admin.token, node.json, the runtime snapshot and code caches — so
  // files are 0600 and folders 0700, written by this process or by the worker hosts it
  // forks (they inherit the mask). Before anything is written; a data dir made by an older
  // version is closed to others too (what is inside is then out of their reach).
  process.umask(0o077);
  if (existsSync(dataDir)) chmodSync(dataDir, 0o700);
  // Fail at start, in the primary, on a malformed allow rule (hosts would die on it).
  new EgressPolicy(options.egressAllow ?? []);
  const hosts = options.hosts ?? availableParallelism();
  const store = new SqliteStore(dataDir, { quotas: options.tenantQuotas ?? {} });
  const adminToken = await ensureAdminToken(store, dataDir, Date.now());
  const idleTtlMs = options.idleTtlMs ?? schedulerDefaults.idleTtlMs;
  const tenantConcurrency = options.tenantConcurrency ?? schedulerDefaults.tenantConcurrency;
  const hostMemoryMiB = options.hostMemoryMiB ?? Math.floor((totalmem() / 2 ** 20) * 0.75 / hosts);
  const scheduler = new Scheduler({
    hosts: Array.from({ length: hosts }, () => ({ memoryMiB: hostMemoryMiB, slots: options.hostSlots ?? 10_000, labels: options.labels ?? {} })),
    concurrency: options.concurrency ?? schedulerDefaults.concurrency,
    placement: options.placement ?? "best-fit",
    keepAlive: options.keepAlive === "hybrid" ? { policy: "hybrid", fallbackTtlMs: idleTtlMs } : { policy: "fixed", ttlMs: idleTtlMs },
    tenantConcurrency,
    tenantAntiAffinity: options.tenantAntiAffinity ?? false,
  });
  const secrets = new SecretBox(dataDir);
  const supervisor = new Supervisor({
    hosts,
    egressAllow: options.egressAllow ?? [],
    codeCacheKey: secrets.deriveKey("v8 code cache"),
    runtimeCachePath: path.join(dataDir, "runtime"),
    snapshotPath: path.join(dataDir, "runtime.snapshot"),
    onInstanceGone: (instance) => scheduler.forget(instance),
    onCall: (call) => platform.handleCall(call),
    onHostDown: (host) => scheduler.hostDown(host),
    onHostUp: (host) => scheduler.hostUp(host),
  });
  const platform = new Platform(store, supervisor, scheduler, secrets, { queueWaitMs: options.queueWaitMs ?? 0, idleTtlMs, tenantConcurrency });
  await Promise.all([platform.load(), supervisor.start()]);

  const queueStore = new SqliteQueue(dataDir);
  const queueQuota: QueueQuota = { ...defaultQueueQuota, ...options.queueQuota };
  const queue = new AsyncQueue({
    store: queueStore,
    // TODO(tenant quotas): a tenant's own queue quota (its record, `flick tenants set`) goes
    // over the node's here; asked inside the enqueue transaction, so from memory.
    quotaOf: () => queueQuota,
    run: (inv) => runAttempt(platform, inv, platform.publicUrl),
    runBatch: (batch) => runBatch(platform, batch, platform.publicUrl),
    settingsOf: (fn) => platform.retrySettingsOf(fn),
    idempotencyWindowMs: limits.idempotencyWindowMs,
    concurrency: options.asyncConcurrency ?? 64,
    leaseMs: options.asyncLeaseMs ?? 60_000,
    backoff: { ...defaultBackoff, failureBaseMs: options.retryBackoffMs ?? defaultBackoff.failureBaseMs },
    onError: (err) => process.emitWarning(`flick: async queue: ${String(err)}`),
  });
  platform.attachQueue(queue);
  // Cron runs go through the queue: durable, retried, dead-lettered like any async invocation.
  const cron = new CronRunner({
    store: queueStore,
    fire: async (trigger, scheduledTime) => {
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

  const gateway = createGateway(platform);
  // Requests being answered, so a stop can let them finish (log follows are not waited for).
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const api = createApiHandler(platform);
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
    if (p.startsWith(functionPrefix)) void gateway(req, res, url);
    else if (p === apiPrefix || p.startsWith(`${apiPrefix}/`)) void api(req, res, url);
    else if (p === "/healthz") sendJson(res, 200, { ok: true });
    else if (p === "/readyz") sendJson(res, 200, { ok: true, hosts: supervisor.pids().length });
    else if (p === "/" && req.method === "GET") {
      const text = "Flick is running.\nFunctions answer on /fn/<name>; the admin API is on /api/v1 (see `flick --help`).\n";
      res.writeHead(200, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text) });
      res.end(text);
    } else sendError(res, new FlickError("not_found", `nothing at ${p}; functions are under /fn/<name>, the API under ${apiPrefix}`));
  });
  const host = options.host ?? "127.0.0.1";
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, host, () => resolve());
    });
  } catch (err) {
    await supervisor.stop();
    await store.close();
    const code = (err as NodeJS.ErrnoException).code;
    throw new FlickError(
      "unavailable",
      code === "EADDRINUSE"
        ? `port ${options.port} on ${host} is already in use (another flick up?); stop it or pass --port 0 for any free port`
        : `cannot listen on ${host}:${options.port} (${code ?? String(err)})`,
    );
  }
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  platform.publicUrl = url;
  const ticker = setInterval(() => platform.tick(Date.now()), 1000);
  ticker.unref();
  // This node is the only user of its data dir: attempts a killed run left mid-way go again now.
  await queue.start(true);
  await cron.start();

  let stopped: Promise<void> | undefined;
  return {
    url,
    port,
    dataDir,
    adminToken,
    platform,
    supervisor,
    stop(graceMs = options.shutdownGraceMs ?? 10_000) {
      stopped ??= (async () => {
        const deadline = Date.now() + graceMs;
        clearInterval(ticker);
        cron.stop();
        // No new connections or requests; idle keep-alive connections go now.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (inFlight > 0) {
          await new Promise<void>((resolve) => {
            drained = resolve;
            setTimeout(resolve, Math.max(0, deadline - Date.now())).unref();
          });
        }
        // Queued events stay queued for the next start; running attempts get what is left of the grace.
        await queue.stop(Math.max(0, deadline - Date.now()));
        server.closeAllConnections();
        await closed;
        await supervisor.stop();
        await store.close();
      })();
      return stopped;
    },
  };
}
