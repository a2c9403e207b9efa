/**
 * The supervisor, in the primary process: forks the worker hosts, restarts one that dies,
 * replaces one that reports itself tainted (the old one drains while the new one starts),
 * and turns IPC into calls and promises. It knows nothing of placement or HTTP routing:
 * it carries what the platform sends (routes, placements, invocations) and hands what
 * hosts ask (misses, reports, logs, binding calls) to the handlers it was given.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FlickError, type ErrorData } from "../errors/index.ts";
import { MessageBatch, type AccessLogFormat } from "../host/index.ts";
import type { UsageRow } from "../model/index.ts";
import type { SpanData } from "../telemetry/index.ts";
import {
  streamHighWaterBytes,
  type AcquireResult, type Call, type CallResult, type ClientGone, type FromHost, type FunctionUsage, type InstanceSpec, type InstanceUsage,
  type InvocationEnd, type RouteInfo, type ShippedLogLine, type ToHost, type WireLogLine, type WireRequest,
} from "../host/index.ts";

// `.ts` in the checkout, `.js` in the package (compiled by scripts/build-dist.ts).
const entry = fileURLToPath(new URL(`../host/worker-main${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url));

export interface InvokeResult extends InvocationEnd {
  cold: boolean;
  /** On a cold start: how the function's code was compiled (instance.ts `codeCache`), and whether its isolate came from the host's pool. */
  codeCache?: "hit" | "miss" | "module";
  pooled?: boolean;
}

/** Where a streamed response goes in the primary; logs come with the end of the body. */
export interface InvokeSink {
  head(status: number, headers: string[], body: Uint8Array | null, end: boolean, logs: WireLogLine[], cold: boolean): void;
  /** Call `written` when the bytes left the node: it returns flow-control credit to the host. */
  chunk(bytes: Uint8Array, end: boolean, logs: WireLogLine[], written: () => void): void;
}

/** What hosts ask of the platform. */
export interface HostRequests {
  acquire(host: number, fn: string, key: string, token: boolean, instance: boolean): Promise<AcquireResult>;
  tokensBack(host: number, tenant: string, n: number): void;
  report(host: number, instances: InstanceUsage[], functions: FunctionUsage[], memory: [string, number][], meter: UsageRow[]): void;
  logs(lines: ShippedLogLine[]): Promise<boolean>;
  auth(authorization: string): Promise<{ role: "admin" } | { role: "tenant"; tenant: string } | null>;
  call(call: Call): Promise<CallResult>;
  /** An instance stopped on its own (limit hit, failed to start) or was dropped. */
  gone(instance: string, reason: string): void;
  /** A host process is gone (died or being replaced): all its instances and tokens are. */
  hostDown(host: number): void;
  /** A host process is (again) ready for instances. */
  hostUp(host: number): void;
  /** A host died while the node runs, and is being started again. */
  restarting?(host: number): void;

}

interface Waiter {
  kind: "invoke" | "validate" | "ack" | "reclaim" | "spans";
  resolve: (value: never) => void;
  sink?: InvokeSink;
}

class HostProcess {
  child: ChildProcess | undefined;
  /** Messages to the current child, one write per event-loop turn. */
  batch: MessageBatch<ToHost> | undefined;
  ready: Promise<void> = Promise.resolve();
  up = false;
  readonly waiters = new Map<number, Waiter>();
  send(message: ToHost): void {
    this.batch?.send(message);
  }
}

export interface SupervisorOptions {
  hosts: number;
  /** The node's port and address: every host listens there (SO_REUSEPORT). */
  port: number;
  listenHost: string;
  /** The node's name (`--node-name`): requests its hosts forward to another node say it. */
  nodeName: string;
  /** The primary's private socket (API, relays), which hosts pass non-function traffic to. */
  primarySocket: string;
  /** Open connections per host, and the header timeout (docs/limits.md). */
  maxConnectionsPerHost: number;
  headersTimeoutMs: number;
  /** Access lines on the output: text (default), json, or off. */
  accessLog?: AccessLogFormat;
  queueWaitMs: number;
  shutdownGraceMs: number;
  /** The share of new traces hosts record (`--trace-sample`, 0…1), and where they export spans (`--otlp-endpoint`). */
  traceSample?: number;
  otlpEndpoint?: string;
  /** Invocations the node records per second at most (`--trace-max-rate`; 0: no cap). */
  traceMaxRate?: number;
  /** Flick's version, for exported telemetry. */
  version?: string;
  /** Addresses, CIDR ranges or host names outbound fetch may reach despite the default deny rules. */
  egressAllow?: readonly string[];
  /** Where the hosts share their runtime startup snapshot (host/shared-snapshot.ts); unset: each makes its own. */
  snapshotPath?: string;
  /** Seals the V8 code cache hosts keep on disk (code-cache.ts); none without it. */
  codeCacheKey?: Buffer;
  /** Where hosts keep the runtime's code cache (`<path>.v8cache`), used when V8 has no snapshot. */
  runtimeCachePath?: string;
  /** The routes a host gets when it (re)starts. */
  routes(): RouteInfo[];
  requests: HostRequests;
}

