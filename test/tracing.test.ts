// Spans and their export (issue 13, point 2): a node started with --otlp-endpoint sends
// the spans of sampled invocations to a real OTLP/HTTP receiver (src/telemetry/otlp-span-batch.ts). A request through an outbound fetch and a service binding arrives as one trace
// under the client's traceparent; async invocations and queue messages continue the trace
// that queued them; function logs are exported too; `flick trace ID` prints the tree.
// What a hostile client or tenant does with tracing is in test/hostile/trace-abuse.test.ts.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { flick } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { startHeaderRecorder, type HeaderRecorder } from "./support/header-recorder.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";
import { OtlpReceiver, type ReceivedSpan } from "./support/otlp-receiver.ts";

let node: TestNode;
let upstreamUrl: string;
const receiver = new OtlpReceiver();
let upstream: HeaderRecorder;
const cwd = tempDir("flick-tracing-");

const traceId = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
const clientSpan = "b7ad6b7169203331";

before(async () => {
  await receiver.start();
  upstream = await startHeaderRecorder();
  upstreamUrl = `${upstream.url}/path?secret=hunter2`;
  // --trace-sample 0: only what a client marks sampled is recorded, so every count below is exact.
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1", "--otlp-endpoint", receiver.url, "--trace-sample", "0"] });
  await deploySource(node.admin, "callee", `export default { async fetch(r) {
    console.log("callee says hi");
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode("x"));
    return new Response("from callee");
  } };`);
  await deploySource(node.admin, "caller", `export default { async fetch(request, env) {
    await (await fetch(new URL(request.url).searchParams.get("to"))).text();
    return new Response(await (await env.CALLEE.fetch("http://callee/")).text());
  } };`, { serviceBindings: { CALLEE: "callee" } });
  await deploySource(node.admin, "consumer", `export default { async queue(batch) { for (const m of batch.messages) m.ack(); } };`);
  await deploySource(node.admin, "producer", `export default { async fetch(r, env) { await env.JOBS.send("job"); return new Response("sent"); } };`, { queueBindings: { JOBS: "consumer" } });
});
after(async () => {
  upstream?.close();
  receiver.close();
  await node?.kill();
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
  rmSync(cwd, { recursive: true, force: true });
});

const byName = (spans: ReceivedSpan[], name: string) => spans.filter((s) => s.name === name);
const one = (spans: ReceivedSpan[], name: string) => {
  const found = byName(spans, name);
  assert.equal(found.length, 1, `one ${name} span in ${spans.map((s) => s.name).join(", ")}`);
  return found[0]!;
};

