/**
 * A request this host admitted but cannot run — the function's instances all live on other
 * hosts and it may not have one here (max instances, pins, room) — goes to the primary's
 * private socket, which runs it where there is a slot. Two more hops, only on that path.
 * The host keeps the tenant token for the request's duration; the primary trusts the
 * relay marker because only hosts reach its socket (a 0700 data dir).
 */
import { request as httpRequest } from "node:http";
import type { ErrorData } from "../errors/index.ts";
import type { ResponseWriter } from "../gateway/index.ts";
import type { ClientGone, WireRequest } from "./protocol.ts";
import { notTheFunctions } from "../model/index.ts";

/** Set on relayed requests: the host they came from. */
export const relayHeader = "x-flick-relay-from";

export function relay(
  socketPath: string,
  fromHost: number,
  name: string,
  /** The version the host picked (a split's draw, or a preview): the primary runs the same. */
  version: string,
  request: WireRequest,
  invocationId: string,
  writer: ResponseWriter,
  body: AsyncIterable<Uint8Array> | undefined,
  clientGone: ClientGone | undefined,
): Promise<{ error: ErrorData | null }> {
  const url = new URL(request.url);
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < request.headers.length; i += 2) headers.push([request.headers[i]!, request.headers[i + 1]!]);
  headers.push([relayHeader, String(fromHost)], ["x-flick-invocation-id", invocationId]);
  return new Promise((resolve) => {
    let settled = false;
    const done = (error: ErrorData | null) => {
      if (settled) return;
      settled = true;
      if (clientGone !== undefined) clientGone.cancel = undefined;
      resolve({ error });
    };
    const upstream = httpRequest(
      { socketPath, method: request.method, path: `/fn/${encodeURIComponent(name)}@${version}${url.pathname}${url.search}`, headers: headers.flat() as unknown as Record<string, string> },
      (answer) => {
        const platformError = answer.headers["x-flick-error"];
        if (typeof platformError === "string" && answer.headers["content-type"]?.includes("application/json")) {
          // The platform's own answer (a 429, a 504 …): passed on as the error it is.
          const parts: Buffer[] = [];
          answer.on("data", (c: Buffer) => parts.push(c));
          answer.on("end", () => {
            try {
              const parsed = JSON.parse(Buffer.concat(parts).toString("utf8")) as { error: ErrorData };
              const retry = answer.headers["retry-after"];
              done(retry === undefined ? parsed.error : { ...parsed.error, details: { ...parsed.error.details, retryAfterSeconds: Number(retry) } });
            } catch {
              done({ code: "internal", message: "the relayed request failed inside Flick" });
            }
          });
          return;
        }
        const out: string[] = [];
        const raw = answer.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const lower = raw[i]!.toLowerCase();
          if (notTheFunctions(lower)) continue;
          out.push(raw[i]!, raw[i + 1]!);
        }
        writer.head(answer.statusCode ?? 502, out, null, false, answer.headers["x-flick-cold-start"] === "1");
        answer.on("data", (chunk: Buffer) => {
          answer.pause();
          writer.chunk(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), false, () => answer.resume());
        });
        answer.on("end", () => {
          writer.chunk(new Uint8Array(0), true, () => {});
          done(null);
        });
        answer.on("error", () => done({ code: "host_crashed", message: "the host running the relayed request went away" }));
      },
    );
    upstream.on("error", (err) => done({ code: "unavailable", message: `the node's control plane did not take the relayed request (${err.message}); retry` }));
    if (clientGone !== undefined) clientGone.cancel = () => upstream.destroy();
    if (body === undefined) {
      upstream.end(request.body === null ? undefined : request.body);
      return;
    }
    void (async () => {
      try {
        for await (const chunk of body) {
          if (!upstream.write(chunk)) await new Promise((r) => upstream.once("drain", r));
        }
        upstream.end();
      } catch {
        upstream.destroy();
      }
    })();
  });
}
