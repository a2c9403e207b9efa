/**
 * The handler dispatcher: the host's only way into user code (contract.ts
 * `RuntimeEntries`). `init` binds the user's module and env once per instance; `run`
 * takes the events of one entry — requests, timers due, answers to earlier host ops — and
 * runs each; what the handlers produce leaves through the outbox (`take`), during this
 * entry or a later one.
 */
import { maxOpString, responseHeadLimits, type GuestEvent, type HostOp } from "../contract.ts";
import { bindingDone } from "./binding-channel.ts";
import { bindingObject, objectStateFor } from "./bindings.ts";
import { setClock } from "./clock.ts";
import { zlibDone as settleZlib } from "./compression-streams.ts";
import { logLine } from "./console.ts";
import { fetched as settleFetch } from "./fetch.ts";
import { closeOutbox, copyBytes, emit, openOutbox, outboxSize, ownBytes, repliesAsked, takeOutbox } from "./host-ops.ts";
import { currentInvocation, endInvocation, enterInvocation, onInvocationEnd } from "./invocation-scope.ts";
import { checkCommittedMemory, collectIdle } from "./memory-reservations.ts";
import { functionHandler, HandlerMisuse, serviceWorkerHandler, type FetchHandler } from "./service-worker.ts";
import { subtleDone as settleSubtle } from "./subtle-crypto.ts";
import { fireDueTimers } from "./timers.ts";
import { PromiseRejectionEvent } from "./web/event.ts";
import { dispatch as dispatchEvent } from "./web/event-target.ts";
import { headerListOf } from "./web/headers.ts";
import { createIncomingRequest } from "./web/request.ts";
import { Response, takeBufferedBody } from "./web/response.ts";
import { ReadableStream } from "./web/readable-stream.ts";
import { TextDecoder, TextEncoder } from "./web/text-encoding.ts";

let fetchHandler: FetchHandler | undefined;
/** `scheduled(controller, env, ctx)` of the default export: cron triggers. */
let scheduledHandler: ((controller: unknown, env: unknown, ctx: unknown) => unknown) | undefined;
/** `queue(batch, env, ctx)` of the default export: messages sent through queue bindings. */
let queueHandler: ((batch: unknown, env: unknown, ctx: unknown) => unknown) | undefined;
let handlerThis: object | undefined;
let env: Readonly<Record<string, unknown>> = Object.freeze({});
/** Classes the module exports by name (durable object bindings name one). */
let exportedClasses: string[] = [];
/**
 * When this instance is a durable object's (its spec names one): the class, the object's id
 * and name, and the object once constructed — on its first request, inside it, so the
 * constructor may use storage.
 */
let durableObject: { cls: new (state: unknown, env: unknown) => object; id: string; name: string; instance?: object } | undefined;

/**
 * Flow control of streamed response bodies: the guest stops reading a body while this
 * many bytes are on their way to a client that has not taken them (the host's credits
 * say what it took), and goes on below half of it.
 */
export const responseHighWaterBytes = 1024 * 1024;

const getReader = ReadableStream.prototype.getReader;
const responseStatus = Object.getOwnPropertyDescriptor(Response.prototype, "status")!.get!;
const responseHeaders = Object.getOwnPropertyDescriptor(Response.prototype, "headers")!.get!;
const responseBody = Object.getOwnPropertyDescriptor(Response.prototype, "body")!.get!;
const U8 = Uint8Array;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return Object.prototype.toString.call(value);
  return typeof value;
}

/**
 * Binds the module namespace and env. Returns "" when the module is a valid function,
 * else a message saying what is missing (the host turns it into `missing_fetch_handler`).
 */
