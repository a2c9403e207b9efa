/**
 * The node's Prometheus metrics (`/metrics`), with prom-client's registry and text format.
 * Worker hosts count on the hot path and report a few times a second (host/usage.ts);
 * the primary adds those counts here, counts what it runs itself, and reads gauges
 * (instances, host memory, the async queue) at scrape time. docs/observability.md lists
 * every metric and its labels.
 *
 * Label cardinality stays bounded: `tenant` and `function` take only deployed names
 * (a removed function's series go with it), `status` is a class (2xx … 5xx), `code` one of
 * the error codes in errors/codes.ts, `kind` and `reason` small fixed sets, `host` the host
 * index. Nothing per request, per invocation id or per path.
 */
import { Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
import { durationBucketsMs } from "../model/index.ts";

/** What a host (or the primary) counted for one function since its last report. */
export interface InvocationCounts {
  invocations: number;
  coldStarts: number;
  codeCacheHits: number;
  /** Cold starts with neither a pooled isolate nor the code cache (absent: none). */
  coldStartsFresh?: number;
  /** `<status class>|<code>` → count. */
  outcomes: Record<string, number>;
  /** Counts per `durationBucketsMs` bucket, one more for above the last. */
  durations: number[];
  durationSumMs: number;
  /** Reason → count. */
  throttledBy: Record<string, number>;
  /** CPU ms and queue wait per invocation, counted as `durations` is (absent: none reported). */
  cpu?: number[];
  cpuSumMs?: number;
  queueWait?: number[];
  queueWaitSumMs?: number;
  /** Outbound fetches by result. */
  egress?: Record<"allowed" | "denied" | "failed", number>;
}

/** What the node knows at scrape time. */
export interface MetricsSource {
  instances(): { tenant: string; function: string; warm: number; busy: number; provisioned: number }[];
  hosts(): { host: number; usedMiB: number; capacityMiB: number; instances: number }[];
  queue(): Promise<{ queued: number; running: number; dead: number; oldestQueuedAgeSeconds: number }>;
}

/**
 * A histogram whose observations arrive already counted into buckets (the hosts count
 * them): prom-client's Histogram takes one observation at a time, so this holds the
 * cumulative counts and hands the registry the same values a Histogram would.
 */
class CountedHistogram {
  readonly type = "histogram";
  private readonly series = new Map<string, { labels: Record<string, string>; buckets: number[]; sum: number; count: number }>();

  readonly name: string;
  readonly help: string;
  private readonly boundsSeconds: readonly number[];

  constructor(name: string, help: string, boundsSeconds: readonly number[]) {
    this.name = name;
    this.help = help;
    this.boundsSeconds = boundsSeconds;
  }

  add(labels: Record<string, string>, counts: readonly number[], sumSeconds: number): void {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (s === undefined) {
      s = { labels, buckets: new Array<number>(this.boundsSeconds.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, s);
    }
    for (let i = 0; i < s.buckets.length; i++) {
      s.buckets[i]! += counts[i] ?? 0;
      s.count += counts[i] ?? 0;
    }
    s.sum += sumSeconds;
  }

  remove(match: Record<string, string>): void {
    for (const [key, s] of this.series) if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) this.series.delete(key);
  }

  get(): { name: string; help: string; type: string; values: { value: number; labels: Record<string, string | number>; metricName: string }[]; aggregator: string } {
    const values: { value: number; labels: Record<string, string | number>; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.boundsSeconds.forEach((le, i) => {
        cumulative += s.buckets[i]!;
        values.push({ value: cumulative, labels: { ...s.labels, le }, metricName: `${this.name}_bucket` });
      });
      values.push({ value: s.count, labels: { ...s.labels, le: "+Inf" }, metricName: `${this.name}_bucket` });
      values.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }
}

export class NodeMetrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  private readonly invocations: Counter<"tenant" | "function" | "status" | "code">;
  private readonly duration: CountedHistogram;
  private readonly cpu: CountedHistogram;
  private readonly queueWait: CountedHistogram;
  private readonly egress: Counter<"tenant" | "function" | "result">;
  private readonly coldStarts: Counter<"tenant" | "function" | "kind">;
  private readonly throttles: Counter<"tenant" | "function" | "reason">;
  /** Worker hosts that died and were started again. */
  readonly hostRestarts: Counter<"host">;
  /** Async attempts by how they ended, and events dead-lettered by reason. */
  readonly asyncAttempts: Counter<"tenant" | "function" | "result">;
  readonly deadLettered: Counter<"tenant" | "function" | "reason">;
  /** Cron runs queued, and runs missed while the node was down (fired once, or skipped). */
  readonly cronRuns: Counter<"tenant" | "function" | "trigger">;
  /** Time a control-plane write takes to commit in the store. */
  readonly storeCommit: Histogram<"operation">;

  constructor(source: MetricsSource) {
    const registers = [this.registry];
    this.invocations = new Counter({
      name: "flick_invocations_total", help: "Invocations answered, by the HTTP status class the caller got and the platform error code (empty: the function's own answer).",
      labelNames: ["tenant", "function", "status", "code"], registers,
    });
    this.duration = new CountedHistogram("flick_invocation_duration_seconds", "Wall time of an invocation, from the request's arrival to the end of its answer.", durationBucketsMs.map((ms) => ms / 1000));
    this.registry.registerMetric(this.duration as unknown as Metric);
    const seconds = durationBucketsMs.map((ms) => ms / 1000);
    this.cpu = new CountedHistogram("flick_invocation_cpu_seconds", "CPU time of an invocation (the isolate's thread clock; concurrent invocations on one instance share it).", seconds);
    this.registry.registerMetric(this.cpu as unknown as Metric);
    this.queueWait = new CountedHistogram("flick_queue_wait_seconds", "Time a request a worker host admitted waited for a slot (a tenant token and an instance with room).", seconds);
    this.registry.registerMetric(this.queueWait as unknown as Metric);
    this.egress = new Counter({
      name: "flick_egress_requests_total", help: "Outbound fetches of functions, by result: allowed, denied (by the egress policy), failed (network, timeout, limits).",
      labelNames: ["tenant", "function", "result"], registers,
    });
    this.coldStarts = new Counter({
      name: "flick_cold_starts_total", help: "Invocations that started an instance, by kind: code_cache (its code from the V8 code cache), pool (an isolate from the host's pool, the code compiled) or none (a new isolate, the code compiled).",
      labelNames: ["tenant", "function", "kind"], registers,
    });
    this.throttles = new Counter({
      name: "flick_throttled_total", help: "Requests answered 429, by reason (function_limit, tenant_limit, no_capacity).",
      labelNames: ["tenant", "function", "reason"], registers,
    });
    this.hostRestarts = new Counter({ name: "flick_host_restarts_total", help: "Worker hosts that exited and were started again, by host index.", labelNames: ["host"], registers });
    this.asyncAttempts = new Counter({
      name: "flick_async_attempts_total", help: "Async attempts (queued fetch, cron and queue-handler runs), by result: completed, failed (retried later), throttled.",
      labelNames: ["tenant", "function", "result"], registers,
    });
    this.deadLettered = new Counter({
      name: "flick_async_dead_lettered_total", help: "Async events moved to the dead-letter list, by reason (retries_exhausted, expired).",
      labelNames: ["tenant", "function", "reason"], registers,
    });
    this.cronRuns = new Counter({
      name: "flick_cron_runs_total", help: "Cron runs queued, by trigger: schedule, or missed (a run the node was down for, fired once at start).",
      labelNames: ["tenant", "function", "trigger"], registers,
    });
    this.storeCommit = new Histogram({
      name: "flick_store_commit_seconds", help: "Time a control-plane write (deploy, scale, tenant change …) takes to commit in the store.",
      labelNames: ["operation"], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers,
    });
    const instances = new Gauge({
      name: "flick_instances", help: "Instances of each function right now, by state: warm (loaded), busy (serving), provisioned (kept warm by min-instances).",
      labelNames: ["tenant", "function", "state"], registers,
      collect() {
        this.reset();
        for (const f of source.instances()) {
          this.set({ tenant: f.tenant, function: f.function, state: "warm" }, f.warm);
          this.set({ tenant: f.tenant, function: f.function, state: "busy" }, f.busy);
          this.set({ tenant: f.tenant, function: f.function, state: "provisioned" }, f.provisioned);
        }
      },
    });
    void instances;
    const hostMemory = new Gauge({
      name: "flick_host_memory_bytes", help: "Memory each worker host's instances use (as measured) and may use (its capacity).",
      labelNames: ["host", "kind"], registers,
      collect() {
        this.reset();
        for (const h of source.hosts()) {
          this.set({ host: String(h.host), kind: "used" }, h.usedMiB * 1024 * 1024);
          this.set({ host: String(h.host), kind: "capacity" }, h.capacityMiB * 1024 * 1024);
        }
      },
    });
    void hostMemory;
    const queueDepth = new Gauge({
      name: "flick_async_events", help: "Async events on this node, by status: queued (waiting, or waiting again), running, dead (in the dead-letter list).",
      labelNames: ["status"], registers,
      async collect() {
        const q = await source.queue();
        this.set({ status: "queued" }, q.queued);
        this.set({ status: "running" }, q.running);
        this.set({ status: "dead" }, q.dead);
      },
    });
    void queueDepth;
    const oldest = new Gauge({
      name: "flick_async_oldest_queued_seconds", help: "Age of the oldest async event still waiting to run (0 when none waits).", registers,
      async collect() {
        this.set((await source.queue()).oldestQueuedAgeSeconds);
      },
    });
    void oldest;
  }

  /** Adds what a host (or the primary) counted for `tenant`'s function `fn`. */
  count(tenant: string, fn: string, counts: InvocationCounts): void {
    for (const [outcome, n] of Object.entries(counts.outcomes)) {
      const bar = outcome.indexOf("|");
      this.invocations.inc({ tenant, function: fn, status: outcome.slice(0, bar), code: outcome.slice(bar + 1) }, n);
    }
    if (counts.invocations > 0) this.duration.add({ tenant, function: fn }, counts.durations, counts.durationSumMs / 1000);
    // Each cold start once: from the code cache (pooled isolate or not), else from the pool, else neither.
    const fromCache = counts.codeCacheHits;
    const fresh = counts.coldStartsFresh ?? 0;
    const fromPool = counts.coldStarts - fromCache - fresh;
    if (fromPool > 0) this.coldStarts.inc({ tenant, function: fn, kind: "pool" }, fromPool);
    if (fromCache > 0) this.coldStarts.inc({ tenant, function: fn, kind: "code_cache" }, fromCache);
    if (fresh > 0) this.coldStarts.inc({ tenant, function: fn, kind: "none" }, fresh);
    for (const [reason, n] of Object.entries(counts.throttledBy)) this.throttles.inc({ tenant, function: fn, reason }, n);
    const labels = { tenant, function: fn };
    if (counts.cpu !== undefined && counts.cpu.some((n) => n > 0)) this.cpu.add(labels, counts.cpu, (counts.cpuSumMs ?? 0) / 1000);
    if (counts.queueWait !== undefined && counts.queueWait.some((n) => n > 0)) this.queueWait.add(labels, counts.queueWait, (counts.queueWaitSumMs ?? 0) / 1000);
    for (const [result, n] of Object.entries(counts.egress ?? {})) if (n > 0) this.egress.inc({ ...labels, result }, n);
  }

  /** A removed function's series go with it (label sets stay bounded by what is deployed). */
  async removeFunction(tenant: string, fn: string): Promise<void> {
    for (const metric of [this.invocations, this.coldStarts, this.throttles, this.egress, this.asyncAttempts, this.deadLettered, this.cronRuns] as Counter<string>[]) {
      // prom-client removes a series by its whole label set: find the function's.
      for (const { labels } of (await metric.get()).values) {
        if (labels["tenant"] === tenant && labels["function"] === fn) metric.remove(labels as Record<string, string>);
      }
    }
    for (const histogram of [this.duration, this.cpu, this.queueWait]) histogram.remove({ tenant, function: fn });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}
