// What a hostile client or tenant does with tracing (issue 13, point 2), each refused by a
// guard a test here breaks without it:
// - marks every request sampled to make the node record (and export) all of them:
//   --trace-max-rate caps what is recorded;
// - reads another tenant's spans through a trace id it chose, or another tenant's
//   invocation id: a tenant sees only its own spans;
// - sends malformed traceparent/tracestate headers: ignored, never echoed when oversized;
// - makes its spans huge (a 15 KB URL in a failed fetch's error): names and errors are cut,
//   so the span window of a host stays small.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test, type TestContext } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { spanErrorMax, spanNameMax } from "../../src/telemetry/index.ts";
import { deploySource } from "../support/functions.ts";
import { startHeaderRecorder, type HeaderRecorder } from "../support/header-recorder.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;
let upstreamUrl: string;
let upstream: HeaderRecorder;
const traceId = () => [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, "0")).join("");
const clientSpan = "b7ad6b7169203331";

/** Polls `done` until it holds; the test's own timeout bounds a wait that never ends. */
async function until(t: TestContext, done: () => Promise<unknown>): Promise<void> {
  while (!t.signal.aborted && !(await done())) await new Promise((r) => setTimeout(r, 50));
}

before(async () => {
  upstream = await startHeaderRecorder();
  upstreamUrl = `${upstream.url}/path?secret=hunter2`;
  // --trace-sample 0: only what a client marks sampled is recorded.
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1", "--trace-sample", "0"] });
  await deploySource(node.admin, "callee", `export default { fetch: () => new Response("from callee") };`);
  await deploySource(node.admin, "caller", `export default { async fetch(request, env) {
    await (await fetch(new URL(request.url).searchParams.get("to"))).text();
    return new Response(await (await env.CALLEE.fetch("http://callee/")).text());
  } };`, { serviceBindings: { CALLEE: "callee" } });
});
after(async () => {
  upstream?.close();
  await node?.kill();
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

test("odd trace headers are ignored, never trusted: no crash, no echo of a huge tracestate", { timeout: 60_000 }, async () => {
  const odd: Record<string, string>[] = [
    { traceparent: "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" },
    { traceparent: `00-${traceId()}-0000000000000000-01` },
    { traceparent: `00-${traceId()}-${clientSpan}-01-extra` },
    { traceparent: `00-${traceId()}-${clientSpan}-01`, tracestate: "x".repeat(4000) },
    { traceparent: "\u00e9".repeat(60) },
  ];
  for (const headers of odd) {
    upstream.seen.length = 0;
    const res = await fetch(`${node.url}/fn/caller?to=${encodeURIComponent(upstreamUrl)}`, { headers });
    assert.equal(res.status, 200, JSON.stringify(headers));
    await res.text();
    assert.match(String(upstream.seen[0]!["traceparent"]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    assert.equal(upstream.seen[0]!["tracestate"], undefined, "a tracestate over 512 bytes is dropped");
  }
});


test("a tenant sees only its own spans of a trace, and another tenant's invocation not at all", { timeout: 60_000 }, async (t) => {
  const acme = await node.admin.createTenant("trace-acme");
  const acmeClient = new FlickClient(node.url, acme.token);
  await deploySource(acmeClient, "acme-fn", `export default { fetch: () => new Response("acme") };`);
  // One trace id through two tenants' functions: the id is the client's to choose.
  const id = traceId();
  const mine = await fetch(`${node.url}/fn/acme-fn`, { headers: { traceparent: `00-${id}-${clientSpan}-01` } });
  await mine.text();
  const theirs = await fetch(`${node.url}/fn/callee`, { headers: { traceparent: `00-${id}-${clientSpan}-01` } });
  await theirs.text();
  // A host records an invocation's spans when it ends, which may be just after the answer.
  await until(t, async () => (await node.admin.getTrace(mine.headers.get("x-flick-invocation-id")!).catch(() => undefined))?.spans.some((s) => s.name === "GET /fn/callee"));
  const seenByAcme = await acmeClient.getTrace(mine.headers.get("x-flick-invocation-id")!);
  assert.ok(seenByAcme.spans.length > 0);
  for (const s of seenByAcme.spans) assert.notEqual(s.attributes["flick.function"], "callee", "no span of another tenant's function");
  assert.ok(!seenByAcme.spans.some((s) => s.name === "GET /fn/callee"));
  await assert.rejects(acmeClient.getTrace(theirs.headers.get("x-flick-invocation-id")!), /no trace kept/);
  const all = await node.admin.getTrace(mine.headers.get("x-flick-invocation-id")!);
  assert.ok(all.spans.some((s) => s.name === "GET /fn/callee"), "the admin sees the whole trace");
});


test("--trace-max-rate caps what is recorded, however many requests come marked sampled", { timeout: 60_000 }, async () => {
  const capped = await startTestNode({ hosts: 1, args: ["--trace-sample", "0", "--trace-max-rate", "5"] });
  try {
    await deploySource(capped.admin, "flood", `export default { fetch: () => new Response("ok") };`);
    const started = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const res = await fetch(`${capped.url}/fn/flood`, { headers: { traceparent: `00-${traceId()}-${clientSpan}-01` } });
      await res.text();
      ids.push(res.headers.get("x-flick-invocation-id")!);
    }
    const seconds = (performance.now() - started) / 1000;
    let recorded = 0;
    for (const id of ids) if (await capped.admin.getTrace(id).then(() => true, () => false)) recorded++;
    // A second's burst (5), then 5 a second while the 40 requests ran.
    assert.ok(recorded >= 5, `the first ${recorded} were recorded`);
    assert.ok(recorded <= 5 + Math.ceil(seconds * 5) + 1, `${recorded} recorded in ${seconds.toFixed(2)} s, over a cap of 5 a second`);
    assert.ok(recorded < 40);
  } finally {
    await capped.kill();
    rmSync(capped.dataDir, { recursive: true, force: true });
  }
});

test("a tenant cannot make its spans huge: names and error messages are cut", { timeout: 60_000 }, async (t) => {
  // Refused by the egress policy (a private address), with the whole 15 KB URL in the error.
  await deploySource(node.admin, "bloat", `export default { async fetch() {
    await fetch("http://10.0.0.1/" + "a".repeat(15000)).catch(() => {});
    return new Response("done");
  } };`);
  const res = await fetch(`${node.url}/fn/bloat`, { headers: { traceparent: `00-${traceId()}-${clientSpan}-01` } });
  assert.equal(await res.text(), "done");
  const id = res.headers.get("x-flick-invocation-id")!;
  let spans: { name: string; error: string | null }[] = [];
  await until(t, async () => (spans = (await node.admin.getTrace(id).catch(() => ({ spans: [] }))).spans).some((s) => s.name === "fetch GET"));
  const denied = spans.find((s) => s.name === "fetch GET")!;
  assert.match(denied.error ?? "", /^egress_denied/);
  for (const s of spans) {
    assert.ok(s.name.length <= spanNameMax, `${s.name.length}-character span name`);
    assert.ok((s.error ?? "").length <= spanErrorMax + 1, `${(s.error ?? "").length}-character span error`);
  }
});
