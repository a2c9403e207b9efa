// Threat: a function — called by anyone, no token — returns a response head the node
// cannot send: a header value with a control byte taken from the query string, a network
// error (status 0), a status the Response constructor refuses (from an upstream server),
// Headers whose iterators lie, header names Fetch refuses, thousands of headers, a header
// bigger than the limit. The guarantee: the caller gets the intended answer or a clear
// `502 function_error` (x-flick-error, JSON, naming the header), and nothing else happens —
// the node and its other functions answer, and no worker host died.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { assertNodeServes, assertPlatformError, hostPids, httpCall, type RawAnswer } from "../support/node-health.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;
let pids: number[];
/** An upstream that answers with raw bytes: statuses no Response constructor would make. */
let upstream: Server;
let upstreamPort: number;

const hostile = `
const enc = new TextEncoder();
function* lies() { yield ["x-evil name", "\\u0001"]; yield ["x-evil:colon", "a\\r\\nset-cookie: stolen=1"]; yield ["x-flick-error", "timeout"]; }
const lyingForEach = function (cb, thisArg) { cb.call(thisArg, "\\u0001", "x evil"); };
function streamOf(text) { return new ReadableStream({ start(c) { c.enqueue(enc.encode(text)); c.close(); } }); }
export default { async fetch(request) {
  const url = new URL(request.url);
  const q = url.searchParams;
  switch (q.get("case")) {
    case "query-header":
      return new Response("file", { headers: { "content-disposition": "attachment; filename=" + q.get("x") } });
    case "query-header-streamed":
      return new Response(streamOf("file"), { headers: { "content-disposition": "attachment; filename=" + q.get("x") } });
    case "latin1":
      return new Response("ok", { headers: { "x-name": "caf\\u00e9" } });
    case "network-error":
      return Response.error();
    case "iterators-on-instance": {
      const res = new Response("intended", { headers: { "x-real": "1" } });
      const h = res.headers;
      h[Symbol.iterator] = lies; h.entries = lies; h.keys = lies; h.values = lies; h.forEach = lyingForEach;
      h.get = () => "\\u0001"; h.has = () => true;
      return res;
    }
    case "iterators-on-prototype": {
      const res = new Response("intended", { headers: { "x-real": "1" } });
      const p = Headers.prototype;
      p[Symbol.iterator] = lies; p.entries = lies; p.keys = lies; p.values = lies; p.forEach = lyingForEach;
      p.getSetCookie = () => ["\\u0001"];
      return res;
    }
    case "status-getter": {
      // The status read from the prototype's getter, and a subclass that lies about it.
      Object.defineProperty(Response.prototype, "status", { get() { return 1e9; }, configurable: true });
      class Lying extends Response { get status() { return 0; } get headers() { return new Headers([["x a", "b"]]); } }
      return new Lying("intended", { headers: { "x-real": "1" } });
    }
    case "status-proxy":
      return new Proxy(new Response("x"), { get(t, k) { return k === "status" ? 99 : Reflect.get(t, k); } });
    case "status-fake":
      return Object.assign(Object.create(Response.prototype), { status: 101, headers: new Headers(), body: null });
    case "status-upstream":
      return fetch("http://127.0.0.1:" + q.get("port") + "/" + q.get("status"));
    case "name-space":
      return new Response("x", { headers: { "bad name": "1" } });
    case "name-colon":
      return new Response("x", { headers: [["x-a:b", "1"]] });
    case "many-headers": {
      const h = new Headers();
      for (let i = 0; i < Number(q.get("n")); i++) h.append("x-h-" + i, String(i));
      return new Response("many", { headers: h });
    }
    case "big-headers": {
      const h = new Headers();
      for (let i = 0; i < Number(q.get("n")); i++) h.append("x-big-" + i, "v".repeat(Number(q.get("kib")) * 1024));
      return new Response("big", { headers: h });
    }
    case "long-name":
      return new Response("x", { headers: { ["x".repeat(70 * 1024)]: "1" } });
    default:
      return new Response("unknown case", { status: 400 });
  }
} };`;