export function init(namespace: Record<string, unknown>, envPairs: string[], bindings: string[] = [], object: string[] = []): string {
  const values: Record<string, unknown> = {};
  for (let i = 0; i + 1 < envPairs.length; i += 2) values[envPairs[i]!] = envPairs[i + 1]!;
  // Bindings: name, kind, name, kind… (service → { fetch }, queue → { send, sendBatch }). A
  // name starting with "$" is the platform's own (a durable object's storage), not in env.
  for (let i = 0; i + 1 < bindings.length; i += 2) {
    if (!bindings[i]!.startsWith("$")) values[bindings[i]!] = bindingObject(bindings[i]!, bindings[i + 1]!);
  }
  env = Object.freeze(values);
  exportedClasses = Object.keys(namespace).filter((k) => k !== "default" && typeof namespace[k] === "function" && (namespace[k] as { prototype?: unknown }).prototype !== undefined);
  // [class, id, name]: this instance is that durable object's.
  if (object.length === 3) {
    const cls = namespace[object[0]!];
    if (typeof cls !== "function") {
      return `the module exports no class ${object[0]}; a durable object binding names a class the function exports (\`export class ${object[0]} { constructor(state, env) { … } async fetch(request) { … } }\`)`;
    }
    durableObject = { cls: cls as new (state: unknown, env: unknown) => object, id: object[1]!, name: object[2]! };
  }
  const mod = namespace["default"];
  // `export default { fetch, scheduled }` (Workers modules), the documented form; a module
  // for cron alone may leave out fetch.
  if (typeof mod === "object" && mod !== null) {
    const fetch = (mod as Record<string, unknown>)["fetch"];
    const scheduled = (mod as Record<string, unknown>)["scheduled"];
    const queue = (mod as Record<string, unknown>)["queue"];
    if (typeof fetch === "function" || typeof scheduled === "function" || typeof queue === "function") {
      fetchHandler = typeof fetch === "function" ? (fetch as FetchHandler) : undefined;
      scheduledHandler = typeof scheduled === "function" ? (scheduled as typeof scheduledHandler) : undefined;
      queueHandler = typeof queue === "function" ? (queue as typeof queueHandler) : undefined;
      handlerThis = mod;
      return "";
    }
  }
  // `export default function handler(request, context)` (Vercel Edge, Next.js routes).
  if (typeof mod === "function") {
    fetchHandler = functionHandler(mod as (request: unknown, context: unknown) => unknown);
    handlerThis = undefined;
    return "";
  }
  // `addEventListener("fetch", …)` (Workers' service-worker syntax): bindings are globals.
  const listener = mod === undefined ? serviceWorkerHandler(globalThis) : undefined;
  if (listener !== undefined) {
    for (const [name, value] of Object.entries(values)) {
      Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
    }
    fetchHandler = listener;
    handlerThis = undefined;
    return "";
  }
  if (mod === undefined) {
    return "the module has no default export and no \"fetch\" listener; write `export default { async fetch(request, env, ctx) { … } }`";
  }
  if (typeof mod !== "object" || mod === null) {
    return `the default export is ${describe(mod)}, not an object with a fetch method; write \`export default { fetch(request, env, ctx) { … } }\``;
  }
  return "the default export has no fetch method (nor a scheduled one); add `async fetch(request, env, ctx) { return new Response(\"…\") }`";
}

/** The handlers the module has, and its exported classes, comma-separated ("fetch,queue,class:Room"): the platform routes by them. */
export function handlers(): string {
  return [fetchHandler && "fetch", scheduledHandler && "scheduled", queueHandler && "queue", ...exportedClasses.map((c) => `class:${c}`)].filter(Boolean).join(",");
}

/** The durable object this instance holds, constructed on first use (inside an invocation). */
function objectInstance(): object {
  const o = durableObject!;
  o.instance ??= new o.cls(objectStateFor(o.id, o.name), env);
  return o.instance;
}

/** A durable object's method `name`, bound to it, or a message saying it has none. */
function objectMethod(name: string): ((...args: unknown[]) => unknown) | string {
  const instance = objectInstance();
  const method = (instance as Record<string, unknown>)[name];
  if (typeof method !== "function") return `the durable object class ${durableObject!.cls.name} has no ${name} method; add \`async ${name}(${name === "fetch" ? "request" : ""}) { … }\``;
  return (...args: unknown[]) => Reflect.apply(method, instance, args);
}

function errorParts(err: unknown): [string, string] {
  if (err instanceof Error) {
    let stack = "";
    try {
      stack = typeof err.stack === "string" ? err.stack : "";
    } catch {}
    return [`${err.name}: ${err.message}`, stack];
  }
  let text: string;
  try {
    text = `Uncaught ${typeof err === "string" ? JSON.stringify(err) : String(err)}`;
  } catch {
    text = "Uncaught non-Error value";
  }
  return [text, ""];
}

// — invocations —

/** What an invocation still waits for before it is complete, and its response flow. */
interface InvocationState {
  waitUntil: number;
  responded: boolean;
  /** Streamed response bytes sent and not yet taken by the client. */
  unacked: number;
  /** The body pump waiting for credit, when paused. */
  paused: (() => void) | undefined;
}
const invocations = new Map<number, InvocationState>();

