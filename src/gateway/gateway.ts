/**
 * Function traffic: `/fn/<name>[/<rest>]`. Routes to the live version (or one a traffic
 * split picks; `/fn/<name>@<version>` previews one, with a token), says which in
 * `x-flick-version`, checks auth for private functions and previews, enforces the body
 * limit before any function runs, and passes method, path, query, headers and bytes through — except the platform's reserved `x-flick-*`
 * headers, which a client cannot send a function. The function sees the URL without the
 * `/fn/<name>` prefix (`/fn/api/users?id=1` arrives as `/users?id=1`), so an app written
 * for its own origin — a Hono app, say — routes the same on Flick.
 *
 * Runs in the worker hosts, which accept `/fn/` connections themselves (one hop), and in
 * the primary for requests a host relays to it. Every write to the client is guarded:
 * nothing a function returns can throw out of here.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { FlickError, asFlickError } from "../errors/index.ts";
import { hopByHop, limits, notTheFunctions, reservedHeaderPrefix } from "../model/index.ts";
import type { ErrorData } from "../errors/index.ts";
import type { ClientGone, WireRequest } from "../host/index.ts";
import { forwardedByHeader, forwardRequest, type Forwarding } from "./forward.ts";

export const functionPrefix = "/fn/";
/** Request bodies larger than this (with a Content-Length) stream into the function. */
export const streamedBodyMinBytes = 256 * 1024;

/** What the gateway needs to know about a function to route one request to it. */
export interface RouteTarget {
  name: string;
  tenant: string;
  private: boolean;
  /** The version this request runs (the live one, one of a split's, or the one previewed): `x-flick-version`. */
  version: string;
  /** Its instances' key, `<tenant>/<name>@<version>`. */
  key: string;
  /** In a cluster: the other nodes that may run the function, for every request (this node may not) or for those it has no room for (forward.ts). */
  forward?: Forwarding;
}

export interface GatewayBackend {
  /**
   * Where a request for `name` goes, from memory (the hot path never waits on storage): the
   * live version, or one picked by the traffic split; with `version` (a preview URL,
   * `/fn/<name>@<version>`), that version, private to the function's tenant whatever the
   * function's own setting. Whether the version exists is known once it is placed.
   */
  resolve(name: string, version?: string): RouteTarget | undefined;
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
    /** A worker host relayed the request (it holds the tenant's token; its own instances are full). */
    relayedFrom?: number,
  ): Promise<{ error: ErrorData | null }>;
}

export interface GatewayOptions {
  /**
   * Serve requests worker hosts relay over the primary's private socket: the host already
   * checked auth and named the invocation; `relayHeader` says which host it was.
   */
  relayHeader?: string;
  /** Told of every request once it is answered (the node's access lines). */
  access?: (entry: AccessEntry) => void;
  /** This node's name, sent with requests it forwards to another node. */
  nodeName?: string;
}

/** One answered `/fn/` request. */
export interface AccessEntry {
  /** Epoch ms of its arrival. */
  atMs: number;
  /** The function name from the path (as asked; it may not exist). */
  fn: string;
  method: string;
  /** The path without its query (a query may carry secrets). */
  path: string;
  /** The status sent, or 499 when the client went away before the head. */
  status: number;
  ms: number;
  cold: boolean;
  invocationId: string;
}

/** How a function's response reaches the client: the head (whole body when `end`), then chunks. */
export interface ResponseWriter {
  head(status: number, headers: string[], body: Uint8Array | null, end: boolean, cold: boolean): void;
  /** `written` runs once the client took the bytes (socket flushed): the flow-control credit. */
  chunk(bytes: Uint8Array, end: boolean, written: () => void): void;
}

// A client's reserved headers are dropped before the function sees the request (model/headers.ts).
export { reservedHeaderPrefix };

