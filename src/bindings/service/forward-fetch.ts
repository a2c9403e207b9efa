/**
 * A request a binding sends to the platform instead of the network — a service call, a
 * durable object stub's fetch — charged as an outbound fetch is: fetch()'s request limits, a
 * subrequest, one of the invocation's connections, a `fetch …` log line, and a span whose
 * trace context the callee continues. The platform answers status and headers as strings
 * and the body as the one buffer; the guest gets them in a fetch's shape.
 */
import type { CallResult } from "../../host/protocol.ts";
import { redactedUrl } from "../../telemetry/index.ts";
import { answer, type BindingAnswer, type BindingCallContext } from "../host-types.ts";
import { encodeServiceResponse } from "./contract.ts";

export interface ForwardedFetch {
  /** `env.X.fetch`, `env.X.get(…).fetch`: how the subrequest is named when refused. */
  what: string;
  span: string;
  /** Span attributes beyond the method, URL and status. */
  attributes: Record<string, string>;
  /** Strings the platform side gets before the request's (a durable object's id and name). */
  leading: string[];
  /** The request as the guest sent it: method, URL, redirect mode, headers; the body. */
  strings: string[];
  buffers: Uint8Array[];
  /** What the log line adds after the time. */
  note?: string;
  /** The error name an error answer rejects with (besides TimeoutError). */
  errorName: string;
}

export async function forwardFetch(ctx: BindingCallContext, f: ForwardedFetch): Promise<BindingAnswer> {
  const [verb, url, redirect] = f.strings;
  const headers = f.strings.slice(3);
  const body = f.buffers[0] ?? null;
  if (verb === undefined || url === undefined || redirect === undefined || f.buffers.length > 1 || headers.length % 2 !== 0) return answer("fetch(): malformed request", "TypeError");
  const problem = ctx.checkRequest(url, headers, body, redirect);
  if (problem !== null) return answer(problem, "TypeError");
  const refused = ctx.subrequest(f.what);
  if (refused !== null) return answer(refused, "TypeError");
  return ctx.connection(async () => {
    const started = Date.now();
    const span = {
      name: f.span,
      kind: "client" as const,
      attributes: (result: CallResult | undefined) => {
        const a: Record<string, string | number | boolean> = { "http.request.method": verb.slice(0, 32), "url.full": redactedUrl(url), ...f.attributes };
        if (result !== undefined && result.errorName === "") a["http.response.status_code"] = Number(result.strings[0]);
        return a;
      },
    };
    let result: CallResult;
    try {
      result = await ctx.call(span, "fetch", [...f.leading, verb, url, ...headers], body === null ? [] : [body], (r) =>
        r.errorName !== "" ? r.error : Number(r.strings[0]) >= 500 ? `HTTP ${r.strings[0]}` : undefined,
      );
    } catch (err) {
      const message = `fetch to ${url} failed: ${String(err)}`;
      ctx.log("info", `fetch ${verb} ${url} → ${message}`);
      return answer(message, "TypeError");
    }
    if (result.errorName !== "") {
      ctx.log("info", `fetch ${verb} ${url} → ${result.error}`);
      return answer(result.error, result.errorName === "TimeoutError" ? "TimeoutError" : f.errorName);
    }
    const status = result.strings[0] ?? "";
    ctx.log("info", `fetch ${verb} ${url} → ${status} (${Date.now() - started} ms${f.note === undefined ? "" : `, ${f.note}`})`);
    return { errorName: "", error: "", strings: encodeServiceResponse(Number(status), "", url, result.strings.slice(1)), buffers: result.buffers.slice(0, 1) };
  });
}
