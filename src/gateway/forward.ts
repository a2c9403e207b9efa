/**
 * A request for a function this node may not run (its pin or avoid excludes the node's
 * labels, control/cluster-placement.ts), or one it has no room for, goes on to a node that may, over plain HTTP to that
 * node's own `/fn/` (docs/cluster.md, "Placement and forwarding", says why HTTP and not NATS
 * request-reply). The client's request goes as it came — path, query, headers with its
 * token, body — and the other node checks auth and runs it as its own; its answer comes
 * back as it was sent, with `x-flick-forwarded-to` naming the node.
 *
 * - One hop only: the forwarded request carries `x-flick-forwarded-by`, and a node never
 *   forwards a request that has it (a client that sends it only keeps its request here,
 *   where the pin still holds: 429 `no_capacity`).
 * - A node that does not take the connection (killed, not yet out of the membership list)
 *   is skipped for the next, when the body can be sent again (one read whole). A request
 *   whose connection was made is never sent to a second node: it may have run.
 */
import { Agent, request as httpRequest, type ClientRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { FlickError } from "../errors/index.ts";

export const forwardedByHeader = "x-flick-forwarded-by";
export const forwardedToHeader = "x-flick-forwarded-to";

/** A node a request may go to. */
export interface ForwardTarget {
  name: string;
  url: string;
}

/** Where one function's requests go from here: `targets` in order, the first `warm` of them holding warm instances. */
export interface Forwarding {
  targets: readonly ForwardTarget[];
  warm: number;
  /** This node runs the function itself, and forwards only a request it has no room for (429 `no_capacity`). */
  overflow?: boolean;
}

/** How long a node may take to accept the connection before the next is tried. */
const connectTimeoutMs = 2000;

// Connections between nodes are kept open: a forwarded request costs no handshake.
const agent = new Agent({ keepAlive: true, maxSockets: 512 });

const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer", "host"]);

/** The order to try: a random warm node first (spreading load over them), then the rest as given. */
export function attemptOrder(forwarding: Forwarding, random: number = Math.random()): ForwardTarget[] {
  const { targets, warm } = forwarding;
  if (warm <= 1) return [...targets];
  const first = Math.floor(random * warm);
  return [targets[first]!, ...targets.filter((_, i) => i !== first)];
}

/**
 * Gives a request to another node `connectTimeoutMs` to connect, and says whether its
 * connection was made (or was one kept open): from then on the request may have reached
 * the node and must not be sent to another; before, it may.
 */
export function watchConnect(upstream: ClientRequest): () => boolean {
  let reached = false;
  upstream.on("socket", (socket) => {
    if (!socket.connecting) {
      reached = true;
      return;
    }
    const timer = setTimeout(() => upstream.destroy(new Error(`no connection within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    socket.once("connect", () => {
      reached = true;
      clearTimeout(timer);
    });
    socket.once("close", () => clearTimeout(timer));
  });
  return () => reached;
}

/** The answer that was written, and which node gave it. */
export interface Forwarded {
  status: number;
  node: string;
  invocationId: string | undefined;
}

/**
 * Sends `req` on and writes the answer to `res`. `body` is the request body: read whole
 * (null: none), so it may be sent to a second node, or a stream, sent to the first only.
 * Throws `unavailable` when no node took the request.
 */
export async function forwardRequest(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  forwarding: Forwarding,
  self: string,
  body: Uint8Array | null | AsyncIterable<Uint8Array>,
): Promise<Forwarded> {
  const whole = body === null || body instanceof Uint8Array;
  const headers: string[] = [];
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (hopByHop.has(lower) || lower === forwardedByHeader) continue;
    // A whole body goes with its own length (it was read, chunked or not).
    if (whole && lower === "content-length") continue;
    headers.push(raw[i]!, raw[i + 1]!);
  }
  headers.push(forwardedByHeader, self);
  if (whole) headers.push("content-length", String(body?.byteLength ?? 0));
  const order = attemptOrder(forwarding);
  const tried: string[] = [];
  for (const target of whole ? order : order.slice(0, 1)) {
    const outcome = await attempt(target, req, res, path, headers, body);
    if ("status" in outcome) return { status: outcome.status, node: target.name, invocationId: outcome.invocationId };
    if ("lost" in outcome) {
      throw new FlickError("unavailable", `node ${target.name} took the request but its connection failed before an answer (${outcome.lost}); the function may or may not have run`, { details: { retryAfterSeconds: 1 } });
    }
    tried.push(target.name);
  }
  throw new FlickError("unavailable", `no node that may run this function took the request (tried ${tried.join(", ") || "none"}); retry`, { details: { retryAfterSeconds: 1 } });
}

type Attempt = { status: number; invocationId: string | undefined } | { notTaken: true } | { lost: string };

function attempt(
  target: ForwardTarget,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  headers: string[],
  body: Uint8Array | null | AsyncIterable<Uint8Array>,
): Promise<Attempt> {
  return new Promise((resolve) => {
    let answered = false;
    const to = new URL(path, target.url);
    // Headers given as a list get no Host of Node's own; HTTP/1.1 needs one (RFC 9112 §3.2).
    const listed = [...headers, "host", to.host];
    const upstream = httpRequest(to, { method: req.method, headers: listed as unknown as Record<string, string>, agent }, (answer) => {
      answered = true;
      const out: string[] = [];
      const raw = answer.rawHeaders;
      for (let i = 0; i + 1 < raw.length; i += 2) if (!hopByHop.has(raw[i]!.toLowerCase())) out.push(raw[i]!, raw[i + 1]!);
      out.push(forwardedToHeader, target.name);
      const status = answer.statusCode ?? 502;
      const id = answer.headers["x-flick-invocation-id"];
      try {
        res.writeHead(status, out);
      } catch {
        answer.destroy();
        res.destroy();
        resolve({ status, invocationId: typeof id === "string" ? id : undefined });
        return;
      }
      answer.pipe(res);
      const settle = () => resolve({ status, invocationId: typeof id === "string" ? id : undefined });
      answer.once("end", settle);
      answer.once("error", () => {
        res.destroy();
        settle();
      });
      res.once("close", () => {
        if (!res.writableFinished) answer.destroy();
        settle();
      });
    });
    const reached = watchConnect(upstream);
    upstream.on("error", (err) => {
      if (answered) return;
      resolve(reached() ? { lost: err.message } : { notTaken: true });
    });
    // The client left: the other node sees its connection close and stops the invocation.
    req.once("close", () => {
      if (!res.writableFinished && !req.complete) upstream.destroy();
    });
    if (body === null || body instanceof Uint8Array) {
      upstream.end(body ?? undefined);
      return;
    }
    void (async () => {
      try {
        for await (const chunk of body) if (!upstream.write(chunk)) await new Promise((r) => upstream.once("drain", r));
        upstream.end();
      } catch {
        upstream.destroy();
      }
    })();
  });
}
