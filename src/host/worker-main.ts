/**
 * Entry of a worker host process (forked by the primary's supervisor): it serves the
 * node's port for `/fn/` traffic alongside the other hosts, admits requests with the
 * slots and tokens it holds (admission.ts), runs them on its instances (instance.ts, each
 * isolate on a thread of its own), and runs what the primary sends it. If something
 * happens that this process cannot undo — an isolate V8 could not stop — it tells the
 * primary, which starts a replacement, and drains: it stops accepting connections,
 * finishes what it runs, and exits.
 */
import { readFileSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { IncomingMessage, ServerResponse } from "node:http";
import { bundleRuntime } from "../build/index.ts";
import { errorCodes, FlickError, type ErrorData } from "../errors/index.ts";
import { createGateway, targetOf, type GatewayBackend, type ResponseWriter, type RouteTarget, type Target } from "../gateway/index.ts";
import { limits } from "../model/index.ts";
import { Admission, stuckEntryMs, type Slots } from "./admission.ts";
import { pumpBody, type BodyPump } from "./body-pump.ts";
import { checkRuntime } from "./check-runtime.ts";
import { CodeCache } from "./code-cache.ts";
import { EgressPolicy } from "./egress-policy.ts";
import { FairJobs } from "./fair-jobs.ts";
import { accessLogger } from "./access-log.ts";
import { createHostServer, endFollows, listenShared } from "./host-server.ts";
import { Instance, makeRuntimeSnapshot, type FunctionCode, type HostContext, type InstanceLinks, type RuntimeCode } from "./instance.ts";
import { IsolatePool } from "./isolate-pool.ts";
import { PrimaryLink } from "./primary-link.ts";
import type { AcquireResult, Call, CallResult, ClientGone, FromHost, InstanceSpec, InvocationControl, ResponseSink, RouteInfo, ToHost, WireLogLine, WireRequest } from "./protocol.ts";
import { relay } from "./relay.ts";
import { requestLine } from "./request-line.ts";
import { sharedSnapshot } from "./shared-snapshot.ts";
import { outcomeOf, reportIntervalMs, UsageReport } from "./usage.ts";
import { InvocationTrace, startOtlpExport, TraceBudget, TraceSink, traceParentOf } from "../telemetry/index.ts";
import { recordInvocationSpans, type InvocationFacts, type InvocationTimes } from "./invocation-spans.ts";

checkRuntime();
const env = process.env;
const hostIndex = Number(env["FLICK_HOST_INDEX"] ?? "0");
const source = await bundleRuntime();
const codeCacheKey = env["FLICK_CODE_CACHE_KEY"];
delete env["FLICK_CODE_CACHE_KEY"];
// The runtime evaluated once into a V8 startup snapshot, so a new isolate starts with it;
// one snapshot for all hosts of the node (shared-snapshot.ts), so code caches fit them all.
const snapshotFile = env["FLICK_RUNTIME_SNAPSHOT"] ?? "";
const snapshot =
  env["FLICK_NO_SNAPSHOT"] === "1" ? undefined
  : snapshotFile !== "" && codeCacheKey !== undefined && codeCacheKey !== "" ? sharedSnapshot(snapshotFile, Buffer.from(codeCacheKey, "hex"), source, () => makeRuntimeSnapshot(source))
  : makeRuntimeSnapshot(source);
const runtime: RuntimeCode = snapshot === undefined ? runtimeWithCodeCache() : { source, snapshot };
// `flick up --egress-allow a,b` reaches hosts through the environment the supervisor sets.
const egress = new EgressPolicy((env["FLICK_EGRESS_ALLOW"] ?? "").split(",").filter((e) => e.trim() !== ""));
const queueWaitMs = Number(env["FLICK_QUEUE_WAIT_MS"] ?? "0");
/** `flick up --trace-sample`: the share of new traces recorded (a caller's sampled flag decides for its own). */
const traceSample = Number(env["FLICK_TRACE_SAMPLE"] ?? "0");
/** `--trace-max-rate`, this host's share: invocations recorded per second at most (0: no cap). */
const traceMaxRate = Number(env["FLICK_TRACE_MAX_RATE"] ?? "0");
const traceBudget = traceMaxRate > 0 ? new TraceBudget(traceMaxRate) : undefined;
const primarySocket = env["FLICK_PRIMARY_SOCKET"] ?? "";

/**
 * Without a snapshot, isolates compile the runtime script with V8's code cache: the one
 * kept in the data dir when this node made it (code-cache.ts checks its seal), else the
 * first isolate makes it and it is kept for the next host start.
 */
function runtimeWithCodeCache(): RuntimeCode {
  const key = codeCacheKey;
  const file = env["FLICK_RUNTIME_CACHE"];
  if (key === undefined || key === "" || file === undefined || file === "") return { source };
  const cache = new CodeCache(Buffer.from(key, "hex"));
  const cachedData = cache.load(file, source);
  return cachedData !== undefined ? { source, cachedData } : { source, onCachedData: (data) => cache.store(file, source, data) };
}
/** Seals and checks the V8 code caches of function script forms (made at deploy, kept beside them). */
const functionCache = codeCacheKey === undefined || codeCacheKey === "" ? undefined : new CodeCache(Buffer.from(codeCacheKey, "hex"));
// FLICK_SCRIPT_FORM=0 runs every version as its module, to compare cold starts with and without.
const useScriptForm = env["FLICK_SCRIPT_FORM"] !== "0";

/**
 * A bundle file's text. Small ones (most) are read at once: a cold start waits for this,
 * and the thread pool's round trip cost more than the read (0.2–0.8 ms against ~30 µs).
 */
async function readCode(path: string): Promise<string> {
  return statSync(path).size <= 256 * 1024 ? readFileSync(path, "utf8") : readFile(path, "utf8");
}

/** A version's code as this host runs it: its script form from the code cache when it has one. */
async function codeOf(spec: InstanceSpec): Promise<FunctionCode> {
  if (spec.scriptPath === undefined || !useScriptForm) return readCode(spec.bundlePath);
  return scriptCode(await readCode(spec.scriptPath), spec.scriptPath);
}

function scriptCode(script: string, path: string): FunctionCode {
  const cache = functionCache;
  if (cache === undefined) return { script };
  // The file name holds its bundle's SHA-256: the seal covers that, not a hash of the script.
  const identity = `flick-script-form:${basename(path)}`;
  const cachedData = cache.load(path, script, identity);
  return { script, ...(cachedData === undefined ? {} : { cachedData }), onCachedData: (data) => cache.store(path, script, data, identity) };
}

// — the primary —

const link = new PrimaryLink((messages) => {
  if (process.connected) process.send!(messages);
});
const send = (message: FromHost): void => link.send(message);

let draining = false;
/** An isolate's thread is parked for good (an uncontainable OOM): this process cannot exit normally. */
let tainted = false;
const host: HostContext = {
  runtime,
  egress,
  jobs: new FairJobs(4),
  taint(reason) {
    if (draining || tainted) return;
    tainted = true;
    process.emitWarning(`flick: worker host ${hostIndex} is being replaced: ${reason}`);
    send({ t: "tainted", reason });
  },
};

/**
 * Leaves. A tainted host cannot `process.exit`: exiting disposes the isolates, and one of
 * them has a thread isolated-vm parked for good, which the exit waits for forever. It
 * kills itself once the primary has what it sent (the channel wrote the last batch).
 */
function leave(): void {
  if (!tainted) process.exit(0);
  link.flush();
  const kill = (): void => {
    process.kill(process.pid, "SIGKILL");
  };
  if (!process.connected) return kill();
  process.send!([], kill);
}

/** Binding calls in flight to the primary, by call id. */
const calls = new Map<number, (result: CallResult) => void>();
let nextCall = 1;
function call(c: Call): Promise<CallResult> {
  const id = nextCall++;
  return new Promise((resolve) => {
    calls.set(id, resolve);
    send({ t: "call", id, call: c });
  });
}

// — instances —

// FLICK_POOL=0 turns the pool off, to compare cold starts with and without it.
const pool =
  env["FLICK_POOL"] === "0"
    ? undefined
    : new IsolatePool({ memoryMiB: limits.memoryMiB.default, initial: 2, max: 32, make: () => Instance.blank(limits.memoryMiB.default, host) });

const usage = new UsageReport();
type HostSlots = Slots<Instance> & {
  failure: ErrorData | undefined;
  served: number;
  /** When its start began and ended (performance.now() ms), and whether a pooled isolate took it: its cold start's span. */
  startedAt: number;
  readyAt: number;
  fromPool: boolean;
};

function linksFor(spec: InstanceSpec, slots: HostSlots): InstanceLinks {
  return {
    wasm: (hash) => {
      const file = spec.wasm[hash];
      return file === undefined ? null : wasmBytes.get(file) ?? null;
    },
    calls: call,
    onGone: (reason) => {
      admission.remove(slots.id);
      send({ t: "gone", instance: slots.id, reason });
    },
  };
}
/** Wasm modules of the versions this host runs, read when an instance is made (the guest asks synchronously). */
const wasmBytes = new Map<string, Uint8Array>();

/** Starts an instance of `spec` here; its slots count from now, while it loads. */
function startInstance(spec: InstanceSpec): HostSlots {
  const slots: HostSlots = {
    id: spec.instance,
    key: spec.key,
    concurrency: spec.concurrency,
    inFlight: 0,
    loaded: undefined,
    gone: false,
    failure: undefined,
    served: 0,
    startedAt: performance.now(),
    readyAt: 0,
    fromPool: false,
    ready: Promise.resolve(undefined),
    stuck: () => slots.loaded?.stuck(stuckEntryMs) ?? false,
    draining: () => slots.loaded?.draining === true || slots.loaded?.disposed === true,
  };
  slots.ready = (async () => {
    try {
      for (const file of Object.values(spec.wasm)) if (!wasmBytes.has(file)) wasmBytes.set(file, new Uint8Array(await readFile(file)));
      const code = await codeOf(spec);
      const links = linksFor(spec, slots);
      const blank = pool?.take(spec.memoryMiB);
      let instance: Instance;
      if (blank !== undefined) {
        await blank.adopt(spec, code, links);
        instance = blank;
        slots.fromPool = true;
      } else instance = await Instance.create(spec, code, host, links);
      slots.readyAt = performance.now();
      if (slots.gone) {
        instance.dispose();
        return undefined;
      }
      slots.loaded = instance;
      return instance;
    } catch (err) {
      const error = err instanceof FlickError ? err : new FlickError("internal", `the instance could not be started: ${String(err)}`);
      slots.failure = error.toData();
      admission.remove(slots.id);
      send({ t: "gone", instance: slots.id, reason: error.code });
      return undefined;
    }
  })();
  return slots;
}

const admission: Admission<Instance> = new Admission<Instance>({
  acquire: async (fn, key, token, instance) =>
    (await link.ask<Extract<ToHost, { t: "acquired" }>>((id) => ({ t: "acquire", id, fn, key, token, instance }))).result,
  place: (spec) => startInstance(spec),
  giveBack: (tenant, n) => send({ t: "tokensBack", tenant, n }),
});

/** After an invocation: usage for the primary, and the instance's memory now and then. */
function afterInvocation(slots: HostSlots, instance: Instance, cold: boolean): void {
  usage.instance(slots.id, slots.inFlight, Date.now());
  if (cold || ++slots.served % 1024 === 0) {
    void instance.memoryMiB().then((m) => {
      if (m !== undefined) usage.memoryOf(slots.id, m);
    });
  }
  pool?.touch();
}

// — function traffic on this host's listener —

const routes = new Map<string, RouteInfo>();
/** Token hash → who it acts for, asked of the primary and kept briefly. */
const authCache = new Map<string, { principal: Awaited<ReturnType<GatewayBackend["authenticate"]>>; atMs: number }>();
const authCacheMs = 10_000;

/** Log lines that came with the end of a body: stored (or failed to be) before the client sees that end. */
function storeLogs(route: RouteInfo, invocationId: string, logs: WireLogLine[], wait: boolean): Promise<void> | undefined {
  if (logs.length === 0) return undefined;
  const lines = logs.map(([timeMs, level, message, request]) => ({ timeMs, level, message, function: route.name, tenant: route.tenant, invocationId, ...(request === undefined ? {} : { request }) }));
  if (!wait) {
    send({ t: "logs", lines });
    return undefined;
  }
  return link.ask((id) => ({ t: "logs", lines, ack: id })).then(() => undefined);
}

// — spans of sampled invocations: kept here for `flick trace`, exported from here —

const traces = new TraceSink();
const otlpEndpoint = env["FLICK_OTLP_ENDPOINT"] ?? "";
if (otlpEndpoint !== "") {
  traces.exporter = await startOtlpExport(otlpEndpoint, { name: "flick", version: env["FLICK_VERSION"] ?? "", instance: `${env["FLICK_NODE_ADDRESS"] ?? ""}/host-${hostIndex}` });
}

function shipSpans(trace: InvocationTrace): void {
  traces.add(trace.spans);
  trace.spans = [];
}

/** The wait for an invocation's log lines to be stored (the primary commits them before the answer goes on). */
function traceLogCommit(trace: InvocationTrace, stored: Promise<void>, lines: number): void {
  const start = performance.now();
  void stored.then(() => trace.add("flick.logs.commit", "internal", start, performance.now(), { "flick.log_lines": lines }));
}

/**
 * A late log line's writer for an ended invocation. Made outside the invocation's scope:
 * a closure there would share its context, and with it the client's response objects,
 * for as long as the instance remembers the invocation (instance.ts `ended`).
 */
function lateLogger(route: RouteInfo, invocationId: string): NonNullable<ResponseSink["lateLog"]> {
  return (line) => storeLogs(route, invocationId, [line], false);
}

function remoteLateLogger(spec: InstanceSpec, invocationId: string): NonNullable<ResponseSink["lateLog"]> {
  const fn = spec.function.slice(spec.tenant.length + 1);
  const tenant = spec.tenant;
  return ([timeMs, level, text]) => send({ t: "logs", lines: [{ timeMs, level, message: text, function: fn, tenant, invocationId }] });
}

/** What a sampled request's spans say about it (a function, not a closure per request: most are not sampled). */
function factsOf(route: RouteInfo, target: RouteTarget, invocationId: string, status: number | undefined, error: ErrorData | null, cpuMs?: number): InvocationFacts {
  return { tenant: route.tenant, function: route.name, version: target.version, invocationId, status, error, ...(cpuMs === undefined ? {} : { cpuMs }) };
}

async function runHere(
  route: RouteInfo,
  /** The version this request runs (gateway/traffic-split.ts). */
  target: RouteTarget,
  request: WireRequest,
  invocationId: string,
  writer: ResponseWriter,
  body: AsyncIterable<Uint8Array> | undefined,
  clientGone: ClientGone | undefined,
): Promise<{ error: ErrorData | null }> {
  const arrival = request.arrivalMs ?? performance.now();
  if (body !== undefined) {
    request.body = null;
    request.streamed = true;
  }
  // Sampled or not is decided here, once (telemetry/trace-context.ts).
  const trace = InvocationTrace.start(traceParentOf(request.headers), traceSample, traceBudget);
  for (let attempt = 0; ; attempt++) {
    const admitted = admission.tryAdmit(route.tenant, target.key) ?? (await admission.admit(route.fn, route.tenant, target.key, queueWaitMs));
    if (admitted.kind !== "run" && admitted.kind !== "relay") {
      let error: ErrorData;
      if (admitted.kind === "throttle") {
        usage.throttled(route.fn, admitted.reason);
        const retryAfterSeconds = Math.ceil(admitted.retryAfterMs / 1000);
        error = { code: admitted.reason, message: `${admitted.message}; retry in ${retryAfterSeconds} s`, details: { retryAfterSeconds } };
      } else if (admitted.kind === "gone") error = { code: "function_not_found", message: admitted.message };
      else error = admitted.error;
      if (trace !== undefined) {
        const now = performance.now();
        recordInvocationSpans(trace, request, { arrival, admitted: now, end: now }, factsOf(route, target, invocationId, errorCodes[error.code], error));
        shipSpans(trace);
      }
      return { error };
    }
    if (admitted.kind === "relay") {
      try {
        return await relay(primarySocket, hostIndex, route.name, target.version, request, invocationId, writer, body, clientGone);
      } finally {
        admitted.release();
      }
    }
    const admittedAt = performance.now();
    const slots = admitted.slots as HostSlots;
    const instance = admitted.instance;
    usage.instance(slots.id, slots.inFlight, Date.now());
    let control: InvocationControl | undefined;
    let bodyPump: BodyPump | undefined;
    // Writes happen in order; one that carries log lines waits for them to be stored.
    let chain: Promise<void> | undefined;
    let logged = false;
    const then = (logs: WireLogLine[], write: () => void) => {
      if (logs.length > 0) logged = true;
      const stored = storeLogs(route, invocationId, logs, true);
      if (trace !== undefined && stored !== undefined) traceLogCommit(trace, stored, logs.length);
      if (chain === undefined && stored === undefined) return write();
      chain = Promise.all([chain, stored]).then(write, write);
    };
    let sentStatus: number | undefined;
    const sink: ResponseSink = {
      head: (status, headers, bytes, end, logs) => {
        sentStatus = status;
        then(logs, () => writer.head(status, headers, bytes, end, admitted.cold));
      },
      chunk: (bytes, end, logs) => then(logs, () => writer.chunk(bytes, end, () => control?.credit(bytes.byteLength))),
      bodyCredit: (bytes) => bodyPump?.credit(bytes),
      lateLog: lateLogger(route, invocationId),
    };
    // Timed only when sampled: nothing extra on the path of the rest.
    const executionStart = trace === undefined ? 0 : performance.now();
    const end = await instance.invoke(request, sink, (c) => {
      control = c;
      if (body !== undefined) bodyPump = pumpBody(body, c);
      if (clientGone !== undefined) clientGone.cancel = () => c.cancel();
    }, trace);
    const executionEnd = trace === undefined ? 0 : performance.now();
    bodyPump?.stop();
    // The invocation is over: nothing here may keep its handles (see instance.ts `forget`).
    bodyPump = undefined;
    control = undefined;
    if (clientGone !== undefined) clientGone.cancel = undefined;
    admitted.release();
    afterInvocation(slots, instance, admitted.cold);
    // Never reached the isolate (it was stopped while the request waited): run it elsewhere.
    if (!end.started && end.error?.code === "instance_terminated" && body === undefined && attempt < 2) continue;
    if (chain !== undefined) await chain;
    const endCode = end.error?.code;
    const line = requestLine(request, sentStatus, end, endCode === undefined ? undefined : errorCodes[endCode], Date.now() - (performance.now() - arrival), performance.now() - arrival, admitted.cold, logged);
    // With no answer sent yet (the function threw or timed out), the lines that explain the
    // error the client is about to read are stored first, as the end of a body's are.
    const explained = sentStatus === undefined && end.logs.length > 0;
    const storing = storeLogs(route, invocationId, line === undefined ? end.logs : [line, ...end.logs], explained);
    if (storing !== undefined) await storing.catch(() => undefined);
    const code = end.error?.code;
    if (end.started) usage.meter(route.tenant, route.name, performance.now() - arrival, instance.spec.memoryMiB, end);
    if (admitted.cold && !slots.fromPool && instance.codeCache !== "hit") usage.freshColdStart(route.fn);
    usage.invocation(
      route.fn, performance.now() - arrival, admitted.cold, admitted.cold ? instance.codeCache : undefined,
      outcomeOf(sentStatus, code, code === undefined ? undefined : errorCodes[code]), admittedAt - arrival, end,
    );
    if (trace !== undefined) {
      const times: InvocationTimes = { arrival, admitted: admittedAt, execution: [executionStart, executionEnd], end: performance.now() };
      if (admitted.cold && slots.readyAt > 0) {
        times.coldStart = [slots.startedAt, slots.readyAt];
        times.coldKind = slots.fromPool ? "pool" : "new_isolate";
        times.codeCache = instance.codeCache;
      }
      recordInvocationSpans(trace, request, times, factsOf(route, target, invocationId, sentStatus ?? (code === undefined ? undefined : errorCodes[code]), end.error, end.cpuMs));
      shipSpans(trace);
    }
    return { error: end.error };
  }
}

const backend: GatewayBackend = {
  resolve(name, version) {
    const route = routes.get(name);
    return route === undefined ? undefined : targetOf(route, version);
  },
  async authenticate(authorization) {
    const cached = authCache.get(authorization);
    if (cached !== undefined && performance.now() - cached.atMs < authCacheMs) return cached.principal;
    const answer = await link.ask<Extract<ToHost, { t: "authed" }>>((id) => ({ t: "auth", id, authorization }));
    const principal = answer.principal ?? undefined;
    if (authCache.size > 10_000) authCache.clear();
    authCache.set(authorization, { principal, atMs: performance.now() });
    return principal;
  },
  async invoke(target: RouteTarget, request, invocationId, writer, body, clientGone) {
    const route = routes.get(target.name);
    if (route === undefined) return { error: { code: "function_not_found", message: `function "${target.name}" was removed` } };
    request.invocationId = invocationId;
    return runHere(route, target, request, invocationId, writer, body, clientGone);
  },
};
// Access lines on the node's output (`flick up --log-format`), batched per loop turn.
const accessFormat = env["FLICK_ACCESS_LOG"] === "json" ? "json" : env["FLICK_ACCESS_LOG"] === "off" ? "off" : "text";
const gateway = createGateway(backend, { nodeName: env["FLICK_NODE_NAME"] ?? "", ...(accessFormat === "off" ? {} : { access: accessLogger(accessFormat) }) });

// — what the primary runs here —

/** Primary-originated invocations by message id, for their body pieces, credits and cancels. */
const remote = new Map<number, InvocationControl>();

async function invokeFromPrimary(message: Extract<ToHost, { t: "invoke" }>): Promise<void> {
  const received = performance.now();
  const id = message.id;
  if (message.spec !== undefined && admission.get(message.instance) === undefined) admission.add(startInstance(message.spec));
  const taken = await admission.take(message.instance);
  if (taken === undefined) {
    const slots = admission.get(message.instance) as HostSlots | undefined;
    const error: ErrorData = slots?.failure ?? { code: "instance_terminated", message: "the instance was busy or gone; the request did not start" };
    send({ t: "done", id, error, logs: [], cold: false, started: false });
    return;
  }
  const cold = taken.cold;
  const spec = taken.instance.spec;
  usage.instance(taken.slots.id, taken.slots.inFlight, Date.now());
  let sentStatus: number | undefined;
  let logged = false;
  const sink: ResponseSink = {
    head: (status, headers, body, end, logs) => {
      sentStatus = status;
      if (logs.length > 0) logged = true;
      send({ t: "head", id, status, headers, body, end, logs, cold });
    },
    chunk: (bytes, end, logs) => {
      if (logs.length > 0) logged = true;
      send({ t: "chunk", id, bytes, end, logs });
    },
    bodyCredit: (bytes) => send({ t: "bodyCredit", id, bytes }),
    lateLog: remoteLateLogger(spec, message.request.invocationId ?? ""),
  };
  const started = performance.now();
  // Async attempts, cron runs, queue batches and binding calls carry their trace context in the request's headers.
  const trace = InvocationTrace.start(traceParentOf(message.request.headers), traceSample, traceBudget);
  const end = await taken.instance.invoke(message.request, sink, (control) => remote.set(id, control), trace);
  remote.delete(id);
  if (trace !== undefined) {
    const ended = performance.now();
    const slots = taken.slots as HostSlots;
    const times: InvocationTimes = { arrival: received, admitted: started, execution: [started, ended], end: ended };
    if (cold && slots.readyAt > 0) {
      times.coldStart = [slots.startedAt, slots.readyAt];
      times.coldKind = slots.fromPool ? "pool" : "new_isolate";
      times.codeCache = taken.instance.codeCache;
    }
    const code = end.error?.code;
    recordInvocationSpans(trace, message.request, times, {
      tenant: spec.tenant, function: spec.function.slice(spec.tenant.length + 1), version: spec.versionId, invocationId: message.request.invocationId ?? "",
      status: sentStatus ?? (code === undefined ? undefined : errorCodes[code]), error: end.error, ...(end.cpuMs === undefined ? {} : { cpuMs: end.cpuMs }),
    });
    shipSpans(trace);
  }
  if (end.started) {
    usage.meter(spec.tenant, spec.function.slice(spec.tenant.length + 1), performance.now() - started, spec.memoryMiB, end);
    usage.resources(spec.function, end);
  }
  taken.release();
  afterInvocation(taken.slots as HostSlots, taken.instance, cold);
  const code = end.error?.code;
  const line = end.started ? requestLine(message.request, sentStatus, end, code === undefined ? undefined : errorCodes[code], Date.now() - (performance.now() - started), performance.now() - started, cold, logged) : undefined;
  const done: Extract<FromHost, { t: "done" }> = { t: "done", id, error: end.error, logs: line === undefined ? end.logs : [line, ...end.logs], cold, started: end.started };
  if (cold) {
    done.codeCache = taken.instance.codeCache;
    done.pooled = (taken.slots as HostSlots).fromPool;
  }
  send(done);
}

async function validate(message: Extract<ToHost, { t: "validate" }>): Promise<void> {
  const spec: InstanceSpec = {
    instance: `validate-${message.id}`, function: message.filename.replace(/\.js$/, ""), tenant: "", key: "", versionId: "", bundlePath: "",
    memoryMiB: limits.memoryMiB.max, timeoutMs: message.timeoutMs, cpuLimitMs: null, concurrency: 1, env: [], wasm: {},
  };
  const links: InstanceLinks = { wasm: (hash) => message.wasm[hash] ?? null };
  let handlers: string[];
  try {
    const instance = await Instance.create(spec, message.code, host, links);
    handlers = await instance.handlers();
    instance.dispose();
  } catch (err) {
    const error = err instanceof FlickError ? err : new FlickError("invalid_bundle", String(err));
    send({ t: "validated", id: message.id, error: error.toData(), scriptOk: false, handlers: [] });
    return;
  }
  // The script form must load as the module did; this first load also makes its code cache.
  let scriptOk = false;
  if (message.script !== undefined) {
    try {
      (await Instance.create(spec, scriptCode(message.script.code, message.script.path), host, links)).dispose();
      scriptOk = true;
    } catch {}
  }
  send({ t: "validated", id: message.id, error: null, scriptOk, handlers });
}

function handle(message: ToHost): void {
  if (link.answer(message)) return;
  if (message.t === "invoke" || message.t === "body") pool?.touch();
  switch (message.t) {
    case "routes":
      if (message.full) routes.clear();
      for (const route of message.routes) routes.set(route.name, route);
      for (const name of message.removed) routes.delete(name);
      authCache.clear();
      send({ t: "ack", id: message.id });
      break;
    case "spans": {
      const traceId = message.traceId ?? traces.traceIdOf(message.invocationId) ?? null;
      send({ t: "spansOf", id: message.id, traceId, spans: traceId === null ? [] : traces.spansOf(traceId) });
      return;
    }
    case "reclaim":
      send({ t: "reclaimed", id: message.id, tenant: message.tenant, n: admission.reclaim(message.tenant) });
      break;
    case "invoke":
      void invokeFromPrimary(message);
      break;
    case "validate":
      void validate(message);
      break;
    case "credit":
      remote.get(message.id)?.credit(message.bytes);
      break;
    case "body":
      remote.get(message.id)?.body(message.bytes, message.end, message.error);
      break;
    case "cancel":
      remote.get(message.id)?.cancel();
      break;
    case "callDone": {
      const resolve = calls.get(message.id);
      calls.delete(message.id);
      resolve?.(message.result);
      break;
    }
    case "warm":
      if (admission.get(message.spec.instance) === undefined) admission.add(startInstance(message.spec));
      break;
    case "drop": {
      const slots = admission.remove(message.instance);
      if (slots === undefined) break;
      void slots.ready.then((instance) => {
        if (message.now) instance?.dispose();
        else instance?.drain();
      });
      break;
    }
    case "flush": {
      const report = usage.take();
      if (report !== undefined) send(report);
      send({ t: "ack", id: message.id });
      break;
    }
    case "drain":
      void drain(message.graceMs);
      break;
  }
}

// — the listener —

const server = createHostServer({
  port: Number(env["FLICK_LISTEN_PORT"] ?? "0"),
  host: env["FLICK_LISTEN_HOST"] ?? "127.0.0.1",
  maxConnections: Number(env["FLICK_MAX_CONNECTIONS"] ?? "10000"),
  headersTimeoutMs: Number(env["FLICK_HEADERS_TIMEOUT_MS"] ?? "10000"),
  primarySocket,
  functions: (req: IncomingMessage, res: ServerResponse, target: Target) => {
    if (draining) res.shouldKeepAlive = false;
    void gateway(req, res, target);
  },
});

const reporter = setInterval(() => {
  const report = usage.take();
  if (report !== undefined) send(report);
}, reportIntervalMs);
reporter.unref();

/** Stops accepting, lets what runs finish (within `graceMs`), then exits. */
async function drain(graceMs: number): Promise<void> {
  if (draining) return;
  draining = true;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  endFollows();
  const timer = setTimeout(leave, graceMs);
  timer.unref();
  await closed;
  // What the primary sent (async attempts, binding calls) finishes too.
  while (remote.size > 0) await new Promise((r) => setTimeout(r, 20));
  const report = usage.take();
  if (report !== undefined) send(report);
  link.flush();
  // What the exporter holds goes out before the process does (bounded by its export timeout).
  await traces.close().catch(() => undefined);
  leave();
}

process.on("message", (messages: ToHost[]) => {
  for (const message of messages) handle(message);
});
process.on("disconnect", () => (tainted ? process.kill(process.pid, "SIGKILL") : process.exit(0)));
process.on("SIGTERM", () => void drain(Number(env["FLICK_SHUTDOWN_GRACE_MS"] ?? "10000")));

await listenShared(server, Number(env["FLICK_LISTEN_PORT"] ?? "0"), env["FLICK_LISTEN_HOST"] ?? "127.0.0.1");
send({ t: "ready", pid: process.pid });
