/**
 * Entry of a worker host process (forked by the supervisor). Holds the instances placed
 * on this host and answers invoke/validate/drop messages. If V8 runs out of memory in a
 * way isolated-vm cannot contain, this process dies and the supervisor starts another:
 * the node and its other hosts keep serving.
 */
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { bundleRuntime } from "../build/index.ts";
import { FlickError } from "../errors/index.ts";
import { limits } from "../model/index.ts";
import { checkRuntime } from "./check-runtime.ts";
import { CodeCache } from "./code-cache.ts";
import { EgressPolicy } from "./egress-policy.ts";
import { Instance, makeRuntimeSnapshot, type FunctionCode, type RuntimeCode } from "./instance.ts";
import { IsolatePool } from "./isolate-pool.ts";
import { MessageBatch } from "./message-batch.ts";
import { sharedSnapshot } from "./shared-snapshot.ts";
import type { Call, CallResult, FromHost, InstanceSpec, InvocationControl, ToHost } from "./protocol.ts";

checkRuntime();
const source = await bundleRuntime();
const codeCacheKey = process.env["FLICK_CODE_CACHE_KEY"];
delete process.env["FLICK_CODE_CACHE_KEY"];
// The runtime evaluated once into a V8 startup snapshot, so a new isolate starts with it;
// one snapshot for all hosts of the node (shared-snapshot.ts), so code caches fit them all.
const snapshotFile = process.env["FLICK_RUNTIME_SNAPSHOT"] ?? "";
const snapshot =
  process.env["FLICK_NO_SNAPSHOT"] === "1" ? undefined
  : snapshotFile !== "" && codeCacheKey !== undefined && codeCacheKey !== "" ? sharedSnapshot(snapshotFile, Buffer.from(codeCacheKey, "hex"), source, () => makeRuntimeSnapshot(source))
  : makeRuntimeSnapshot(source);
const runtime: RuntimeCode = snapshot === undefined ? runtimeWithCodeCache() : { source, snapshot };
// `flick up --egress-allow a,b` reaches hosts through the environment the supervisor sets.
const egress = new EgressPolicy((process.env["FLICK_EGRESS_ALLOW"] ?? "").split(",").filter((e) => e.trim() !== ""));

/**
 * Without a snapshot, isolates compile the runtime script with V8's code cache: the one
 * kept in the data dir when this node made it (code-cache.ts checks its seal), else the
 * first isolate makes it and it is kept for the next host start.
 */
function runtimeWithCodeCache(): RuntimeCode {
  const key = codeCacheKey;
  const file = process.env["FLICK_RUNTIME_CACHE"];
  if (key === undefined || key === "" || file === undefined || file === "") return { source };
  const cache = new CodeCache(Buffer.from(key, "hex"));
  const cachedData = cache.load(file, source);
  return cachedData !== undefined ? { source, cachedData } : { source, onCachedData: (data) => cache.store(file, source, data) };
}
/** Seals and checks the V8 code caches of function script forms (made at deploy, kept beside them). */
const functionCache = codeCacheKey === undefined || codeCacheKey === "" ? undefined : new CodeCache(Buffer.from(codeCacheKey, "hex"));

// FLICK_SCRIPT_FORM=0 runs every version as its module, to compare cold starts with and without.
const useScriptForm = process.env["FLICK_SCRIPT_FORM"] !== "0";

/** A version's code as this host runs it: its script form from the code cache when it has one. */
function codeOf(spec: InstanceSpec): FunctionCode {
  if (spec.scriptPath === undefined || !useScriptForm) return readFileSync(spec.bundlePath, "utf8");
  return scriptCode(readFileSync(spec.scriptPath, "utf8"), spec.scriptPath);
}

function scriptCode(script: string, path: string): FunctionCode {
  const cache = functionCache;
  if (cache === undefined) return { script };
  // The file name holds its bundle's SHA-256: the seal covers that, not a hash of the script.
  const identity = `flick-script-form:${basename(path)}`;
  const cachedData = cache.load(path, script, identity);
  return { script, ...(cachedData === undefined ? {} : { cachedData }), onCachedData: (data) => cache.store(path, script, data, identity) };
}

const instances = new Map<string, Instance>();
// FLICK_POOL=0 turns the pool off, to compare cold starts with and without it.
const pool =
  process.env["FLICK_POOL"] === "0"
    ? undefined
    : new IsolatePool({ memoryMiB: limits.memoryMiB.default, initial: 2, max: 32, make: () => Instance.blank(limits.memoryMiB.default, runtime, egress) });
