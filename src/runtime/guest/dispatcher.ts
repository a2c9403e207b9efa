/**
 * The handler dispatcher: the host's only way into user code. `init` binds the user's
 * module and env once per instance; `dispatch` runs one request through `fetch`; the
 * result leaves through the `respond`/`fail` host ops, possibly during a later entry
 * (a timer firing), which is why nothing here returns the response.
 */
import { bindingObject, queueDone as settleQueue } from "./bindings.ts";
import { hostOps } from "./host-ops.ts";
import { setClock } from "./clock.ts";
import { zlibDone as settleZlib } from "./compression-streams.ts";
import { functionHandler, serviceWorkerHandler, type FetchHandler } from "./service-worker.ts";
import { subtleDone as settleSubtle } from "./subtle-crypto.ts";
import { PromiseRejectionEvent } from "./web/event.ts";
import { dispatch as dispatchEvent } from "./web/event-target.ts";
import { fetched as settleFetch } from "./fetch.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";
import { dropTimersOf, fireTimer } from "./timers.ts";
import { createIncomingRequest, type Request } from "./web/request.ts";
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

const getReader = ReadableStream.prototype.getReader;
const responseStatus = Object.getOwnPropertyDescriptor(Response.prototype, "status")!.get!;
const responseHeaders = Object.getOwnPropertyDescriptor(Response.prototype, "headers")!.get!;
const responseBody = Object.getOwnPropertyDescriptor(Response.prototype, "body")!.get!;

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return Object.prototype.toString.call(value);
  return typeof value;
}

/**
 * Binds the module namespace and env. Returns "" when the module is a valid function,
 * else a message saying what is missing (the host turns it into `missing_fetch_handler`).
 */
export function init(namespace: Record<string, unknown>, envPairs: string[], bindings: string[] = []): string {
  const values: Record<string, unknown> = {};
  for (let i = 0; i + 1 < envPairs.length; i += 2) values[envPairs[i]!] = envPairs[i + 1]!;
  // Bindings: name, kind, name, kind… (service → { fetch }, queue → { send, sendBatch }).
  for (let i = 0; i + 1 < bindings.length; i += 2) values[bindings[i]!] = bindingObject(bindings[i]!, bindings[i + 1]!);
  env = Object.freeze(values);
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

interface BodyController {
  enqueue(chunk: Uint8Array): void;
  close(): void;
  error(e: unknown): void;
}
/** Request bodies still arriving from the client, by invocation, with what was handed over and read. */
const incoming = new Map<number, BodyController>();
const bodyFlow = new Map<number, { delivered: number; credited: number }>();

/**
 * A request body the host streams in piece by piece (see `body`). When the handler has
 * read all that arrived (pull: a read is waiting on an empty queue), the host is told how
 * much it took, so the client is read no further ahead of the handler than the window.
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
      if (read > flow.credited) {
        hostOps().bodyCredit(id, read - flow.credited);
        flow.credited = read;
      }
    },
    cancel() {
      incoming.delete(id);
      bodyFlow.delete(id);
    },
  } as never);
}

/** A piece of invocation's request body arrived (`end` on the last; `error` if the client went away). */
export function body(invocation: number, bytes: Uint8Array, end: boolean, error: string): void {
  const controller = incoming.get(invocation);
  if (controller === undefined) return;
  const flow = bodyFlow.get(invocation);
  if (flow !== undefined) flow.delivered += bytes.byteLength;
  try {
    if (bytes.byteLength > 0) controller.enqueue(bytes);
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

function bodyStream(bytes: Uint8Array): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    type: "bytes",
    start(controller: { enqueue(chunk: Uint8Array): void; close(): void }) {
      controller.enqueue(bytes);
      controller.close();
    },
  } as never);
}

/** What an invocation still waits for before it is complete. */
interface InvocationState {
  waitUntil: number;
  responded: boolean;
}
const invocations = new Map<number, InvocationState>();
/** Streamed bodies waiting for the client to catch up (flow control), by invocation. */
const paused = new Map<number, () => void>();

function maybeComplete(id: number): void {
  const state = invocations.get(id);
  if (state === undefined || !state.responded || state.waitUntil > 0) return;
  invocations.delete(id);
  incoming.delete(id);
  hostOps().complete(id);
}

