/**
 * Binding calls from instances (host/protocol.ts `Call`; the guest side is
 * src/bindings/<kind>/guest.ts). The host is trusted but the tenant boundary is not left to
 * it: every call is checked again here. A queue send becomes durable async invocations of
 * the target (batched for its `queue` handler when it has one); a service fetch runs the
 * target through the same path as a request to /fn — scheduler, limits, logs — without an
 * HTTP hop, answering platform errors as a JSON response with `x-flick-error`, as over HTTP.
 */
import { randomUUID } from "node:crypto";
import { FlickError } from "../errors/index.ts";
import type { GatewayBackend, RouteTarget } from "../gateway/index.ts";
import { fetchLimits, type Call, type CallResult, type WireRequest } from "../host/index.ts";
import { limits } from "../model/index.ts";
import { hopsOfSend, type Submission } from "../queue/index.ts";
import { epochMs, type TraceSink } from "../telemetry/index.ts";
import { collectResponse } from "./collect-response.ts";
import { sendQueueTrace } from "./queue-trace.ts";

/** What a binding call needs of the node. */
export interface BindingPlatform {
  /** The live function `name`: its tenant, route and the handlers its module exports. */
  target(name: string): { tenant: string; route: RouteTarget; handlers: string[] } | undefined;
  /** Queues async invocations durably: all of them, or none (over quota, over the hop limit, not written). */
  submit(submissions: Submission[]): Promise<unknown>;
  invoke: (...args: Parameters<GatewayBackend["invoke"]>) => ReturnType<GatewayBackend["invoke"]>;
  /** Where the commit spans of sampled sends go. */
  traces?: TraceSink | undefined;
}

export async function runBindingCall(call: Call, platform: BindingPlatform): Promise<CallResult> {
  const callerTenant = call.caller.slice(0, call.caller.indexOf("/"));
  const target = platform.target(call.target);
  const refuse = (why: string): CallResult =>
    call.kind === "enqueue" ? { kind: "enqueue", error: why } : { kind: "fetch", status: 0, statusText: "", headers: [], body: null, error: ["TypeError", why] };
  if (target === undefined) return refuse(`the bound function "${call.target}" is not deployed (any more)`);
  if (target.tenant !== callerTenant) return refuse(`"${call.target}" belongs to another tenant`);
  if (call.kind === "enqueue") {
    try {
      // A target with a queue handler gets the messages in batches; else each as a POST.
      const kind = target.handlers.includes("queue") ? "queue" : "fetch";
      // The fan-out budget: one hop further than the sender (queue/hops.ts).
      const hops = hopsOfSend(call.hops);
      // The messages' attempts continue the sender's trace (node/queue-trace.ts).
      const trace = sendQueueTrace(platform.traces, call.trace, call.traceState);
      const started = epochMs(performance.now());
      let failed: string | undefined;
      try {
        await platform.submit(call.messages.map((m) => ({
          function: call.target, tenant: callerTenant, kind, payload: m.body, contentType: m.contentType, idempotencyKey: null, hops,
          trace: trace?.trace ?? null, traceState: trace?.traceState ?? null,
        })));
      } catch (err) {
        failed = err instanceof Error ? err.message : String(err);
        throw err;
      } finally {
        trace?.record(started, started, epochMs(performance.now()), { "flick.messages": call.messages.length }, failed);
      }
      return { kind: "enqueue", error: null };
    } catch (err) {
      return refuse(`the messages were not queued: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (call.depth > limits.serviceBindingDepth) {
    return refuse(`service binding calls nest deeper than ${limits.serviceBindingDepth} (a function calling itself, or a cycle of bindings, without an end)`);
  }
  const headers: string[] = [];
  for (let i = 0; i + 1 < call.request.headers.length; i += 2) {
    if (call.request.headers[i]!.toLowerCase() !== "x-flick-parent-invocation-id") headers.push(call.request.headers[i]!, call.request.headers[i + 1]!);
  }
  headers.push("x-flick-parent-invocation-id", call.parentInvocationId);
  // The callee runs in the caller's chain of queue hops, as it does in its depth.
  const request: WireRequest = { method: call.request.method, url: call.request.url, headers, body: call.request.body, depth: call.depth, ...(call.hops === undefined ? {} : { hops: call.hops }) };
  let collected;
  try {
    // Buffered, within what an outbound fetch may bring back; past that the callee is stopped.
    collected = await collectResponse(platform, target.route, request, randomUUID(), fetchLimits.maxResponseBytes, true);
  } catch (err) {
    return errorResponse(err instanceof FlickError ? err : new FlickError("internal", String(err)));
  }
  const { status, error } = collected;
  if (collected.truncated) return refuse(`the response of "${call.target}" is over ${fetchLimits.maxResponseBytes} bytes`);
  if (error !== null && status === 0) return errorResponse(FlickError.fromData(error));
  return { kind: "fetch", status, statusText: "", headers: collected.headers, body: collected.body.byteLength === 0 ? null : collected.body, error: null };
}

/** A platform error as the response a caller through a binding sees (as over HTTP: JSON, x-flick-error). */
function errorResponse(error: FlickError): CallResult {
  const headers = ["content-type", "application/json", "x-flick-error", error.code];
  const retryAfter = error.details?.["retryAfterSeconds"];
  if (typeof retryAfter === "number") headers.push("retry-after", String(retryAfter));
  return { kind: "fetch", status: error.status, statusText: "", headers, body: new TextEncoder().encode(JSON.stringify({ error: error.toData() })), error: null };
}