/** Message id → [instance, its invocation number], for flow-control credit of streamed bodies. */
const streaming = new Map<number, InvocationControl>();
const batch = new MessageBatch<FromHost>((messages) => process.send!(messages));
const send = (message: FromHost): void => batch.send(message);

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

function instanceFor(spec: InstanceSpec): { instance: Instance; cold: boolean } {
  const existing = instances.get(spec.instance);
  if (existing !== undefined && !existing.disposed) return { instance: existing, cold: false };
  const wasm = (hash: string) => {
    const file = spec.wasm[hash];
    return file === undefined ? null : new Uint8Array(readFileSync(file));
  };
  const code = codeOf(spec);
  // A blank instance from the pool when one of the right size is ready; else made now.
  const blank = pool?.take(spec.memoryMiB);
  let instance: Instance;
  if (blank !== undefined) {
    blank.adopt(spec, code, wasm);
    instance = blank;
  } else instance = new Instance(spec, code, runtime, egress, wasm);
  instance.calls = call;
  instance.onGone = (reason) => {
    if (instances.get(spec.instance) === instance) instances.delete(spec.instance);
    send({ t: "gone", instance: spec.instance, reason });
  };
  instances.set(spec.instance, instance);
  return { instance, cold: true };
}

async function invoke(message: Extract<ToHost, { t: "invoke" }>): Promise<void> {
  let placed: { instance: Instance; cold: boolean };
  try {
    placed = instanceFor(message.spec);
  } catch (err) {
    const error = err instanceof FlickError ? err : new FlickError("internal", String(err));
    send({ t: "done", id: message.id, error: error.toData(), logs: [[Date.now(), "error", error.message]], cold: true });
    send({ t: "gone", instance: message.spec.instance, reason: error.code });
    return;
  }
  const id = message.id;
  const cold = placed.cold;
  const { error, logs } = await placed.instance.invoke(
    message.request,
    {
      head: (status, headers, body, end, logs) => send({ t: "head", id, status, headers, body, end, logs, cold }),
      chunk: (bytes, end, logs) => send({ t: "chunk", id, bytes, end, logs }),
      bodyCredit: (bytes) => send({ t: "bodyCredit", id, bytes }),
    },
    (control) => streaming.set(id, control),
  );
  streaming.delete(id);
  pool?.touch(); // quiet is counted from the last request's end, not its start
  // The scheduler places and reclaims by what instances really hold: tell it now and then.
  const report = placed.instance.memoryReport(cold);
  const done: Extract<FromHost, { t: "done" }> = { t: "done", id, error, logs, cold };
  if (report !== undefined) done.memoryMiB = report;
  if (cold) done.codeCache = placed.instance.codeCache;
  send(done);
}

function validate(message: Extract<ToHost, { t: "validate" }>): void {
  const spec: InstanceSpec = {
    instance: `validate-${message.id}`,
    function: message.filename.replace(/\.js$/, ""),
    versionId: "",
    bundlePath: "",
    memoryMiB: limits.memoryMiB.max,
    timeoutMs: 5000,
    env: [],
    wasm: {},
  };
  const wasm = (hash: string) => message.wasm[hash] ?? null;
  let handlers: string[];
  try {
    const instance = new Instance(spec, message.code, runtime, egress, wasm);
    handlers = instance.handlers();
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
      new Instance(spec, scriptCode(message.script.code, message.script.path), runtime, egress, wasm).dispose();
      scriptOk = true;
    } catch {}
  }
  send({ t: "validated", id: message.id, error: null, scriptOk, handlers });
}

process.on("message", (messages: ToHost[]) => {
  for (const message of messages) handle(message);
});

function handle(message: ToHost): void {
  if (message.t === "invoke" || message.t === "body") pool?.touch();
  switch (message.t) {
    case "invoke":
      void invoke(message);
      break;
    case "validate":
      validate(message);
      break;
    case "credit":
      streaming.get(message.id)?.credit(message.bytes);
      break;
    case "body":
      streaming.get(message.id)?.body(message.bytes, message.end, message.error);
      break;
    case "cancel":
      streaming.get(message.id)?.cancel();
      break;
    case "callDone": {
      const resolve = calls.get(message.id);
      calls.delete(message.id);
      resolve?.(message.result);
      break;
    }
    case "warm":
      try {
        instanceFor(message.spec);
      } catch (err) {
        const error = err instanceof FlickError ? err : new FlickError("internal", String(err));
        send({ t: "gone", instance: message.spec.instance, reason: error.code });
      }
      break;
    case "drop": {
      const instance = instances.get(message.instance);
      instances.delete(message.instance);
      instance?.dispose();
      break;
    }
  }
}
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
send({ t: "ready", pid: process.pid });
