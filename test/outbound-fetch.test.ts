// Outbound fetch from functions: it works against an allowed server, and the egress
// corpus — loopback, private, metadata, odd encodings, the node's own port, other
// schemes, redirects into any of them — is refused with egress_denied.
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { gzipSync } from "node:zlib";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let server: Server;
let origin: string;
let inFlight = 0;
let maxInFlight = 0;

before(async () => {
  // 127.0.0.2 is loopback too; only it is allowed, so 127.0.0.1 stays denied in the same node.
  server = createServer(async (req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url!, "http://x");
    if (url.pathname === "/slow") await new Promise((r) => setTimeout(r, 50));
    inFlight--;
    if (url.pathname === "/redirect") {
      res.writeHead(302, { location: url.searchParams.get("to") ?? "/echo" });
      return res.end();
    }
    if (url.pathname === "/gzip") {
      res.writeHead(200, { "content-encoding": "gzip", "content-type": "text/plain" });
      return res.end(gzipSync("compressed hello"));
    }
    res.writeHead(201, { "content-type": "application/json", "x-upstream": "yes" });
    res.end(JSON.stringify({ method: req.method, path: req.url, header: req.headers["x-test"] ?? null, host: req.headers.host, body: Buffer.concat(chunks).toString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.2", resolve));
  origin = `http://127.0.0.2:${(server.address() as { port: number }).port}`;
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.2"] });
  await node.admin.deploy("client", {
    code: `export default { async fetch(request) {
      const target = new URL(request.url).searchParams.get("url");
      const mode = new URL(request.url).searchParams.get("mode") ?? "plain";
      try {
        if (mode === "many") {
          const results = [];
          for (let i = 0; i < 51; i++) { try { await fetch(target); results.push("ok"); } catch (e) { results.push(e.message); } }
          return Response.json(results);
        }
        if (mode === "parallel") {
          const all = await Promise.all(Array.from({ length: 20 }, () => fetch(target).then((r) => r.status)));
          return Response.json(all);
        }
        const init = mode === "post" ? { method: "POST", body: "sent body", headers: { "x-test": "1" } } : mode === "manual" ? { redirect: "manual" } : {};
        const res = await fetch(target, init);
        return Response.json({ status: res.status, url: res.url, redirected: res.redirected, type: res.headers.get("content-type"), upstream: res.headers.get("x-upstream"), text: await res.text() });
      } catch (e) {
        return Response.json({ error: e.name + ": " + e.message }, { status: 200 });
      }
    } };`,
  });
});
after(async () => {
  await node.kill();
  server.close();
});

async function call(url: string, mode = "plain"): Promise<Record<string, unknown>> {
  const res = await fetch(`${node.url}/fn/client?mode=${mode}&url=${encodeURIComponent(url)}`);
  assert.equal(res.status, 200);
  return (await res.json()) as Record<string, unknown>;
}

test("GET and POST reach an allowed server with headers and body, and the answer comes back", async () => {
  const get = await call(`${origin}/echo?q=1`);
  assert.equal(get["status"], 201);
  assert.equal(get["upstream"], "yes");
  assert.deepEqual(JSON.parse(get["text"] as string), { method: "GET", path: "/echo?q=1", header: null, host: origin.slice(7), body: "" });
  const post = await call(`${origin}/echo`, "post");
  assert.deepEqual(JSON.parse(post["text"] as string), { method: "POST", path: "/echo", header: "1", host: origin.slice(7), body: "sent body" });
});

test("fetch sends the request's own headers even when the function replaced the Headers iterator", async () => {
  await node.admin.deploy("liar", {
    code: `export default { async fetch(request) {
      // Self-harm only, but what goes out is the request's header list, not this.
      Headers.prototype[Symbol.iterator] = function* () { yield ["bad name", "x"]; yield ["x-test", "lie"]; };
      Headers.prototype.entries = Headers.prototype[Symbol.iterator];
      const res = await fetch(new URL(request.url).searchParams.get("url"), { method: "POST", body: "sent body", headers: { "x-test": "1" } });
      return new Response(await res.text());
    } };`,
  });
  const res = await fetch(`${node.url}/fn/liar?url=${encodeURIComponent(`${origin}/echo`)}`);
  assert.deepEqual(await res.json(), { method: "POST", path: "/echo", header: "1", host: origin.slice(7), body: "sent body" });
});

test("redirects are followed (or not, with redirect: manual) and gzip bodies are decoded", async () => {
  const followed = await call(`${origin}/redirect?to=/echo`);
  assert.deepEqual([followed["status"], followed["redirected"], followed["url"]], [201, true, `${origin}/echo`]);
  const manual = await call(`${origin}/redirect`, "manual");
  assert.equal(manual["status"], 302);
  assert.equal((await call(`${origin}/gzip`))["text"], "compressed hello");
});

test("the egress corpus is 100% refused with egress_denied naming the rule", async () => {
  const port = new URL(node.url).port;
  const corpus = [
    `http://127.0.0.1:${port}/api/v1/functions`, `http://localhost:${port}/`, "http://2130706433/", "http://0x7f000001/",
    "http://0177.0.0.1/", "http://127.1/", "http://[::ffff:127.0.0.1]/", "http://[::ffff:7f00:1]/", "http://[::1]/", "http://[::]/",
    "http://0.0.0.0/", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://10.0.0.1/", "http://172.16.5.4/",
    "http://192.168.1.1/", "http://100.64.0.1/", "http://224.0.0.1/", "http://[fe80::1]/", "http://[ff02::1]/",
    "file:///etc/passwd", "ftp://example.com/", "data:text/plain,hi",
    `${origin}/redirect?to=${encodeURIComponent(`http://127.0.0.1:${port}/api/v1/functions`)}`,
    `${origin}/redirect?to=${encodeURIComponent("http://169.254.169.254/")}`,
  ];
  const refused: [string, string][] = [];
  for (const url of corpus) {
    const result = await call(url);
    refused.push([url, String(result["error"] ?? `ALLOWED ${result["status"]}`)]);
  }
  for (const [url, error] of refused) assert.match(error!, /^TypeError: egress_denied: /, url);
  const reasons = new Map(refused);
  assert.match(reasons.get("http://2130706433/")!, /127\.0\.0\.0\/8 loopback/);
  assert.match(reasons.get("http://169.254.169.254/latest/meta-data/")!, /metadata/);
  assert.match(reasons.get("file:///etc/passwd")!, /scheme file/);
  const logs = await node.admin.readLogs("client", { limit: 1000 });
  assert.ok(logs.some((l) => l.level === "warn" && l.message.includes("egress_denied")), "refusals are logged");
});

test("a request may make 50 subrequests, and at most 6 run at once", async () => {
  const results = (await call(`${origin}/echo`, "many")) as unknown as string[];
  assert.equal(results.filter((r) => r === "ok").length, 50);
  assert.match(results[50]!, /too many subrequests/);
  maxInFlight = 0;
  const statuses = (await call(`${origin}/slow`, "parallel")) as unknown as number[];
  assert.deepEqual(statuses, Array(20).fill(201));
  assert.ok(maxInFlight <= 6 && maxInFlight >= 2, `at most 6 simultaneous connections, saw ${maxInFlight}`);
});

test("every fetch is logged with the invocation that made it", async () => {
  const res = await fetch(`${node.url}/fn/client?url=${encodeURIComponent(`${origin}/echo`)}`);
  const id = res.headers.get("x-flick-invocation-id");
  await res.text();
  const lines = (await node.admin.readLogs("client")).filter((l) => l.invocationId === id && l.request === undefined);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!.message, new RegExp(`^fetch GET ${origin}/echo → 201 \\(\\d+ ms\\)$`));
});