function finish(id: number, value: unknown): void {
  if (!(value instanceof Response)) {
    fail(id, new TypeError(`fetch() must return a Response (or a Promise of one), but it returned ${describe(value)}`));
    return;
  }
  const status = Reflect.apply(responseStatus, value, []) as number;
  const flat: string[] = [];
  for (const [name, v] of Reflect.apply(responseHeaders, value, []) as Iterable<[string, string]>) flat.push(name, v);
  const buffered = takeBufferedBody(value);
  if (buffered !== undefined) {
    hostOps().respond(id, status, flat, buffered, true);
    responded(id);
    return;
  }
  // A streamed body: chunks go to the host as the handler produces them.
  const stream = Reflect.apply(responseBody, value, []) as ReadableStream<unknown>;
  let reader: { read(): Promise<{ done: boolean; value: unknown }> };
  try {
    reader = Reflect.apply(getReader, stream, []) as typeof reader;
  } catch (err) {
    fail(id, err);
    return;
  }
  hostOps().respond(id, status, flat, null, false);
  const pump = (): void => {
    reader.read().then(({ done, value: chunk }) => {
      if (!invocations.has(id)) return;
      if (done) {
        hostOps().chunk(id, new Uint8Array(0), true);
        responded(id);
        return;
      }
      if (!(chunk instanceof Uint8Array)) {
        fail(id, new TypeError(`response body chunks must be Uint8Array, got ${describe(chunk)}`));
        return;
      }
      if (hostOps().chunk(id, chunk, false)) pump();
      else paused.set(id, pump);
    }, (err: unknown) => fail(id, err));
  };
  pump();
}

function responded(id: number): void {
  const state = invocations.get(id);
  if (state === undefined) return;
  state.responded = true;
  maybeComplete(id);
}

function fail(id: number, err: unknown): void {
  invocations.delete(id);
  paused.delete(id);
  incoming.delete(id);
  const [message, stack] = errorParts(err);
  hostOps().fail(id, message, stack);
}

/** Runs one request; the outcome arrives through `respond` or `fail`. */
export function dispatch(id: number, nowMs: number, method: string, url: string, headers: string[], body: Uint8Array | null, streamed: boolean): void {
  setClock(nowMs);
  enterInvocation(id);
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([headers[i]!, headers[i + 1]!]);
  const stream = streamed ? incomingBodyStream(id) : body === null || body.length === 0 ? null : bodyStream(body);
  const request = createIncomingRequest(method, url, pairs, stream);
  const state: InvocationState = { waitUntil: 0, responded: false };
  invocations.set(id, state);
  const ctx = contextFor(id, state);
  if (fetchHandler === undefined) {
    fail(id, new TypeError("this function has no fetch handler (its default export has only scheduled); add `async fetch(request, env, ctx) { … }` to answer requests"));
    return;
  }
  let result: unknown;
  try {
    result = Reflect.apply(fetchHandler, handlerThis, [request, env, ctx]);
  } catch (err) {
    fail(id, err);
    return;
  }
  // Promise.resolve also adopts thenables that are not native promises.
  Promise.resolve(result).then((value) => finish(id, value), (err: unknown) => fail(id, err));
}

/** The handlers the module has, comma-separated ("fetch,queue"): the platform routes by them. */
export function handlers(): string {
  return [fetchHandler && "fetch", scheduledHandler && "scheduled", queueHandler && "queue"].filter(Boolean).join(",");
}

/**
 * A batch of queue messages: runs `queue(batch, env, ctx)`. Each message may be acked
 * (done, whatever happens after) or retried (run again later, using one of its retries);
 * the rest complete when the handler resolves and are retried when it throws. The outcome
 * goes back as the response body: {"ack": [ids], "retry": [ids]}, status 200 or 500.
 */
