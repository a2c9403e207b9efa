/**
 * One instance: an isolate holding one function version of one tenant, with the guest
 * runtime loaded and the user's module bound, serving up to `concurrency` invocations.
 *
 * Guest code never runs on the host's event loop. Every entry into the isolate is
 * asynchronous — isolated-vm runs it on a thread of its own pool (one thread per busy
 * isolate; more are made when all are busy) — so a function that spins costs its own
 * thread and the CPU the OS gives it, while the host keeps accepting, answering and
 * timing out everything else. At most one entry per instance runs at a time; the events
 * that arrive meanwhile (requests, timers due, fetch answers) wait and go together in the
 * next entry, one per event-loop turn (contract.ts).
 *
 * Deadlines are the host's: each invocation has a timer at arrival + timeout that answers
 * it (504) whatever the isolate is doing. An entry that runs past the deadline (or CPU
 * budget) of every invocation it runs for is stopped by disposing the isolate; requests
 * that were waiting for the isolate and never reached it are handed back (`started`
 * false) to run on a fresh instance.
 */
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import ivm from "isolated-vm";
import { FlickError, type ErrorCode, type ErrorData } from "../errors/index.ts";
import { checkHostOp, logLimits, type GuestEvent, type HostOp } from "../runtime/contract.ts";
import type { InvocationTrace } from "../telemetry/index.ts";
import type { EgressPolicy } from "./egress-policy.ts";
import { encodingIndexes } from "./encoding-indexes.ts";
import type { FairJobs } from "./fair-jobs.ts";
import { collectionEnded, idleCollectMs, noteInvocation, trackIdle, untrackIdle, type Collectable } from "./idle-collection.ts";
import { InvocationIo } from "./invocation-ops.ts";
import type { Call, CallResult, InstanceSpec, InvocationControl, InvocationEnd, ResponseSink, WireLogLine, WireRequest } from "./protocol.ts";
import { checkResponseHead } from "./response-guard.ts";
import { mapStack } from "./stack-map.ts";

/**
 * The runtime bundle, and how isolates get it fast: a V8 startup snapshot with the
 * runtime already evaluated (when V8 could make one), else V8's code cache for it, made
 * by the first isolate that compiled it.
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

/** What every instance of a host shares. */
export interface HostContext {
  runtime: RuntimeCode;
  egress: EgressPolicy;
  jobs: FairJobs;
  /** Something happened this process cannot take back (an isolate V8 could not stop): replace the host. */
  taint(reason: string): void;
}

/** How an instance reaches the rest of its host. */
export interface InstanceLinks {
  /** WebAssembly modules shipped with the version, by SHA-256. */
  wasm: (hash: string) => Uint8Array | null;
  /** Binding calls (service fetch, queue send) go to the platform through this; unset: refused. */
  calls?: (call: Call) => Promise<CallResult>;
  /** Told once when the instance stops for a reason of its own (a limit, a crash). */
  onGone?: (reason: string) => void;
}

/** Module evaluation may take at most this long, whatever the function's timeout. */
const loadLimitMs = 10_000;
/** After the host disposed an isolate, its thread should stop at once; past this, the host is tainted. */
const stopGraceMs = 5_000;
/** An entry with no invocation to charge (runtime bookkeeping only) may run this long. */
const idleEntryLimitMs = 1_000;

/**
 * The time handed to the guest at each entry: Unix ms with a fractional part, so the
 * guest's performance.now() has sub-millisecond resolution across I/O (Date.now() floors
 * it). The guest clock stands still during an entry.
 */
export function guestClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Runs in a throwaway context before the snapshot is taken, so V8 compiles the request
 * path (dispatcher, Request, Headers, URL, Response) and keeps that code in the snapshot:
 * a new instance's first request then runs compiled code instead of compiling it lazily.
 */