interface BodyController {
  enqueue(chunk: Uint8Array): void;
  close(): void;
  error(e: unknown): void;
}
/** Request bodies still arriving from the client, by invocation, with what was handed over and read. */
const incoming = new Map<number, BodyController>();
const bodyFlow = new Map<number, { delivered: number; credited: number }>();

onInvocationEnd((id) => {
  invocations.delete(id);
  incoming.delete(id);
  bodyFlow.delete(id);
});

function begin(id: number): InvocationState {
  const state: InvocationState = { waitUntil: 0, responded: false, unacked: 0, paused: undefined };
  invocations.set(id, state);
  return state;
}

function maybeComplete(id: number): void {
  const state = invocations.get(id);
  if (state === undefined || !state.responded || state.waitUntil > 0) return;
  invocations.delete(id);
  incoming.delete(id);
  emit(["complete", id]);
}

function responded(id: number): void {
  const state = invocations.get(id);
  if (state === undefined) return;
  state.responded = true;
  maybeComplete(id);
}

/** The handler threw or rejected with `err`: its text is the function's own (unless the platform threw it). */
function fail(id: number, err: unknown): void {
  if (err instanceof HandlerMisuse) return refuse(id, err.message, "Error");
  if (!invocations.delete(id)) return;
  incoming.delete(id);
  const [message, stack] = errorParts(err);
  emit(["fail", id, message, stack, true]);
}

/** The platform refuses what the function did (no handler, not a Response, a bad head …): its own words. */
function refuse(id: number, message: string, kind = "TypeError"): void {
  if (!invocations.delete(id)) return;
  incoming.delete(id);
  emit(["fail", id, `${kind}: ${message}`, "", false]);
}

/** The response's headers from its internal list (never through an iterator user code may replace). */
function flatHeaders(response: Response): string[] {
  const list = headerListOf(Reflect.apply(responseHeaders, response, []) as never);
  const flat: string[] = [];
  for (let i = 0; i < list.size; i++) {
    flat[2 * i] = list.names[i]!;
    flat[2 * i + 1] = list.values[i]!;
  }
  return flat;
}

/** Why a head cannot be handed to the host (the contract's limits), or undefined. */
function headProblem(flat: readonly string[]): string | undefined {
  if (flat.length > 2 * responseHeadLimits.headers) return `fetch() returned a response with ${flat.length / 2} headers; at most ${responseHeadLimits.headers} are sent`;
  let chars = 0;
  for (let i = 0; i < flat.length; i++) {
    const text = flat[i]!;
    if (text.length > maxOpString) {
      return `fetch() returned the response header "${flat[i - (i % 2)]!.slice(0, 64)}" with a ${i % 2 === 0 ? "name" : "value"} of ${text.length} characters; at most ${maxOpString} are sent`;
    }
    chars += text.length;
  }
  if (chars > responseHeadLimits.chars) return `fetch() returned more than ${responseHeadLimits.chars / 1024} KiB of response headers (${chars} characters)`;
  return undefined;
}

/**
 * The handler's answer, handed to the host. Anything wrong with it — not a Response, a
 * network error, a brand check a Proxy fails, a head over the contract's limits — fails
 * the invocation with a message (a 502) rather than leaving it to its deadline.
 */
function finish(id: number, value: unknown): void {
  if (!invocations.has(id)) return;
  try {
    respondWith(id, value);
  } catch (err) {
    fail(id, err);
  }
}

function respondWith(id: number, value: unknown): void {
  if (!(value instanceof Response)) {
    refuse(id, `fetch() must return a Response (or a Promise of one), but it returned ${describe(value)}`);
    return;
  }
  const status = Reflect.apply(responseStatus, value, []) as number;
  if (status === 0) {
    refuse(id, "fetch() returned Response.error(), a network error: there is nothing to send the client");
    return;
  }
  const flat = flatHeaders(value);
  const problem = headProblem(flat);
  if (problem !== undefined) {
    refuse(id, problem);
    return;
  }
  const buffered = takeBufferedBody(value);
  if (buffered !== undefined) {
    emit(["respond", id, status, flat, buffered, true]);
    responded(id);
    return;
  }
  // A streamed body: chunks go to the host as the handler produces them.
  const stream = Reflect.apply(responseBody, value, []) as ReadableStream<unknown>;
  const reader = Reflect.apply(getReader, stream, []) as { read(): Promise<{ done: boolean; value: unknown }> };
  emit(["respond", id, status, flat, null, false]);
  const state = invocations.get(id)!;
  const pump = (): void => {
    reader.read().then(({ done, value: chunk }) => {
      if (!invocations.has(id)) return;
      if (done) {
        emit(["chunk", id, new U8(0), true]);
        responded(id);
        return;
      }
      if (!(chunk instanceof U8)) {
        refuse(id, `response body chunks must be Uint8Array, got ${describe(chunk)}`);
        return;
      }
      emit(["chunk", id, copyBytes(chunk), false]);
      state.unacked += chunk.byteLength;
      if (state.unacked < responseHighWaterBytes) pump();
      else state.paused = pump;
    }, (err: unknown) => fail(id, err));
  };
  pump();
}