export class Supervisor {
  private readonly hosts: HostProcess[];
  private readonly options: SupervisorOptions;
  private nextId = 1;
  /** Streamed request bodies being sent, by invocation message id: told when the function read on. */
  private readonly bodyPumps = new Map<number, (bytes: number) => void>();
  private stopping = false;

  constructor(options: SupervisorOptions) {
    this.options = options;
    this.hosts = Array.from({ length: Math.max(1, options.hosts) }, () => new HostProcess());
  }

  get size(): number {
    return this.hosts.length;
  }

  /**
   * Starts the hosts. With a shared snapshot file, host 0 first: it makes (or checks) the
   * snapshot the others then load, so all of them can use the same code caches.
   */
  async start(): Promise<void> {
    await this.spawn(0);
    await Promise.all(this.hosts.slice(1).map((_, i) => this.spawn(i + 1)));
  }

  private spawn(index: number): Promise<void> {
    const host = this.hosts[index]!;
    const o = this.options;
    const child = fork(entry, [], {
      // --expose-gc: every isolate's runtime gets V8's gc (taken from user code at
      // lockdown) to collect dropped Wasm memories and buffers before refusing more.
      execArgv: ["--no-node-snapshot", "--expose-gc"],
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: {
        ...process.env,
        FLICK_HOST_INDEX: String(index),
        FLICK_LISTEN_PORT: String(o.port),
        FLICK_LISTEN_HOST: o.listenHost,
        FLICK_PRIMARY_SOCKET: o.primarySocket,
        FLICK_MAX_CONNECTIONS: String(o.maxConnectionsPerHost),
        FLICK_HEADERS_TIMEOUT_MS: String(o.headersTimeoutMs),
        FLICK_ACCESS_LOG: o.accessLog ?? "text",
        FLICK_QUEUE_WAIT_MS: String(o.queueWaitMs),
        FLICK_TRACE_SAMPLE: String(o.traceSample ?? 0),
        // The node's cap, shared by its hosts.
        FLICK_TRACE_MAX_RATE: String(o.traceMaxRate === undefined || o.traceMaxRate === 0 ? 0 : Math.max(1, Math.ceil(o.traceMaxRate / o.hosts))),
        FLICK_OTLP_ENDPOINT: o.otlpEndpoint ?? "",
        FLICK_VERSION: o.version ?? "",
        FLICK_NODE_ADDRESS: `${o.listenHost}:${o.port}`,
        FLICK_NODE_NAME: o.nodeName,
        FLICK_SHUTDOWN_GRACE_MS: String(o.shutdownGraceMs),
        FLICK_EGRESS_ALLOW: (o.egressAllow ?? []).join(","),
        FLICK_CODE_CACHE_KEY: o.codeCacheKey?.toString("hex") ?? "",
        FLICK_RUNTIME_CACHE: o.runtimeCachePath ?? "",
        FLICK_RUNTIME_SNAPSHOT: o.snapshotPath ?? "",
      },
    });
    host.child = child;
    host.up = false;
    const batch = new MessageBatch<ToHost>((messages) => {
      if (child.connected) child.send(messages);
    });
    host.batch = batch;
    // The routes go first: the host answers nothing before it knows them.
    batch.send({ t: "routes", id: 0, full: true, routes: o.routes(), removed: [] });
    host.ready = new Promise((resolve, reject) => {
      const onMessage = (messages: FromHost[]): void => {
        if (!messages.some((m) => m.t === "ready")) return;
        child.off("message", onMessage);
        child.off("exit", onEarlyExit);
        if (host.child !== child) return resolve();
        host.up = true;
        resolve();
        o.requests.hostUp(index);
      };
      const onEarlyExit = (code: number | null): void => reject(new Error(`worker host ${index} exited during start (code ${code})`));
      child.on("message", onMessage);
      child.once("exit", onEarlyExit);
    });
    child.on("message", (messages: FromHost[]) => {
      for (const message of messages) this.onMessage(index, host, child, message);
    });
    child.on("exit", (code, signal) => this.onExit(index, child, code, signal));
    return host.ready;
  }

