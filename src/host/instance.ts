/**
 * One instance: an isolate holding one function version of one tenant, with the guest
 * runtime loaded and the user's module bound. It runs any number of concurrent
 * invocations, entering the isolate synchronously (applySync) with a timeout equal to
 * the invocation's remaining time, which is how CPU loops — before or after an await —
 * are cut at the deadline.
 */
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import ivm from "isolated-vm";
import { FlickError, type ErrorCode, type ErrorData } from "../errors/index.ts";
import { limits, type LogLevel } from "../model/index.ts";
import { compressionLimits, ZlibStream } from "./compression-ops.ts";
import { runSubtle, SubtleError } from "./web-crypto-ops.ts";
import type { EgressPolicy } from "./egress-policy.ts";
import { OutboundError, outboundFetch, type OutboundRequest } from "./outbound-fetch.ts";
import { streamHighWaterBytes, type Call, type CallResult, type InstanceSpec, type InvocationControl, type InvocationEnd, type ResponseSink, type WireLogLine, type WireRequest } from "./protocol.ts";

/**
 * The runtime bundle, and how isolates get it fast: a V8 startup snapshot with the
 * runtime already evaluated (when V8 could make one), else V8's code cache for it, made
 * by the first isolate that compiled it. Both are made by this node's hosts only (the
 * snapshot shared through the data dir, sealed: shared-snapshot.ts).
 */
export interface RuntimeCode {
  source: string;
  cachedData?: ivm.ExternalCopy<ArrayBuffer>;
  snapshot?: ivm.ExternalCopy<ArrayBuffer>;
  /** Told once when an isolate produced the code cache (the host keeps it on disk). */
  onCachedData?: (data: ivm.ExternalCopy<ArrayBuffer>) => void;
}

/**
 * A function version's code: its module source, or its script form (build/script-form.ts)
 * with a V8 code cache when there is one. Only a script can start from a code cache:
 * isolated-vm compiles modules without V8's consume option.
 */
export type FunctionCode = string | ScriptCode;

export interface ScriptCode {
  script: string;
  cachedData?: ivm.ExternalCopy<ArrayBuffer>;
  /** Told when this isolate made a code cache (none was given, or V8 refused the one given). */
  onCachedData?: (data: ivm.ExternalCopy<ArrayBuffer>) => void;
}

/**
 * Runs in a throwaway context before the snapshot is taken, so V8 compiles the request
 * path (dispatcher, Request, Headers, URL, Response) and keeps that code in the snapshot:
 * a new instance's first request then runs compiled code instead of compiling it lazily.
 */
export const snapshotWarmup = `
  const noop = () => {};
  globalThis.__flickHost = {
    randomBytes: (n) => new Uint8Array(n), domainToASCII: (d) => d, log: noop, timerStart: noop, timerClear: noop,
    respond: noop, chunk: () => true, complete: noop, fail: noop, fetchStart: noop, fetchAbort: noop,
    subtle: noop, zlibOpen: noop, zlibWrite: noop, zlibClose: noop, bodyCredit: noop, wasmModule: () => null, queueSend: noop,
  };
  const d = __flickDispatcher;
  d.connect(Date.now());
  d.init({ default: { async fetch(request, env) {
    const url = new URL(request.url);
    const text = await request.text();
    return url.searchParams.has("json") ? Response.json({ path: url.pathname, text }) : new Response("warm " + text, { headers: { "x-a": "b" } });
  } } }, []);
  for (let i = 1; i <= 8; i++) {
    d.dispatch(i, Date.now(), "POST", "http://warm.invalid/path?json=" + (i % 2), ["content-type", "text/plain", "accept", "*/*"], new Uint8Array([104, 105]), false);
  }
`;

/** Evaluates the runtime once into a startup snapshot; undefined when V8 cannot. */
export function makeRuntimeSnapshot(source: string): ivm.ExternalCopy<ArrayBuffer> | undefined {
  try {
    return ivm.Isolate.createSnapshot([{ code: source, filename: "flick:runtime.js" }], snapshotWarmup);
  } catch {
    try {
      return ivm.Isolate.createSnapshot([{ code: source, filename: "flick:runtime.js" }]);
    } catch {
      return undefined;
    }
  }
}

/** Per-invocation limits on outbound fetch (docs/limits.md). */
export const fetchLimits = {
  subrequests: 50,
  connections: 6,
  maxResponseBytes: 32 * 1024 * 1024,
  maxUrlLength: 16 * 1024,
  maxHeaderEntries: 512,
} as const;

interface Pending {
  deadline: number;
  subrequests: number;
  activeFetches: number;
  /** Fetches waiting for one of the `connections` slots. */
  queuedFetches: (() => void)[];
  /** Aborts every outbound fetch of the invocation when it ends (made on first fetch: not on the hot path). */
  fetches: AbortController | undefined;
  fetchOps: Map<number, AbortController>;
  zlib: Map<number, ZlibStream> | undefined;
  /** crypto.subtle calls running, and those waiting for one of the `subtleSlots`. */
  subtleRunning: number;
  subtleQueue: (() => void)[];
  resolve: (end: InvocationEnd) => void;
  sink: ResponseSink;
  headSent: boolean;
  bodyEnded: boolean;
  /** Streamed body bytes the client has not taken yet; the guest pauses above the high-water mark. */
  unacked: number;
  paused: boolean;
  logs: WireLogLine[];
  timers: Map<number, NodeJS.Timeout>;
  wall: NodeJS.Timeout;
  /** The platform's id of the invocation and its service-binding depth (bindings pass them on). */
  invocationId: string;
  depth: number;
}

