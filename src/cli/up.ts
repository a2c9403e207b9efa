import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { NodeOptions, PlacementPolicy, startNode } from "../node/index.ts";
import { connectionOptions, type Command } from "./command.ts";
import { defaultDataDir, nodeFile } from "./config.ts";
import { parseDuration, parseInteger, parseLabels, parseProbability } from "./parse.ts";
import { FlickError } from "../errors/index.ts";

export const up: Command = {
  name: "up",
  summary: "Start a Flick node on this machine (state in SQLite under the data dir).",
  usage: "up [--port 8080] [--data-dir ./.flick] [--hosts N] [--examples]",
  optionHelp: [
    "--port N            HTTP port for functions and the API (default 8080; 0 = any free port)",
    "--host ADDR         address to listen on (default 127.0.0.1)",
    "--data-dir DIR      where state lives (default ./.flick)",
    "--hosts N           worker host processes (default: number of cores)",
    "--concurrency N     requests one instance serves at once before another starts (default 64)",
    "--idle-ttl DUR      stop an instance idle this long (default 10m)",
    "--egress-allow LIST let functions fetch these addresses, CIDR ranges or host names,",
    "                    comma-separated (default: loopback, private and metadata ranges are denied)",
    "--host-memory MIB   memory each worker host may fill with instances (default: 3/4 of RAM / hosts)",
    "--host-slots N      isolates one worker host holds at most (default 10000)",
    "--placement P       best-fit (default), spread or load-aware",
    "--keep-alive P      fixed (the idle TTL, default) or hybrid (pre-warm from each function's idle times)",
    "--tenant-concurrency N  requests in flight per tenant (default 1000; per tenant: flick tenants set)",
    "--tenant-anti-affinity  a worker host serves one tenant at a time",
    "--tenant-max-provisioned N  provisioned instances (sum of --min-instances) per tenant (default 50;",
    "                    per tenant: flick tenants set --max-provisioned)",
    "--tenant-max-provisioned-memory MIB  provisioned memory (sum of --min-instances × --memory) per",
    "                    tenant (default 2048; per tenant: flick tenants set --max-provisioned-memory)",
    "--tenant-log-lines N  log lines kept per tenant, oldest dropped first (default 100000)",
    "--tenant-log-mib MIB  log kept per tenant, oldest dropped first (default 64)",
    "--tenant-queue-messages N  async messages queued or running per tenant; beyond, 429 queue_full (default 100000)",
    "--tenant-queue-mib MIB  their payload per tenant; beyond, 429 queue_full (default 256)",
    "--tenant-kv-mib MIB  KV keys, values and metadata one tenant may store; beyond, a put fails (default 1024)",
    "--tenant-do-mib MIB  durable object storage (keys and values) one tenant may have on this node;",
    "                    beyond, a put fails (default 1024)",
    "--db-max-mib MIB    size limit of one SQL database; beyond, writes fail (default 500)",
    "--tenant-sql-mib MIB  what all of one tenant's SQL databases may hold on this node; beyond,",
    "                    writes fail (default 1024)",
    "--sql-timeout DUR   how long one SQL query, batch or exec may run before it is stopped (default 30s)",
    "--sql-runners N     processes that run SQL queries, tenants taking turns on each (default 2)",
    "--queue-wait DUR    how long a request over a limit waits for a slot before its 429 (default 0)",
    "--async-concurrency N  async invocations running at once (default 64)",
    "--async-lease DUR   lease of a running async attempt, renewed while it runs (default 60s)",
    "--retry-backoff DUR first wait after a failed async attempt, doubling with jitter (default 1s)",
    "--shutdown-grace DUR on SIGTERM, time in-flight requests and async attempts get to finish (default 10s)",
    "--max-connections N open client connections over all hosts; beyond, new ones are closed (default 10000)",
    "--headers-timeout DUR a request's headers must arrive within this (default 10s)",
    "--examples          deploy the functions in examples/ once started, if the node has none yet",
    "--log-format F      one line per function request on the output: text (default), json, or off",
    "--metrics-listen A  serve Prometheus /metrics on HOST:PORT without a token (default: /metrics on the",
    "                    node's port, for the admin token only)",
    "--otlp-endpoint URL export spans and function logs over OTLP/HTTP to this collector base URL",
    "                    (e.g. http://127.0.0.1:4318; traces to /v1/traces, logs to /v1/logs)",
    "--trace-sample P    share of new traces recorded: 0..1 or a percentage (default 0.01); a caller's",
    "                    traceparent with the sampled flag is recorded too. Spans: flick trace ID",
    "--trace-max-rate N  invocations recorded per second at most, however sampled (default 1000; 0: no cap)",
    "--node-name N       this node's name (default: the host name); it holds the leases of the async",
    "                    attempts it runs, and takes back what it was running when it starts again",
    "--cluster URLS      join a cluster: NATS servers, comma-separated (nats://a:4222,nats://b:4222);",
    "                    functions, tenants, code, usage, the async queue and cron are shared",
    "                    through their JetStream (nats-server 2.10 or later)",
    "--cluster-replicas N copies of each JetStream bucket (default 3; 1 for a single NATS server)",
    "--advertise URL     where the other nodes reach this one (default: http://<--host>:<port>, or",
    "                    this machine's first network address when --host is 0.0.0.0 or ::)",
    "--labels K=V,…      this node's labels; zone=… is its fault domain (docs/cluster.md)",
    "--secret-key-file F the 32-byte key that seals secrets and signs code caches (raw, hex or base64;",
    "                    `openssl rand -hex 32 > F`); default: secret.key in the data dir, made on first start",
  ],
  examples: ["flick up", "flick up --port 0 --data-dir /tmp/flick --examples"],
  options: {
    ...connectionOptions,
    port: { type: "string" },
    host: { type: "string" },
    hosts: { type: "string" },
    concurrency: { type: "string" },
    "idle-ttl": { type: "string" },
    examples: { type: "boolean" },
    "egress-allow": { type: "string", multiple: true },
    "host-memory": { type: "string" },
    "host-slots": { type: "string" },
    labels: { type: "string" },
    placement: { type: "string" },
    "keep-alive": { type: "string" },
    "tenant-concurrency": { type: "string" },
    "tenant-anti-affinity": { type: "boolean" },
    "tenant-max-provisioned": { type: "string" },
    "tenant-max-provisioned-memory": { type: "string" },
    "tenant-log-lines": { type: "string" },
    "tenant-log-mib": { type: "string" },
    "tenant-queue-messages": { type: "string" },
    "tenant-queue-mib": { type: "string" },
    "queue-wait": { type: "string" },
    "async-concurrency": { type: "string" },
    "tenant-kv-mib": { type: "string" },
    "tenant-do-mib": { type: "string" },
    "tenant-sql-mib": { type: "string" },
    "db-max-mib": { type: "string" },
    "sql-timeout": { type: "string" },
    "sql-runners": { type: "string" },
    "retry-backoff": { type: "string" },
    "async-lease": { type: "string" },
    "shutdown-grace": { type: "string" },
    "max-connections": { type: "string" },
    "headers-timeout": { type: "string" },
    "log-format": { type: "string" },
    "metrics-listen": { type: "string" },
    "otlp-endpoint": { type: "string" },
    "trace-sample": { type: "string" },
    "trace-max-rate": { type: "string" },
    "node-name": { type: "string" },
    cluster: { type: "string" },
    "cluster-replicas": { type: "string" },
    advertise: { type: "string" },
    "secret-key-file": { type: "string" },
  },
  positionals: { min: 0, max: 0 },
  async run({ values }) {
    const dataDir = path.resolve((values["data-dir"] as string | undefined) ?? process.env["FLICK_DATA_DIR"] ?? defaultDataDir);
    // Loaded here, not at the top: every other command (and --help) starts without the node.
    const { deployExamples, placementPolicies, startNode } = await import("../node/index.ts");
    const node = await startNode({
      dataDir,
      port: values["port"] === undefined ? 8080 : parseInteger(values["port"] as string, "--port"),
      host: (values["host"] as string | undefined) ?? "127.0.0.1",
      ...(values["hosts"] === undefined ? {} : { hosts: parseInteger(values["hosts"] as string, "--hosts") }),
      ...(values["concurrency"] === undefined ? {} : { concurrency: parseInteger(values["concurrency"] as string, "--concurrency") }),
      ...(values["idle-ttl"] === undefined ? {} : { idleTtlMs: parseDuration(values["idle-ttl"] as string, "--idle-ttl") }),
      egressAllow: ((values["egress-allow"] as string[] | undefined) ?? []).flatMap((v) => v.split(",")).filter((v) => v.trim() !== ""),
      accessLog: logFormat(values["log-format"] as string | undefined),
      ...(values["metrics-listen"] === undefined ? {} : { metricsListen: values["metrics-listen"] as string }),
      ...(values["otlp-endpoint"] === undefined ? {} : { otlpEndpoint: values["otlp-endpoint"] as string }),
      ...(values["trace-sample"] === undefined ? {} : { traceSample: parseProbability(values["trace-sample"] as string, "--trace-sample") }),
      ...(values["trace-max-rate"] === undefined ? {} : { traceMaxRate: parseInteger(values["trace-max-rate"] as string, "--trace-max-rate", { min: 0, max: 10_000_000 }) }),
      ...(values["node-name"] === undefined ? {} : { nodeName: nodeName(values["node-name"] as string) }),
      ...(values["secret-key-file"] === undefined ? {} : { secretKeyFile: path.resolve(values["secret-key-file"] as string) }),
      ...(values["cluster"] === undefined ? {} : { cluster: natsServers(values["cluster"] as string) }),
      ...(values["advertise"] === undefined ? {} : { advertise: advertiseUrl(values["advertise"] as string) }),
      ...(values["cluster-replicas"] === undefined ? {} : { clusterReplicas: parseInteger(values["cluster-replicas"] as string, "--cluster-replicas", { min: 1, max: 5 }) }),
      ...schedulingOptions(values, placementPolicies),
    });
    const info = path.join(dataDir, nodeFile);
    writeFileSync(info, `${JSON.stringify({ url: node.url, pid: process.pid })}\n`);
    console.log(`Flick is up at ${node.url}`);
    console.log(`  data dir     ${dataDir}`);
    console.log(`  admin token  ${path.join(dataDir, "admin.token")} (the CLI on this machine uses it)`);
    console.log(`  hosts        ${node.supervisor.size} worker host processes`);
    if (values["examples"] === true) {
      // Only into a node without functions: a restart never redeploys an example over
      // what the user made of it since (or brings back one they removed).
      if ((await node.platform.listFunctions({ role: "admin" })).length === 0) {
        const names = await deployExamples(node.platform);
        for (const name of names) console.log(`  example      ${node.url}/fn/${name}`);
      } else console.log("  examples     not deployed: this node already has functions (a new --data-dir starts with the examples)");
    }
    console.log("Press Ctrl-C to stop.");
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
    console.log("Stopping…");
    await node.stop();
    rmSync(info, { force: true });
  },
};