export function queueBatch(
  id: number, nowMs: number, queueName: string, ids: string[], timestamps: number[], attempts: number[], bodies: Uint8Array[], contentTypes: string[],
): void {
  setClock(nowMs);
  enterInvocation(id);
  const state: InvocationState = { waitUntil: 0, responded: false };
  invocations.set(id, state);
  if (queueHandler === undefined) {
    fail(id, new TypeError("queue messages arrived, but the default export has no queue method; add `async queue(batch, env, ctx) { … }`"));
    return;
  }
  const acked = new Set<string>();
  const retried = new Set<string>();
  const decoder = new TextDecoder();
  const messages = ids.map((messageId, i) => {
    const type = contentTypes[i] ?? "";
    const bytes = bodies[i] ?? new Uint8Array(0);
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
  const batch = Object.freeze({
    queue: queueName,
    messages: Object.freeze(messages),
    ackAll: () => messages.forEach((m) => m.ack()),
    retryAll: () => messages.forEach((m) => m.retry()),
  });
  const report = (status: number, error: string) => {
    if (!invocations.has(id)) return;
    const body = new TextEncoder().encode(JSON.stringify({ ack: [...acked], retry: [...retried], error }));
    hostOps().respond(id, status, ["content-type", "application/json"], body, true);
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
export function scheduled(id: number, nowMs: number, cron: string, scheduledTime: number): void {
  setClock(nowMs);
  enterInvocation(id);
  const state: InvocationState = { waitUntil: 0, responded: false };
  invocations.set(id, state);
  if (scheduledHandler === undefined) {
    fail(id, new TypeError(`a cron trigger ("${cron}") fired, but the default export has no scheduled method; add \`async scheduled(controller, env, ctx) { … }\``));
    return;
  }
  const controller = Object.freeze({ type: "scheduled", cron, scheduledTime });
  let result: unknown;
  try {
    result = Reflect.apply(scheduledHandler, handlerThis, [controller, env, contextFor(id, state)]);
  } catch (err) {
    fail(id, err);
    return;
  }
  Promise.resolve(result).then(
    () => {
      if (!invocations.has(id)) return;
      hostOps().respond(id, 204, [], null, true);
      responded(id);
    },
    (err: unknown) => fail(id, err),
  );
}

/** The `ctx` a handler gets: waitUntil keeps the invocation open. */
function contextFor(id: number, state: InvocationState): object {
  return Object.freeze({
    /** Keeps the invocation (not the response) open until `promise` settles, within the timeout. */
    waitUntil(promise: unknown): void {
      state.waitUntil++;
      Promise.resolve(promise)
        .catch((err: unknown) => hostOps().log(id, "error", `waitUntil: ${errorParts(err)[0]}`))
        .finally(() => {
          state.waitUntil--;
          maybeComplete(id);
        });
    },
    passThroughOnException(): void {},
  });
}

/** The host's timer for `timer` is due. An exception in the callback fails its invocation. */
export function timer(id: number, invocation: number, nowMs: number): void {
  setClock(nowMs);
  try {
    fireTimer(id);
  } catch (err) {
    fail(invocation, err);
  }
}

/** The host finished an outbound fetch (see fetch.ts). */
export function fetched(op: number, nowMs: number, ...rest: Parameters<typeof settleFetch> extends [number, ...infer R] ? R : never): void {
  setClock(nowMs);
  settleFetch(op, ...rest);
}

/** The client caught up with a paused streamed body: read on. */
export function resume(invocation: number, nowMs: number): void {
  setClock(nowMs);
  const pump = paused.get(invocation);
  paused.delete(invocation);
  pump?.();
}

/**
 * A promise rejection nobody handled surfaced at the end of the last entry (the host
 * hands over a copy of the reason). Fires `unhandledrejection` on the global scope; if
 * no listener cancels it, the function's logs get "Uncaught (in promise) …".
 */
export function unhandledRejection(invocation: number, reason: unknown): void {
  enterInvocation(invocation);
  const promise = Promise.reject(reason);
  promise.catch(() => {});
  const event = new PromiseRejectionEvent("unhandledrejection", { promise, reason, cancelable: true });
  if (dispatchEvent(globalThis, event, true)) {
    const text = reason instanceof Error ? (reason.stack ?? `${reason.name}: ${reason.message}`) : String(reason);
    hostOps().log(invocation, "error", `Uncaught (in promise) ${text}`);
  }
}

/** The host finished a zlib write (see compression-streams.ts). */
export function zlibDone(op: number, nowMs: number, output: Uint8Array | null, error: string): void {
  setClock(nowMs);
  settleZlib(op, output, error);
}

/** The host finished a crypto.subtle call (see subtle-crypto.ts). */
/** The host queued (or could not queue) a binding's messages. */
export function queueDone(op: number, nowMs: number, error: string): void {
  setClock(nowMs);
  settleQueue(op, error);
}

export function subtleDone(op: number, nowMs: number, error: string, json: string, buffers: Uint8Array[]): void {
  setClock(nowMs);
  settleSubtle(op, error, json, buffers);
}

/** The invocation is over (answered, failed or timed out): forget what it left behind. */
export function end(invocation: number): void {
  // Nothing runs as an invocation once it ended: module scope again (a pooled instance's
  // warm-up requests end before the function's module is evaluated).
  if (currentInvocation() === invocation) enterInvocation(0);
  invocations.delete(invocation);
  paused.delete(invocation);
  incoming.delete(invocation);
  bodyFlow.delete(invocation);
  dropTimersOf(invocation);
}