/** The `ctx` a handler gets: waitUntil keeps the invocation open. */
function contextFor(id: number, state: InvocationState): object {
  return Object.freeze({
    /** Keeps the invocation (not the response) open until `promise` settles, within the timeout. */
    waitUntil(promise: unknown): void {
      state.waitUntil++;
      Promise.resolve(promise)
        .catch((err: unknown) => logLine(id, "error", `waitUntil: ${errorParts(err)[0]}`))
        .finally(() => {
          state.waitUntil--;
          maybeComplete(id);
        });
    },
    passThroughOnException(): void {},
  });
}

// — the events —

/**
 * A request body the host streams in piece by piece ("body" events). When the handler has
 * read all that arrived (pull: a read waits on an empty queue), the host is told how much
 * it took, so the client is read no further ahead of the handler than the window.
 */
function incomingBodyStream(id: number): ReadableStream<Uint8Array> {
  const flow = { delivered: 0, credited: 0 };
  bodyFlow.set(id, flow);
  return new ReadableStream<Uint8Array>({
    type: "bytes",
    start(controller: BodyController) {
      incoming.set(id, controller);
    },
    pull(controller: BodyController & { desiredSize: number | null }) {
      const queued = Math.max(0, -(controller.desiredSize ?? 0));
      const read = flow.delivered - queued;
      if (read > flow.credited && invocations.has(id)) {
        emit(["bodyCredit", id, read - flow.credited]);
        flow.credited = read;
      }
    },
    cancel() {
      incoming.delete(id);
      bodyFlow.delete(id);
    },
  } as never);
}

function bodyStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    type: "bytes",
    start(controller: { enqueue(chunk: Uint8Array): void; close(): void }) {
      controller.enqueue(ownBytes(bytes));
      controller.close();
    },
  } as never);
}

function onRequest(id: number, method: string, url: string, headers: string[], body: Uint8Array | null, streamed: boolean): void {
  enterInvocation(id);
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i]!, headers[i + 1]!]);
  const stream = streamed ? incomingBodyStream(id) : body === null || body.length === 0 ? null : bodyStream(body);
  const request = createIncomingRequest(method, url, pairs, stream);
  const state = begin(id);
  if (durableObject !== undefined) {
    let result: unknown;
    try {
      const fetch = objectMethod("fetch");
      if (typeof fetch === "string") return refuse(id, fetch);
      result = fetch(request);
    } catch (err) {
      fail(id, err);
      return;
    }
    Promise.resolve(result).then((value) => finish(id, value), (err: unknown) => fail(id, err));
    return;
  }
  if (fetchHandler === undefined) {
    refuse(id, `this function has no fetch handler (its default export has only ${handlers() || "nothing"}); add \`async fetch(request, env, ctx) { … }\` to answer requests`);
    return;
  }
  let result: unknown;
  try {
    result = Reflect.apply(fetchHandler, handlerThis, [request, env, contextFor(id, state)]);
  } catch (err) {
    fail(id, err);
    return;
  }
  // Promise.resolve also adopts thenables that are not native promises.
  Promise.resolve(result).then((value) => finish(id, value), (err: unknown) => fail(id, err));
}

function onBody(invocation: number, bytes: Uint8Array, end: boolean, error: string): void {
  const controller = incoming.get(invocation);
  if (controller === undefined) return;
  enterInvocation(invocation);
  const flow = bodyFlow.get(invocation);
  if (flow !== undefined) flow.delivered += bytes.byteLength;
  try {
    if (bytes.byteLength > 0) controller.enqueue(ownBytes(bytes));
    if (error !== "") {
      incoming.delete(invocation);
      controller.error(new TypeError(`the request body was cut off: ${error}`));
    } else if (end) {
      incoming.delete(invocation);
      controller.close();
    }
  } catch {
    // The handler cancelled the body; nothing wants the rest.
    incoming.delete(invocation);
  }
}