/** `--log-format`: how each function request is printed (text, json), or not at all (off). */
/** `--cluster`: NATS server URLs, comma-separated. */
function natsServers(value: string): string[] {
  const urls = value.split(",").map((u) => u.trim()).filter((u) => u !== "");
  const bad = urls.find((u) => !/^(nats|tls):\/\/[^\s/]+(:\d+)?\/?$/.test(u));
  if (urls.length === 0 || bad !== undefined) {
    throw new FlickError("validation_failed", `--cluster: ${bad === undefined ? "no server given" : `"${bad.slice(0, 80)}" is not a NATS server URL`}; give them as nats://host:4222, comma-separated`);
  }
  return urls;
}

/** `--advertise`: an http(s) origin the other nodes can reach. */
function advertiseUrl(value: string): string {
  try {
    const url = new URL(value);
    if ((url.protocol === "http:" || url.protocol === "https:") && url.pathname === "/" && url.search === "") return url.origin;
  } catch {
    // refused below
  }
  throw new FlickError("validation_failed", `--advertise: "${value.slice(0, 80)}" is not an origin; give where the other nodes reach this one, as http://10.0.0.5:8080`);
}

/** A node's name: it goes into leases and, in a cluster, into what other nodes see. */
function nodeName(value: string): string {
  if (/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(value)) return value;
  throw new FlickError("validation_failed", `--node-name: "${value.slice(0, 80)}" is not a name; use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit`);
}

