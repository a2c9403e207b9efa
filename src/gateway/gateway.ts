/**
 * Function traffic: `/fn/<name>[/<rest>]`. Routes to the live version, checks auth for
 * private functions, enforces the body limit before any function runs, and passes method,
 * path, query, headers and bytes through unchanged. The function sees the URL without the
 * `/fn/<name>` prefix (`/fn/api/users?id=1` arrives as `/users?id=1`), so an app written
 * for its own origin — a Hono app, say — routes the same on Flick.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FlickError, asFlickError } from "../errors/index.ts";
import { limits } from "../model/index.ts";
import type { ErrorData } from "../errors/index.ts";
import type { ClientGone, WireRequest } from "../host/index.ts";

export const functionPrefix = "/fn/";
/** Request bodies larger than this (with a Content-Length) stream into the function. */
export const streamedBodyMinBytes = 256 * 1024;

/** What the gateway needs to know about a function to route to it. */
export interface RouteTarget {
  name: string;
  tenant: string;
  private: boolean;
}

export interface GatewayBackend {
  /** The live function called `name`, from memory (the hot path never waits on storage). */
  resolve(name: string): RouteTarget | undefined;
  /** Who a token acts for, undefined when unknown. */
  authenticate(authorization: string): Promise<{ role: "admin" } | { role: "tenant"; tenant: string } | undefined>;
  /** Runs the request; the response is written to `writer` as it comes; settles when the invocation is over. */
  invoke(
    target: RouteTarget,
    request: WireRequest,
    invocationId: string,
    writer: ResponseWriter,
    body?: AsyncIterable<Uint8Array>,
    clientGone?: ClientGone,
  ): Promise<{ error: ErrorData | null }>;
}

/** How a function's response reaches the client: the head (whole body when `end`), then chunks. */
export interface ResponseWriter {
  head(status: number, headers: string[], body: Uint8Array | null, end: boolean, cold: boolean): void;
  /** `written` runs once the client took the bytes (socket flushed): the flow-control credit. */
  chunk(bytes: Uint8Array, end: boolean, written: () => void): void;
}

// Connection-level headers belong to each hop, not to the function (RFC 9110 §7.6.1).
const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"]);

function fail(res: ServerResponse, err: unknown, invocationId?: string): void {
  const error = asFlickError(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ error: error.toData() });
  const headers: Record<string, string | number> = {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
    "x-flick-error": error.code,
  };
  if (invocationId !== undefined) headers["x-flick-invocation-id"] = invocationId;
  if (error.code === "payload_too_large") headers["connection"] = "close";
  res.writeHead(error.status, headers);
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<Uint8Array | null> {
  const max = limits.requestBodyMaxBytes;
  const declared = req.headers["content-length"];
  if (declared !== undefined && Number(declared) > max) {
    throw new FlickError("payload_too_large", `request body of ${declared} bytes is over the limit of ${max} bytes for function requests`);
  }
  if (declared === "0" || (declared === undefined && req.headers["transfer-encoding"] === undefined)) return null;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) throw new FlickError("payload_too_large", `request body is over the limit of ${max} bytes for function requests`);
    chunks.push(chunk);
  }
  if (size === 0) return null;
  const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  return new Uint8Array(body.buffer, body.byteOffset, body.byteLength);
}

export function createGateway(backend: GatewayBackend): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  return async (req, res, url) => {
    const invocationId = randomUUID();
    try {
      const afterPrefix = url.pathname.slice(functionPrefix.length);
      const slash = afterPrefix.indexOf("/");
      const name = decodeURIComponent(slash < 0 ? afterPrefix : afterPrefix.slice(0, slash));
      const rest = slash < 0 ? "/" : afterPrefix.slice(slash);
      const target = backend.resolve(name);
      if (target === undefined) {
        throw new FlickError("function_not_found", `no function named "${name}" is deployed here; \`flick ls\` lists them`);
      }
      const raw = req.rawHeaders;
      if (target.private) {
        const authorization = req.headers.authorization;
        const who = authorization === undefined ? undefined : await backend.authenticate(authorization);
        if (who === undefined) {
          throw new FlickError("unauthorized", `function "${name}" is private: send \`Authorization: Bearer <token>\` with a token of its tenant`);
        }
        if (who.role === "tenant" && who.tenant !== target.tenant) {
          throw new FlickError("forbidden", `function "${name}" is private to its tenant; your token belongs to another tenant`);
        }
      }
      const headers: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const lower = raw[i]!.toLowerCase();
        if (hopByHop.has(lower)) continue;
        // A private function's Flick token authenticated the call; it is not the function's to see.
        if (target.private && lower === "authorization") continue;
        headers.push(raw[i]!, raw[i + 1]!);
      }
      // A large body of declared length streams to the function as it arrives (the limit is
      // already checked); smaller ones, and chunked ones (whose size is only known at the
      // end, and over the limit must be refused before anything runs), are read first.
      const declared = Number(req.headers["content-length"] ?? -1);
      const streamBody = declared > streamedBodyMinBytes && declared <= limits.requestBodyMaxBytes;
      const body = streamBody ? null : await readBody(req);
      const host = req.headers.host ?? "localhost";
      const request: WireRequest = { method: req.method ?? "GET", url: `http://${host}${rest}${url.search}`, headers, body };
      const head = req.method === "HEAD";
      const writer: ResponseWriter = {
        head(status, headers, body, end, cold) {
          const out: string[] = [];
          for (let i = 0; i + 1 < headers.length; i += 2) {
            const lower = headers[i]!.toLowerCase();
            if (hopByHop.has(lower) || lower === "content-length") continue;
            out.push(headers[i]!, headers[i + 1]!);
          }
          // A null-body status (RFC 9110: 1xx, 204, 304) carries no Content-Length and no body.
          const nullBody = status < 200 || status === 204 || status === 304;
          if (end && !nullBody) out.push("content-length", String(body?.byteLength ?? 0));
          out.push("x-flick-invocation-id", invocationId, "x-flick-cold-start", cold ? "1" : "0");
          res.writeHead(status, out);
          if (end) res.end(body === null || nullBody || head ? undefined : body);
          else res.flushHeaders();
        },
        chunk(bytes, end, written) {
          if (bytes.byteLength > 0 && !head && !res.destroyed) res.write(bytes, () => written());
          else written();
          if (end) res.end();
        },
      };
      // A client that leaves before the response is complete stops the invocation.
      const gone: ClientGone = {};
      const onClose = () => {
        if (!res.writableFinished) gone.cancel?.();
      };
      res.once("close", onClose);
      const { error } = await backend.invoke(target, request, invocationId, writer, streamBody ? (req as AsyncIterable<Uint8Array>) : undefined, gone);
      res.off("close", onClose);
      if (error !== null) {
        // Before the head: the error contract. After it: all we can do is cut the stream.
        if (!res.headersSent) fail(res, FlickError.fromData(error), invocationId);
        else if (!res.writableEnded) res.destroy();
      }
    } catch (err) {
      fail(res, err, invocationId);
    }
  };
}
