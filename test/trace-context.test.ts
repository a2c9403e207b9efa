// W3C Trace Context travels with a request (issue 13, point 2, first step): a client's
// traceparent and tracestate reach the function's outbound fetches and service binding
// calls as the same trace, each call a new child span; without one (or with a malformed
// one), everything an invocation calls shares a trace of its own; a traceparent the
// function sets itself is left alone.
import assert from "node:assert/strict";
import type { IncomingHttpHeaders } from "node:http";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { startHeaderRecorder, type HeaderRecorder } from "./support/header-recorder.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let upstreamUrl: string;
let upstream: HeaderRecorder;

before(async () => {
  upstream = await startHeaderRecorder();
  upstreamUrl = `${upstream.url}/`;
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
  await deploySource(node.admin, "callee", `export default { fetch: (r) => Response.json({ traceparent: r.headers.get("traceparent"), tracestate: r.headers.get("tracestate") }) };`);
  await deploySource(node.admin, "caller", `export default { async fetch(request, env) {
    const to = new URL(request.url).searchParams.get("to");
    const own = new URL(request.url).searchParams.get("own");
    await (await fetch(to, own === null ? {} : { headers: { traceparent: own } })).text();
    const callee = await (await env.CALLEE.fetch("http://callee/")).json();
    return Response.json({ callee });
  } };`, { serviceBindings: { CALLEE: "callee" } });
});
after(async () => {
  upstream?.close();
  await node?.kill();
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

const parts = (traceparent: unknown) => {
  const m = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(String(traceparent));
  assert.ok(m, `a W3C traceparent: ${String(traceparent)}`);
  return { traceId: m[1]!, spanId: m[2]!, flags: m[3]! };
};

async function callCaller(headers: Record<string, string>, own?: string): Promise<{ upstream: IncomingHttpHeaders; callee: { traceparent: string; tracestate: string | null } }> {
  upstream.seen.length = 0;
  const query = `to=${encodeURIComponent(upstreamUrl)}${own === undefined ? "" : `&own=${encodeURIComponent(own)}`}`;
  const res = await fetch(`${node.url}/fn/caller?${query}`, { headers });
  assert.equal(res.status, 200, await res.clone().text());
  const body = (await res.json()) as { callee: { traceparent: string; tracestate: string | null } };
  return { upstream: upstream.seen[0]!, callee: body.callee };
}

test("a client's traceparent and tracestate reach outbound fetches and service bindings, each a new child span", async () => {
  const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  const { upstream, callee } = await callCaller({ traceparent: parent, tracestate: "congo=t61rcWkgMzE" });
  const out = parts(upstream["traceparent"]);
  assert.equal(out.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.equal(out.flags, "01");
  assert.notEqual(out.spanId, "b7ad6b7169203331", "the fetch is a new span, not the client's");
  assert.equal(upstream["tracestate"], "congo=t61rcWkgMzE");
  const bound = parts(callee.traceparent);
  assert.equal(bound.traceId, "0af7651916cd43dd8448eb211c80319c");
  assert.notEqual(bound.spanId, out.spanId);
  assert.equal(callee.tracestate, "congo=t61rcWkgMzE");
});

test("without a valid traceparent, what one invocation calls shares a new trace; a function's own traceparent is kept", async () => {
  const cases: Record<string, string>[] = [{}, { traceparent: "00-00000000000000000000000000000000-b7ad6b7169203331-01" }, { traceparent: "garbage" }];
  for (const headers of cases) {
    const { upstream, callee } = await callCaller(headers);
    const out = parts(upstream["traceparent"]);
    assert.notEqual(out.traceId, "00000000000000000000000000000000");
    assert.equal(parts(callee.traceparent).traceId, out.traceId, "one trace per invocation");
  }
  const a = parts((await callCaller({})).upstream["traceparent"]).traceId;
  const b = parts((await callCaller({})).upstream["traceparent"]).traceId;
  assert.notEqual(a, b, "each invocation its own trace");
  const own = "00-11111111111111111111111111111111-2222222222222222-01";
  assert.equal((await callCaller({}, own)).upstream["traceparent"], own);
});
