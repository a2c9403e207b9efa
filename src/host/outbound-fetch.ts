/**
 * A function's outbound HTTP request, done by the host: the egress policy is applied to
 * the address DNS gives, the connection goes to exactly that address (no second lookup,
 * so no DNS rebinding), and every redirect hop is checked again.
 */
import { lookup } from "node:dns/promises";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import { isIP } from "node:net";
import { brotliDecompressSync, gunzipSync, inflateSync, inflateRawSync } from "node:zlib";
import type { EgressPolicy } from "./egress-policy.ts";

export interface OutboundRequest {
  method: string;
  url: string;
  /** name, value, name, value… */
  headers: string[];
  body: Uint8Array | null;
  redirect: "follow" | "manual" | "error";
}

export interface OutboundResponse {
  status: number;
  statusText: string;
  /** lowercase name, value, … */
  headers: string[];
  body: Uint8Array | null;
  urlList: string[];
}

export interface OutboundLimits {
  timeoutMs: number;
  maxResponseBytes: number;
}

/** A refusal the guest sees as a TypeError whose message starts with the code. */
export class OutboundError extends Error {
  readonly errorName: "TypeError" | "TimeoutError" | "AbortError";
  constructor(message: string, errorName: "TypeError" | "TimeoutError" | "AbortError" = "TypeError") {
    super(message);
    this.errorName = errorName;
  }
}

const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host", "content-length"]);
const redirectStatuses = new Set([301, 302, 303, 307, 308]);
const maxRedirects = 20;

async function resolveChecked(url: URL, policy: EgressPolicy): Promise<string> {
  const denied = policy.checkScheme(url.protocol);
  if (denied !== undefined) throw new OutboundError(`egress_denied: fetch to ${url.href} refused: ${denied}`);
  const host = url.hostname.replace(/^\[|\]$/g, "");
  let address = host;
  if (isIP(host) === 0) {
    try {
      address = (await lookup(host)).address;
    } catch (err) {
      throw new OutboundError(`fetch to ${url.href} failed: cannot resolve ${host} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  const reason = policy.checkAddress(host, address);
  if (reason !== undefined) {
    throw new OutboundError(`egress_denied: fetch to ${url.href} refused: ${address} is in ${reason}; an operator can allow it with \`flick up --egress-allow\``);
  }
  return address;
}

function once(url: URL, address: string, request: OutboundRequest, method: string, body: Uint8Array | null, limits: OutboundLimits, signal: AbortSignal): Promise<{ res: IncomingMessage; bytes: Buffer }> {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < request.headers.length; i += 2) {
    if (!hopByHop.has(request.headers[i]!.toLowerCase())) headers.push([request.headers[i]!, request.headers[i + 1]!]);
  }
  headers.push(["host", url.host]);
  if (body !== null) headers.push(["content-length", String(body.byteLength)]);
  const secure = url.protocol === "https:";
  const options = {
    host: address,
    family: isIP(address),
    port: url.port === "" ? (secure ? 443 : 80) : Number(url.port),
    path: `${url.pathname}${url.search}`,
    method,
    headers: {},
    signal,
    ...(secure && isIP(url.hostname.replace(/^\[|\]$/g, "")) === 0 ? { servername: url.hostname } : {}),
  };
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxResponseBytes) {
          req.destroy(new OutboundError(`fetch to ${url.href} failed: the response body is over the ${limits.maxResponseBytes}-byte limit`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => resolve({ res, bytes: Buffer.concat(chunks, size) }));
      res.on("error", reject);
    });
    // Raw header pairs keep duplicates and order.
    for (const [name, value] of headers) {
      const existing = req.getHeader(name);
      req.setHeader(name, existing === undefined ? value : ([] as string[]).concat(existing as string | string[], value));
    }
    req.setTimeout(limits.timeoutMs, () => req.destroy(new OutboundError(`fetch to ${url.href} timed out after ${limits.timeoutMs} ms`, "TimeoutError")));
    req.on("error", (err) => {
      if (err instanceof OutboundError) reject(err);
      else if (signal.aborted) reject(new OutboundError("the fetch was aborted", "AbortError"));
      else reject(new OutboundError(`fetch to ${url.href} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
    });
    req.end(body === null ? undefined : body);
  });
}

function decode(res: IncomingMessage, bytes: Buffer, limits: OutboundLimits): Buffer {
  const encoding = String(res.headers["content-encoding"] ?? "").trim().toLowerCase();
  const options = { maxOutputLength: limits.maxResponseBytes };
  try {
    if (encoding === "gzip" || encoding === "x-gzip") return gunzipSync(bytes, options);
    if (encoding === "br") return brotliDecompressSync(bytes, options);
    if (encoding === "deflate") {
      try {
        return inflateSync(bytes, options);
      } catch {
        return inflateRawSync(bytes, options);
      }
    }
  } catch (err) {
    throw new OutboundError(`fetch to ${res.url ?? "the server"} failed: cannot decode ${encoding} body (${(err as Error).message})`);
  }
  return bytes;
}

export async function outboundFetch(request: OutboundRequest, policy: EgressPolicy, limits: OutboundLimits, signal: AbortSignal): Promise<OutboundResponse> {
  let url: URL;
  try {
    url = new URL(request.url);
  } catch {
    throw new OutboundError(`fetch failed: invalid URL ${request.url}`);
  }
  let method = request.method;
  let body = request.body;
  const urlList = [url.href];
  for (let hop = 0; ; hop++) {
    const address = await resolveChecked(url, policy);
    const { res, bytes } = await once(url, address, request, method, body, limits, signal);
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (redirectStatuses.has(status) && location !== undefined && request.redirect !== "manual") {
      if (request.redirect === "error") throw new OutboundError(`fetch to ${url.href} was redirected, and redirect is "error"`);
      if (hop + 1 > maxRedirects) throw new OutboundError(`fetch to ${request.url} failed: more than ${maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new OutboundError(`fetch to ${url.href} failed: invalid redirect location ${location}`);
      }
      // Fetch §4.4 step 12: 303 (and 301/302 after POST) continue as GET without a body.
      if (status === 303 ? method !== "HEAD" : (status === 301 || status === 302) && method === "POST") {
        method = "GET";
        body = null;
      }
      url = next;
      urlList.push(url.href);
      continue;
    }
    const headers: string[] = [];
    for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.push(res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!);
    const decoded = method === "HEAD" || bytes.length === 0 ? null : decode(res, bytes, limits);
    return {
      status,
      statusText: res.statusMessage ?? "",
      headers,
      body: decoded === null ? null : new Uint8Array(decoded.buffer, decoded.byteOffset, decoded.byteLength),
      urlList,
    };
  }
}
