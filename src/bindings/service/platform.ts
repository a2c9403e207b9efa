/**
 * A service binding's platform side: the request runs on the bound function through the
 * same path as a request to /fn — scheduler, limits, logs — without an HTTP hop. Platform
 * errors come back as the JSON response with `x-flick-error` a caller over HTTP would see.
 * The answer is the status and headers as strings and the body as the one buffer.
 */
import { FlickError } from "../../errors/index.ts";
import type { CallResult, WireRequest } from "../../host/protocol.ts";
import { limits } from "../../model/index.ts";
import { withTraceHeaders } from "../../telemetry/index.ts";
import { checkFunctionTarget, result, type BindingPlatformKind, type ServedResponse } from "../platform-types.ts";
import { serviceContract } from "./contract.ts";

export const servicePlatform: BindingPlatformKind = {
  kind: serviceContract.kind,
  open: (node) => ({
    checkTarget: (tenant, fn, binding, target) => checkFunctionTarget(node, serviceContract.kind, tenant, fn, binding, target),
    async call(call, tenant) {
      const target = node.liveFunction(call.target);
      if (target === undefined) return result(`the bound function "${call.target}" is not deployed (any more)`, "TypeError");
      if (target.tenant !== tenant) return result(`"${call.target}" belongs to another tenant`, "TypeError");
      const [method, url] = call.strings;
      const given = call.strings.slice(2);
      if (call.method !== serviceContract.fetch || method === undefined || url === undefined || given.length % 2 !== 0 || call.buffers.length > 1) {
        return result("fetch(): malformed request", "TypeError");
      }
      if (call.depth + 1 > limits.serviceBindingDepth) {
        return result(`service binding calls nest deeper than ${limits.serviceBindingDepth} (a function calling itself, or a cycle of bindings, without an end)`, "TypeError");
      }
      const headers: string[] = [];
      for (let i = 0; i + 1 < given.length; i += 2) {
        if (given[i]!.toLowerCase() !== "x-flick-parent-invocation-id") headers.push(given[i]!, given[i + 1]!);
      }
      headers.push("x-flick-parent-invocation-id", call.invocationId);
      // The callee runs one binding deeper, in the caller's chain of queue hops, and continues its trace.
      const request: WireRequest = {
        method, url, headers: call.trace === undefined ? headers : withTraceHeaders(headers, call.trace, call.traceState),
        body: call.buffers[0] ?? null, depth: call.depth + 1, ...(call.hops === undefined ? {} : { hops: call.hops }),
      };
      let served: ServedResponse;
      try {
        // Buffered, within what an outbound fetch may bring back; past that the callee is stopped.
        served = await node.serve(target.route, request);
      } catch (err) {
        return errorResponse(err instanceof FlickError ? err : new FlickError("internal", String(err)));
      }
      if (served.truncated) return result(`the response of "${call.target}" is over ${node.maxServedBytes} bytes`, "TypeError");
      if (served.error !== null && served.status === 0) return errorResponse(FlickError.fromData(served.error));
      return result("", "", [String(served.status), ...served.headers], served.body.byteLength === 0 ? [] : [served.body]);
    },
    close: async () => {},
  }),
};

/** A platform error as the response a caller through a binding sees (as over HTTP: JSON, x-flick-error). */
function errorResponse(error: FlickError): CallResult {
  const headers = ["content-type", "application/json", "x-flick-error", error.code];
  const retryAfter = error.details?.["retryAfterSeconds"];
  if (typeof retryAfter === "number") headers.push("retry-after", String(retryAfter));
  return result("", "", [String(error.status), ...headers], [new TextEncoder().encode(JSON.stringify({ error: error.toData() }))]);
}