test("a request through an outbound fetch and a service binding arrives at the OTLP receiver as one trace under the client's span", { timeout: 60_000 }, async (t) => {
  const id = traceId();
  upstream.seen.length = 0;
  const res = await fetch(`${node.url}/fn/caller?to=${encodeURIComponent(upstreamUrl)}`, { headers: { traceparent: `00-${id}-${clientSpan}-01`, tracestate: "congo=t61" } });
  assert.equal(await res.text(), "from callee");
  const invocation = res.headers.get("x-flick-invocation-id")!;
  // Both invocations' request spans and the crypto span: the callee ends before the caller.
  const spans = await receiver.until(() => {
    const got = receiver.trace(id);
    return got.filter((s) => s.name.startsWith("GET /fn/")).length === 2 && got.some((s) => s.name === "flick.logs.commit") ? got : undefined;
  }, t.signal);

  const root = one(spans, "GET /fn/caller");
  assert.equal(root.parentSpanId, clientSpan, "the caller's request span is a child of the client's span");
  assert.equal(root.kind, 2 /* SERVER in OTLP's enum */);
  assert.equal(root.attributes["flick.invocation_id"], invocation);
  assert.equal(root.attributes["http.response.status_code"], 200);
  assert.equal(root.attributes["flick.cold"], true);
  assert.equal(root.resource["service.name"], "flick");
  for (const name of ["flick.admission", "flick.execution", "flick.cold_start"]) {
    assert.ok(spans.some((s) => s.name === name && s.parentSpanId === root.spanId), `${name} under the caller's request span`);
  }
  const execution = spans.find((s) => s.name === "flick.execution" && s.parentSpanId === root.spanId)!;
  const cold = spans.find((s) => s.name === "flick.cold_start" && s.parentSpanId === root.spanId)!;
  assert.match(String(cold.attributes["flick.cold_start.kind"]), /^(pool|new_isolate)$/);

  // The outbound fetch's span is the parent the upstream saw, and no secret of its URL is in it.
  const fetchSpan = one(spans, "fetch GET");
  assert.equal(fetchSpan.parentSpanId, execution.spanId);
  assert.equal(fetchSpan.kind, 3 /* CLIENT */);
  assert.equal(upstream.seen[0]!["traceparent"], `00-${id}-${fetchSpan.spanId}-01`);
  assert.equal(upstream.seen[0]!["tracestate"], "congo=t61");
  assert.equal(fetchSpan.attributes["url.full"], upstreamUrl.replace(/\?.*$/, ""));
  assert.equal(fetchSpan.attributes["http.response.status_code"], 200);

  // The service binding's span is the parent of the callee's request span.
  const binding = one(spans, "flick.service CALLEE");
  assert.equal(binding.parentSpanId, execution.spanId);
  const callee = one(spans, "GET /fn/callee");
  assert.equal(callee.parentSpanId, binding.spanId);
  const calleeExecution = spans.find((s) => s.name === "flick.execution" && s.parentSpanId === callee.spanId)!;
  assert.equal(one(spans, "crypto.subtle.digest").parentSpanId, calleeExecution.spanId);
  // The caller's fetch wrote a log line: the answer waited for it to be stored.
  assert.equal(one(spans, "flick.logs.commit").parentSpanId, root.spanId);
  for (const s of spans) assert.ok(s.endNs >= s.startNs, `${s.name} ends after it starts`);
  assert.deepEqual(receiver.rejected, []);

  // The callee's console line is exported as an OTLP log record of its invocation.
  const calleeInvocation = String(callee.attributes["flick.invocation_id"]);
  const log = await receiver.until(() => receiver.logs.find((l) => l.body === "callee says hi"), t.signal);
  assert.equal(log.attributes["flick.invocation_id"], calleeInvocation);
  assert.equal(log.attributes["flick.function"], "callee");

  // flick trace prints the tree the node kept.
  const printed = await flick(["trace", invocation, "--data-dir", node.dataDir], {}, cwd);
  assert.equal(printed.code, 0, printed.stderr);
  t.diagnostic(printed.stdout);
  assert.match(printed.stdout, new RegExp(`^trace ${id}`));
  for (const name of ["GET /fn/caller", "├─ flick.admission", "flick.execution", "fetch GET", "flick.service CALLEE", "GET /fn/callee", "crypto.subtle.digest"]) {
    assert.ok(printed.stdout.includes(name), `${name} in:\n${printed.stdout}`);
  }
  const json = JSON.parse((await flick(["trace", invocation, "--json", "--data-dir", node.dataDir], {}, cwd)).stdout) as { traceId: string; spans: unknown[] };
  assert.equal(json.traceId, id);
  assert.equal(json.spans.length, spans.length, "the node keeps what it exported");
});

test("a warm request that only ran is one span: its execution folds into the request span, CPU time included", { timeout: 60_000 }, async (t) => {
  await deploySource(node.admin, "plain", `export default { fetch: () => new Response("plain") };`);
  // Warm first, unsampled: the sampled request below makes no cold start.
  assert.equal(await (await fetch(`${node.url}/fn/plain`)).text(), "plain");
  const id = traceId();
  assert.equal(await (await fetch(`${node.url}/fn/plain`, { headers: { traceparent: `00-${id}-${clientSpan}-01` } })).text(), "plain");
  const spans = await receiver.until(() => (receiver.trace(id).some((s) => s.name === "GET /fn/plain") ? receiver.trace(id) : undefined), t.signal);
  // (An admission span may come too, when the host had to ask for the tenant's token.)
  assert.deepEqual(spans.map((s) => s.name).filter((n) => n !== "flick.admission"), ["GET /fn/plain"]);
  const root = one(spans, "GET /fn/plain");
  assert.equal(typeof root.attributes["flick.cpu_ms"], "number");
  assert.equal(root.attributes["flick.cold"], false);
});