function fail(res: ServerResponse, err: unknown, invocationId?: string): void {
  const error = asFlickError(err);
  if (res.headersSent || res.destroyed) {
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
  const retryAfter = error.details?.["retryAfterSeconds"];
  if (typeof retryAfter === "number") headers["retry-after"] = String(retryAfter);
  try {
    res.writeHead(error.status, headers);
    res.end(text);
  } catch {
    res.destroy();
  }
}

/**
 * How a request body reaches the function: `whole` (or null for none) when it is small
 * enough to read first, else `stream`: what was read so far followed by the rest as it
 * arrives. A body of declared length over the limit is refused before anything runs; a
 * chunked one is counted as it streams, and `overflowed` says it went over.
 */
interface IncomingBody {
  whole: Uint8Array | null;
  stream: AsyncIterable<Uint8Array> | undefined;
  overflowed(): boolean;
}

async function takeBody(req: IncomingMessage, onOverflow: () => void): Promise<IncomingBody> {
  const max = limits.requestBodyMaxBytes;
  const declaredHeader = req.headers["content-length"];
  const declared = declaredHeader === undefined ? -1 : Number(declaredHeader);
  if (declared > max) {
    throw new FlickError("payload_too_large", `request body of ${declaredHeader} bytes is over the limit of ${max} bytes for function requests`);
  }
  const none: IncomingBody = { whole: null, stream: undefined, overflowed: () => false };
  if (declared === 0 || (declared < 0 && req.headers["transfer-encoding"] === undefined)) return none;
  // A large body of declared length streams as it arrives (the limit is already checked).
  if (declared > streamedBodyMinBytes) return { whole: null, stream: req as AsyncIterable<Uint8Array>, overflowed: () => false };
  // Otherwise read up to the streaming threshold: a body that ends within it is passed
  // whole (the common, fast case); a longer chunked one streams from there on.
  const iterator = (req as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  let ended = false;
  while (size <= streamedBodyMinBytes) {
    const next = await iterator.next();
    if (next.done === true) {
      ended = true;
      break;
    }
    chunks.push(next.value);
    size += next.value.length;
  }
  if (ended) {
    if (size === 0) return none;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
    return { whole: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), stream: undefined, overflowed: () => false };
  }
  let overflowed = false;
  async function* rest(): AsyncGenerator<Uint8Array> {
    let total = 0;
    const count = (chunk: Buffer): Buffer => {
      total += chunk.length;
      if (total > max) {
        overflowed = true;
        onOverflow();
        throw new Error(`the request body is over the limit of ${max} bytes for function requests`);
      }
      return chunk;
    };
    for (const chunk of chunks) yield count(chunk);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield count(next.value);
  }
  return { whole: null, stream: rest(), overflowed: () => overflowed };
}

/**
 * What a caller outside the function's tenant learns of an exception the function threw:
 * that it threw, and where its tenant finds the message and stack — not the text itself,
 * which may hold anything the code had in hand.
 */
function withoutFunctionText(error: ErrorData, name: string, invocationId: string): ErrorData {
  if (error.code !== "function_error" || error.details?.["thrown"] !== true) return error;
  return { code: error.code, message: `function "${name}" threw an exception; its message and stack are in the function's logs (invocation ${invocationId})` };
}

/** A function name from the path, or a 400 for malformed percent-encoding (never a 500). */
function decodeName(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new FlickError("bad_request", `the function name in the path is not valid percent-encoding (${JSON.stringify(raw.slice(0, 64))}); encode it with encodeURIComponent`);
  }
}

/** The parts of a request target the gateway reads (a URL, or the host's cheaper split of one). */
export interface Target {
  pathname: string;
  search: string;
}

/** `/path?query` split without a URL parse (the hot path; the target is as the client sent it). */
export function splitTarget(raw: string): Target {
  const q = raw.indexOf("?");
  return q < 0 ? { pathname: raw, search: "" } : { pathname: raw.slice(0, q), search: raw.slice(q) };
}