/**
 * A batch of queue messages: runs `queue(batch, env, ctx)`. Each message may be acked
 * (done, whatever happens after) or retried (run again later, using one of its retries);
 * the rest complete when the handler resolves and are retried when it throws. The outcome
 * goes back as the response body: {"ack": [ids], "retry": [ids]}, status 200 or 500.
 */
function onQueue(id: number, queueName: string, ids: string[], timestamps: number[], attempts: number[], bodies: Uint8Array[], contentTypes: string[]): void {
  enterInvocation(id);
  const state = begin(id);
  if (queueHandler === undefined) {
    refuse(id, "queue messages arrived, but the default export has no queue method; add `async queue(batch, env, ctx) { … }`");
    return;
  }
  const acked = new Set<string>();
  const retried = new Set<string>();
  const decoder = new TextDecoder();
  let messages: object[];
  try {
    messages = ids.map((messageId, i) => {
      const type = contentTypes[i] ?? "";
      const bytes = bodies[i] ?? new U8(0);
      let body: unknown;
      if (type.startsWith("application/json")) body = JSON.parse(decoder.decode(bytes));
      else if (type.startsWith("text/")) body = decoder.decode(bytes);
      else body = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
      return Object.freeze({
        id: messageId,
        timestamp: new Date(timestamps[i] ?? 0),
        attempts: attempts[i] ?? 1,
        body,
        ack: () => void (retried.has(messageId) || acked.add(messageId)),
        retry: () => void (acked.has(messageId) || retried.add(messageId)),
      });
    });
  } catch (err) {
    fail(id, err);
    return;
  }
  const batch = Object.freeze({
    queue: queueName,
    messages: Object.freeze(messages),
    ackAll: () => messages.forEach((m) => (m as { ack(): void }).ack()),
    retryAll: () => messages.forEach((m) => (m as { retry(): void }).retry()),
  });
  const report = (status: number, error: string) => {
    if (!invocations.has(id)) return;
    const body = new TextEncoder().encode(JSON.stringify({ ack: [...acked], retry: [...retried], error }));
    emit(["respond", id, status, ["content-type", "application/json"], body, true]);
    responded(id);
  };
  let result: unknown;
  try {
    result = Reflect.apply(queueHandler, handlerThis, [batch, env, contextFor(id, state)]);
  } catch (err) {
    report(500, errorParts(err)[0]);
    return;
  }
  Promise.resolve(result).then(
    () => report(200, ""),
    (err: unknown) => report(500, errorParts(err)[0]),
  );
}

/**
 * A cron trigger: runs `scheduled(controller, env, ctx)`. The invocation is over when the
 * handler's promise and its waitUntil work settle; a throw or rejection fails it (and the
 * platform retries it like any async invocation).
 */
function onScheduled(id: number, cron: string, scheduledTime: number): void {
  enterInvocation(id);
  const state = begin(id);
  // A durable object's alarm comes as a trigger named "alarm": its alarm() runs.
  let handler: (() => unknown) | string;
  try {
    if (durableObject !== undefined) {
      const alarm = objectMethod("alarm");
      handler = typeof alarm === "string" ? alarm : () => alarm(Object.freeze({ retryCount: 0, isRetry: false, scheduledTime }));
    } else if (scheduledHandler === undefined) {
      handler = `a cron trigger ("${cron}") fired, but the default export has no scheduled method; add \`async scheduled(controller, env, ctx) { … }\``;
    } else {
      const scheduled = scheduledHandler;
      const controller = Object.freeze({ type: "scheduled", cron, scheduledTime });
      handler = () => Reflect.apply(scheduled, handlerThis, [controller, env, contextFor(id, state)]);
    }
  } catch (err) {
    // A durable object's constructor threw.
    fail(id, err);
    return;
  }
  if (typeof handler === "string") return refuse(id, handler);
  let result: unknown;
  try {
    result = handler();
  } catch (err) {
    fail(id, err);
    return;
  }
  Promise.resolve(result).then(
    () => {
      if (!invocations.has(id)) return;
      emit(["respond", id, 204, [], null, true]);
      responded(id);
    },
    (err: unknown) => fail(id, err),
  );
}

/** The client took bytes of a streamed response: below half the window, a paused body reads on. */
function onCredit(invocation: number, bytes: number): void {
  const state = invocations.get(invocation);
  if (state === undefined) return;
  state.unacked = Math.max(0, state.unacked - bytes);
  if (state.paused === undefined || state.unacked >= responseHighWaterBytes / 2) return;
  const pump = state.paused;
  state.paused = undefined;
  enterInvocation(invocation);
  pump();
}

