/**
 * The node's side of async invocations: what an API request becomes in the queue, how one
 * attempt runs (the same path as a request to /fn/<name>: scheduler, limits, instance,
 * logs), and how an invocation is shown.
 *
 * A `scheduled` invocation (a cron run) calls the `scheduled` handler instead.
 * An attempt of a `fetch` invocation is a POST to the function's URL with the payload as
 * body and `x-flick-invocation-id` / `x-flick-attempt` headers. The function's answer
 * decides: 2xx–4xx completes it (the status and up to 64 KiB of the body are kept), a
 * 5xx, a throw, a timeout or the memory limit is a failure that uses a retry; a 429 from
 * the scheduler or a platform fault (host crashed, instance stopped) is retried without
 * using one.
 */
import { FlickError } from "../errors/index.ts";
import type { InvocationInfo, InvokeRequest } from "../api/index.ts";
import type { GatewayBackend } from "../gateway/index.ts";
import type { WireRequest } from "../host/index.ts";
import { limits, type InvocationRecord } from "../model/index.ts";
import type { AttemptOutcome } from "../queue/index.ts";
import { collectResponse } from "./collect-response.ts";

/** How much of a function's answer to an async invocation is kept. */
const resultMaxBytes = 64 * 1024;

/** Codes that are the function's doing: they use one of its retries. */
const functionFaults = new Set(["function_error", "timeout", "memory_limit"]);

/** The bytes and content type an invoke request carries; 413 past the async payload limit. */
export function payloadOf(request: InvokeRequest): { payload: Uint8Array; contentType: string | null } {
  let payload: Uint8Array;
  let contentType: string | null;
  if (request.base64 !== undefined) {
    payload = new Uint8Array(Buffer.from(request.base64, "base64"));
    contentType = "application/octet-stream";
  } else if (typeof request.data === "string") {
    payload = new TextEncoder().encode(request.data);
    contentType = "text/plain; charset=utf-8";
  } else if (request.data !== undefined) {
    payload = new TextEncoder().encode(JSON.stringify(request.data));
    contentType = "application/json";
  } else {
    payload = new Uint8Array(0);
    contentType = null;
  }
  if (payload.byteLength > limits.asyncPayloadMaxBytes) {
    throw new FlickError(
      "payload_too_large",
      `the payload is ${payload.byteLength} bytes, over the async limit of ${limits.asyncPayloadMaxBytes} bytes; store large data elsewhere and send a reference`,
    );
  }
  return { payload, contentType: request.contentType ?? contentType };
}

/** Bytes of each payload a list shows (`InvocationInfo.payload`). */
const listedPayloadBytes = 1024;

/** An invocation as a list shows it: its payload cut to its first KiB. */
export function listedInvocationInfo(inv: InvocationRecord): InvocationInfo {
  if (inv.payload.byteLength <= listedPayloadBytes) return invocationInfo(inv);
  // Text is cut on a character boundary (a UTF-8 character is at most 4 bytes), else it would read as binary.
  let end = listedPayloadBytes;
  if (decodeUtf8(inv.payload) !== undefined) while (end > listedPayloadBytes - 4 && (inv.payload[end]! & 0xc0) === 0x80) end--;
  const info = invocationInfo({ ...inv, payload: inv.payload.subarray(0, end) });
  return { ...info, payload: { ...info.payload, truncated: true } };
}

export function invocationInfo(inv: InvocationRecord): InvocationInfo {
  const text = decodeUtf8(inv.payload);
  return {
    id: inv.id,
    function: inv.function,
    kind: inv.kind,
    status: inv.status,
    attempts: inv.attempts,
    failures: inv.failures,
    createdAtMs: inv.createdAtMs,
    updatedAtMs: inv.updatedAtMs,
    nextAtMs: inv.status === "queued" ? inv.nextAtMs : null,
    idempotencyKey: inv.idempotencyKey,
    result: inv.result,
    lastError: inv.lastError,
    deadReason: inv.deadReason,
    payload: text === undefined ? { base64: Buffer.from(inv.payload).toString("base64") } : { text },
  };
}

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/** One attempt of `inv` through the node's request path; never rejects. */
export async function runAttempt(backend: GatewayBackend, inv: InvocationRecord, origin: string): Promise<AttemptOutcome> {
  const target = backend.resolve(inv.function);
  if (target === undefined || target.tenant !== inv.tenant) {
    return { kind: "failed", error: { code: "function_not_found", message: `function "${inv.function}" is not deployed any more` } };
  }
  const headers = ["x-flick-invocation-id", inv.id, "x-flick-attempt", String(inv.attempts), "content-length", String(inv.payload.byteLength)];
  if (inv.contentType !== null) headers.push("content-type", inv.contentType);
  withTrace(headers, inv);
  // What this attempt sends through a queue binding is one hop further (queue/hops.ts).
  const request: WireRequest = { method: "POST", url: `${origin}/`, headers, body: inv.payload, hops: inv.hops };
  if (inv.kind === "scheduled") {
    // A cron run: the payload is its trigger; the guest calls `scheduled(controller, env, ctx)`.
    const trigger = JSON.parse(new TextDecoder().decode(inv.payload)) as { cron: string; scheduledTime: number };
    request.scheduled = { cron: trigger.cron, scheduledTime: trigger.scheduledTime };
    request.body = null;
  }
  let collected;
  try {
    collected = await collectResponse(backend, target, request, inv.id, resultMaxBytes);
  } catch (err) {
    return notRun(err);
  }
  const { status, error, truncated } = collected;
  if (error !== null) return failure(error);
  const body = new TextDecoder().decode(collected.body);
  if (status >= 500) return { kind: "failed", error: { code: "function_error", message: `the function answered ${status}: ${body.slice(0, 200)}` } };
  return { kind: "completed", result: { status, body, truncated } };
}

