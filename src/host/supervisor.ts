/**
 * The supervisor, in the primary process: forks the worker hosts, restarts one that dies,
 * and turns IPC messages into promises. It knows nothing of HTTP or of placement; the
 * scheduler (control/) decides which host gets what.
 */
import { fork, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { FlickError, type ErrorData } from "../errors/index.ts";
import { MessageBatch } from "./message-batch.ts";
import { streamHighWaterBytes, type Call, type CallResult, type ClientGone, type FromHost, type InstanceSpec, type InvocationEnd, type ToHost, type WireLogLine, type WireRequest } from "./protocol.ts";

const entry = fileURLToPath(new URL("./worker-main.ts", import.meta.url));

export interface InvokeResult extends InvocationEnd {
  cold: boolean;
  /** What the instance holds, MiB, when the host measured it this time. */
  memoryMiB?: number;
  /** On a cold start: how the function's code was compiled (instance.ts `codeCache`). */
  codeCache?: "hit" | "miss" | "module";
}

/** Where a streamed response goes in the primary; logs come with the end of the body. */
export interface InvokeSink {
  head(status: number, headers: string[], body: Uint8Array | null, end: boolean, logs: WireLogLine[], cold: boolean): void;
  /** Call `written` when the bytes left the node: it returns flow-control credit to the host. */
  chunk(bytes: Uint8Array, end: boolean, logs: WireLogLine[], written: () => void): void;
}

interface Waiter {
  resolve: (value: never) => void;
  sink?: InvokeSink;
}

class HostProcess {
  child: ChildProcess | undefined;
  /** Messages to the current child, one write per event-loop turn. */
  batch: MessageBatch<ToHost> | undefined;
  send(message: ToHost): void {
    this.batch?.send(message);
  }
  ready: Promise<void> = Promise.resolve();
  readonly waiters = new Map<number, Waiter & { kind: "invoke" | "validate" }>();
}

export interface SupervisorOptions {
  hosts: number;
  /** Addresses, CIDR ranges or host names outbound fetch may reach despite the default deny rules. */
  egressAllow?: readonly string[];
  /** Where the hosts share their runtime startup snapshot (host/shared-snapshot.ts); unset: each makes its own. */
  snapshotPath?: string;
  /** An instance's binding call (service fetch, queue send): the platform checks and runs it. */
  onCall?: (call: Call) => Promise<CallResult>;
  /** An instance stopped on its own (limit hit) or with its host: forget it. */
  onInstanceGone?: (instance: string, reason: string) => void;
  /** A host process died; all its instances are gone. */
  onHostDown?: (host: number) => void;
  /** A host process is (again) ready for instances. */
  onHostUp?: (host: number) => void;
  /** Seals the V8 code cache hosts keep on disk (code-cache.ts); none without it. */
  codeCacheKey?: Buffer;
  /** Where hosts keep the runtime's code cache (`<path>.v8cache`), used when V8 has no snapshot. */
  runtimeCachePath?: string;
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
    if (this.options.snapshotPath === undefined) {
      await Promise.all(this.hosts.map((_, i) => this.spawn(i)));
      return;
    }
    await this.spawn(0);
    await Promise.all(this.hosts.slice(1).map((_, i) => this.spawn(i + 1)));
  }

  private spawn(index: number): Promise<void> {
    const host = this.hosts[index]!;
    const child = fork(entry, [], {
      execArgv: ["--no-node-snapshot"],
      serialization: "advanced",
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      env: {
        ...process.env,
        FLICK_EGRESS_ALLOW: (this.options.egressAllow ?? []).join(","),
        FLICK_CODE_CACHE_KEY: this.options.codeCacheKey?.toString("hex") ?? "",
        FLICK_RUNTIME_CACHE: this.options.runtimeCachePath ?? "",
        FLICK_RUNTIME_SNAPSHOT: this.options.snapshotPath ?? "",
      },
    });
    host.child = child;
    host.batch = new MessageBatch<ToHost>((messages) => {
      if (child.connected) child.send(messages);
    });
    host.ready = new Promise((resolve, reject) => {
      const onMessage = (messages: FromHost[]): void => {
        if (messages.some((m) => m.t === "ready")) {
          child.off("exit", onEarlyExit);
          resolve();
          this.options.onHostUp?.(index);
        }
      };
      const onEarlyExit = (code: number | null): void => reject(new Error(`worker host ${index} exited during start (code ${code})`));
      child.on("message", onMessage);
      child.once("exit", onEarlyExit);
    });
    child.on("message", (messages: FromHost[]) => {
      for (const message of messages) this.onMessage(host, message);
    });
    child.on("exit", (code, signal) => this.onExit(index, child, code, signal));
    return host.ready;
  }

  private onMessage(host: HostProcess, message: FromHost): void {
    switch (message.t) {
      case "head":
        host.waiters.get(message.id)?.sink?.head(message.status, message.headers, message.body, message.end, message.logs, message.cold);
        break;
      case "chunk": {
        const { id, bytes } = message;
        host.waiters.get(id)?.sink?.chunk(bytes, message.end, message.logs, () => {
          host.send({ t: "credit", id, bytes: bytes.byteLength });
        });
        break;
      }
      case "bodyCredit":
        this.bodyPumps.get(message.id)?.(message.bytes);
        break;
      case "done":
      case "validated": {
        const waiter = host.waiters.get(message.id);
        if (waiter === undefined) return;
        host.waiters.delete(message.id);
        waiter.resolve(message as never);
        break;
      }
      case "gone":
        this.options.onInstanceGone?.(message.instance, message.reason);
        break;
      case "call": {
        const answer = (result: CallResult) => host.send({ t: "callDone", id: message.id, result });
        const refuse = (why: string): CallResult =>
          message.call.kind === "enqueue" ? { kind: "enqueue", error: why } : { kind: "fetch", status: 0, statusText: "", headers: [], body: null, error: ["TypeError", why] };
        const onCall = this.options.onCall;
        if (onCall === undefined) answer(refuse("bindings are not available on this node"));
        else onCall(message.call).then(answer, (err: unknown) => answer(refuse(`the binding call failed inside Flick: ${String(err)}`)));
        break;
      }
    }
  }

  private onExit(index: number, child: ChildProcess, code: number | null, signal: string | null): void {
    const host = this.hosts[index]!;
    if (host.child !== child) return;
    host.child = undefined;
    host.batch?.clear();
    host.batch = undefined;
    const error: ErrorData = {
      code: "host_crashed",
      message: `the worker host running this request died (${signal ?? `exit code ${code}`}); it is being restarted, retry`,
    };
    for (const [id, waiter] of host.waiters) {
      host.waiters.delete(id);
      waiter.resolve(
        (waiter.kind === "invoke"
          ? { t: "done", id, error, logs: [], cold: false }
          : { t: "validated", id, error, scriptOk: false, handlers: [] }) as never,
      );
    }
    this.options.onHostDown?.(index);
    if (this.stopping) return;
    process.emitWarning(`flick: worker host ${index} died (${signal ?? code}); restarting`);
    setTimeout(() => {
      if (!this.stopping) this.spawn(index).catch((err: unknown) => process.emitWarning(`flick: worker host ${index} failed to restart: ${String(err)}`));
    }, 50);
  }

  private async send<T>(index: number, kind: "invoke" | "validate", build: (id: number) => ToHost, sink?: InvokeSink): Promise<T> {
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

  /** Runs a request on a host; the response streams to `sink`, the promise settles when the invocation is over. */
  async invoke(
    index: number,
    spec: InstanceSpec,
    request: WireRequest,
    sink: InvokeSink,
    body?: AsyncIterable<Uint8Array>,
    clientGone?: ClientGone,
  ): Promise<InvokeResult> {
    let messageId = 0;
    const done = this.send<Extract<FromHost, { t: "done" }>>(
      index,
      "invoke",
      (id) => {
        messageId = id;
        return { t: "invoke", id, spec, request: body === undefined ? request : { ...request, body: null, streamed: true } };
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
    const out: InvokeResult = { error: result.error, logs: result.logs, cold: result.cold };
    if (result.memoryMiB !== undefined) out.memoryMiB = result.memoryMiB;
    if (result.codeCache !== undefined) out.codeCache = result.codeCache;
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
    wasm: Record<string, Uint8Array> = {},
    script?: { code: string; path: string },
  ): Promise<{ error: ErrorData | null; scriptOk: boolean; handlers: string[] }> {
    const index = this.nextId % this.hosts.length;
    const done = await this.send<Extract<FromHost, { t: "validated" }>>(index, "validate", (id) =>
      script === undefined ? { t: "validate", id, code, filename, wasm } : { t: "validate", id, code, filename, wasm, script },
    );
    return { error: done.error, scriptOk: done.scriptOk, handlers: done.handlers };
  }

  /** Has a host start an instance ahead of its requests (the scheduler placed it there). */
  warm(index: number, spec: InstanceSpec): void {
    this.hosts[index]?.send({ t: "warm", spec });
  }

  drop(index: number, instance: string): void {
    this.hosts[index]?.send({ t: "drop", instance });
  }

  /** PIDs of the live host processes (tests kill them to prove the restart). */
  pids(): number[] {
    return this.hosts.flatMap((h) => (h.child?.pid === undefined ? [] : [h.child.pid]));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.hosts.map(
        (h) =>
          new Promise<void>((resolve) => {
            const child = h.child;
            if (child === undefined || child.exitCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGTERM");
          }),
      ),
    );
  }
}