/** Shared empty map for invocations that never fetch (most of them). */
const noFetches: Map<number, AbortController> = new Map();
const levels = new Set<LogLevel>(["debug", "info", "log", "warn", "error"]);
const moduleScope = 0;

/**
 * The time handed to the guest at each entry: Unix ms with a fractional part, so the
 * guest's performance.now() has sub-millisecond resolution across I/O (Date.now() floors
 * it). The guest clock stands still between entries either way.
 */
function guestClock(): number {
  return performance.timeOrigin + performance.now();
}
/** crypto.subtle calls one invocation runs at once (the rest wait their turn). */
const subtleSlots = 4;

function cut(message: string): string {
  return message.length > limits.logLineMaxBytes ? `${message.slice(0, limits.logLineMaxBytes)}… [line cut at ${limits.logLineMaxBytes} bytes]` : message;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class Instance {
  /** The function this instance runs; a pooled blank instance has a placeholder until `adopt`. */
  spec: InstanceSpec;
  /** Called once when the instance stops existing for a reason of its own (limit hit). */
  onGone: (reason: string) => void = () => {};
  /**
   * How its code was compiled: from the V8 code cache ("hit"), from source because there
   * was none or V8 refused it ("miss"), or as a module ("module"). Reported with the first request.
   */
  codeCache: "hit" | "miss" | "module" = "module";
  /** Binding calls (service fetch, queue send) go to the platform through this; unset: refused. */
  calls: ((call: Call) => Promise<CallResult>) | undefined;
  private readonly isolate: ivm.Isolate;
  private readonly context: ivm.Context;
  private readonly pending = new Map<number, Pending>();
  private readonly timerOwner = new Map<number, number>();
  private dispatchRef!: ivm.Reference<(...args: unknown[]) => void>;
  private scheduledRef!: ivm.Reference<(...args: unknown[]) => void>;
  private queueBatchRef!: ivm.Reference<(...args: unknown[]) => void>;
  private handlersRef!: ivm.Reference<() => string>;
  private timerRef!: ivm.Reference<(timer: number, invocation: number, nowMs: number) => void>;
  private endRef!: ivm.Reference<(invocation: number) => void>;
  private fetchedRef!: ivm.Reference<(...args: unknown[]) => void>;
  private zlibDoneRef!: ivm.Reference<(...args: unknown[]) => void>;
  private subtleDoneRef!: ivm.Reference<(...args: unknown[]) => void>;
  private queueDoneRef!: ivm.Reference<(...args: unknown[]) => void>;
  private resumeRef!: ivm.Reference<(invocation: number, nowMs: number) => void>;
  private bodyRef!: ivm.Reference<(...args: unknown[]) => void>;
  private rejectionRef!: ivm.Reference<(...args: unknown[]) => void>;
  private readonly egress: EgressPolicy;
  private wasm: (hash: string) => Uint8Array | null;
  private initRef: ivm.Reference<(...args: unknown[]) => string> | undefined;
  private moduleLogs: WireLogLine[] = [];
  private justSettled: { invocation: number; logs: WireLogLine[] } | undefined;
  private nextId = 1;
  private disposing = false;
  /** Invocations since the host last reported this instance's memory. */
  private sinceMemoryReport = 0;

  /**
   * Creates the isolate, loads the runtime and the module, and checks it has a fetch
   * handler. Throws a FlickError (`invalid_bundle`, `missing_fetch_handler`,
   * `memory_limit`, `timeout`) with every trace of the isolate already released.
   */
  constructor(spec: InstanceSpec, code: FunctionCode | null, runtime: RuntimeCode, egress: EgressPolicy, wasm: (hash: string) => Uint8Array | null = () => null) {
    this.spec = spec;
    this.egress = egress;
    this.wasm = wasm;
    this.isolate = new ivm.Isolate(
      runtime.snapshot === undefined ? { memoryLimit: spec.memoryMiB } : { memoryLimit: spec.memoryMiB, snapshot: runtime.snapshot },
    );
    try {
      this.context = this.isolate.createContextSync();
      this.prepare(runtime);
      if (code !== null) this.load(code);
    } catch (err) {
      const error = this.classify(err, "invalid_bundle");
      this.dispose();
      throw error;
    }
  }

  /**
   * A blank instance: isolate, context and runtime ready, no function yet (isolate-pool.ts
   * keeps some, so a cold start skips the 3–4 ms of making one). Its memory limit is fixed.
   */
  static blank(memoryMiB: number, runtime: RuntimeCode, egress: EgressPolicy): Instance {
    const placeholder: InstanceSpec = { instance: "", function: "(pool)", versionId: "", bundlePath: "", memoryMiB, timeoutMs: 30_000, env: [], wasm: {} };
    const instance = new Instance(placeholder, null, runtime, egress);
    instance.warmUp();
    return instance;
  }

  /**
   * A few requests through the dispatcher with a built-in handler before any function is
   * loaded, so the request path's inline caches are warm when the first real request
   * comes: a pooled cold start then costs what a warm request costs. No user code runs.
   */
  private warmUp(): void {
    const init = this.initRef!;
    const handler = this.context.evalSync(`({ default: { fetch: (r) => new Response("warm " + new URL(r.url).pathname, { headers: { "x-warm": "1" } }) } })`, { reference: true }) as ivm.Reference<object>;
    init.applySync(undefined, [handler.derefInto(), []], { arguments: { copy: true }, timeout: 1000 });
    handler.release();
    const sink: ResponseSink = { head() {}, chunk() {}, bodyCredit() {} };
    for (let i = 0; i < 4; i++) {
      void this.invoke({ method: i % 2 === 0 ? "GET" : "POST", url: `http://warm.invalid/p${i}?q=${i}`, headers: ["accept", "*/*", "user-agent", "flick-warm"], body: i % 2 === 0 ? null : new Uint8Array([104, 105]) }, sink);
    }
    // Back to module scope before the function's module runs (its I/O must be refused there).
    this.endRef.applySync(undefined, [this.nextId - 1], { timeout: 100 });
    this.moduleLogs = [];
  }

  /** Gives a blank instance its function; throws (disposed) as the constructor would. */
  adopt(spec: InstanceSpec, code: FunctionCode, wasm: (hash: string) => Uint8Array | null): void {
    if (spec.memoryMiB !== this.spec.memoryMiB) throw new Error(`a ${this.spec.memoryMiB} MiB blank instance cannot run a ${spec.memoryMiB} MiB function`);
    this.spec = spec;
    this.wasm = wasm;
    try {
      this.load(code);
    } catch (err) {
      const error = this.classify(err, "invalid_bundle");
      this.dispose();
      throw error;
    }
  }

  /** The handlers the function's module exports ("fetch", "scheduled", "queue"). */
  handlers(): string[] {
    const list = this.handlersRef.applySync(undefined, [], { timeout: 100 }) as string;
    return list === "" ? [] : list.split(",");
  }

  get busy(): number {
    return this.pending.size;
  }

  get disposed(): boolean {
    return this.disposing || this.isolate.isDisposed;
  }

  /** Returns the module-scope logs collected while booting (to attach to the first invocation). */
  takeModuleLogs(): WireLogLine[] {
    const logs = this.moduleLogs;
    this.moduleLogs = [];
    return logs;
  }

  /** Runtime in, host ops connected, dispatcher entries taken: everything but the function. */
  private prepare(runtime: RuntimeCode): void {
    const jail = this.context.global;
    if (runtime.snapshot === undefined) {
      const script = this.isolate.compileScriptSync(runtime.source, {
        filename: "flick:runtime.js",
        ...(runtime.cachedData === undefined ? { produceCachedData: true } : { cachedData: runtime.cachedData }),
      });
      const produced = (script as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
      if (runtime.cachedData === undefined && produced !== undefined) {
        runtime.cachedData = produced;
        runtime.onCachedData?.(produced);
      }
      script.runSync(this.context, { timeout: 5000 });
      script.release();
    }
    this.context.evalSync("globalThis.__flickHost = {}");
    const ops = jail.getSync("__flickHost", { reference: true }) as ivm.Reference<Record<string, unknown>>;
    const callbacks: Record<string, (...args: never[]) => unknown> = {
      randomBytes: (n: number) => {
        if (!Number.isInteger(n) || n < 0 || n > 65536) throw new RangeError("randomBytes: length must be an integer in 0..65536");
        return new Uint8Array(randomBytes(n));
      },
      domainToASCII: (domain: string) => {
        if (typeof domain !== "string" || domain.length > 4096) return null;
        const ascii = domainToASCII(domain);
        return ascii === "" ? null : ascii;
      },
      log: (invocation: number, level: string, message: string) => this.log(invocation, level, message),
      timerStart: (invocation: number, timer: number, delayMs: number) => this.timerStart(invocation, timer, delayMs),
      timerClear: (timer: number) => this.timerClear(timer),
      respond: (invocation: number, status: number, headers: string[], body: Uint8Array | null, end: boolean) =>
        this.respond(invocation, status, headers, body, end),
      chunk: (invocation: number, bytes: Uint8Array, end: boolean) => this.chunk(invocation, bytes, end),
      complete: (invocation: number) => this.complete(invocation),
      fail: (invocation: number, message: string, stack: string) => this.fail(invocation, message, stack),
      fetchStart: (invocation: number, op: number, method: string, url: string, headers: string[], body: Uint8Array | null, redirect: string, binding: string) =>
        this.fetchStart(invocation, op, method, url, headers, body, redirect, binding),
      queueSend: (invocation: number, op: number, binding: string, bodies: Uint8Array[], contentTypes: string[]) =>
        this.queueSend(invocation, op, binding, bodies, contentTypes),
      fetchAbort: (op: number) => this.fetchAbort(op),
      wasmModule: (hash: string) => (typeof hash === "string" && /^[0-9a-f]{64}$/.test(hash) ? this.wasm(hash) : null),
      zlibOpen: (invocation: number, stream: number, format: string, compress: boolean) => this.zlibOpen(invocation, stream, format, compress),
      zlibWrite: (invocation: number, stream: number, op: number, bytes: Uint8Array, final: boolean) => this.zlibWrite(invocation, stream, op, bytes, final),
      zlibClose: (invocation: number, stream: number) => this.zlibClose(invocation, stream),
      bodyCredit: (invocation: number, bytes: number) => {
        if (Number.isSafeInteger(bytes) && bytes > 0) this.pending.get(invocation)?.sink.bodyCredit(bytes);
      },
      subtle: (invocation: number, op: number, method: string, json: string, buffers: Uint8Array[]) => this.subtle(invocation, op, method, json, buffers),
    };
    for (const [name, fn] of Object.entries(callbacks)) ops.setSync(name, new ivm.Callback(fn));
    ops.release();


    const dispatcher = jail.getSync("__flickDispatcher", { reference: true }) as ivm.Reference<Record<string, unknown>>;
    jail.deleteSync("__flickDispatcher");
    const connect = dispatcher.getSync("connect", { reference: true }) as ivm.Reference<(nowMs: number) => void>;
    connect.applySync(undefined, [guestClock()], { timeout: 1000 });
    connect.release();
    this.initRef = dispatcher.getSync("init", { reference: true }) as ivm.Reference<(...args: unknown[]) => string>;
    this.dispatchRef = dispatcher.getSync("dispatch", { reference: true }) as typeof this.dispatchRef;
    this.scheduledRef = dispatcher.getSync("scheduled", { reference: true }) as typeof this.scheduledRef;
    this.queueBatchRef = dispatcher.getSync("queueBatch", { reference: true }) as typeof this.queueBatchRef;
    this.handlersRef = dispatcher.getSync("handlers", { reference: true }) as typeof this.handlersRef;
    this.timerRef = dispatcher.getSync("timer", { reference: true }) as typeof this.timerRef;
    this.endRef = dispatcher.getSync("end", { reference: true }) as typeof this.endRef;
    this.fetchedRef = dispatcher.getSync("fetched", { reference: true }) as typeof this.fetchedRef;
    this.zlibDoneRef = dispatcher.getSync("zlibDone", { reference: true }) as typeof this.zlibDoneRef;
    this.subtleDoneRef = dispatcher.getSync("subtleDone", { reference: true }) as typeof this.subtleDoneRef;
    this.queueDoneRef = dispatcher.getSync("queueDone", { reference: true }) as typeof this.queueDoneRef;
    this.resumeRef = dispatcher.getSync("resume", { reference: true }) as typeof this.resumeRef;
    this.bodyRef = dispatcher.getSync("body", { reference: true }) as typeof this.bodyRef;
    this.rejectionRef = dispatcher.getSync("unhandledRejection", { reference: true }) as typeof this.rejectionRef;
    dispatcher.release();
  }

  /** The function's code: compiled (a module linked), evaluated, its handler found. */
  private load(code: FunctionCode): void {
    const init = this.initRef!;
    this.initRef = undefined;
    const filename = `${this.spec.function}.js`;
    const timeout = Math.min(this.spec.timeoutMs, 10_000);
    let namespace: ivm.Reference<unknown>;
    if (typeof code === "string") {
      const module = this.isolate.compileModuleSync(code, { filename });
      module.instantiateSync(this.context, (specifier) => {
        throw new Error(`import "${specifier}" is not part of the bundle; functions are deployed as one bundled module (flick deploy bundles imports for you)`);
      });
      module.evaluateSync({ timeout });
      namespace = module.namespace;
    } else {
      const script = this.compileScript(code, filename);
      namespace = script.runSync(this.context, { reference: true, timeout }) as ivm.Reference<unknown>;
      script.release();
    }
    const bindings = (this.spec.bindings ?? []).flatMap((b) => [b.name, b.kind]);
    const problem = init.applySync(undefined, [namespace.derefInto(), this.spec.env, bindings], {
      arguments: { copy: true },
      timeout: 1000,
    }) as string;
    init.release();
    if (problem !== "") throw new FlickError("missing_fetch_handler", `${this.spec.function}: ${problem}`);
  }

  /**
   * Compiles a script form from its code cache when one is given and V8 takes it, else from
   * source, making the cache. A refused cache (V8 or flags changed) is replaced at once: the
   * second compile hits V8's in-isolate compilation cache, so it costs little.
   */
  private compileScript(code: ScriptCode, filename: string): ivm.Script {
    if (code.cachedData !== undefined) {
      const script = this.isolate.compileScriptSync(code.script, { filename, cachedData: code.cachedData });
      if ((script as ivm.Script & { cachedDataRejected?: boolean }).cachedDataRejected !== true) {
        this.codeCache = "hit";
        return script;
      }
      script.release();
    }
    this.codeCache = "miss";
    const script = this.isolate.compileScriptSync(code.script, { filename, produceCachedData: code.onCachedData !== undefined });
    const produced = (script as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
    if (produced !== undefined) code.onCachedData?.(produced);
    return script;
  }

  /**
   * Runs one request: the response goes to `sink` as the handler produces it; the promise
   * settles when the invocation is over (response done and waitUntil work settled, or a
   * failure). Never rejects: failures are an `error`.
   */
  invoke(request: WireRequest, sink: ResponseSink, onStart?: (control: InvocationControl) => void): Promise<InvocationEnd> {
    if (this.disposed) {
      return Promise.resolve({ error: { code: "instance_terminated", message: "the instance was stopped before the request started; retry" }, logs: [] });
    }
    const id = this.nextId++;
    const timeoutMs = this.spec.timeoutMs;
    return new Promise((resolve) => {
      const pending: Pending = {
        deadline: Date.now() + timeoutMs,
        subrequests: 0,
        activeFetches: 0,
        queuedFetches: [],
        fetches: undefined,
        fetchOps: noFetches,
        zlib: undefined,
        subtleRunning: 0,
        subtleQueue: [],
        resolve,
        sink,
        headSent: false,
        bodyEnded: false,
        unacked: 0,
        paused: false,
        logs: this.takeModuleLogs(),
        timers: new Map(),
        wall: setTimeout(() => this.timeoutPending(id), timeoutMs),
        invocationId: request.invocationId ?? "",
        depth: request.depth ?? 0,
      };
      this.pending.set(id, pending);
      onStart?.({
        credit: (bytes) => this.credit(id, bytes),
        body: (bytes, end, error) => this.enter(id, (timeout) => this.bodyRef.applySync(undefined, [id, bytes, end, error ?? ""], { arguments: { copy: true }, timeout })),
        cancel: () => this.cancel(id),
      });
      const scheduled = request.scheduled;
      const queue = request.queue;
      this.enter(id, (timeout) =>
        scheduled !== undefined
          ? this.scheduledRef.applySync(undefined, [id, guestClock(), scheduled.cron, scheduled.scheduledTime], { arguments: { copy: true }, timeout })
          : queue !== undefined
            ? this.queueBatchRef.applySync(
                undefined,
                [id, guestClock(), queue.name, queue.messages.map((m) => m.id), queue.messages.map((m) => m.timestamp), queue.messages.map((m) => m.attempts), queue.messages.map((m) => m.body), queue.messages.map((m) => m.contentType)],
                { arguments: { copy: true }, timeout },
              )
            : this.dispatchRef.applySync(undefined, [id, guestClock(), request.method, request.url, request.headers, request.body, request.streamed === true], {
              arguments: { copy: true },
              timeout,
            }),
      );
    });
  }

  /** Stops the instance; in-flight invocations end with `instance_terminated`. */
  dispose(): void {
    if (this.disposing) return;
    this.disposing = true;
    for (const id of [...this.pending.keys()]) {
      this.settle(id, { code: "instance_terminated", message: "the instance was stopped while this request ran (another request on it hit a limit); retry" });
    }
    try {
      this.isolate.dispose();
    } catch {}
  }

  // — entering the isolate —

  private enter(invocation: number, run: (timeout: number) => void): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined || this.disposed) return;
    const remaining = pending.deadline - Date.now();
    if (remaining <= 0) {
      this.timeoutPending(invocation);
      return;
    }
    this.justSettled = undefined;
    try {
      run(Math.max(1, Math.ceil(remaining)));
    } catch (err) {
      const error = this.classify(err, "function_error");
      if (error.code === "function_error" && !this.disposed) this.unhandledRejection(invocation, err);
      else this.terminate(invocation, error);
    }
  }

  /**
   * isolated-vm throws the first promise rejection nobody handled during an entry out of
   * that entry (the runtime's own entry points catch everything else). The isolate is fine:
   * the guest fires `unhandledrejection` and, unless a listener cancels it, logs it — as a
   * browser or Workers would; the request goes on.
   */
  private unhandledRejection(invocation: number, reason: unknown): void {
    try {
      this.rejectionRef.applySync(undefined, [invocation, reason instanceof Error ? reason : String(reason)], {
        arguments: { copy: true },
        timeout: 100,
      });
    } catch {
      const text = reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : String(reason);
      this.log(invocation, "error", `Uncaught (in promise) ${text}`);
    }
  }

  /** What an exception out of the isolate means. */
  private classify(err: unknown, fallback: ErrorCode): FlickError {
    if (err instanceof FlickError) return err;
    const message = messageOf(err);
    if ((this.isolate.isDisposed && !this.disposing) || /memory limit/i.test(message)) {
      return new FlickError("memory_limit", `${this.spec.function} went over its memory limit of ${this.spec.memoryMiB} MiB; the instance was stopped. Use less memory or deploy with a larger --memory.`);
    }
    if (/timed out/i.test(message)) {
      return new FlickError("timeout", `${this.spec.function} ran past its ${this.spec.timeoutMs} ms limit; the instance was stopped. Deploy with a larger --timeout if the work is legitimate.`);
    }
    return new FlickError(fallback, `${this.spec.function}: ${message}`);
  }

  /** The invocation hit a limit inside the isolate: answer it, stop everything else, free the isolate. */
  private terminate(invocation: number, error: FlickError): void {
    this.log(invocation, "error", error.message);
    this.settle(invocation, error.toData());
    const reason = error.code;
    this.dispose();
    this.onGone(reason);
  }

  /** The client went away: the invocation stops (its timers, fetches and streams with it). */
  private cancel(invocation: number): void {
    if (!this.pending.has(invocation)) return;
    this.log(invocation, "info", "the client disconnected; the invocation was stopped");
    this.settle(invocation, null);
    if (!this.disposed) {
      try {
        this.endRef.applySync(undefined, [invocation], { timeout: 100 });
      } catch {}
    }
  }

  private timeoutPending(invocation: number): void {
    if (!this.pending.has(invocation)) return;
    const pending = this.pending.get(invocation)!;
    const message = pending.bodyEnded
      ? `${this.spec.function}: work after the response (ctx.waitUntil) ran past the ${this.spec.timeoutMs} ms limit and was cancelled.`
      : `${this.spec.function} did not respond within its ${this.spec.timeoutMs} ms limit. Deploy with a larger --timeout if the work is legitimate.`;
    this.log(invocation, "error", message);
    this.settle(invocation, { code: "timeout", message });
    // Outside any isolate entry here (a host timer fired), so telling the guest is safe.
    if (!this.disposed) {
      try {
        this.endRef.applySync(undefined, [invocation], { timeout: 100 });
      } catch {}
    }
  }

  /** Ends an invocation: `error` null when it completed. */
  private settle(invocation: number, error: ErrorData | null): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined) return;
    this.pending.delete(invocation);
    clearTimeout(pending.wall);
    pending.fetches?.abort();
    pending.queuedFetches.length = 0;
    if (pending.zlib !== undefined) for (const stream of pending.zlib.values()) stream.destroy();
    for (const [timer, handle] of pending.timers) {
      clearTimeout(handle);
      this.timerOwner.delete(timer);
    }
    pending.resolve({ error, logs: pending.logs });
    // Lines printed later in the same isolate entry (an unhandled rejection surfaces at its
    // end) still join this invocation's logs, which are sent only after the entry.
    this.justSettled = { invocation, logs: pending.logs };
  }

  // — host ops (called synchronously from inside the isolate) —

  private fetchStart(invocation: number, op: number, method: string, url: string, headers: string[], body: Uint8Array | null, redirect: string, binding = ""): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined) throw new Error("fetch() after the request ended: outbound requests belong to a request that is still running");
    const target = binding === "" ? undefined : this.binding(binding, "service");
    if (
      typeof method !== "string" || typeof url !== "string" || !Array.isArray(headers) || headers.some((h) => typeof h !== "string") ||
      (body !== null && !(body instanceof Uint8Array)) || (redirect !== "follow" && redirect !== "manual" && redirect !== "error")
    ) {
      throw new TypeError("fetch(): malformed request");
    }
    if (url.length > fetchLimits.maxUrlLength) throw new TypeError(`fetch(): the URL is longer than ${fetchLimits.maxUrlLength} characters`);
    if (headers.length > fetchLimits.maxHeaderEntries * 2) throw new TypeError(`fetch(): more than ${fetchLimits.maxHeaderEntries} headers`);
    if (body !== null && body.byteLength > limits.requestBodyMaxBytes) throw new TypeError(`fetch(): the body is over ${limits.requestBodyMaxBytes} bytes`);
    if (pending.subrequests >= fetchLimits.subrequests) {
      throw new Error(`too many subrequests: one request may make at most ${fetchLimits.subrequests} fetch() calls`);
    }
    pending.subrequests++;
    const controller = new AbortController();
    if (pending.fetchOps === noFetches) pending.fetchOps = new Map();
    pending.fetchOps.set(op, controller);
    const onEnd = () => controller.abort();
    pending.fetches ??= new AbortController();
    const invocationSignal = pending.fetches.signal;
    invocationSignal.addEventListener("abort", onEnd, { once: true });
    const request: OutboundRequest = { method, url, headers, body, redirect };
    const run = () => {
      pending.activeFetches++;
      const started = Date.now();
      const response =
        target === undefined
          ? outboundFetch(request, this.egress, { timeoutMs: Math.max(1, pending.deadline - started), maxResponseBytes: fetchLimits.maxResponseBytes }, controller.signal)
          : this.serviceFetch(target, request, pending);
      response
        .then(
          (response) => {
            this.log(invocation, "info", `fetch ${method} ${url} → ${response.status} (${Date.now() - started} ms)`);
            return [response.status, response.statusText, response.headers, response.body, response.urlList, "", ""] as const;
          },
          (err: unknown) => {
            const error = err instanceof OutboundError ? err : new OutboundError(`fetch to ${url} failed: ${String(err)}`);
            this.log(invocation, error.message.startsWith("egress_denied") ? "warn" : "info", `fetch ${method} ${url} → ${error.message}`);
            return [0, "", [], null, [], error.errorName, error.message] as const;
          },
        )
        .then((result) => {
          pending.activeFetches--;
          pending.fetchOps.delete(op);
          invocationSignal.removeEventListener("abort", onEnd);
          pending.queuedFetches.shift()?.();
          if (controller.signal.aborted) return;
          this.enter(invocation, (timeout) =>
            this.fetchedRef.applySync(undefined, [op, guestClock(), ...result], { arguments: { copy: true }, timeout }),
          );
        });
    };
    if (pending.activeFetches < fetchLimits.connections) run();
    else pending.queuedFetches.push(run);
  }

  /** The target of the instance's binding `name` of `kind`; a TypeError the guest sees otherwise. */
  private binding(name: string, kind: "service" | "queue"): string {
    const found = this.spec.bindings?.find((b) => b.name === name && b.kind === kind);
    if (found === undefined || this.calls === undefined) throw new TypeError(`env.${name} is not a ${kind} binding of this function`);
    return found.target;
  }

  /**
   * A service binding's fetch: the platform runs it on the bound function (no HTTP hop) and
   * answers in the shape of an outbound fetch, so the guest builds the same Response.
   */
  private async serviceFetch(target: string, request: OutboundRequest, pending: Pending): Promise<{ status: number; statusText: string; headers: string[]; body: Uint8Array | null; urlList: string[] }> {
    const result = await this.calls!({
      kind: "fetch",
      caller: this.spec.function,
      target,
      parentInvocationId: pending.invocationId,
      depth: pending.depth + 1,
      request: { method: request.method, url: request.url, headers: request.headers, body: request.body },
    });
    if (result.kind !== "fetch") throw new OutboundError("the platform answered a service call with something else");
    if (result.error !== null) throw new OutboundError(result.error[1], result.error[0] === "TimeoutError" ? "TimeoutError" : "TypeError");
    return { status: result.status, statusText: result.statusText, headers: result.headers, body: result.body, urlList: [request.url] };
  }

  /** `env.<binding>.send`/`sendBatch`: durable async invocations of the bound function. */
  private queueSend(invocation: number, op: number, binding: string, bodies: Uint8Array[], contentTypes: string[]): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined) throw new Error("send() after the request ended: queue messages belong to a request that is still running");
    const target = this.binding(binding, "queue");
    // Each send is a subrequest (as in Workers): a loop of sends cannot flood the queue.
    if (pending.subrequests >= fetchLimits.subrequests) {
      throw new Error(`too many subrequests: one request may make at most ${fetchLimits.subrequests} fetch() and send() calls`);
    }
    pending.subrequests++;
    const messages = bodies.map((body, i) => ({ body, contentType: contentTypes[i] ?? "application/octet-stream" }));
    this.calls!({ kind: "enqueue", caller: this.spec.function, target, messages }).then(
      (result) => this.enterQueueDone(invocation, op, result.kind === "enqueue" ? (result.error ?? "") : "unexpected answer"),
      (err: unknown) => this.enterQueueDone(invocation, op, `the messages were not queued: ${messageOf(err)}`),
    );
  }

  private enterQueueDone(invocation: number, op: number, error: string): void {
    if (!this.pending.has(invocation)) return;
    this.enter(invocation, (timeout) => this.queueDoneRef.applySync(undefined, [op, guestClock(), error], { arguments: { copy: true }, timeout }));
  }

  private zlibOpen(invocation: number, stream: number, format: string, compress: boolean): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined) throw new Error("compression streams belong to a request that is still running");
    pending.zlib ??= new Map();
    if (pending.zlib.size >= compressionLimits.streamsPerInvocation) {
      throw new Error(`too many compression streams: at most ${compressionLimits.streamsPerInvocation} per request`);
    }
    pending.zlib.set(stream, new ZlibStream(String(format), compress === true));
  }

  private zlibWrite(invocation: number, stream: number, op: number, bytes: Uint8Array, final: boolean): void {
    const pending = this.pending.get(invocation);
    const zlib = pending?.zlib?.get(stream);
    if (pending === undefined || zlib === undefined) throw new Error("unknown compression stream");
    if (!(bytes instanceof Uint8Array) || bytes.byteLength > limits.requestBodyMaxBytes) throw new TypeError("compression chunks must be bytes");
    zlib.write(bytes, final === true).then(({ output, error }) => {
      if (final || error !== undefined) pending.zlib?.delete(stream);
      if (!this.pending.has(invocation)) return;
      const message = error === undefined ? "" : error.message;
      this.enter(invocation, (timeout) => this.zlibDoneRef.applySync(undefined, [op, guestClock(), output, message], { arguments: { copy: true }, timeout }));
    });
  }

  /** The guest is done with a compression stream (it errored or was cancelled): free its slot. */
  private zlibClose(invocation: number, stream: number): void {
    const zlib = this.pending.get(invocation)?.zlib;
    zlib?.get(stream)?.destroy();
    zlib?.delete(stream);
  }

  /**
   * One crypto.subtle call (web-crypto-ops.ts). Node runs the heavy ones on its shared
   * thread pool, so an invocation gets a few at a time and queues the rest.
   */
  private subtle(invocation: number, op: number, method: string, json: string, buffers: Uint8Array[]): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined) throw new Error("crypto.subtle works during a request: call it inside fetch() (or a handler), not at module scope");
    if (typeof json !== "string" || !Array.isArray(buffers) || !buffers.every((b) => b instanceof Uint8Array)) throw new TypeError("malformed crypto call");
    const run = () => {
      pending.subtleRunning++;
      runSubtle(String(method), json, buffers)
        .then(
          (result) => ["", result.json, result.buffers] as const,
          (err: unknown) => [err instanceof SubtleError ? `${err.errorName}: ${err.message}` : `OperationError: ${String(err)}`, "", []] as const,
        )
        .then(([error, resultJson, resultBuffers]) => {
          pending.subtleRunning--;
          pending.subtleQueue.shift()?.();
          if (!this.pending.has(invocation)) return;
          this.enter(invocation, (timeout) =>
            this.subtleDoneRef.applySync(undefined, [op, guestClock(), error, resultJson, resultBuffers], { arguments: { copy: true }, timeout }),
          );
        });
    };
    if (pending.subtleRunning < subtleSlots) run();
    else pending.subtleQueue.push(run);
  }

  private fetchAbort(op: number): void {
    for (const pending of this.pending.values()) pending.fetchOps.get(op)?.abort();
  }

  private log(invocation: number, level: string, message: string): void {
    if (typeof message !== "string") return;
    const line: WireLogLine = [Date.now(), levels.has(level as LogLevel) ? (level as LogLevel) : "log", cut(message)];
    if (invocation === moduleScope) this.moduleLogs.push(line);
    else (this.pending.get(invocation)?.logs ?? (this.justSettled?.invocation === invocation ? this.justSettled.logs : undefined))?.push(line);
  }

  private timerStart(invocation: number, timer: number, delayMs: number): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined || !Number.isInteger(timer)) return;
    const delay = Math.max(0, Math.min(Number(delayMs) || 0, 2 ** 31 - 1));
    const handle = setTimeout(() => {
      pending.timers.delete(timer);
      this.timerOwner.delete(timer);
      this.enter(invocation, (timeout) => this.timerRef.applySync(undefined, [timer, invocation, guestClock()], { timeout }));
    }, delay);
    pending.timers.set(timer, handle);
    this.timerOwner.set(timer, invocation);
  }

  private timerClear(timer: number): void {
    const invocation = this.timerOwner.get(timer);
    if (invocation === undefined) return;
    this.timerOwner.delete(timer);
    const pending = this.pending.get(invocation);
    const handle = pending?.timers.get(timer);
    if (handle !== undefined) {
      clearTimeout(handle);
      pending!.timers.delete(timer);
    }
  }

  private respond(invocation: number, status: number, headers: string[], body: Uint8Array | null, end: boolean): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined || pending.headSent) return;
    if (!Number.isInteger(status) || !Array.isArray(headers) || (body !== null && !(body instanceof Uint8Array))) {
      this.settle(invocation, { code: "function_error", message: "the runtime produced a malformed response" });
      return;
    }
    pending.headSent = true;
    pending.bodyEnded = end === true;
    // At the end of the body, the log lines so far travel with it: stored before the client sees the end.
    pending.sink.head(status, headers.map(String), body, pending.bodyEnded, pending.bodyEnded ? pending.logs.splice(0) : []);
  }

  /** Returns whether the guest may send the next chunk now; if not, it waits for `resume`. */
  private chunk(invocation: number, bytes: Uint8Array, end: boolean): boolean {
    const pending = this.pending.get(invocation);
    if (pending === undefined || !pending.headSent || pending.bodyEnded || !(bytes instanceof Uint8Array)) return true;
    pending.bodyEnded = end === true;
    pending.unacked += bytes.byteLength;
    pending.sink.chunk(bytes, pending.bodyEnded, pending.bodyEnded ? pending.logs.splice(0) : []);
    if (pending.unacked < streamHighWaterBytes) return true;
    pending.paused = true;
    return false;
  }

  /** The client took `bytes`: below half the high-water mark, a paused body resumes. */
  private credit(invocation: number, bytes: number): void {
    const pending = this.pending.get(invocation);
    if (pending === undefined) return;
    pending.unacked = Math.max(0, pending.unacked - bytes);
    if (!pending.paused || pending.unacked >= streamHighWaterBytes / 2) return;
    pending.paused = false;
    this.enter(invocation, (timeout) => this.resumeRef.applySync(undefined, [invocation, guestClock()], { timeout }));
  }

  private complete(invocation: number): void {
    this.settle(invocation, null);
  }

  private fail(invocation: number, message: string, stack: string): void {
    const text = String(message);
    this.log(invocation, "error", stack !== "" ? String(stack) : text);
    if (this.overMemory(text)) {
      this.settle(invocation, this.classify(new Error("memory limit"), "memory_limit").toData());
      // Not from inside this call: the isolate must not be disposed while we are in it.
      setImmediate(() => {
        this.dispose();
        this.onGone("memory_limit");
      });
      return;
    }
    const error: ErrorData = {
      code: "function_error",
      message: `${this.spec.function} threw: ${text.length > 2048 ? `${text.slice(0, 2048)}…` : text}`,
    };
    this.settle(invocation, error);
  }

  /**
   * What the instance holds, MiB: its V8 heap and external memory plus a fixed 0.8 MiB for
   * the isolate itself (measured: 1,000 idle hello-world instances cost 2.7 MiB of RSS each
   * with 1.8 MiB of heap). Undefined once disposed.
   */
  memoryMiB(): number | undefined {
    try {
      const heap = this.isolate.getHeapStatisticsSync();
      return (heap.used_heap_size + heap.externally_allocated_size) / 2 ** 20 + 0.8;
    } catch {
      return undefined;
    }
  }

  /** What to tell the scheduler after a request: the memory on the first and every 64th, else nothing. */
  memoryReport(first: boolean): number | undefined {
    if (!first && ++this.sinceMemoryReport < 64) return undefined;
    this.sinceMemoryReport = 0;
    return this.memoryMiB();
  }

  private overMemory(message: string): boolean {
    if (/allocation failed|out of memory/i.test(message)) return true;
    try {
      const heap = this.isolate.getHeapStatisticsSync();
      return heap.used_heap_size + heap.externally_allocated_size >= 0.9 * this.spec.memoryMiB * 1024 * 1024;
    } catch {
      return false;
    }
  }
}
