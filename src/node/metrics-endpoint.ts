/**
 * `/metrics` of a node: its Prometheus metrics (telemetry/metrics.ts), wired to what the
 * node knows at scrape time, served on the node's port to the admin token, or on a
 * listener of its own (`flick up --metrics-listen 127.0.0.1:9464`) that needs none — for a
 * Prometheus on the same machine or network, as node_exporter does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Scheduler } from "../control/index.ts";
import { FlickError } from "../errors/index.ts";
import type { AsyncQueue } from "../queue/index.ts";
import { NodeMetrics } from "../telemetry/index.ts";
import type { Platform } from "./platform.ts";

/** The node's metrics; `parts` are read at scrape time (the queue is made after the metrics). */
export function nodeMetrics(parts: { platform: () => Platform; scheduler: Scheduler; queue: () => AsyncQueue | undefined }): NodeMetrics {
  return new NodeMetrics({
    instances: () => parts.platform().instanceCounts(),
    hosts: () => {
      const table = parts.scheduler.hosts;
      return Array.from({ length: table.size }, (_, host) => ({ host, usedMiB: table.usedMiB[host]!, capacityMiB: table.capacityMiB[host]!, instances: table.instances[host]! }));
    },
    queue: async () => {
      const queue = parts.queue();
      if (queue === undefined) return { queued: 0, running: 0, dead: 0, oldestQueuedAgeSeconds: 0 };
      const b = await queue.backlog();
      return { queued: b.queued, running: b.running, dead: b.dead, oldestQueuedAgeSeconds: b.oldestQueuedMs === null ? 0 : Math.max(0, (Date.now() - b.oldestQueuedMs) / 1000) };
    },
  });
}

async function send(metrics: NodeMetrics, res: ServerResponse): Promise<void> {
  const text = await metrics.text();
  res.writeHead(200, { "content-type": metrics.contentType, "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

/** `GET /metrics` on the node's own port: only for the admin token (tenants' names and load are in it). */
export async function metricsRoute(req: IncomingMessage, res: ServerResponse, metrics: NodeMetrics, platform: Platform): Promise<void> {
  if (req.method !== "GET" && req.method !== "HEAD") throw new FlickError("method_not_allowed", `${req.method} is not allowed on /metrics; use GET`);
  const who = await platform.authenticate(req.headers.authorization);
  if (who === undefined) throw new FlickError("unauthorized", "/metrics needs `Authorization: Bearer <admin token>` (or run the node with --metrics-listen ADDRESS for a listener without one)");
  if (who.role !== "admin") throw new FlickError("forbidden", "/metrics is the node's, for the admin token only; a tenant's token cannot read it");
  await send(metrics, res);
}

/** `--metrics-listen host:port`: /metrics without a token, on its own address. */
export async function listenMetrics(address: string, metrics: NodeMetrics): Promise<Server> {
  const match = /^(.*):(\d+)$/.exec(address);
  if (match === null) throw new FlickError("validation_failed", `--metrics-listen ${address}: expected HOST:PORT, e.g. 127.0.0.1:9464`);
  const host = match[1]!.replace(/^\[(.*)\]$/, "$1");
  const server = createServer((req, res) => {
    if (req.url?.split("?")[0] !== "/metrics") {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("only /metrics here\n");
      return;
    }
    send(metrics, res).catch((err: unknown) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.end(`metrics failed: ${String(err)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => reject(new FlickError("unavailable", `--metrics-listen ${address}: cannot listen (${err.code ?? String(err)})`)));
    server.listen(Number(match[2]), host, () => resolve());
  });
  return server;
}