  private onMessage(index: number, host: HostProcess, child: ChildProcess, message: FromHost): void {
    const current = host.child === child;
    const answer = (m: ToHost) => {
      if (child.connected) child.send([m]);
    };
    const r = this.options.requests;
    switch (message.t) {
      case "head":
        host.waiters.get(message.id)?.sink?.head(message.status, message.headers, message.body, message.end, message.logs, message.cold);
        return;
      case "chunk": {
        const { id, bytes } = message;
        host.waiters.get(id)?.sink?.chunk(bytes, message.end, message.logs, () => host.send({ t: "credit", id, bytes: bytes.byteLength }));
        return;
      }
      case "bodyCredit":
        this.bodyPumps.get(message.id)?.(message.bytes);
        return;
      case "done":
      case "validated":
      case "ack":
      case "spansOf":
      case "reclaimed": {
        const waiter = host.waiters.get(message.id);
        if (waiter === undefined) return;
        host.waiters.delete(message.id);
        waiter.resolve(message as never);
        return;
      }
      case "logs":
        void r.logs(message.lines).then((ok) => {
          if (message.ack !== undefined) answer({ t: "logsStored", id: message.ack, ok });
        });
        return;
      case "auth":
        void r.auth(message.authorization).then(
          (principal) => answer({ t: "authed", id: message.id, principal }),
          () => answer({ t: "authed", id: message.id, principal: null }),
        );
        return;
      case "call": {
        const reply = (result: CallResult) => answer({ t: "callDone", id: message.id, result });
        r.call(message.call).then(reply, (err: unknown) => reply({ errorName: "Error", error: `the binding call failed inside Flick: ${String(err)}`, strings: [], buffers: [] }));
        return;
      }
      case "tainted":
        if (current) this.replace(index, message.reason);
        return;
    }
    // What follows concerns the host's current instances and tokens: a replaced host's are
    // gone already. It may still ask for a slot (a request it took while its replacement
    // started): it gets a clean "retry", never silence.
    if (!current) {
      if (message.t === "acquire") {
        answer({
          t: "acquired",
          id: message.id,
          result: { kind: "throttle", reason: "no_capacity", message: "the worker host that took this request is being replaced; retry", retryAfterMs: 1000, tokens: 0, spare: 0 },
        });
      }
      return;
    }
    switch (message.t) {
      case "acquire":
        r.acquire(index, message.fn, message.key, message.token, message.instance).then(
          (result) => answer({ t: "acquired", id: message.id, result }),
          (err: unknown) => answer({ t: "acquired", id: message.id, result: { kind: "gone", message: `Flick could not place the request: ${String(err)}` } }),
        );
        return;
      case "tokensBack":
        r.tokensBack(index, message.tenant, message.n);
        return;
      case "report":
        r.report(index, message.instances, message.functions, message.memory, message.meter);
        return;

      case "gone":
        r.gone(message.instance, message.reason);
        return;
    }
  }

  /**
   * A tainted host: its index gets a new process now. The old one keeps listening until
   * the new one is ready (on a one-host node no connection is refused meanwhile), then
   * drains and exits; if it has not exited a grace period later, it is killed.
   */
  private replace(index: number, reason: string): void {
    const host = this.hosts[index]!;
    const old = host.child;
    if (old === undefined || this.stopping) return;
    process.emitWarning(`flick: replacing worker host ${index}: ${reason}`);
    host.up = false;
    this.options.requests.hostDown(index);
    const oldBatch = host.batch;
    // Invocations the old process runs keep their waiters; they settle when it exits.
    const waiters = new Map(host.waiters);
    host.waiters.clear();
    old.once("exit", () => this.failWaiters(waiters, index, "the worker host running this request was replaced"));
    const graceMs = this.options.shutdownGraceMs;
    const drainOld = () => {
      oldBatch?.send({ t: "drain", graceMs });
      oldBatch?.flush();
      const kill = setTimeout(() => {
        if (old.exitCode === null && old.signalCode === null) old.kill("SIGKILL");
      }, graceMs + 5_000);
      kill.unref();
      old.once("exit", () => clearTimeout(kill));
    };
    this.spawn(index).then(drainOld, (err: unknown) => {
      process.emitWarning(`flick: worker host ${index} failed to start: ${String(err)}`);
      drainOld();
    });
  }