export function createGateway(backend: GatewayBackend, options: GatewayOptions = {}): (req: IncomingMessage, res: ServerResponse, url: Target) => Promise<void> {
  const access = options.access;
  return async (req, res, url) => {
    const arrivalMs = performance.now();
    let fn = "";
    let cold = false;
    const relayFrom = options.relayHeader === undefined ? undefined : req.headers[options.relayHeader];
    const relayed = typeof relayFrom === "string" && /^\d+$/.test(relayFrom) ? Number(relayFrom) : undefined;
    const given = relayed === undefined ? undefined : req.headers["x-flick-invocation-id"];
    let invocationId = typeof given === "string" && given.length <= 64 ? given : randomUUID();
    try {
      const afterPrefix = url.pathname.slice(functionPrefix.length);
      const slash = afterPrefix.indexOf("/");
      // As sent (percent-encoded): a decoded name could put a line break in the access log.
      fn = slash < 0 ? afterPrefix : afterPrefix.slice(0, slash);
      // `<name>@<version>`: a preview of one version (authenticated, below).
      const at = fn.indexOf("@");
      const name = decodeName(at < 0 ? fn : fn.slice(0, at));
      const previewed = at < 0 ? undefined : fn.slice(at + 1);
      if (previewed !== undefined && !/^[0-9a-f]{16}$/.test(previewed)) {
        throw new FlickError("bad_request", `"${fn.slice(0, 80)}": a preview URL is /fn/<name>@<version>, the version's 16 hex digits (\`flick versions ${name}\`)`);
      }
      const rest = slash < 0 ? "/" : afterPrefix.slice(slash);
      const target = backend.resolve(name, previewed);
      if (target === undefined) {
        throw new FlickError("function_not_found", `no function named "${name}" is deployed here; \`flick ls\` lists them`);
      }
      // Where this request may go on to (never one relayed by a host or forwarded by a node).
      const forward = target.forward === undefined || relayed !== undefined || req.headers[forwardedByHeader] !== undefined ? undefined : target.forward;
      if (forward !== undefined && forward.overflow !== true) {
        // Another node runs it and checks auth there; this one only passes bytes on.
        const body = await takeBody(req, () => undefined);
        const forwarded = await forwardRequest(req, res, `${url.pathname}${url.search}`, forward, options.nodeName ?? "", body.stream ?? body.whole);
        invocationId = forwarded.invocationId ?? invocationId;
        return;
      }
      const raw = req.rawHeaders;
      // The caller proved it acts for the function's tenant (or is the admin).
      let insider = false;
      if (target.private && relayed === undefined) {
        const authorization = req.headers.authorization;
        const who = authorization === undefined ? undefined : await backend.authenticate(authorization);
        if (who === undefined) {
          throw new FlickError(
            "unauthorized",
            previewed === undefined
              ? `function "${name}" is private: send \`Authorization: Bearer <token>\` with a token of its tenant`
              : `a preview URL needs \`Authorization: Bearer <token>\` with a token of the function's tenant`,
          );
        }
        if (who.role === "tenant" && who.tenant !== target.tenant) {
          throw new FlickError("forbidden", `function "${name}" is private to its tenant; your token belongs to another tenant`);
        }
        insider = true;
      }
      const headers: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) {
        const lower = raw[i]!.toLowerCase();
        if (hopByHop.has(lower) || lower.startsWith(reservedHeaderPrefix)) continue;
        // A private function's Flick token authenticated the call; it is not the function's to see.
        if (target.private && lower === "authorization" && relayed === undefined) continue;
        headers.push(raw[i]!, raw[i + 1]!);
      }
      // A client that leaves before the response is complete stops the invocation; so does
      // a chunked body that goes over the limit while it streams.
      const gone: ClientGone = {};
      const body = await takeBody(req, () => gone.cancel?.());
      const host = req.headers.host ?? "localhost";
      const request: WireRequest = { method: req.method ?? "GET", url: `http://${host}${rest}${url.search}`, headers, body: body.whole, arrivalMs };
      const head = req.method === "HEAD";
      const writer: ResponseWriter = {
        head(status, headers, body, end, coldStart) {
          cold = coldStart;
          if (res.destroyed) return;
          const out: string[] = [];
          for (let i = 0; i + 1 < headers.length; i += 2) {
            const lower = headers[i]!.toLowerCase();
            if (notTheFunctions(lower)) continue;
            out.push(headers[i]!, headers[i + 1]!);
          }
          // A null-body status (RFC 9110: 1xx, 204, 304) carries no Content-Length and no body.
          const nullBody = status < 200 || status === 204 || status === 304;
          if (end && !nullBody) out.push("content-length", String(body?.byteLength ?? 0));
          out.push("x-flick-invocation-id", invocationId, "x-flick-cold-start", coldStart ? "1" : "0", "x-flick-version", target.version);
          try {
            res.writeHead(status, out);
          } catch (err) {
            // The host checked the head where it left the isolate; this is the last guard.
            fail(res, new FlickError("function_error", `the function's response could not be sent: ${(err as Error).message}`), invocationId);
            gone.cancel?.();
            return;
          }
          if (end) res.end(body === null || nullBody || head ? undefined : body);
          else res.flushHeaders();
        },
        chunk(bytes, end, written) {
          if (res.destroyed || !res.headersSent) return written();
          if (bytes.byteLength > 0 && !head) res.write(bytes, () => written());
          else written();
          if (end) res.end();
        },
      };
      const onClose = () => {
        if (!res.writableFinished) gone.cancel?.();
      };
      res.once("close", onClose);
      const { error } = await backend.invoke(target, request, invocationId, writer, body.stream, gone, relayed);
      res.off("close", onClose);
      if (error?.code === "no_capacity" && forward !== undefined && !res.headersSent && body.stream === undefined) {
        // No room here, nothing sent yet, and the body still in hand: a node that may run it takes it.
        const forwarded = await forwardRequest(req, res, `${url.pathname}${url.search}`, forward, options.nodeName ?? "", body.whole);
        invocationId = forwarded.invocationId ?? invocationId;
        return;
      }
      if (body.overflowed() && !res.headersSent) {
        throw new FlickError("payload_too_large", `request body is over the limit of ${limits.requestBodyMaxBytes} bytes for function requests`);
      }
      if (error !== null) {
        // Before the head: the error contract. After it: all we can do is cut the stream.
        if (!res.headersSent) fail(res, FlickError.fromData(insider ? error : withoutFunctionText(error, name, invocationId)), invocationId);
        else if (!res.writableEnded) res.destroy();
      }
    } catch (err) {
      fail(res, err, invocationId);
    } finally {
      if (access !== undefined) logAccess(access, req, res, url, fn, arrivalMs, cold, invocationId);
    }
  };
}

/** One access line: the status sent, or 499 when the client left before the head. */
function logAccess(access: (entry: AccessEntry) => void, req: IncomingMessage, res: ServerResponse, url: Target, fn: string, arrivalMs: number, cold: boolean, invocationId: string): void {
  access({
    atMs: Date.now() - (performance.now() - arrivalMs),
    fn,
    method: req.method ?? "GET",
    path: url.pathname,
    status: res.headersSent ? res.statusCode : 499,
    ms: performance.now() - arrivalMs,
    cold,
    invocationId,
  });
}