before(async () => {
  // An upstream on loopback whose first line carries a status taken from its path.
  upstream = createServer((socket) => {
    socket.once("data", (data: Buffer) => {
      const status = /^GET \/(\d+)/.exec(data.toString("latin1"))?.[1] ?? "500";
      socket.end(`HTTP/1.1 ${status} Odd\r\ncontent-length: 2\r\nx-upstream: yes\r\nconnection: close\r\n\r\nup`);
    });
    socket.on("error", () => {});
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamPort = (upstream.address() as { port: number }).port;
  node = await startTestNode({ hosts: 2, args: ["--egress-allow", "127.0.0.1"] });
  await deploySource(node.admin, "hostile", hostile);
  // Cases that poison a prototype run in a function of their own, so the others see clean isolates.
  await deploySource(node.admin, "poisoner", hostile);
  await deploySource(node.admin, "hostile-short", hostile, { timeoutMs: 3000 });
  await deploySource(node.admin, "bystander", `export default { fetch: () => new Response("fine") };`);
  pids = hostPids(node);
  assert.equal(pids.length, 2);
});
after(async () => {
  await node.kill();
  upstream.close();
});

const callOn = (fn: string, query: string, maxHeaderSize?: number) => httpCall(`${node.url}/fn/${fn}?${query}`, maxHeaderSize === undefined ? {} : { maxHeaderSize });
const call = (query: string, maxHeaderSize?: number) => callOn("hostile", query, maxHeaderSize);

test("a header value with %01 from the query string is 502 function_error naming the header; the node serves on", async () => {
  for (const c of ["query-header", "query-header-streamed"]) {
    for (const [x, byte] of [["a%01b", "byte 0x01"], ["a%7Fb", "byte 0x7f"], ["a%00b", "byte 0x00"]] as const) {
      const answer = await call(`case=${c}&x=${x}`);
      if (byte === "byte 0x00") {
        // Fetch itself refuses NUL in a header value: the function throws, which is also a 502.
        assertPlatformError(answer, 502, "function_error", `${c} ${x}`);
        continue;
      }
      const message = assertPlatformError(answer, 502, "function_error", `${c} ${x}`);
      assert.match(message, /"content-disposition"/, message);
      assert.match(message, new RegExp(byte), message);
    }
  }
  // obs-text is sendable: a Latin-1 value is the function's intended answer.
  const latin1 = await call("case=latin1");
  assert.equal(latin1.status, 200);
  assert.equal(Buffer.from(latin1.rawHeaders[latin1.rawHeaders.indexOf("x-name") + 1]!, "latin1").toString("latin1"), "caf\u00e9");
  await assertNodeServes(node, pids, "bystander", "fine");
});

test("Response.error() (status 0) is 502 function_error", async () => {
  const message = assertPlatformError(await call("case=network-error"), 502, "function_error", "Response.error()");
  assert.match(message, /Response\.error\(\)|status 0/, message);
  await assertNodeServes(node, pids, "bystander", "fine");
});

test("Headers whose iterators, entries and forEach lie (on the instance or on Headers.prototype) cannot change what is sent", async () => {
  for (const c of ["iterators-on-instance", "iterators-on-prototype", "query-header"]) {
    // After the prototype is poisoned, the next response of that isolate too.
    const answer = await callOn("poisoner", `case=${c}&x=plain`);
    if (c === "query-header") {
      assert.equal(answer.status, 200, c);
      assert.equal(answer.headers["content-disposition"], "attachment; filename=plain");
      continue;
    }
    assert.equal(answer.status, 200, `${c}: ${answer.body.toString()}`);
    assert.equal(answer.body.toString(), "intended", c);
    assert.equal(answer.headers["x-real"], "1", c);
    assert.equal(answer.headers["set-cookie"], undefined, c);
    assert.equal(answer.headers["x-flick-error"], undefined, c);
    assert.deepEqual(answer.rawHeaders.filter((_, i) => i % 2 === 0 && /evil|x evil/.test(answer.rawHeaders[i]!)), [], c);
  }
  await assertNodeServes(node, pids, "bystander", "fine");
});

test("statuses the constructor refuses — a lying getter or subclass, an upstream's 999 or 1xx — are the real status or 502", async () => {
  const getter = await callOn("poisoner", "case=status-getter");
  assert.equal(getter.status, 200, "the response's own status, not what a getter says");
  assert.equal(getter.body.toString(), "intended");
  assert.equal(getter.headers["x-real"], "1");
  for (const status of [999, 600, 100, 199]) {
    const answer = await call(`case=status-upstream&port=${upstreamPort}&status=${status}`);
    const message = assertPlatformError(answer, 502, "function_error", `upstream ${status}`);
    if (status >= 600) assert.match(message, new RegExp(`status ${status}`), message);
  }
  const fine = await call(`case=status-upstream&port=${upstreamPort}&status=418`);
  assert.equal(fine.status, 418, "an upstream's valid status passes through");
  assert.equal(fine.headers["x-upstream"], "yes");
  await assertNodeServes(node, pids, "bystander", "fine");
});

test("header names with a space or a colon are the function's error, never a header", async () => {
  for (const c of ["name-space", "name-colon"]) assertPlatformError(await call(`case=${c}`), 502, "function_error", c);
  await assertNodeServes(node, pids, "bystander", "fine");
});

test("over 1,024 headers, or over 256 KiB of them, are 502 function_error saying which limit", async () => {
  const many = assertPlatformError(await call("case=many-headers&n=1500"), 502, "function_error", "1500 headers");
  assert.match(many, /at most 1024/, many);
  const fewer = await call("case=many-headers&n=1000", 1 << 20);
  assert.equal(fewer.status, 200, "1,000 headers are sent");
  assert.equal(fewer.headers["x-h-999"], "999");
  const big = assertPlatformError(await call("case=big-headers&n=5&kib=60"), 502, "function_error", "5 headers of 60 KiB");
  assert.match(big, /more than 256 KiB of response headers/, big);
  const under = await call("case=big-headers&n=3&kib=60", 1 << 20);
  assert.equal(under.status, 200, `180 KiB of headers are sent: ${under.body.toString()}`);
  assert.equal(under.headers["x-big-2"]?.length, 60 * 1024);
  await assertNodeServes(node, pids, "bystander", "fine");
});

/**
 * Heads the runtime cannot hand to the host: the guest fails the invocation (before,
 * `finish` threw and the request waited for its deadline). Run once, against a copy of
 * the function with a short timeout; the answers are checked by the next two tests.
 */
const stuckCases = ["case=status-proxy", "case=status-fake", "case=many-headers&n=5000", "case=big-headers&n=1&kib=300", "case=long-name"];
let stuck: { query: string; answer: RawAnswer }[] = [];

test("a Proxy or forged Response, 5,000 headers, one 300 KiB header or a 70 KiB name end in a platform error; the node serves on", async () => {
  stuck = await Promise.all(stuckCases.map(async (query) => ({ query, answer: await httpCall(`${node.url}/fn/hostile-short?${query}`) })));
  for (const { query, answer } of stuck) {
    assert.ok(answer.status === 502 || answer.status === 504, `${query}: ${answer.status}`);
    assert.ok(answer.headers["x-flick-error"] !== undefined, query);
  }
  await assertNodeServes(node, pids, "bystander", "fine");
});

test("… and that error is 502 function_error at once, not the function's timeout", () => {
  for (const { query, answer } of stuck) assertPlatformError(answer, 502, "function_error", query);
});

test("after all of it, the node printed no crash", () => {
  assert.doesNotMatch(node.output(), /died|restarting|uncaught|ERR_HTTP_INVALID|ERR_INVALID_CHAR/i, node.output().slice(-3000));
});