/** Each attempt continues the trace its invocation was queued in (telemetry/queue-trace.ts), as a child of the queueing span. */
function withTrace(headers: string[], inv: InvocationRecord): string[] {
  if (inv.trace !== null) headers.push("traceparent", inv.trace);
  if (inv.trace !== null && inv.traceState !== null) headers.push("tracestate", inv.traceState);
  return headers;
}

/** The attempt did not run (a 429, or a fault before the instance took it): retried without using a retry. */
function notRun(err: unknown): AttemptOutcome {
  const e = err instanceof FlickError ? err : new FlickError("internal", String(err));
  const retryAfter = e.details?.["retryAfterSeconds"];
  return { kind: "deferred", error: { code: e.code, message: e.message }, ...(typeof retryAfter === "number" ? { retryAfterMs: retryAfter * 1000 } : {}) };
}

/** The function's faults use a retry; the platform's (host crashed, instance stopped) do not. */
function failure(error: { code: string; message: string }): AttemptOutcome {
  const summary = { code: error.code, message: error.message };
  return functionFaults.has(error.code) ? { kind: "failed", error: summary } : { kind: "deferred", error: summary };
}

/**
 * One attempt of a batch of queue messages for one function's `queue(batch, env, ctx)`.
 * The guest answers {"ack": [ids], "retry": [ids], "error": "…"} with status 200 (the
 * handler resolved) or 500 (it threw): acked messages complete, retried ones and — after
 * a throw — unacked ones are failures (they use a retry); the others complete.
 */
export async function runBatch(backend: GatewayBackend, batch: InvocationRecord[], origin: string): Promise<AttemptOutcome[]> {
  const first = batch[0]!;
  const target = backend.resolve(first.function);
  if (target === undefined || target.tenant !== first.tenant) {
    return batch.map(() => ({ kind: "failed", error: { code: "function_not_found", message: `function "${first.function}" is not deployed any more` } }));
  }
  // What the handler sends is one hop further than its furthest message.
  const request: WireRequest = {
    method: "POST",
    url: `${origin}/`,
    // The batch continues its first message's trace (the guest does not see these headers).
    headers: withTrace([], first),
    body: null,
    hops: Math.max(...batch.map((m) => m.hops)),
    queue: {
      name: first.function,
      messages: batch.map((m) => ({ id: m.id, timestamp: m.createdAtMs, attempts: m.attempts, body: m.payload, contentType: m.contentType ?? "application/octet-stream" })),
    },
  };
  let collected;
  try {
    // The guest's report is small (ids): 1 MiB is far more than it can need.
    collected = await collectResponse(backend, target, request, first.id, 1024 * 1024);
  } catch (err) {
    const outcome = notRun(err);
    return batch.map(() => outcome);
  }
  const { status, error } = collected;
  if (error !== null || status === 0) {
    const outcome = failure(error ?? { code: "internal", message: "the queue handler gave no answer" });
    return batch.map(() => outcome);
  }
  const report = JSON.parse(new TextDecoder().decode(collected.body)) as { ack: string[]; retry: string[]; error: string };
  const acked = new Set(report.ack);
  const retried = new Set(report.retry);
  const threw = status >= 500;
  return batch.map((m): AttemptOutcome => {
    if (acked.has(m.id)) return { kind: "completed", result: { status: 200, body: "acked", truncated: false } };
    if (retried.has(m.id)) return { kind: "failed", error: { code: "function_error", message: "the queue handler asked to retry this message (message.retry())" } };
    if (threw) return { kind: "failed", error: { code: "function_error", message: `the queue handler threw: ${report.error}` } };
    return { kind: "completed", result: { status: 200, body: "", truncated: false } };
  });
}
