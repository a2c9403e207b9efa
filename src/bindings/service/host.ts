/**
 * A service binding's host side: `fetch` on the binding channel runs the request on the
 * bound function (no HTTP hop) and answers in the shape of an outbound fetch, so the guest
 * builds the same Response. It is an outbound request in every way the caller is charged
 * for: fetch()'s request limits, a subrequest, one of the connections, a `fetch …` log line,
 * and the W3C trace context, which the callee continues as a child of the call's span.
 */
import type { CallResult } from "../../host/protocol.ts";
import { redactedUrl, withTraceHeaders } from "../../telemetry/index.ts";
import type { BindingAnswer, BindingHost } from "../host-types.ts";
import { answer } from "../host-types.ts";
import { encodeServiceResponse, serviceContract } from "./contract.ts";

export const serviceHost: BindingHost = {
  kind: serviceContract.kind,
  async call(ctx, binding, target, method, strings, buffers): Promise<BindingAnswer> {
    if (method !== serviceContract.fetch) return answer(`env.${binding}.${method.slice(0, 64)}() is not a method of a service binding`, "TypeError");
    const [verb, url, redirect] = strings;
    const headers = strings.slice(3);
    const body = buffers[0] ?? null;
    if (verb === undefined || url === undefined || redirect === undefined || buffers.length > 1 || headers.length % 2 !== 0) return answer("fetch(): malformed request", "TypeError");
    const problem = ctx.checkRequest(url, headers, body, redirect);
    if (problem !== null) return answer(problem, "TypeError");
    const refused = ctx.subrequest(`env.${binding}.fetch`);
    if (refused !== null) return answer(refused, "TypeError");
    return ctx.connection(async () => {
      const started = Date.now();
      const span = {
        name: `flick.service ${binding}`,
        kind: "client" as const,
        attributes: (result: CallResult | undefined) => {
          const a: Record<string, string | number | boolean> = { "http.request.method": verb.slice(0, 32), "url.full": redactedUrl(url), "flick.target": target.slice(target.indexOf("/") + 1) };
          if (result?.kind === "fetch" && result.error === null) a["http.response.status_code"] = result.status;
          return a;
        },
      };
      let result: CallResult;
      try {
        result = await ctx.call(
          span,
          (trace) => ({
            kind: "fetch", caller: ctx.caller, target, parentInvocationId: ctx.invocationId, depth: ctx.depth + 1,
            ...(ctx.hops === undefined ? {} : { hops: ctx.hops }),
            request: { method: verb, url, headers: withTraceHeaders(headers, trace.parent, trace.state), body },
          }),
          (r) => (r.kind !== "fetch" ? "unexpected answer" : r.error !== null ? r.error[1] : r.status >= 500 ? `HTTP ${r.status}` : undefined),
        );
      } catch (err) {
        const message = `fetch to ${url} failed: ${String(err)}`;
        ctx.log("info", `fetch ${verb} ${url} → ${message}`);
        return answer(message, "TypeError");
      }
      if (result.kind !== "fetch") return answer("the platform answered a service call with something else", "TypeError");
      if (result.error !== null) {
        ctx.log("info", `fetch ${verb} ${url} → ${result.error[1]}`);
        return answer(result.error[1], result.error[0] === "TimeoutError" ? "TimeoutError" : "TypeError");
      }
      ctx.log("info", `fetch ${verb} ${url} → ${result.status} (${Date.now() - started} ms)`);
      return { errorName: "", error: "", strings: encodeServiceResponse(result.status, result.statusText, url, result.headers), buffers: result.body === null ? [] : [result.body] };
    });
  },
};
