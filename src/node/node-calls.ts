/**
 * Invocations a node starts itself — async attempts, cron runs, queue batches, service
 * binding calls — for a function it may not run (its pin or avoid excludes this node,
 * docs/cluster.md "Placement and forwarding"): they run on a node that may, as that node's
 * own. A client's request is forwarded as it came (gateway/forward.ts); these have no
 * client and carry what only the platform may say (the invocation id, the attempt, queue
 * hops, a cron trigger), so they go as a call between nodes:
 *
 * - `POST /internal/v1/invoke` on the other node's address, the body one frame: the length
 *   of a JSON head (function, version, invocation id, the request without its body), the
 *   head, then the request body.
 * - Signed: `x-flick-node-call: <node>;<expires ms>;<HMAC-SHA256 of node, expiry and
 *   frame>` under a key derived from the cluster's sealing key (`--secret-key-file`), which
 *   only the cluster's nodes hold. A call is good for 60 s and is taken once (a replay
 *   inside that window is refused).
 * - The answer is the function's response as it streams (`x-flick-node-answer: function`),
 *   or the platform's error as JSON (`x-flick-node-answer: error`).
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { Agent, request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { FlickError, asFlickError, type ErrorData } from "../errors/index.ts";
import { watchConnect, type Forwarding, type GatewayBackend, type ResponseWriter, type RouteTarget } from "../gateway/index.ts";
import type { WireRequest } from "../host/index.ts";
import { limits } from "../model/index.ts";

export const nodeCallPath = "/internal/v1/invoke";
const signatureHeader = "x-flick-node-call";
const answerHeader = "x-flick-node-answer";
const validForMs = 60_000;
/** A frame's head and body together: the largest request body and room for its head. */
const maxFrameBytes = limits.requestBodyMaxBytes + 1024 * 1024;

const agent = new Agent({ keepAlive: true, maxSockets: 256 });

interface CallHead {
  name: string;
  version: string;
  invocationId: string;
  request: Omit<WireRequest, "body"> & { hasBody: boolean };
  /** A durable object's request: it runs on this node, the object's home, in the object's turn (bindings/do/). */
  object?: { className: string; id: string; name: string };
}

/** What the other side of an object call runs: the request on the object, here; its whole answer. */
export type ObjectHere = (fn: string, object: { className: string; id: string; name: string }, request: WireRequest) => Promise<{ status: number; headers: string[]; body: Uint8Array; error: ErrorData | null }>;

function sign(key: Buffer, node: string, expires: number, frame: Uint8Array): string {
  return createHmac("sha256", key).update(`${node}\n${expires}\n`).update(frame).digest("hex");
}

function encode(head: CallHead, body: Uint8Array | null): Uint8Array {
  const json = Buffer.from(JSON.stringify(head));
  const frame = Buffer.alloc(4 + json.byteLength + (body?.byteLength ?? 0));
  frame.writeUInt32BE(json.byteLength, 0);
  json.copy(frame, 4);
  if (body !== null) frame.set(body, 4 + json.byteLength);
  return frame;
}

function decode(frame: Buffer): { head: CallHead; body: Uint8Array | null } {
  const length = frame.byteLength >= 4 ? frame.readUInt32BE(0) : -1;
  if (length < 0 || 4 + length > frame.byteLength) throw new FlickError("bad_request", "a call between nodes with a malformed frame");
  const head = JSON.parse(frame.subarray(4, 4 + length).toString("utf8")) as CallHead;
  const rest = frame.subarray(4 + length);
  return { head, body: head.request.hasBody ? new Uint8Array(rest.buffer, rest.byteOffset, rest.byteLength) : null };
}