test("an unsampled request records nothing; flick trace says why", { timeout: 60_000 }, async (t) => {
  const quiet = traceId();
  const res = await fetch(`${node.url}/fn/callee`, { headers: { traceparent: `00-${quiet}-${clientSpan}-00` } });
  await res.text();
  const unsampled = res.headers.get("x-flick-invocation-id")!;
  // A sampled request after it, on the same host: once its spans are in, the first one's would be too.
  const loud = traceId();
  await (await fetch(`${node.url}/fn/callee`, { headers: { traceparent: `00-${loud}-${clientSpan}-01` } })).text();
  await receiver.until(() => (receiver.trace(loud).some((s) => s.name === "GET /fn/callee") ? true : undefined), t.signal);
  assert.deepEqual(receiver.trace(quiet), []);
  const printed = await flick(["trace", unsampled, "--data-dir", node.dataDir], {}, cwd);
  assert.equal(printed.code, 1);
  assert.match(printed.stderr, /no trace kept for invocation .*not sampled.*--trace-sample/);
});

test("an async invocation's attempt continues the API caller's trace, under the span that queued it", { timeout: 60_000 }, async (t) => {
  const id = traceId();
  const res = await fetch(`${node.url}/api/v1/functions/callee/invocations`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json", traceparent: `00-${id}-${clientSpan}-01` },
    body: JSON.stringify({ mode: "async", data: "hello" }),
  });
  assert.equal(res.status, 202);
  const { id: invocation } = (await res.json()) as { id: string };
  const spans = await receiver.until(() => {
    const got = receiver.trace(id);
    return got.some((s) => s.name === "POST /fn/callee") && got.some((s) => s.name === "flick.store.commit") ? got : undefined;
  }, t.signal);
  const queued = one(spans, `POST /api/v1/functions/callee/invocations`);
  assert.equal(queued.parentSpanId, clientSpan);
  assert.equal(queued.attributes["flick.invocation_id"], invocation);
  assert.equal(one(spans, "flick.store.commit").parentSpanId, queued.spanId);
  const attempt = one(spans, "POST /fn/callee");
  assert.equal(attempt.parentSpanId, queued.spanId);
  assert.equal(attempt.attributes["flick.invocation_id"], invocation);
  assert.equal(attempt.attributes["flick.attempt"], 1);
});

test("queue messages carry the trace: the consumer's batch is a child of the send", { timeout: 60_000 }, async (t) => {
  const id = traceId();
  await (await fetch(`${node.url}/fn/producer`, { headers: { traceparent: `00-${id}-${clientSpan}-01` } })).text();
  const spans = await receiver.until(() => {
    const got = receiver.trace(id);
    // The commit span comes from the primary, the others from the host: they arrive apart.
    return got.some((s) => s.name === "queue /fn/consumer") && got.some((s) => s.name === "flick.store.commit") ? got : undefined;
  }, t.signal);
  const send = one(spans, "flick.queue.send");
  assert.equal(send.kind, 4 /* PRODUCER */);
  assert.equal(one(spans, "flick.store.commit").parentSpanId, send.spanId);
  assert.equal(one(spans, "queue /fn/consumer").parentSpanId, send.spanId);
});

test("bad --trace-sample, --otlp-endpoint and OTLP protocol values are refused with how to fix them", { timeout: 60_000 }, async () => {
  const dir = tempDir("flick-trace-flags-");
  try {
    const sample = await flick(["up", "--port", "0", "--data-dir", dir, "--trace-sample", "2"], {}, cwd);
    assert.equal(sample.code, 1);
    assert.match(sample.stderr, /--trace-sample 2: expected a probability from 0 to 1, or a percentage/);
    const endpoint = await flick(["up", "--port", "0", "--data-dir", dir, "--otlp-endpoint", "grpc://collector:4317"], {}, cwd);
    assert.equal(endpoint.code, 1);
    assert.match(endpoint.stderr, /--otlp-endpoint grpc:\/\/collector:4317: only http:\/\/ and https:\/\/ \(OTLP\/HTTP\)/);
    const protocol = await flick(["up", "--port", "0", "--data-dir", dir, "--otlp-endpoint", "http://127.0.0.1:4318"], { OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }, cwd);
    assert.equal(protocol.code, 1);
    assert.match(protocol.stderr, /OTEL_EXPORTER_OTLP_PROTOCOL=grpc: .*set it to http\/protobuf \(the default\) or http\/json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

