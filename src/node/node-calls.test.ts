// Calls between nodes over real HTTP on 127.0.0.1: a call signed with the cluster's key
// runs on the other side and streams back; an unsigned, foreign, tampered, stale or
// replayed one is refused before anything runs.
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";
import type { ErrorData } from "../errors/index.ts";
import type { ResponseWriter, RouteTarget } from "../gateway/index.ts";
import type { WireRequest } from "../host/index.ts";
import { NodeCalls, nodeCallPath } from "./node-calls.ts";

const key = randomBytes(32);
const target: RouteTarget = { name: "echo", tenant: "t", private: true, version: "v1", key: "t/echo@v1" };
/** What ran on the serving side, and the last call as it came over the wire. */
const ran: { request: WireRequest; invocationId: string }[] = [];
let lastCall: { signature: string; frame: Buffer } | undefined;
let server: Server;
let url = "";

// The serving node: the platform's part is a function that answers with what it was given.
const served = new NodeCalls(key, "node-b");
const backend = {
  resolve: (name: string, version?: string): RouteTarget | undefined => (name === "echo" ? { ...target, version: version ?? "v1" } : undefined),
  async invokeHere(_t: RouteTarget, req: WireRequest, invocationId: string, writer: ResponseWriter): Promise<{ error: ErrorData | null }> {
    ran.push({ request: req, invocationId });
    if (new TextDecoder().decode(req.body ?? new Uint8Array()) === "fail") return { error: { code: "function_error", message: "it threw" } };
    writer.head(201, ["x-echo", "yes"], null, false, false);
    writer.chunk(new TextEncoder().encode(`${req.method} ${req.url} `), false, () => undefined);
    writer.chunk(req.body ?? new Uint8Array(), true, () => undefined);
    return { error: null };
  },
};

before(async () => {
  server = createServer(async (req, res) => {
    // Kept as it came, to send again; then served from the copy.
    const parts: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) parts.push(c);
    const frame = Buffer.concat(parts);
    lastCall = { signature: String(req.headers["x-flick-node-call"] ?? ""), frame };
    const copy = Object.assign(Readable.from([frame]), { method: req.method, headers: req.headers }) as unknown as IncomingMessage;
    await served.serve(copy, res, backend);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

function collectingWriter(): { writer: ResponseWriter; result: { status: number; headers: string[]; body: string; ended: boolean } } {
  const result = { status: 0, headers: [] as string[], body: "", ended: false };
  const writer: ResponseWriter = {
    head(status, headers) {
      result.status = status;
      result.headers = headers;
    },
    chunk(bytes, end, written) {
      result.body += new TextDecoder().decode(bytes);
      if (end) result.ended = true;
      written();
    },
  };
  return { writer, result };
}

/** Sends `frame` with `signature` as the call header; the status and error code. */
function post(frame: Buffer, signature: string): Promise<{ status: number; code: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(nodeCallPath, url), { method: "POST", headers: { "content-length": String(frame.byteLength), "x-flick-node-call": signature } }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, code: res.headers["x-flick-error"] as string | undefined }));
    });
    req.on("error", reject);
    req.end(frame);
  });
}

const sign = (k: Buffer, node: string, expires: number, frame: Buffer) => `${node};${expires};${createHmac("sha256", k).update(`${node}\n${expires}\n`).update(frame).digest("hex")}`;

test("a signed call runs on the other node, with the invocation id, attempt headers and body it was given, and its answer streams back", async () => {
  const calls = new NodeCalls(key, "node-a");
  const { writer, result } = collectingWriter();
  const request: WireRequest = { method: "POST", url: "http://x/", headers: ["x-flick-attempt", "2"], body: new TextEncoder().encode("payload"), hops: 3 };
  const { error } = await calls.invoke({ targets: [{ name: "node-b", url }], warm: 0 }, target, request, "inv-1", writer);
  assert.equal(error, null);
  assert.deepEqual({ status: result.status, body: result.body, ended: result.ended }, { status: 201, body: "POST http://x/ payload", ended: true });
  assert.deepEqual(result.headers.slice(0, 2), ["x-echo", "yes"]);
  const last = ran.at(-1)!;
  assert.equal(last.invocationId, "inv-1");
  assert.equal(last.request.hops, 3);
  assert.deepEqual(last.request.headers, ["x-flick-attempt", "2"]);
});

test("the platform's error on the other node comes back as the error it is", async () => {
  const { writer } = collectingWriter();
  const request: WireRequest = { method: "POST", url: "http://x/", headers: [], body: new TextEncoder().encode("fail") };
  const { error } = await new NodeCalls(key, "node-a").invoke({ targets: [{ name: "node-b", url }], warm: 0 }, target, request, "inv-2", writer);
  assert.deepEqual(error, { code: "function_error", message: "it threw" });
});

test("a node that refuses the connection is skipped for the next; none left is unavailable", async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const deadUrl = `http://127.0.0.1:${(closed.address() as { port: number }).port}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const calls = new NodeCalls(key, "node-a");
  const request: WireRequest = { method: "GET", url: "http://x/", headers: [], body: null };
  const { writer, result } = collectingWriter();
  assert.equal((await calls.invoke({ targets: [{ name: "dead", url: deadUrl }, { name: "node-b", url }], warm: 0 }, target, request, "inv-3", writer)).error, null);
  assert.equal(result.status, 201);
  const none = await calls.invoke({ targets: [{ name: "dead", url: deadUrl }], warm: 0 }, target, request, "inv-4", collectingWriter().writer);
  assert.equal(none.error?.code, "unavailable");
});

test("unsigned, foreign-key, tampered, stale and replayed calls are refused 401 before anything runs", async () => {
  await new NodeCalls(key, "node-a").invoke({ targets: [{ name: "node-b", url }], warm: 0 }, target, { method: "GET", url: "http://x/", headers: [], body: null }, "inv-5", collectingWriter().writer);
  const { signature, frame } = lastCall!;
  const before = ran.length;
  const expires = Date.now() + 30_000;
  const tampered = Buffer.from(frame);
  tampered[tampered.length - 3] = tampered[tampered.length - 3]! ^ 1;
  for (const [what, sent, sig] of [
    ["unsigned", frame, ""],
    ["signed with another key", frame, sign(randomBytes(32), "node-a", expires, frame)],
    ["tampered after signing", tampered, signature],
    ["expired", frame, sign(key, "node-a", Date.now() - 1, frame)],
    ["replayed", frame, signature],
  ] as const) {
    const answer = await post(sent, sig);
    assert.deepEqual(answer, { status: 401, code: "unauthorized" }, what);
  }
  assert.equal(ran.length, before, "nothing ran");
});