async function collect(body: AsyncIterable<Uint8Array>, max: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) throw new FlickError("payload_too_large", `the request body is over the limit of ${max} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

export class NodeCalls {
  private readonly key: Buffer;
  private readonly self: string;
  /** Signatures taken in the last minute: a call is run once. */
  private readonly taken = new Map<string, number>();

  constructor(key: Buffer, self: string) {
    this.key = key;
    this.self = self;
  }

  /**
   * Runs the invocation on the first node in `forwarding` that takes the call (a refused
   * connection tries the next); its answer streams to `writer`. Settles with the platform's
   * error, if any, as `GatewayBackend.invoke` does.
   */
  async invoke(
    forwarding: Forwarding, target: RouteTarget, request: WireRequest, invocationId: string, writer: ResponseWriter, body?: AsyncIterable<Uint8Array>,
  ): Promise<{ error: ErrorData | null }> {
    const bytes = body === undefined ? request.body : await collect(body, limits.requestBodyMaxBytes);
    const { body: _dropped, ...rest } = request;
    const frame = encode({ name: target.name, version: target.version, invocationId, request: { ...rest, streamed: false, hasBody: bytes !== null } }, bytes);
    const tried: string[] = [];
    for (const node of forwarding.targets) {
      const outcome = await this.send(node.url, frame, writer);
      if (outcome !== "not_taken") return outcome;
      tried.push(node.name);
    }
    return { error: { code: "unavailable", message: `no node that may run function "${target.name}" took the call (tried ${tried.join(", ") || "none"}); retried later` } };
  }

  /**
   * Runs a durable object's request on its home node (`url`), whose answer streams to
   * `writer`; "not_taken" when that node did not take the call (it is down).
   */
  invokeObject(
    url: string, fn: string, object: { className: string; id: string; name: string }, request: WireRequest, invocationId: string, writer: ResponseWriter,
  ): Promise<{ error: ErrorData | null } | "not_taken"> {
    const { body, ...rest } = request;
    const frame = encode({ name: fn, version: "", invocationId, request: { ...rest, streamed: false, hasBody: body !== null }, object }, body);
    return this.send(url, frame, writer);
  }

  private send(url: string, frame: Uint8Array, writer: ResponseWriter): Promise<{ error: ErrorData | null } | "not_taken"> {
    const expires = Date.now() + validForMs;
    const signature = `${this.self};${expires};${sign(this.key, this.self, expires, frame)}`;
    return new Promise((resolve) => {
      let answered = false;
      const upstream = httpRequest(new URL(nodeCallPath, url), {
        method: "POST", agent,
        headers: { "content-type": "application/octet-stream", "content-length": String(frame.byteLength), [signatureHeader]: signature },
      }, (answer) => {
        answered = true;
        const kind = answer.headers[answerHeader];
        if (kind !== "function") {
          // The platform's error (or a node that does not know the call: no such header).
          const parts: Buffer[] = [];
          answer.on("data", (c: Buffer) => parts.push(c));
          answer.on("end", () => {
            let error: ErrorData = { code: "unavailable", message: `node at ${url} answered the call ${answer.statusCode} without an error Flick knows` };
            try {
              if (kind === "error") error = (JSON.parse(Buffer.concat(parts).toString("utf8")) as { error: ErrorData }).error;
            } catch {
              // kept: the generic error above
            }
            resolve({ error });
          });
          answer.on("error", () => resolve({ error: { code: "unavailable", message: `node at ${url} went away while answering the call` } }));
          return;
        }
        const headers: string[] = [];
        const raw = answer.rawHeaders;
        for (let i = 0; i + 1 < raw.length; i += 2) {
          const lower = raw[i]!.toLowerCase();
          if (lower === answerHeader || lower === "connection" || lower === "keep-alive" || lower === "transfer-encoding" || lower === "content-length" || lower === "date") continue;
          headers.push(raw[i]!, raw[i + 1]!);
        }
        writer.head(answer.statusCode ?? 502, headers, null, false, false);
        answer.on("data", (chunk: Buffer) => {
          answer.pause();
          writer.chunk(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), false, () => answer.resume());
        });
        answer.on("end", () => {
          writer.chunk(new Uint8Array(0), true, () => {});
          resolve({ error: null });
        });
        answer.on("error", () => resolve({ error: { code: "host_crashed", message: `the node at ${url} running the invocation went away` } }));
      });
      const reached = watchConnect(upstream);
      upstream.on("error", (err) => {
        if (answered) return;
        resolve(reached() ? { error: { code: "unavailable", message: `the call to the node at ${url} failed before an answer (${err.message})` } } : "not_taken");
      });
      upstream.end(frame);
    });
  }

  /** The other side: checks the signature, runs the invocation here, streams its answer back. */
  async serve(req: IncomingMessage, res: ServerResponse, backend: Pick<GatewayBackend, "resolve"> & { invokeHere: GatewayBackend["invoke"]; objectHere?: ObjectHere }): Promise<void> {
    try {
      if (req.method !== "POST") throw new FlickError("method_not_allowed", `${nodeCallPath} takes POST from the cluster's nodes`);
      const declared = Number(req.headers["content-length"] ?? -1);
      if (!(declared >= 4 && declared <= maxFrameBytes)) throw new FlickError("bad_request", "a call between nodes needs a Content-Length within the request limit");
      const signature = String(req.headers[signatureHeader] ?? "");
      // What can be checked before the body is read is, so a caller without the key is turned away at once.
      this.check(signature);
      const parts: Buffer[] = [];
      let size = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        size += chunk.byteLength;
        if (size > declared) throw new FlickError("bad_request", "a call between nodes longer than its Content-Length");
        parts.push(chunk);
      }
      const frame = Buffer.concat(parts);
      this.check(signature, frame);
      const { head, body } = decode(frame);
      if (head.object !== undefined) {
        if (backend.objectHere === undefined) throw new FlickError("unavailable", "this node runs no durable objects");
        const { hasBody: _h, ...request } = head.request;
        const served = await backend.objectHere(head.name, head.object, { ...request, body, arrivalMs: performance.now() });
        if (served.error !== null && served.status === 0) return answerError(res, FlickError.fromData(served.error));
        res.writeHead(served.status, [...served.headers, answerHeader, "function"]);
        res.end(served.body);
        return;
      }
      const target = backend.resolve(head.name, head.version);
      if (target === undefined) throw new FlickError("function_not_found", `no function named "${head.name}" is deployed here`);
      const { hasBody: _hasBody, ...request } = head.request;
      const wire: WireRequest = { ...request, body, arrivalMs: performance.now() };
      const gone = { cancel: undefined as (() => void) | undefined };
      res.once("close", () => {
        if (!res.writableFinished) gone.cancel?.();
      });
      // Run here whatever this node thinks of the pins: a call is never passed on again.
      const { error } = await backend.invokeHere(target, wire, head.invocationId, {
        head(status, headers, bytes, end) {
          if (res.destroyed) return;
          const out = [...headers, answerHeader, "function"];
          res.writeHead(status, out);
          if (end) res.end(bytes ?? undefined);
          else if (bytes !== null && bytes.byteLength > 0) res.write(bytes);
        },
        chunk(bytes, end, written) {
          if (res.destroyed) return written();
          if (bytes.byteLength > 0) res.write(bytes, () => written());
          else written();
          if (end) res.end();
        },
      }, undefined, gone);
      if (error !== null) {
        if (!res.headersSent) answerError(res, FlickError.fromData(error));
        else if (!res.writableEnded) res.destroy();
      } else if (!res.writableEnded && res.headersSent) res.end();
    } catch (err) {
      if (!res.headersSent) answerError(res, asFlickError(err));
      else res.destroy();
    }
  }

  /**
   * Throws `unauthorized` unless a node of this cluster signed this frame within the last
   * minute, and it was not taken before. Without the frame, checks only the header's form and date.
   */
  private check(header: string, frame?: Uint8Array): void {
    const [node, expiresText, mac] = header.split(";");
    const expires = Number(expiresText);
    const now = Date.now();
    const refuse = (why: string) => new FlickError("unauthorized", `a call between nodes was refused: ${why}; nodes of one cluster share --secret-key-file`);
    if (node === undefined || mac === undefined || !Number.isFinite(expires)) throw refuse("it is not signed");
    if (expires < now || expires > now + 2 * validForMs) throw refuse("its signature is out of date (are the nodes' clocks apart?)");
    if (frame === undefined) return;
    const want = Buffer.from(sign(this.key, node, expires, frame), "hex");
    const given = Buffer.from(mac, "hex");
    if (given.byteLength !== want.byteLength || !timingSafeEqual(given, want)) throw refuse("its signature does not match");
    // Oldest first (signed with the same validity, in about the order they come): stop at the first still good.
    for (const [seen, until] of this.taken) {
      if (until >= now) break;
      this.taken.delete(seen);
    }
    if (this.taken.has(mac)) throw refuse("it was taken before");
    this.taken.set(mac, expires);
  }
}

function answerError(res: ServerResponse, error: FlickError): void {
  const text = JSON.stringify({ error: error.toData() });
  res.writeHead(error.status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), [answerHeader]: "error", "x-flick-error": error.code });
  res.end(text);
}