export const snapshotWarmup = `
  const r = __flickRuntime;
  r.connect((n) => new Uint8Array(n), (d) => d, () => null, () => null, () => {}, Date.now(), 128 * 1024 * 1024);
  r.init({ default: { async fetch(request, env) {
    const url = new URL(request.url);
    const text = await request.text();
    return url.searchParams.has("json") ? Response.json({ path: url.pathname, text }) : new Response("warm " + text, { headers: { "x-a": "b" } });
  } } }, [], []);
  for (let round = 0; round < 4; round++) {
    const events = [];
    for (let i = 1; i <= 4; i++) {
      const id = round * 4 + i;
      events.push(["request", id, "POST", "http://warm.invalid/path?json=" + (i % 2), ["content-type", "text/plain", "accept", "*/*"], new Uint8Array([104, 105]), false]);
    }
    r.run(Date.now(), true, events);
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

/**
 * A rejection reason as the guest made it. isolated-vm appends the host's frames to an
 * error's stack on its way out of the isolate ("at (<isolated-vm boundary>)" and below):
 * they are cut off before the reason goes back to the guest and into the tenant's logs.
 */
export function guestReason(reason: unknown): unknown {
  if (!(reason instanceof Error) || typeof reason.stack !== "string") return reason;
  const at = reason.stack.indexOf("\n    at (<isolated-vm boundary>)");
  if (at < 0) return reason;
  const copy = new Error(reason.message);
  copy.name = reason.name;
  copy.stack = reason.stack.slice(0, at);
  return copy;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * While entries are in flight, the host's event loop spins (a chain of setImmediate, at
 * most `spinMs` after the last entry started) instead of sleeping in epoll: an entry's
 * answer is then picked up without the wake-up latency of a sleeping loop (measured: a
 * round trip into an isolate ~23 → ~17 µs at p50). Under load the loop is busy anyway.
 */
let spinUntil = 0;
let spinning = false;
const spinMs = process.env["FLICK_SPIN_US"] === undefined ? 0.2 : Number(process.env["FLICK_SPIN_US"]) / 1000;
function spinForEntries(): void {
  spinUntil = performance.now() + spinMs;
  if (spinning) return;
  spinning = true;
  const tick = (): void => {
    if (inFlightEntries > 0 && performance.now() < spinUntil) setImmediate(tick);
    else spinning = false;
  };
  setImmediate(tick);
}
let inFlightEntries = 0;

/** Instances with events waiting for their next entry: one setImmediate per turn enters them all. */
const dirty = new Set<Instance>();

let flushScheduled = false;
function markDirty(instance: Instance): void {
  dirty.add(instance);
  if (flushScheduled) return;
  flushScheduled = true;
  setImmediate(() => {
    flushScheduled = false;
    const list = [...dirty];
    dirty.clear();
    for (const i of list) i.enterNow();
  });
}

type Levels = "debug" | "info" | "log" | "warn" | "error";
const levels = new Set<string>(["debug", "info", "log", "warn", "error"]);

/** One invocation, as the host sees it. */
interface Invocation {
  id: number;
  /** Host performance.now() ms at which it times out. */
  deadline: number;
  cpuUsedMs: number;
  /** Request body bytes given to the guest, and response body bytes it sent (usage metering). */
  requestBytes: number;
  responseBytes: number;
  /** Outbound fetches: bytes sent and received, and how many were allowed, denied, failed. */
  egress: { bytes: number; allowed: number; denied: number; failed: number };
  sink: ResponseSink;
  resolve: (end: InvocationEnd) => void;
  /** The request reached the guest (an entry carried it). */
  started: boolean;
  headSent: boolean;
  bodyEnded: boolean;
  logs: WireLogLine[];
  logLines: number;
  logChars: number;
  logDropped: number;
  /** Its fetches, streams and crypto calls; made on its first I/O op (most invocations have none). */
  io: InvocationIo | undefined;
  /** What its I/O needs to know (kept until `io` is made). */
  request: WireRequest;
  /** Its spans, when sampled (host operations add theirs). */
  trace: InvocationTrace | undefined;
  /** Its timer wake time (guest clock ms), 0 for none. */
  wakeAt: number;
}

/** The entry in flight, and the invocations it runs for. */
interface Entry {
  startedAt: number;
  participants: Set<number>;
  watch: NodeJS.Timeout | undefined;
  /** It runs this instance's idle collection. */
  collects?: boolean;
}

/** What an ended invocation is left pointing at (see `forget`). */
const endedSink: ResponseSink = { head() {}, chunk() {}, bodyCredit() {} };
const endedRequest: WireRequest = { method: "GET", url: "http://ended.invalid/", headers: [], body: null };
const endedResolve = (): void => {};

/**
 * Drops an ended invocation's references to its client's objects (sink, request, logs).
 * Its record may outlive it unseen: a Map keeps deleted entries in the old hash table it
 * replaced when it grew, and a dead table in the old generation is a root for every young
 * collection until the next full one. Through it, each invocation kept its client's
 * request, response and socket buffers alive: under load a worker host promoted ~12 MB
 * per scavenge (15 ms pauses, a third of its allocations), now ~1 MB.
 */
function forget(inv: Invocation): void {
  inv.sink = endedSink;
  inv.request = endedRequest;
  inv.resolve = endedResolve;
  inv.logs = [];
  inv.io = undefined;
}

export class Instance implements Collectable {
  /** The function this instance runs; a pooled blank instance has a placeholder until `adopt`. */
  spec: InstanceSpec;
  /**
   * How its code was compiled: from the V8 code cache ("hit"), from source because there
   * was none or V8 refused it ("miss"), or as a module ("module"). Reported with the first request.
   */
  codeCache: "hit" | "miss" | "module" = "module";
  /** Epoch ms of the last invocation's start or end (keep-alive is counted from it). */
  lastUsedMs = Date.now();
  /** No new invocations: it stops once the running ones are done (`drop` without `now`). */
  draining = false;
  private readonly host: HostContext;
  private links: InstanceLinks;
  private readonly isolate: ivm.Isolate;
  private context!: ivm.Context;
  private runRef!: ivm.Reference<(now: number, acked: boolean, events: GuestEvent[]) => Promise<[HostOp[], number]>>;
  private takeRef!: ivm.Reference<(acked: boolean) => [HostOp[], number]>;
  private initRef: ivm.Reference<(namespace: unknown, env: string[], bindings: string[], object: string[]) => string> | undefined;
  private handlersRef!: ivm.Reference<() => string>;
  private readonly invocations = new Map<number, Invocation>();
  /** Recently ended invocations, for their late log lines (a few, the most recent). */
  private readonly ended = new Map<number, { log: NonNullable<ResponseSink["lateLog"]>; lines: number }>();
  private events: GuestEvent[] = [];
  /** Some waiting event needs an entry soon (not only ends to forget). */
  private eager = false;
  /** Invocations named by the events waiting (the next entry's participants). */
  private waitingFor = new Set<number>();
  private entry: Entry | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeTimerAt = 0;
  private moduleLogs: WireLogLine[] = [];
  /** The source map of the code this instance runs (module or script form), for stack traces in its lines. */
  private mapFile: string | undefined;
  private nextId = 1;
  private lastCpuNs = 0n;
  private disposing = false;
  /** Set by the guest's memory guards: the instance stops with it after this entry. */
  private memoryLimitHit: string | undefined;
  private goneReported = false;
  /** The guest has ops waiting since its last `run` resolved (it called `more`). */
  private moreWaiting = false;
  /** Told when no entry runs and none is due. */
  private idleWaiters: (() => void)[] = [];
  private deadlineTimer: NodeJS.Timeout | undefined;
  private deadlineAt = Infinity;
  /** Its garbage was collected since it last served (`collectIfIdle`). */
  private collected = false;
  /** A "collect" event of this instance is posted or in its running entry. */
  private collectRunning = false;
  /** Being made or given its function (module evaluation runs outside entries): not idle. */
  private loading = true;

  private constructor(spec: InstanceSpec, host: HostContext, links: InstanceLinks) {
    this.spec = spec;
    this.host = host;
    this.links = links;
    trackIdle(this);
    const runtime = host.runtime;
    this.isolate = new ivm.Isolate({
      memoryLimit: spec.memoryMiB,
      ...(runtime.snapshot === undefined ? {} : { snapshot: runtime.snapshot }),
      // V8 could not contain an out-of-memory (or stop a script): the thread that ran it is
      // parked for good and its memory cannot be freed. This instance is lost; the host
      // finishes what else it runs and is replaced.
      onCatastrophicError: (message: string) => this.catastrophe(message),
    });
  }

  /**
   * Makes an instance of `spec` and loads `code` (or nothing, for a pooled blank one).
   * Rejects with a FlickError (`invalid_bundle`, `missing_fetch_handler`, `memory_limit`,
   * `timeout`) with the isolate already released.
   */
  static async create(spec: InstanceSpec, code: FunctionCode | null, host: HostContext, links: InstanceLinks): Promise<Instance> {
    const instance = new Instance(spec, host, links);
    try {
      await instance.prepare();
      if (code !== null) await instance.load(code);
    } catch (err) {
      const error = instance.classify(err, "invalid_bundle");
      instance.dispose();
      throw error;
    }
    instance.loading = false;
    return instance;
  }

  /**
   * A blank instance: isolate, context and runtime ready, no function yet (isolate-pool.ts
   * keeps some, so a cold start skips making one). Its memory limit is fixed. Before it is
   * pooled it serves a few built-in requests, so the request path's inline caches are warm
   * when the first real one comes; no user code runs.
   */
  static async blank(memoryMiB: number, host: HostContext): Promise<Instance> {
    const placeholder: InstanceSpec = {
      instance: "", function: "(pool)", tenant: "", key: "", versionId: "", bundlePath: "", memoryMiB,
      timeoutMs: 5000, cpuLimitMs: null, concurrency: 16, env: [], wasm: {},
    };
    const instance = await Instance.create(placeholder, null, host, { wasm: () => null });
    try {
      await instance.warmUp();
    } catch (err) {
      instance.dispose();
      throw err;
    }
    return instance;
  }

  private async warmUp(): Promise<void> {
    const handler = (await this.context.eval(
      `({ default: { fetch: (r) => new Response("warm " + new URL(r.url).pathname, { headers: { "x-warm": "1" } }) } })`,
      { reference: true },
    )) as ivm.Reference<object>;
    const problem = await this.initRef!.apply(undefined, [handler.derefInto(), [], [], []], { arguments: { copy: true } });
    handler.release();
    if (problem !== "") throw new Error(`warm-up: ${problem}`);
    const sink: ResponseSink = { head() {}, chunk() {}, bodyCredit() {} };
    const runs: Promise<InvocationEnd>[] = [];
    for (let i = 0; i < 4; i++) {
      runs.push(this.invoke({ method: i % 2 === 0 ? "GET" : "POST", url: `http://warm.invalid/p${i}?q=${i}`, headers: ["accept", "*/*", "user-agent", "flick-warm"], body: i % 2 === 0 ? null : new Uint8Array([104, 105]) }, sink));
    }
    const ends = await Promise.all(runs);
    const failed = ends.find((e) => e.error !== null);
    if (failed !== undefined) throw new Error(`warm-up: ${failed.error!.message}`);
    // The guest forgets the warm-up's invocations now: the module then starts in module scope.
    await this.deliverPending();
    this.moduleLogs = [];
  }

  /** Gives a blank instance its function; rejects (disposed) as `create` would. */
  async adopt(spec: InstanceSpec, code: FunctionCode, links: InstanceLinks): Promise<void> {
    if (spec.memoryMiB !== this.spec.memoryMiB) throw new Error(`a ${this.spec.memoryMiB} MiB blank instance cannot run a ${spec.memoryMiB} MiB function`);
    this.spec = spec;
    this.links = links;
    this.loading = true;
    try {
      await this.load(code);
      this.loading = false;
    } catch (err) {
      const error = this.classify(err, "invalid_bundle");
      this.dispose();
      throw error;
    }
  }

  /** The handlers the function's module exports ("fetch", "scheduled", "queue"). */
  async handlers(): Promise<string[]> {
    const list = await this.handlersRef.apply(undefined, [], { result: { copy: true } });
    return list === "" ? [] : list.split(",");
  }

  /** Invocations running or waiting. */
  get busy(): number {
    return this.invocations.size;
  }

  /** Stopped: by the host, or by isolated-vm (the memory limit; seen when an entry ends). */
  get disposed(): boolean {
    return this.disposing;
  }

  /**
   * True while an entry has run longer than `ms`: its thread is taken by one invocation's
   * work, so new requests are better placed elsewhere.
   */
  stuck(ms: number): boolean {
    return this.entry !== undefined && performance.now() - this.entry.startedAt > ms;
  }

  /** The module-scope logs collected while booting (to attach to the first invocation). */
  takeModuleLogs(): WireLogLine[] {
    const logs = this.moduleLogs;
    this.moduleLogs = [];
    return logs;
  }

  /** Context, runtime entry points, host connected: everything but the function. */
  private async prepare(): Promise<void> {
    const runtime = this.host.runtime;
    this.context = await this.isolate.createContext();
    if (runtime.snapshot === undefined) {
      const script = await this.isolate.compileScript(runtime.source, {
        filename: "flick:runtime.js",
        ...(runtime.cachedData === undefined ? { produceCachedData: true } : { cachedData: runtime.cachedData }),
      });
      const produced = (script as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
      if (runtime.cachedData === undefined && produced !== undefined) {
        runtime.cachedData = produced;
        runtime.onCachedData?.(produced);
      }
      await script.run(this.context);
      script.release();
    }
    const global = this.context.global;
    const entries = (await global.get("__flickRuntime", { reference: true })) as ivm.Reference<Record<string, unknown>>;
    await global.delete("__flickRuntime");
    const [connect, init, handlers, run, take] = await Promise.all(
      ["connect", "init", "handlers", "run", "take"].map((name) => entries.get(name, { reference: true })),
    );
    entries.release();
    this.initRef = init as typeof this.initRef;
    this.handlersRef = handlers as typeof this.handlersRef;
    this.runRef = run as typeof this.runRef;
    this.takeRef = take as typeof this.takeRef;
    // The only calls the guest waits for: small, rare, answered from host data.
    const randomCall = new ivm.Callback((n: number) => {
      if (!Number.isInteger(n) || n < 1 || n > 65536) throw new RangeError("randomBytes: length must be an integer in 1..65536");
      return new Uint8Array(randomBytes(n));
    });
    const idnaCall = new ivm.Callback((domain: string) => {
      if (typeof domain !== "string" || domain.length > 4096) return null;
      const ascii = domainToASCII(domain);
      return ascii === "" ? null : ascii;
    });
    const wasmCall = new ivm.Callback((hash: string) => (typeof hash === "string" && /^[0-9a-f]{64}$/.test(hash) ? this.links.wasm(hash) : null));
    // A table of the Encoding Standard, for the first legacy multi-byte TextDecoder of the isolate.
    const indexCall = new ivm.Callback((name: string) => encodingIndexes.table(name));
    // Not waited for by the guest: ops are waiting after its `run` resolved.
    const moreCall = new ivm.Callback(() => this.onMore(), { ignored: true });
    await (connect as ivm.Reference<(...args: unknown[]) => void>).apply(
      undefined,
      [randomCall, idnaCall, wasmCall, indexCall, moreCall, guestClock(), this.spec.memoryMiB * 1024 * 1024],
      { arguments: { copy: true } },
    );
    connect!.release();
    this.lastCpuNs = this.isolate.cpuTime;
  }

  /**
   * The function's code: compiled (a module linked), evaluated, its handler found — all in
   * the isolate's thread, under a deadline the host enforces by disposing the isolate.
   */
  private async load(code: FunctionCode): Promise<void> {
    const init = this.initRef!;
    this.initRef = undefined;
    const filename = `${this.spec.function}.js`;
    const limitMs = Math.min(this.spec.timeoutMs, loadLimitMs);
    let overran = false;
    const watch = setTimeout(() => {
      overran = true;
      this.dispose();
    }, limitMs);
    try {
      let namespace: ivm.Reference<unknown>;
      this.mapFile = typeof code === "string" ? `${this.spec.bundlePath}.map` : this.spec.scriptPath === undefined ? undefined : `${this.spec.scriptPath}.map`;
      if (typeof code === "string") {
        const module = await this.isolate.compileModule(code, { filename });
        await module.instantiate(this.context, (specifier) => {
          throw new Error(`import "${specifier}" is not part of the bundle; functions are deployed as one bundled module (flick deploy bundles imports for you)`);
        });
        await module.evaluate();
        namespace = module.namespace;
      } else {
        const script = await this.compileScript(code, filename);
        namespace = (await script.run(this.context, { reference: true })) as ivm.Reference<unknown>;
        script.release();
      }
      const bindings = (this.spec.bindings ?? []).flatMap((b) => [b.name, b.kind]);
      const object = this.spec.object === undefined ? [] : [this.spec.object.className, this.spec.object.id, this.spec.object.name];
      const problem = await init.apply(undefined, [namespace.derefInto(), this.spec.env, bindings, object], { arguments: { copy: true } });
      init.release();
      // Lines the module printed at its top level: kept for the first invocation.
      const [ops] = await this.takeRef.apply(undefined, [true], { result: { copy: true } });
      for (const op of ops) if (op[0] === "log" && checkHostOp(op) === null) this.moduleLogs.push([Date.now(), levels.has(op[2]) ? (op[2] as Levels) : "log", this.mapped(op[3])]);
      if (problem !== "") throw new FlickError("missing_fetch_handler", `${this.spec.function}: ${problem}`);
    } catch (err) {
      if (overran) {
        throw new FlickError("timeout", `${this.spec.function}: its module's top level ran past ${limitMs} ms and was stopped; move long work into the handler`);
      }
      throw err;
    } finally {
      clearTimeout(watch);
    }
  }

  /**
   * Compiles a script form from its code cache when one is given and V8 takes it, else from
   * source, making the cache. A refused cache (V8 or flags changed) is replaced at once.
   */
  private async compileScript(code: ScriptCode, filename: string): Promise<ivm.Script> {
    if (code.cachedData !== undefined) {
      const script = await this.isolate.compileScript(code.script, { filename, cachedData: code.cachedData });
      if ((script as ivm.Script & { cachedDataRejected?: boolean }).cachedDataRejected !== true) {
        this.codeCache = "hit";
        return script;
      }
      script.release();
    }
    this.codeCache = "miss";
    const script = await this.isolate.compileScript(code.script, { filename, produceCachedData: code.onCachedData !== undefined });
    const produced = (script as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> }).cachedData;
    if (produced !== undefined) code.onCachedData?.(produced);
    return script;
  }

  // — invocations —

  /**
   * Runs one request: the response goes to `sink` as the handler produces it; the promise
   * settles when the invocation is over (response done and waitUntil work settled, or a
   * failure). Never rejects: failures are an `error`.
   */
  invoke(request: WireRequest, sink: ResponseSink, onStart?: (control: InvocationControl) => void, trace?: InvocationTrace): Promise<InvocationEnd> {
    if (this.disposed) {
      return Promise.resolve({ error: { code: "instance_terminated", message: "the instance was stopped before the request started; retry" }, logs: [], started: false });
    }
    const id = this.nextId++;
    const arrival = request.arrivalMs ?? performance.now();
    const deadline = arrival + this.spec.timeoutMs;
    this.lastUsedMs = Date.now();
    noteInvocation(this.lastUsedMs);
    this.collected = false;
    return new Promise((resolve) => {
      const inv: Invocation = {
        id,
        deadline,
        cpuUsedMs: 0,
        requestBytes: request.body?.byteLength ?? 0,
        responseBytes: 0,
        egress: { bytes: 0, allowed: 0, denied: 0, failed: 0 },
        sink,
        resolve,
        started: false,
        headSent: false,
        bodyEnded: false,
        logs: this.moduleLogs.length === 0 ? [] : this.takeModuleLogs(),
        logLines: 0,
        logChars: 0,
        logDropped: 0,
        wakeAt: 0,
        io: undefined,
        request,
        trace,
      };
      this.invocations.set(id, inv);
      // Deadlines mostly come in arrival order: only an earlier one moves the timer.
      if (deadline < this.deadlineAt) this.armDeadline();
      onStart?.(this.controlOf(id));
      const event: GuestEvent =
        request.scheduled !== undefined ? ["scheduled", id, request.scheduled.cron, request.scheduled.scheduledTime]
        : request.queue !== undefined
          ? ["queue", id, request.queue.name, request.queue.messages.map((m) => m.id), request.queue.messages.map((m) => m.timestamp),
            request.queue.messages.map((m) => m.attempts), request.queue.messages.map((m) => m.body), request.queue.messages.map((m) => m.contentType)]
          : ["request", id, request.method, request.url, request.headers, request.body, request.streamed === true];
      this.post(event, id);
    });
  }

  /**
   * The caller's handle on invocation `id`. Made here, not in `invoke`: closures made there
   * would share its scope, and with it the request and the sink, for as long as the
   * caller keeps the handle.
   */
  private controlOf(id: number): InvocationControl {
    return {
      credit: (bytes) => this.post(["credit", id, bytes], id),
      body: (bytes, end, error) => {
        const inv = this.invocations.get(id);
        if (inv !== undefined) inv.requestBytes += bytes.byteLength;
        this.post(["body", id, bytes, end, error ?? ""], id);
      },
      cancel: () => this.cancel(id),
    };
  }

  /** The I/O state of an invocation, made on its first I/O op. */
  private ioOf(inv: Invocation): InvocationIo {
    if (inv.io !== undefined) return inv.io;
    const id = inv.id;
    const request = inv.request;
    inv.io = new InvocationIo({
      function: this.spec.function,
      tenant: this.spec.tenant,
      deadline: () => inv.deadline,
      invocationId: request.invocationId ?? "",
      depth: request.depth ?? 0,
      hops: request.hops,
      egress: this.host.egress,
      jobs: this.host.jobs,
      bindings: this.spec.bindings ?? [],
      calls: this.links.calls,
      post: (event) => {
        if (this.invocations.has(id)) this.post(event, id);
      },
      log: (level, message) => this.log(id, level, message),
      requestHeaders: request.headers,
      trace: inv.trace,
      egressed: (result, bytes) => {
        inv.egress[result]++;
        inv.egress.bytes += bytes;
      },
      live: () => this.invocations.has(id),
    });
    return inv.io;
  }

  /**
   * One host timer per instance for its invocations' deadlines: at the earliest one. (All
   * share the function's timeout, so deadlines come roughly in arrival order.)
   */
  private armDeadline(): void {
    let earliest = Infinity;
    for (const inv of this.invocations.values()) if (inv.deadline < earliest) earliest = inv.deadline;
    if (earliest === this.deadlineAt) return;
    clearTimeout(this.deadlineTimer);
    this.deadlineTimer = undefined;
    this.deadlineAt = earliest;
    if (earliest === Infinity) return;
    this.deadlineTimer = setTimeout(() => {
      this.deadlineTimer = undefined;
      this.deadlineAt = Infinity;
      const now = performance.now();
      for (const inv of [...this.invocations.values()]) if (inv.deadline <= now + 0.5) this.onDeadline(inv.id);
      this.armDeadline();
    }, Math.max(0, Math.ceil(earliest - performance.now())));
  }

  /**
   * Queues an event for the next entry; `invocation` (if any) takes part in it. Events
   * that run no user code (`lazy`: an ended invocation to forget) wait for the next entry
   * something else starts.
   */
  private post(event: GuestEvent, invocation: number, lazy = false): void {
    if (this.disposed) return;
    this.events.push(event);
    if (invocation !== 0) this.waitingFor.add(invocation);
    if (lazy) return;
    this.eager = true;
    if (this.entry === undefined) markDirty(this);
  }

  /** Runs an entry for the events waiting (ends to forget included) and resolves after it. */
  private deliverPending(): Promise<void> {
    if (this.events.length === 0 && this.entry === undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.idleWaiters.push(resolve);
      this.eager = true;
      if (this.entry === undefined) markDirty(this);
    });
  }

  /** The guest emitted ops after its `run` resolved: an entry comes back for them. */
  private onMore(): void {
    if (this.disposed) return;
    this.moreWaiting = true;
    if (this.entry === undefined) markDirty(this);
  }

  /** Runs the waiting events in one entry (called once per turn for each instance with events). */
  enterNow(): void {
    if (this.entry !== undefined || this.disposed) return;
    if (!this.eager) {
      if (this.moreWaiting) this.takeLate();
      return;
    }
    const events = this.events;
    this.events = [];
    this.eager = false;
    this.moreWaiting = false;
    const participants = this.waitingFor;
    this.waitingFor = new Set();
    for (const event of events) {
      if (event[0] === "request" || event[0] === "scheduled" || event[0] === "queue") {
        const inv = this.invocations.get(event[1]);
        if (inv !== undefined) inv.started = true;
      }
    }
    const entry: Entry = { startedAt: performance.now(), participants, watch: undefined, collects: this.collectRunning };
    this.entry = entry;
    inFlightEntries++;
    this.watchEntry(entry);
    (this.runRef.apply(undefined, [guestClock(), true, events], { arguments: { copy: true }, result: { promise: true, copy: true } }) as unknown as Promise<[HostOp[], number]>).then(
      ([ops, last]) => this.afterEntry(entry, ops, last, false, undefined),
      (err: unknown) => {
        // An unhandled rejection during the entry makes isolated-vm reject with its reason
        // and drop the result: the ops are taken again, then the guest reports the rejection.
        if (this.disposed || this.isolate.isDisposed) return this.afterEntry(entry, [], 0, false, undefined);
        this.takeRef.apply(undefined, [false], { result: { copy: true } }).then(
          ([ops, last]) => this.afterEntry(entry, ops, last, true, err),
          () => this.afterEntry(entry, [], 0, false, undefined),
        );
      },
    );
  }

  /** Ops the guest emitted after `run` resolved (a long promise chain, a streamed body). */
  private takeLate(): void {
    this.moreWaiting = false;
    const entry: Entry = { startedAt: performance.now(), participants: new Set(), watch: undefined };
    this.entry = entry;
    inFlightEntries++;
    this.watchEntry(entry);
    this.takeRef.apply(undefined, [true], { result: { copy: true } }).then(
      ([ops, last]) => this.afterEntry(entry, ops, last, false, undefined),
      () => this.afterEntry(entry, [], 0, false, undefined),
    );
  }

  /**
   * Stops the entry once it has run past what every invocation it runs for may use: the
   * latest of their deadlines, or of their remaining CPU time (an entry's running time
   * bounds the CPU it can use). Each invocation's own 504 comes from its own timer.
   */
  private watchEntry(entry: Entry): void {
    spinForEntries();
    const cpuLimit = this.spec.cpuLimitMs;
    let any = false;
    for (const id of entry.participants) {
      if (this.invocations.has(id)) {
        any = true;
        break;
      }
    }
    // The common case needs no timer of its own: the deadline timer ends the entry's
    // invocations at their deadlines and, once none of them is left, the entry (see
    // `onDeadline`). A CPU limit, or an entry with no invocation to charge, has a watch.
    if (any && cpuLimit === null) return;
    const now = performance.now();
    let until = now + idleEntryLimitMs;
    if (any) {
      until = now;
      for (const id of entry.participants) {
        const inv = this.invocations.get(id);
        if (inv === undefined) continue;
        const cpuLeft = cpuLimit! - inv.cpuUsedMs;
        until = Math.max(until, now + Math.max(0, Math.min(inv.deadline - now, cpuLeft)));
      }
    }
    entry.watch = setTimeout(() => {
      if (this.entry === entry) this.overrun(entry);
    }, Math.max(1, Math.ceil(until - now)));
  }

  /** The running entry outlived every invocation it ran for: the isolate goes. */
  private overrun(entry: Entry): void {
    // The watch fires once every participant is past its deadline or its CPU budget (the
    // entry's wall time counted as CPU, an upper bound). A timer may fire up to a
    // millisecond early (libuv truncates its clock), so a deadline still more than that
    // away means the CPU budget ran out.
    const now = performance.now();
    for (const id of entry.participants) {
      const inv = this.invocations.get(id);
      if (inv === undefined) continue;
      const cpu = this.spec.cpuLimitMs !== null && now < inv.deadline - 1;
      this.settle(id, this.limitError(cpu ? "cpu_limit" : "timeout"));
    }
    this.terminate("timeout");
  }

  private afterEntry(entry: Entry, ops: HostOp[], last: number, failed: boolean, runError: unknown): void {
    if (this.entry !== entry) return;
    this.entry = undefined;
    inFlightEntries--;
    clearTimeout(entry.watch);
    if (entry.collects) this.endCollect();
    if (this.disposing) return;
    if (this.isolate.isDisposed) {
      // isolated-vm disposed it: the memory limit.
      this.failAll(this.limitError("memory_limit"), entry.participants);
      this.terminate("memory_limit");
      return;
    }
    this.chargeCpu(entry);
    // A memory guard refused an allocation in this entry: the instance stops, and what the
    // code did with the RangeError afterwards (a caught one and a 200, or a 502 of its own)
    // is not sent — its invocations answer memory_limit (`apply` skips their answers).
    for (const op of ops) if (op[0] === "memoryLimit" && this.memoryLimitHit === undefined) this.memoryLimitHit = String(op[1]);
    for (const op of ops) this.apply(op);
    if (failed && runError !== undefined) {
      // The first promise rejection nobody handled during the entry: the guest reports it.
      this.post(["rejection", last, guestReason(runError)], 0);
    }
    if (this.memoryLimitHit !== undefined) {
      this.failAll(this.limitError("memory_limit", this.memoryLimitHit), entry.participants);
      this.terminate("memory_limit");
      return;
    }
    if (this.spec.cpuLimitMs !== null) {
      for (const id of entry.participants) {
        const inv = this.invocations.get(id);
        if (inv !== undefined && inv.cpuUsedMs > this.spec.cpuLimitMs) this.endWith(id, this.limitError("cpu_limit"));
      }
    }
    if (this.eager || this.moreWaiting) markDirty(this);
    else {
      if (this.idleWaiters.length > 0) for (const wake of this.idleWaiters.splice(0)) wake();
      if (this.draining && this.invocations.size === 0) this.dispose();
    }
  }

  /**
   * CPU time of the entry (exact: the isolate's thread CPU clock), shared among the
   * invocations it ran for: the CPU limit and usage metering (`cpuMs` of every invocation).
   */
  private chargeCpu(entry: Entry): void {
    let now: bigint;
    try {
      now = this.isolate.cpuTime;
    } catch {
      return;
    }
    const spentMs = Number(now - this.lastCpuNs) / 1e6;
    this.lastCpuNs = now;
    const live = [...entry.participants].filter((id) => this.invocations.has(id));
    for (const id of live) this.invocations.get(id)!.cpuUsedMs += spentMs / live.length;
  }

  // — host ops —

  private apply(op: HostOp): void {
    const problem = checkHostOp(op);
    if (problem !== null) {
      this.moduleLogs.push([Date.now(), "error", `flick: the runtime sent a malformed op (${problem}); it was dropped`]);
      return;
    }
    if (this.memoryLimitHit !== undefined && (op[0] === "respond" || op[0] === "chunk" || op[0] === "complete" || op[0] === "fail")) return;
    switch (op[0]) {
      case "log":
        return this.log(op[1], op[2], op[3]);
      case "wake":
        return this.wake(op[1], op[2]);
      case "respond":
        return this.respond(op[1], op[2], op[3], op[4], op[5]);
      case "chunk":
        return this.chunk(op[1], op[2], op[3]);
      case "complete":
        return this.settle(op[1], null);
      case "fail":
        return this.fail(op[1], op[2], op[3], op[4]);
      case "fetch": {
        const inv = this.invocations.get(op[1]);
        return inv && this.ioOf(inv).fetch(op[2], op[3], op[4], op[5], op[6], op[7]);
      }
      case "fetchAbort":
        for (const inv of this.invocations.values()) inv.io?.fetchAbort(op[1]);
        return;
      case "zlibOpen": {
        const inv = this.invocations.get(op[1]);
        const problem = inv && this.ioOf(inv).zlibOpen(op[2], op[3], op[4]);
        if (problem !== undefined && problem !== null) this.endWith(op[1], { code: "function_error", message: `${this.spec.function}: ${problem}` });
        return;
      }
      case "zlibWrite": {
        const inv = this.invocations.get(op[1]);
        return inv && this.ioOf(inv).zlibWrite(op[2], op[3], op[4], op[5]);
      }
      case "zlibClose":
        return this.invocations.get(op[1])?.io?.zlibClose(op[2]);
      case "bodyCredit": {
        const inv = this.invocations.get(op[1]);
        if (inv !== undefined && op[2] > 0) inv.sink.bodyCredit(op[2]);
        return;
      }
      case "subtle": {
        const inv = this.invocations.get(op[1]);
        return inv && this.ioOf(inv).subtle(op[2], op[3], op[4], op[5]);
      }
      case "binding": {
        const inv = this.invocations.get(op[1]);
        return inv && this.ioOf(inv).bindingCall(op[2], op[3], op[4], op[5], op[6], op[7]);
      }
      case "memoryLimit":
        this.memoryLimitHit = op[1];
        return;
    }
  }

  /** `text` with the bundle's stack frames at the user's files and lines, when the version kept a source map. */
  private mapped(text: string): string {
    return this.mapFile === undefined ? text : mapStack(text, `${this.spec.function}.js`, this.mapFile);
  }

  /** One console line, within the invocation's caps (contract.ts `logLimits`). */
  private log(invocation: number, level: string, raw: string): void {
    const message = this.mapped(raw);
    const lvl: Levels = levels.has(level) ? (level as Levels) : "log";
    const inv = this.invocations.get(invocation);
    if (inv === undefined) {
      if (invocation === 0 && this.moduleLogs.length < logLimits.linesPerInvocation) {
        this.moduleLogs.push([Date.now(), lvl, message.slice(0, logLimits.lineMaxChars)]);
      }
      const ended = this.ended.get(invocation);
      if (ended !== undefined && ended.lines++ < 100) ended.log([Date.now(), lvl, message.slice(0, logLimits.lineMaxChars)]);
      return;
    }
    if (inv.logLines >= logLimits.linesPerInvocation || inv.logChars >= logLimits.charsPerInvocation) {
      if (inv.logDropped++ === 0) {
        inv.logs.push([Date.now(), "warn", `[flick: further console output of this invocation is dropped: it keeps at most ${logLimits.linesPerInvocation} lines and ${logLimits.charsPerInvocation} characters]`]);
      }
      return;
    }
    const text = message.length > logLimits.lineMaxChars ? `${message.slice(0, logLimits.lineMaxChars)}… [line cut at ${logLimits.lineMaxChars} characters]` : message;
    inv.logLines++;
    inv.logChars += text.length;
    inv.logs.push([Date.now(), lvl, text]);
  }

  /** The guest's earliest timer of `invocation` moved: one host timer per instance, at the earliest of all. */
  private wake(invocation: number, atMs: number): void {
    const inv = this.invocations.get(invocation);
    if (inv === undefined) return;
    inv.wakeAt = atMs;
    this.armWake();
  }

  private armWake(): void {
    let at = 0;
    for (const inv of this.invocations.values()) if (inv.wakeAt > 0 && (at === 0 || inv.wakeAt < at)) at = inv.wakeAt;
    if (at === this.wakeTimerAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
    this.wakeTimerAt = at;
    if (at === 0) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeTimerAt = 0;
      const now = guestClock();
      for (const inv of this.invocations.values()) {
        if (inv.wakeAt > 0 && inv.wakeAt <= now + 1) {
          inv.wakeAt = 0;
          this.post(["timers", inv.id], inv.id);
        }
      }
      this.armWake();
    }, Math.max(0, Math.ceil(at - guestClock())));
  }

  private respond(invocation: number, status: number, headers: string[], body: Uint8Array | null, end: boolean): void {
    const inv = this.invocations.get(invocation);
    if (inv === undefined || inv.headSent) return;
    const head = checkResponseHead(this.spec.function, status, headers);
    if (!head.ok) {
      this.log(invocation, "error", head.message);
      this.endWith(invocation, { code: "function_error", message: head.message });
      return;
    }
    inv.headSent = true;
    inv.bodyEnded = end;
    inv.responseBytes += body?.byteLength ?? 0;
    // At the end of the body, the log lines so far travel with it: stored before the client sees the end.
    inv.sink.head(head.status, head.headers, body, end, end ? inv.logs.splice(0) : []);
  }

  private chunk(invocation: number, bytes: Uint8Array, end: boolean): void {
    const inv = this.invocations.get(invocation);
    if (inv === undefined || !inv.headSent || inv.bodyEnded) return;
    inv.bodyEnded = end;
    inv.responseBytes += bytes.byteLength;
    inv.sink.chunk(bytes, end, end ? inv.logs.splice(0) : []);
  }

  private fail(invocation: number, message: string, stack: string, thrown: boolean): void {
    this.log(invocation, "error", stack !== "" ? stack : message);
    // V8 refused an allocation the memory limit would not allow (isolated-vm's allocator
    // said no): the function is out of memory, whatever its code did with the error.
    if (/^RangeError: Array buffer allocation failed/.test(message) || /out of memory/i.test(message)) {
      this.memoryLimitHit = "an allocation failed";
      return;
    }
    const mapped = this.mapped(message);
    const text = mapped.length > 2048 ? `${mapped.slice(0, 2048)}…` : mapped;
    // `thrown`: the message is the function's own text, which the gateway shows only to a
    // caller of the function's tenant (it is in the logs either way).
    this.settle(invocation, thrown
      ? { code: "function_error", message: `${this.spec.function} threw: ${text}`, details: { thrown: true } }
      : { code: "function_error", message: `${this.spec.function}: ${text}` });
  }

  // — ends —

  /** The invocation hit its deadline: answered now, whatever the isolate is doing. */
  private onDeadline(invocation: number): void {
    const inv = this.invocations.get(invocation);
    if (inv === undefined) return;
    const message = inv.bodyEnded
      ? `${this.spec.function}: work after the response (ctx.waitUntil) ran past the ${this.spec.timeoutMs} ms limit and was cancelled.`
      : `${this.spec.function} did not respond within its ${this.spec.timeoutMs} ms limit. Deploy with a larger --timeout if the work is legitimate.`;
    this.log(invocation, "error", message);
    // Not yet in the isolate: it never will be (its request event is dropped from the queue).
    if (!inv.started) this.events = this.events.filter((e) => !(e[0] === "request" && e[1] === invocation));
    const entry = this.entry;
    const running = entry !== undefined && entry.participants.has(invocation);
    this.endWith(invocation, { code: "timeout", message });
    // The entry it ran in is still running, and runs for nobody left: the isolate goes.
    if (running && entry.watch === undefined && ![...entry.participants].some((id) => this.invocations.has(id))) this.overrun(entry);
  }

  /** The client went away: the invocation stops (its timers, fetches and streams with it). */
  private cancel(invocation: number): void {
    if (!this.invocations.has(invocation)) return;
    this.log(invocation, "info", "the client disconnected; the invocation was stopped");
    this.endWith(invocation, null);
  }

  /** Ends an invocation from the host's side (a limit, the client gone). */
  private endWith(invocation: number, error: ErrorData | null): void {
    this.settle(invocation, error);
  }

  /** Ends an invocation: `error` null when it completed. */
  private settle(invocation: number, error: ErrorData | null): void {
    const inv = this.invocations.get(invocation);
    if (inv === undefined) return;
    this.invocations.delete(invocation);
    if (inv.deadline === this.deadlineAt) this.armDeadline();
    inv.io?.close();
    if (inv.sink.lateLog !== undefined) {
      // Only the logger is kept, not the sink: a sink holds its client's response objects,
      // which would then outlive 64 more requests and be promoted to the old space.
      this.ended.set(invocation, { log: inv.sink.lateLog, lines: inv.logLines });
      if (this.ended.size > 64) this.ended.delete(this.ended.keys().next().value!);
    }
    if (inv.wakeAt > 0) this.armWake();
    this.lastUsedMs = Date.now();
    // The guest forgets it (timers, streams, counters) with the next entry.
    if (inv.started && !this.disposing) this.post(["end", invocation], 0, true);
    inv.resolve({ error, logs: inv.logs, started: inv.started, cpuMs: inv.cpuUsedMs, requestBytes: inv.requestBytes, responseBytes: inv.responseBytes, egress: inv.egress });
    forget(inv);
    if (this.draining && this.invocations.size === 0 && this.entry === undefined) this.dispose();
  }

  /**
   * Every invocation ends: those `error` is about with it, the others that were running
   * with `instance_terminated`, and those that never reached the isolate too — with
   * `started` false, so they may run elsewhere.
   */
  private failAll(error: ErrorData, about?: ReadonlySet<number>): void {
    for (const id of [...this.invocations.keys()]) {
      const inv = this.invocations.get(id)!;
      if (inv.started && (about === undefined || about.has(id))) this.settle(id, error);
      else if (inv.started) this.settle(id, { code: "instance_terminated", message: `the instance was stopped while this request ran (another request on it hit a limit: ${error.code}); retry` });
      else this.settle(id, { code: "instance_terminated", message: "the instance was stopped before the request reached it; retry" });
    }
  }

  private limitError(code: "timeout" | "memory_limit" | "cpu_limit", what?: string): ErrorData {
    const fn = this.spec.function;
    switch (code) {
      case "memory_limit":
        return { code, message: `${fn} went over its memory limit of ${this.spec.memoryMiB} MiB${what === undefined ? "" : ` (${what})`}; the instance was stopped. Use less memory or deploy with a larger --memory.` };
      case "cpu_limit":
        return { code, message: `${fn} used more than its ${this.spec.cpuLimitMs} ms of CPU time for one request and was stopped. Do less work per request or deploy with a larger --cpu-limit.` };
      case "timeout":
        return { code, message: `${fn} ran past its ${this.spec.timeoutMs} ms limit; the instance was stopped. Deploy with a larger --timeout if the work is legitimate.` };
    }
  }

  /** The instance stops for a reason of its own: everything on it ends, its owner is told. */
  private terminate(reason: ErrorCode): void {
    this.failAll({ code: "instance_terminated", message: `the instance was stopped while this request ran (another request on it hit a limit: ${reason}); retry` });
    this.dispose();
    this.reportGone(reason);
  }

  private reportGone(reason: string): void {
    if (this.goneReported) return;
    this.goneReported = true;
    this.links.onGone?.(reason);
  }

  private catastrophe(message: string): void {
    untrackIdle(this);
    // The isolate's thread is parked by isolated-vm: nothing of it can run or be freed.
    const code = /memory/i.test(message) ? "memory_limit" : "timeout";
    this.failAll(this.limitError(code), this.entry?.participants ?? new Set());
    this.disposing = true;
    this.endCollect();
    if (this.entry !== undefined) inFlightEntries--;
    this.entry = undefined;
    this.reportGone(code);
    this.host.taint(`an isolate of ${this.spec.function} could not be stopped (${message})`);
  }

  /** What an exception out of the isolate means. */
  private classify(err: unknown, fallback: ErrorCode): FlickError {
    if (err instanceof FlickError) return err;
    const message = messageOf(err);
    if ((this.isolate.isDisposed && !this.disposing) || /memory limit/i.test(message)) {
      return new FlickError("memory_limit", `${this.spec.function} went over its memory limit of ${this.spec.memoryMiB} MiB; the instance was stopped. Use less memory or deploy with a larger --memory.`);
    }
    return new FlickError(fallback, `${this.spec.function}: ${message}`);
  }

  /** Idle for `idleCollectMs` and not collected since its last use: a "collect" entry (true). */
  collectIfIdle(nowMs: number): boolean {
    if (this.collected || this.loading || this.disposing || this.invocations.size > 0 || this.entry !== undefined || nowMs - this.lastUsedMs < idleCollectMs) return false;
    this.collected = true;
    this.collectRunning = true;
    this.post(["collect"], 0);
    return true;
  }

  get collectPending(): boolean {
    return this.collectRunning;
  }

  private endCollect(): void {
    if (!this.collectRunning) return;
    this.collectRunning = false;
    collectionEnded();
  }

  /** Stops the instance now; running invocations end with `instance_terminated`. */
  dispose(): void {
    if (this.disposing) return;
    this.disposing = true;
    this.endCollect();
    untrackIdle(this);
    dirty.delete(this);
    clearTimeout(this.wakeTimer);
    clearTimeout(this.deadlineTimer);
    for (const wake of this.idleWaiters.splice(0)) wake();
    const entry = this.entry;
    this.failAll({ code: "instance_terminated", message: "the instance was stopped while this request ran; retry" });
    try {
      this.isolate.dispose();
    } catch {}
    if (entry !== undefined) {
      clearTimeout(entry.watch);
      // The thread running the entry should stop at once; one that does not (a builtin
      // looping without interrupt checks) means the host must be replaced.
      const check = setTimeout(() => {
        if (this.entry === entry) this.host.taint(`an isolate of ${this.spec.function} kept running ${stopGraceMs} ms after it was stopped`);
      }, stopGraceMs);
      check.unref();
    }
  }

  /** Stops the instance once its invocations are done; new ones are refused. */
  drain(): void {
    this.draining = true;
    if (this.invocations.size === 0 && this.entry === undefined) this.dispose();
  }

  /**
   * What the instance holds, MiB: its V8 heap and external memory plus a fixed 0.8 MiB for
   * the isolate itself. Asked of the isolate between entries (never blocking the host).
   */
  async memoryMiB(): Promise<number | undefined> {
    try {
      const heap = await this.isolate.getHeapStatistics();
      return (heap.used_heap_size + heap.externally_allocated_size) / 2 ** 20 + 0.8;
    } catch {
      return undefined;
    }
  }
}