  private failWaiters(waiters: Map<number, Waiter>, index: number, why: string): void {
    const error: ErrorData = { code: "host_crashed", message: `${why} (host ${index}); retry` };
    for (const [id, waiter] of waiters) {
      waiters.delete(id);
      const value =
        waiter.kind === "invoke" ? { t: "done", id, error, logs: [], cold: false, started: true }
        : waiter.kind === "validate" ? { t: "validated", id, error, scriptOk: false, handlers: [] }
        : waiter.kind === "reclaim" ? { t: "reclaimed", id, tenant: "", n: 0 }
        : waiter.kind === "spans" ? { t: "spansOf", id, traceId: null, spans: [] }
        : { t: "ack", id };
      waiter.resolve(value as never);
    }
  }

  private onExit(index: number, child: ChildProcess, code: number | null, signal: string | null): void {
    const host = this.hosts[index]!;
    if (host.child !== child) return;
    host.child = undefined;
    host.up = false;
    host.batch?.clear();
    host.batch = undefined;
    this.failWaiters(host.waiters, index, `the worker host running this request died (${signal ?? `exit code ${code}`}); it is being restarted`);
    this.options.requests.hostDown(index);
    if (this.stopping) return;
    process.emitWarning(`flick: worker host ${index} died (${signal ?? code}); restarting`);
    this.options.requests.restarting?.(index);
    setTimeout(() => {
      if (!this.stopping) this.spawn(index).catch((err: unknown) => process.emitWarning(`flick: worker host ${index} failed to restart: ${String(err)}`));
    }, 50);
  }

  private async ask<T>(index: number, kind: Waiter["kind"], build: (id: number) => ToHost, sink?: InvokeSink): Promise<T> {
    const host = this.hosts[index]!;
    await host.ready;
    const child = host.child;
    if (child === undefined || !child.connected) {
      throw new FlickError("unavailable", `worker host ${index} is restarting; retry in a moment`);
    }
    const id = this.nextId++;
    return new Promise<T>((resolve) => {
      host.waiters.set(id, { kind, resolve: resolve as (value: never) => void, ...(sink === undefined ? {} : { sink }) });
      host.send(build(id));
    });
  }

  /**
   * Runs a request on `instance` of host `index` (created first from `spec` when given);
   * the response streams to `sink`; the promise settles when the invocation is over.
   */
  async invoke(
    index: number,
    instance: string,
    spec: InstanceSpec | undefined,
    request: WireRequest,
    sink: InvokeSink,
    body?: AsyncIterable<Uint8Array>,
    clientGone?: ClientGone,
  ): Promise<InvokeResult> {
    let messageId = 0;
    const wire = body === undefined ? request : { ...request, body: null, streamed: true };
    const done = this.ask<Extract<FromHost, { t: "done" }>>(
      index,
      "invoke",
      (id) => {
        messageId = id;
        return spec === undefined ? { t: "invoke", id, instance, request: wire } : { t: "invoke", id, instance, spec, request: wire };
      },
      sink,
    );
    let finished = false;
    if (body !== undefined) void this.pumpBody(index, () => messageId, body, () => finished);
    if (clientGone !== undefined) {
      clientGone.cancel = () => {
        if (messageId !== 0) this.hosts[index]?.send({ t: "cancel", id: messageId });
      };
    }
    const result = await done;
    finished = true;
    this.bodyPumps.get(messageId)?.(0);
    if (clientGone !== undefined) clientGone.cancel = undefined;
    const out: InvokeResult = { error: result.error, logs: result.logs, cold: result.cold, started: result.started };
    if (result.codeCache !== undefined) out.codeCache = result.codeCache;
    if (result.pooled !== undefined) out.pooled = result.pooled;
    return out;
  }