function logFormat(value: string | undefined): NonNullable<NodeOptions["accessLog"]> {
  if (value === undefined) return "text";
  if (value === "text" || value === "json" || value === "off") return value;
  throw new FlickError("validation_failed", `--log-format: "${value}" is not one of text, json, off`);
}

/** `flick up`'s scheduler flags, checked (a bad value is a clear error before anything starts). */
function schedulingOptions(values: Record<string, unknown>, placementPolicies: readonly PlacementPolicy[]): Parameters<typeof startNode>[0] extends infer O ? Partial<O> : never {
  const out: Record<string, unknown> = {};
  if (values["host-memory"] !== undefined) out["hostMemoryMiB"] = parseInteger(values["host-memory"] as string, "--host-memory");
  if (values["host-slots"] !== undefined) out["hostSlots"] = parseInteger(values["host-slots"] as string, "--host-slots");
  if (values["labels"] !== undefined) out["labels"] = parseLabels(values["labels"] as string, "--labels");
  if (values["placement"] !== undefined) {
    const p = values["placement"] as string;
    if (!placementPolicies.includes(p as PlacementPolicy)) throw new FlickError("validation_failed", `--placement: "${p}" is not one of ${placementPolicies.join(", ")}`);
    out["placement"] = p;
  }
  if (values["keep-alive"] !== undefined) {
    const k = values["keep-alive"] as string;
    if (k !== "fixed" && k !== "hybrid") throw new FlickError("validation_failed", `--keep-alive: "${k}" is not fixed or hybrid`);
    out["keepAlive"] = k;
  }
  if (values["tenant-concurrency"] !== undefined) out["tenantConcurrency"] = parseInteger(values["tenant-concurrency"] as string, "--tenant-concurrency");
  if (values["tenant-anti-affinity"] === true) out["tenantAntiAffinity"] = true;
  // Tenant quotas (store/store.ts TenantQuotas): whole numbers, at least `min`.
  const quotas: Record<string, number> = {};
  const quota = (flag: string, key: string, min: number, scale = 1) => {
    if (values[flag] === undefined) return;
    const n = parseInteger(values[flag] as string, `--${flag}`);
    if (n < min) throw new FlickError("validation_failed", `--${flag} must be at least ${min}`);
    quotas[key] = n * scale;
  };
  quota("tenant-max-provisioned", "maxProvisioned", 0);
  quota("tenant-max-provisioned-memory", "maxProvisionedMemoryMiB", 0);
  quota("tenant-log-lines", "maxLogLines", 1);
  quota("tenant-log-mib", "maxLogBytes", 1, 1024 * 1024);
  if (Object.keys(quotas).length > 0) out["tenantQuotas"] = quotas;
  // The async queue's quota (queue/async-queue.ts), kept apart from the tenant record's.
  const queueQuota: Record<string, number> = {};
  for (const [flag, key, scale] of [["tenant-queue-messages", "maxMessages", 1], ["tenant-queue-mib", "maxBytes", 1024 * 1024]] as const) {
    if (values[flag] === undefined) continue;
    const n = parseInteger(values[flag] as string, `--${flag}`);
    if (n < 1) throw new FlickError("validation_failed", `--${flag} must be at least 1 (nothing could ever be queued)`);
    queueQuota[key] = n * scale;
  }
  if (Object.keys(queueQuota).length > 0) out["queueQuota"] = queueQuota;
  for (const [flag, key] of [["tenant-kv-mib", "kvQuotaMiB"], ["tenant-do-mib", "doQuotaMiB"], ["tenant-sql-mib", "sqlQuotaMiB"]] as const) {
    if (values[flag] === undefined) continue;
    const n = parseInteger(values[flag] as string, `--${flag}`);
    if (n < 1) throw new FlickError("validation_failed", `--${flag} must be at least 1 (nothing could ever be stored)`);
    out[key] = n;
  }
  if (values["db-max-mib"] !== undefined) {
    const n = parseInteger(values["db-max-mib"] as string, "--db-max-mib");
    if (n < 1) throw new FlickError("validation_failed", "--db-max-mib must be at least 1");
    out["sqlMaxMiB"] = n;
  }
  if (values["sql-timeout"] !== undefined) {
    const ms = parseDuration(values["sql-timeout"] as string, "--sql-timeout");
    if (ms < 100) throw new FlickError("validation_failed", "--sql-timeout must be at least 100ms");
    out["sqlTimeoutMs"] = ms;
  }
  if (values["sql-runners"] !== undefined) {
    const n = parseInteger(values["sql-runners"] as string, "--sql-runners");
    if (n < 1 || n > 64) throw new FlickError("validation_failed", "--sql-runners must be 1 to 64");
    out["sqlRunners"] = n;
  }
  if (values["queue-wait"] !== undefined) out["queueWaitMs"] = parseDuration(values["queue-wait"] as string, "--queue-wait");
  if (values["async-concurrency"] !== undefined) {
    const n = parseInteger(values["async-concurrency"] as string, "--async-concurrency");
    if (n < 1) throw new FlickError("validation_failed", "--async-concurrency must be at least 1 (async invocations would never run)");
    out["asyncConcurrency"] = n;
  }
  if (values["async-lease"] !== undefined) {
    const ms = parseDuration(values["async-lease"] as string, "--async-lease");
    if (ms < 30) throw new FlickError("validation_failed", "--async-lease must be at least 30ms (it is renewed every third of it)");
    out["asyncLeaseMs"] = ms;
  }
  if (values["retry-backoff"] !== undefined) out["retryBackoffMs"] = parseDuration(values["retry-backoff"] as string, "--retry-backoff");
  if (values["shutdown-grace"] !== undefined) out["shutdownGraceMs"] = parseDuration(values["shutdown-grace"] as string, "--shutdown-grace");
  if (values["max-connections"] !== undefined) {
    const n = parseInteger(values["max-connections"] as string, "--max-connections");
    if (n < 1) throw new FlickError("validation_failed", "--max-connections must be at least 1 (no client could connect)");
    out["maxConnections"] = n;
  }
  if (values["headers-timeout"] !== undefined) {
    const ms = parseDuration(values["headers-timeout"] as string, "--headers-timeout");
    if (ms < 100) throw new FlickError("validation_failed", "--headers-timeout must be at least 100ms");
    out["headersTimeoutMs"] = ms;
  }
  return out as never;
}
