// The node prints one access line per function request: time, function, method, path
// (never the query), status, duration, cold start and invocation id; as JSON with
// `--log-format json`, nothing with `off`. (A path that tries to forge a line:
// test/hostile/access-log-forging.test.ts.)
import assert from "node:assert/strict";
import { once } from "node:events";
import { test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

/** Waits until the node's output has a line containing `id`, and returns it. */
async function lineWith(node: TestNode, id: string): Promise<string> {
  for (;;) {
    const line = node.output().split("\n").find((l) => l.includes(id));
    if (line !== undefined) return line;
    await new Promise((resolve) => node.process.stdout!.once("data", resolve));
  }
}

test("text access lines: function, method, path without the query, status, ms, cold, invocation id", { timeout: 60_000 }, async () => {
  const node = await startTestNode({ hosts: 1 });
  try {
    await deploySource(node.admin, "hello", `export default { fetch: () => new Response("hi") };`);
    const first = await fetch(`${node.url}/fn/hello/some/path?token=s3cret`);
    await first.text();
    const id = first.headers.get("x-flick-invocation-id")!;
    const line = await lineWith(node, id);
    assert.match(line, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z hello GET /fn/hello/some/path 200 \\d+\\.\\dms cold id=${id}$`));
    assert.doesNotMatch(node.output(), /s3cret/);

    const warm = await fetch(`${node.url}/fn/hello`);
    await warm.text();
    assert.match(await lineWith(node, warm.headers.get("x-flick-invocation-id")!), / hello GET \/fn\/hello 200 \d+\.\dms id=/);

    const missing = await fetch(`${node.url}/fn/nope`);
    await missing.text();
    assert.match(await lineWith(node, missing.headers.get("x-flick-invocation-id")!), / nope GET \/fn\/nope 404 /);

  } finally {
    await node.kill();
  }
});

test("--log-format json prints each request as a JSON object; off prints none", { timeout: 60_000 }, async () => {
  const json = await startTestNode({ hosts: 1, args: ["--log-format", "json"] });
  try {
    await deploySource(json.admin, "hello", `export default { fetch: () => new Response("hi") };`);
    const res = await fetch(`${json.url}/fn/hello?q=1`);
    await res.text();
    const id = res.headers.get("x-flick-invocation-id")!;
    const entry = JSON.parse(await lineWith(json, id)) as Record<string, unknown>;
    assert.deepEqual(Object.keys(entry), ["time", "function", "method", "path", "status", "ms", "cold", "invocationId"]);
    assert.deepEqual({ ...entry, time: typeof entry["time"], ms: typeof entry["ms"] }, { time: "string", function: "hello", method: "GET", path: "/fn/hello", status: 200, ms: "number", cold: true, invocationId: id });
  } finally {
    await json.kill();
  }
  const quiet = await startTestNode({ hosts: 1, args: ["--log-format", "off"] });
  try {
    await deploySource(quiet.admin, "hello", `export default { fetch: () => new Response("hi") };`);
    const res = await fetch(`${quiet.url}/fn/hello`);
    await res.text();
    const id = res.headers.get("x-flick-invocation-id")!;
    // All the node printed, to the end of its output.
    await quiet.kill();
    if (!quiet.process.stdout!.readableEnded) await once(quiet.process.stdout!, "end");
    assert.ok(!quiet.output().includes(id), quiet.output());
    assert.match(quiet.output(), /Press Ctrl-C to stop\./);
  } finally {
    await quiet.kill();
  }
});
