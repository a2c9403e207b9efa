/**
 * A service binding's host side: `fetch` on the binding channel runs the request on the
 * bound function (no HTTP hop) and answers in the shape of an outbound fetch, so the guest
 * builds the same Response. It is an outbound request in every way the caller is charged
 * for: fetch()'s request limits, a subrequest, one of the connections, a `fetch …` log line,
 * and the W3C trace context, which the callee continues as a child of the call's span.
 */
import type { CallResult } from "../../host/protocol.ts";
import { redactedUrl } from "../../telemetry/index.ts";
import { answer, type BindingAnswer, type BindingHost } from "../host-types.ts";
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
          if (result !== undefined && result.errorName === "") a["http.response.status_code"] = Number(result.strings[0]);
          return a;
        },
      };
      let result: CallResult;
      try {
        // The platform side (./platform.ts) gets method, URL and headers, and the body.
        result = await ctx.call(span, serviceContract.fetch, [verb, url, ...headers], body === null ? [] : [body], (r) =>
          r.errorName !== "" ? r.error : Number(r.strings[0]) >= 500 ? `HTTP ${r.strings[0]}` : undefined,
        );
      } catch (err) {
        const message = `fetch to ${url} failed: ${String(err)}`;
        ctx.log("info", `fetch ${verb} ${url} → ${message}`);
        return answer(message, "TypeError");
      }
      if (result.errorName !== "") {
        ctx.log("info", `fetch ${verb} ${url} → ${result.error}`);
        return answer(result.error, result.errorName === "TimeoutError" ? "TimeoutError" : "TypeError");
      }
      const status = result.strings[0] ?? "";
      ctx.log("info", `fetch ${verb} ${url} → ${status} (${Date.now() - started} ms)`);
      return { errorName: "", error: "", strings: encodeServiceResponse(Number(status), "", url, result.strings.slice(1)), buffers: result.buffers.slice(0, 1) };
    });
  },
};
