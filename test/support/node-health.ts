/**
 * What a hostile-code test checks after the attack: the node's worker hosts (its child
 * processes) are the same ones, nothing restarted, and the node still answers. Also a plain
 * HTTP client on `node:http` — its strict parser, a header size limit a test can raise —
 * so a test sees exactly what went over the wire (a cut body included).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { request, type Agent, type IncomingHttpHeaders } from "node:http";
import type { TestNode } from "./node-process.ts";

/** The worker hosts: the node process's children, ascending. */
export function hostPids(node: TestNode): number[] {
  let out = "";
  try {
    out = execFileSync("pgrep", ["-P", String(node.process.pid)], { encoding: "utf8" });
  } catch {
    return []; // pgrep exits 1 when there are none
  }
  return out.trim().split("\n").filter((l) => l !== "").map(Number).sort((a, b) => a - b);
}

/** Open file descriptors of a process (sockets included). */
export function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** name, value, … as received. */
  rawHeaders: string[];
  body: Buffer;
  /** The body ended early (the connection was cut after the head). */
  cut: boolean;
  /** The local port of the connection it came on (tells keep-alive connections apart). */
  localPort: number;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  agent?: Agent | false;
  maxHeaderSize?: number;
}

/** One request with `node:http`; rejects on a connection or parse error before the head. */
export function httpCall(url: string, options: RawRequest = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: options.method ?? "GET", headers: options.headers ?? {}, agent: options.agent ?? false, maxHeaderSize: options.maxHeaderSize ?? 16 * 1024 },
      (res) => {
        const chunks: Buffer[] = [];
        const localPort = res.socket.localPort ?? 0;
        let settled = false;
        const done = (cut: boolean) => {
          if (settled) return;
          settled = true;
          resolve({ status: res.statusCode ?? 0, headers: res.headers, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks), cut, localPort });
        };
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => done(false));
        res.on("aborted", () => done(true));
        res.on("error", () => done(true));
        res.on("close", () => done(!res.complete));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });
}

/** A platform error: its status, `x-flick-error` header and JSON body `{error:{code,message}}`. */
export function assertPlatformError(answer: RawAnswer, status: number, code: string, what: string): string {
  assert.equal(answer.status, status, `${what}: ${answer.body.toString().slice(0, 300)}`);
  assert.equal(answer.headers["x-flick-error"], code, what);
  assert.match(String(answer.headers["content-type"]), /^application\/json/, what);
  const body = JSON.parse(answer.body.toString()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, code, what);
  return body.error.message;
}

/** The node process is running, has the same hosts as before, and a function answers. */
export async function assertNodeServes(node: TestNode, pids: number[], fn: string, expected: string): Promise<void> {
  assert.equal(node.process.exitCode, null, `the node exited:\n${node.output().slice(-3000)}`);
  assert.equal(node.process.signalCode, null, "the node was killed");
  assert.deepEqual(hostPids(node), pids, "the worker hosts are the same processes: none died");
  const health = await httpCall(`${node.url}/healthz`);
  assert.equal(health.status, 200);
  const answer = await httpCall(`${node.url}/fn/${fn}`);
  assert.equal(answer.status, 200, answer.body.toString());
  assert.equal(answer.body.toString(), expected);
}