  /**
   * Sends a streamed request body to the host as it arrives from the client, at most
   * `streamHighWaterBytes` ahead of what the function has read: above that it stops
   * reading the client (TCP back-pressure) until the host reports the function read on.
   */
  private async pumpBody(index: number, id: () => number, body: AsyncIterable<Uint8Array>, finished: () => boolean): Promise<void> {
    const host = this.hosts[index]!;
    await host.ready;
    const send = (message: ToHost) => host.send(message);
    let unread = 0;
    let wake: (() => void) | undefined;
    const key = id();
    this.bodyPumps.set(key, (bytes) => {
      unread -= bytes;
      if (unread <= streamHighWaterBytes || finished()) wake?.();
    });
    try {
      for await (const bytes of body) {
        if (finished()) return;
        send({ t: "body", id: key, bytes, end: false });
        unread += bytes.byteLength;
        while (unread > streamHighWaterBytes && !finished()) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      send({ t: "body", id: key, bytes: new Uint8Array(0), end: true });
    } catch (err) {
      send({ t: "body", id: key, bytes: new Uint8Array(0), end: true, error: (err as Error).message ?? String(err) });
    } finally {
      this.bodyPumps.delete(key);
    }
  }

  /**
   * Loads `code` in a throwaway isolate: `error` null when it is a valid function module.
   * With its script form (and where that will be kept), also checks the form loads and has
   * the host seal its V8 code cache: `scriptOk` says whether to keep the form.
   */
  async validate(
    code: string,
    filename: string,
    /** The function's timeout: its module's top level may run this long (at most 10 s), as at a cold start. */
    timeoutMs: number,
    wasm: Record<string, Uint8Array> = {},
    script?: { code: string; path: string },
  ): Promise<{ error: ErrorData | null; scriptOk: boolean; handlers: string[] }> {
    const index = this.nextId % this.hosts.length;
    const done = await this.ask<Extract<FromHost, { t: "validated" }>>(index, "validate", (id) =>
      script === undefined ? { t: "validate", id, code, filename, timeoutMs, wasm } : { t: "validate", id, code, filename, timeoutMs, wasm, script },
    );
    return { error: done.error, scriptOk: done.scriptOk, handlers: done.handlers };
  }

  /** Sends route changes to every live host and waits until each has them. */
  async pushRoutes(routes: RouteInfo[], removed: string[]): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host, index) => {
        if (host.child === undefined) return;
        try {
          await this.ask(index, "ack", (id) => ({ t: "routes", id, full: false, routes, removed }));
        } catch {
          // A restarting host gets the whole table when it starts.
        }
      }),
    );
  }

  /** Has every live host send its usage report now; resolves once they all did. */
  async flushReports(): Promise<void> {
    await Promise.all(
      this.hosts.map(async (host, index) => {
        if (!host.up) return;
        try {
          await this.ask(index, "ack", (id) => ({ t: "flush", id }));
        } catch {}
      }),
    );
  }

  /** Asks host `index` for `tenant`'s tokens it does not use; resolves with how many it gave back. */
  async reclaim(index: number, tenant: string): Promise<number> {
    const host = this.hosts[index];
    if (host === undefined || !host.up) return 0;
    try {
      const answer = await this.ask<Extract<FromHost, { t: "reclaimed" }>>(index, "reclaim", (id) => ({ t: "reclaim", id, tenant }));
      return answer.n;
    } catch {
      return 0;
    }
  }

  /**
   * The spans the hosts keep of the trace of `invocationId` (or of `traceId`), from every
   * host that is up: a trace's invocations may have run on several. A host that does not
   * answer (restarting) adds nothing.
   */
  async spansOf(invocationId: string, traceId: string | null): Promise<{ traceId: string | null; spans: SpanData[] }[]> {
    return Promise.all(
      this.hosts.map(async (host, index) => {
        if (!host.up) return { traceId: null, spans: [] };
        try {
          return await this.ask<Extract<FromHost, { t: "spansOf" }>>(index, "spans", (id) => ({ t: "spans", id, invocationId, traceId }));
        } catch {
          return { traceId: null, spans: [] };
        }
      }),
    );
  }

  /** Has a host start an instance ahead of its requests (the scheduler placed it there). */
  warm(index: number, spec: InstanceSpec): void {
    this.hosts[index]?.send({ t: "warm", spec });
  }

  /** Stops an instance: `now` (kill switch, removal) or once its requests are done. */
  drop(index: number, instance: string, now: boolean): void {
    this.hosts[index]?.send({ t: "drop", instance, now });
  }

  isUp(index: number): boolean {
    return this.hosts[index]?.up === true;
  }

  /** PIDs of the live host processes (tests kill them to prove the restart). */
  pids(): number[] {
    return this.hosts.flatMap((h) => (h.child?.pid === undefined ? [] : [h.child.pid]));
  }

  /** Stops the hosts: each stops accepting, finishes what it runs within `graceMs`, and exits. */
  async stop(graceMs = 0): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.hosts.map(
        (h) =>
          new Promise<void>((resolve) => {
            const child = h.child;
            if (child === undefined || child.exitCode !== null) return resolve();
            child.once("exit", () => resolve());
            if (graceMs > 0 && child.connected) {
              h.batch?.send({ t: "drain", graceMs });
              h.batch?.flush();
              setTimeout(() => child.kill("SIGKILL"), graceMs + 2000).unref();
            } else child.kill("SIGTERM");
          }),
      ),
    );
  }
}
