/**
 * The public port, as each worker host serves it: every host listens on the node's port
 * with SO_REUSEPORT, so the kernel spreads connections over the hosts and a `/fn/`
 * request is accepted, run and answered by the process that holds the isolates (one
 * hop). Everything else — the admin API, `/readyz`, `/` — is the primary's: it is passed
 * through to the primary's private socket unchanged, streams included (`flick logs -f`).
 *
 * Per host: a cap on open connections (beyond it new ones are closed at once) and a short
 * timeout for a request's headers, so idle or slow clients cannot hold the node's file
 * descriptors or sockets (docs/limits.md).
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { functionPrefix, splitTarget, type Target } from "../gateway/index.ts";

export interface HostServerOptions {
  port: number;
  host: string;
  /** Open connections this host accepts at once. */
  maxConnections: number;
  /** A request's headers must arrive within this, ms. */
  headersTimeoutMs: number;
  /** The primary's private socket (API, relays). */
  primarySocket: string;
  /** `/fn/…` traffic. */
  functions(req: IncomingMessage, res: ServerResponse, target: Target): void;
}

function plainError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const text = JSON.stringify({ error: { code, message } });
  try {
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "x-flick-error": code });
    res.end(text);
  } catch {
    res.destroy();
  }
}

/** Log follows (`flick logs -f`) passing through: streams that end only when their client goes. */
const follows = new Set<() => void>();

/**
 * Ends the log follows passing through this host, as a clean end of their streams (the
 * CLI then waits for the node and follows it again). A draining host does, or its
 * listener would wait for them until its grace ran out.
 */
export function endFollows(): void {
  for (const end of [...follows]) end();
}

/** Passes a request to the primary's socket and its answer back, streamed both ways. */
export function proxyToPrimary(socketPath: string, req: IncomingMessage, res: ServerResponse): void {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(req.headers)) if (value !== undefined && !name.startsWith("x-flick-relay")) headers[name] = value;
  const upstream = httpRequest({ socketPath, method: req.method, path: req.url, headers }, (answer) => {
    try {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      // At once, as the primary sent them: a log follow may have no line to send for a while.
      res.flushHeaders();
    } catch {
      res.destroy();
      answer.destroy();
      return;
    }
    answer.pipe(res);
  });
  upstream.on("error", () => plainError(res, 503, "unavailable", "the node's control plane is not answering (starting or stopping); retry in a moment"));
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (/[?&]follow=1(&|$)/.test(req.url ?? "")) {
    const end = () => {
      follows.delete(end);
      // The stream ends cleanly for the client; the primary's side is simply dropped.
      upstream.removeAllListeners("error");
      upstream.on("error", () => {});
      upstream.destroy();
      // Ended, the connection would sit idle and keep the closing listener open: it goes too.
      if (res.headersSent) res.end(() => res.socket?.destroy());
      else res.destroy();
    };
    follows.add(end);
    res.once("close", () => follows.delete(end));
  }
  req.pipe(upstream);
}

export function createHostServer(options: HostServerOptions): Server {
  // Node checks the headers timeout every `connectionsCheckingInterval` (30 s by default):
  // a connection that never finishes its head would otherwise live that long, not
  // `headersTimeoutMs`. A quarter of the timeout, at most a second, keeps it close.
  const checkEveryMs = Math.max(50, Math.min(1_000, Math.floor(options.headersTimeoutMs / 4)));
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: options.headersTimeoutMs, requestTimeout: 0, connectionsCheckingInterval: checkEveryMs }, (req, res) => {
    const raw = req.url ?? "/";
    // Function traffic is routed on the path as the client sent it (origin form).
    if (raw.startsWith(functionPrefix)) return options.functions(req, res, splitTarget(raw));
    let url: URL;
    try {
      url = new URL(raw, "http://localhost");
    } catch {
      plainError(res, 400, "bad_request", `cannot parse the request target ${JSON.stringify(String(req.url).slice(0, 200))}`);
      return;
    }
    const p = url.pathname;
    if (p.startsWith(functionPrefix)) options.functions(req, res, url);
    else if (p === "/healthz") {
      const text = JSON.stringify({ ok: true, pid: process.pid });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    } else proxyToPrimary(options.primarySocket, req, res);
  });
  server.maxConnections = options.maxConnections;
  // A client that opens a connection and sends nothing is dropped with the header timeout.
  server.on("connection", (socket) => socket.setNoDelay(true));
  return server;
}

/** Listens on the node's port alongside the other hosts (SO_REUSEPORT). */
export function listenShared(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port, host, reusePort: true }, () => {
      server.off("error", reject);
      resolve();
    });
  });
}
