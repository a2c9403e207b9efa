/**
 * A durable-object binding's host side. A stub's `fetch` is an outbound request in every
 * way the caller is charged for, as a service call is (fetch()'s limits, a subrequest, one
 * of the connections, a log line, the trace context) and goes to the node, which runs it on
 * the object's one instance. An object's storage calls come only through the storage
 * binding its own instance was given (`$storage`), never through env; they count against
 * the invocation's 10,000 storage operations.
 */
import type { CallResult } from "../../host/protocol.ts";
import { redactedUrl } from "../../telemetry/index.ts";
import { answer, type BindingHost } from "../host-types.ts";
import { encodeServiceResponse } from "../service/contract.ts";
import { doContract, objectProblem } from "./contract.ts";

export const doHost: BindingHost = {
  kind: doContract.kind,
  async call(ctx, binding, target, method, strings, buffers) {
    if (binding === doContract.storageBinding) {
      if (!doContract.storageMethods.includes(method)) return answer(`storage.${method.slice(0, 64)}() is not a method of durable object storage`, "TypeError");
      if (!ctx.count(doContract.kind, doContract.operationsPerInvocation)) {
        return answer(`too many storage operations: one request may make at most ${doContract.operationsPerInvocation}`);
      }
      const span = { name: `flick.do.storage.${method}`, kind: "client" as const, attributes: () => ({ "flick.class": target.slice(0, target.indexOf("\n")) }) };
      return ctx.call(span, method, strings, buffers, (r) => r.error || undefined);
    }
    if (method !== doContract.fetch) return answer(`env.${binding}: ${method.slice(0, 64)}() is not a method of a durable object stub`, "TypeError");
    const [id, name, verb, url, redirect] = strings;
    const headers = strings.slice(5);
    const body = buffers[0] ?? null;
    const bad = objectProblem(id, name);
    if (bad !== null) return answer(`env.${binding}: ${bad}`, "TypeError");
    if (verb === undefined || url === undefined || redirect === undefined || buffers.length > 1 || headers.length % 2 !== 0) return answer("fetch(): malformed request", "TypeError");
    const problem = ctx.checkRequest(url, headers, body, redirect);
    if (problem !== null) return answer(problem, "TypeError");
    const refused = ctx.subrequest(`env.${binding}.get(…).fetch`);
    if (refused !== null) return answer(refused, "TypeError");
    return ctx.connection(async () => {
      const started = Date.now();
      const span = {
        name: `flick.do ${binding}`,
        kind: "client" as const,
        attributes: (result: CallResult | undefined) => {
          const a: Record<string, string | number | boolean> = { "http.request.method": verb.slice(0, 32), "url.full": redactedUrl(url), "flick.class": target, "flick.object": id! };
          if (result !== undefined && result.errorName === "") a["http.response.status_code"] = Number(result.strings[0]);
          return a;
        },
      };
      let result: CallResult;
      try {
        result = await ctx.call(span, doContract.fetch, [id!, name!, verb, url, ...headers], body === null ? [] : [body], (r) =>
          r.errorName !== "" ? r.error : Number(r.strings[0]) >= 500 ? `HTTP ${r.strings[0]}` : undefined,
        );
      } catch (err) {
        return answer(`fetch to ${url} failed: ${String(err)}`, "TypeError");
      }
      if (result.errorName !== "") {
        ctx.log("info", `fetch ${verb} ${url} → ${result.error}`);
        return answer(result.error, result.errorName === "TimeoutError" ? "TimeoutError" : "Error");
      }
      const status = result.strings[0] ?? "";
      ctx.log("info", `fetch ${verb} ${url} → ${status} (${Date.now() - started} ms, object ${target} ${id!.slice(0, 12)}…)`);
      return { errorName: "", error: "", strings: encodeServiceResponse(Number(status), "", url, result.strings.slice(1)), buffers: result.buffers.slice(0, 1) };
    });
  },
};