/**
 * A promise rejection nobody handled surfaced at the end of the last entry (the host
 * hands over a copy of the reason). Fires `unhandledrejection` on the global scope; if
 * no listener cancels it, the function's logs get "Uncaught (in promise) …".
 */
function onRejection(invocation: number, reason: unknown): void {
  enterInvocation(invocation);
  const promise = Promise.reject(reason);
  promise.catch(() => {});
  const event = new PromiseRejectionEvent("unhandledrejection", { promise, reason, cancelable: true });
  if (dispatchEvent(globalThis, event, true)) {
    const text = reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : String(reason);
    logLine(invocation, "error", `Uncaught (in promise) ${text}`);
  }
}

/** A timer callback threw: its invocation fails, as a throw in the handler would. */
function onTimerError(invocation: number, err: unknown): void {
  fail(invocation, err);
}

function runEvent(event: GuestEvent): void {
  switch (event[0]) {
    case "request":
      return onRequest(event[1], event[2], event[3], event[4], event[5], event[6]);
    case "scheduled":
      return onScheduled(event[1], event[2], event[3]);
    case "queue":
      return onQueue(event[1], event[2], event[3], event[4], event[5], event[6], event[7]);
    case "timers":
      return fireDueTimers(event[1], onTimerError);
    case "fetched":
      return settleFetch(event[1], event[2], event[3], event[4], event[5] as Uint8Array<ArrayBuffer> | null, event[6], event[7], event[8]);
    case "zlibDone":
      return settleZlib(event[1], event[2], event[3]);
    case "subtleDone":
      return settleSubtle(event[1], event[2], event[3], event[4]);
    case "bindingDone":
      return bindingDone(event[1], event[2], event[3], event[4], event[5]);
    case "credit":
      return onCredit(event[1], event[2]);
    case "body":
      return onBody(event[1], event[2], event[3], event[4]);
    case "end":
      return endInvocation(event[1]);
    case "rejection":
      return onRejection(event[1], event[2]);
    case "collect":
      return collectIdle();
  }
}

/** Microtask turns `run` gives one event's work at most (then late ops go through `more`). */
const maxTurns = 64;

/**
 * Runs one entry's events in order, at host time `nowMs` (one event's failure never stops
 * the others). After each event its microtasks have their turns before the next event
 * runs, so code after an `await` runs — and its console lines, timers and fetches are
 * charged — as the invocation the event was for, not whichever event came last. Resolves
 * with the outbox.
 */
export async function run(nowMs: number, acked: boolean, events: GuestEvent[]): Promise<[HostOp[], number]> {
  openOutbox(acked);
  setClock(nowMs);
  for (let i = 0; i < events.length; i++) {
    runOneEvent(events[i]!);
    await settle(currentInvocation());
  }
  // Growth inside Wasm code since the last check: over the limit, a memoryLimit op in this outbox.
  checkCommittedMemory();
  return [closeOutbox(), currentInvocation()];
}

/**
 * The turns the microtasks of an event for `invocation` get: until it is over, or has
 * asked the host for something that answers in a later entry (a timer, a fetch…), and
 * two turns passed without a new op — at most 64. (Microtasks run in order: each `await`
 * here lets every one queued before it run first.)
 */
async function settle(invocation: number): Promise<void> {
  const askedBefore = repliesAsked();
  let quiet = 0;
  for (let turn = 0; turn < maxTurns; turn++) {
    if (quiet >= 2 && (!invocations.has(invocation) || repliesAsked() !== askedBefore)) return;
    const before = outboxSize();
    await null;
    quiet = outboxSize() === before ? quiet + 1 : 0;
  }
}

function runOneEvent(event: GuestEvent): void {
  try {
    runEvent(event);
  } catch (err) {
    // A runtime bug, or user code throwing where the runtime did not expect it: charge it
    // to the invocation it happened in, which fails if it is still running.
    const invocation = currentInvocation();
    if (invocations.has(invocation)) fail(invocation, err);
    else logLine(invocation, "error", `Uncaught ${errorParts(err)[1] || errorParts(err)[0]}`);
  }
}

/** Every op the host does not have yet, and the invocation that ran last (unhandled rejections are charged to it). */
export function take(acked: boolean): [HostOp[], number] {
  return [takeOutbox(acked), currentInvocation()];
}
