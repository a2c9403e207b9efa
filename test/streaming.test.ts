// Streamed response bodies, ctx.waitUntil, and work that must not outlive its invocation.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await node.admin.deploy("stream", {
    timeoutMs: 5000,
    code: `
      let release;
      let gate = new Promise((r) => (release = r));
      export default { async fetch(request, env, ctx) {
        const path = new URL(request.url).pathname;
        if (path === "/release") { release(); gate = new Promise((r) => (release = r)); return new Response("released"); }
        if (path === "/gated") {
          const wait = gate;
          const enc = new TextEncoder();
          return new Response(new ReadableStream({
            async start(controller) {
              controller.enqueue(enc.encode("first;"));
              await wait;
              controller.enqueue(enc.encode("second;"));
              controller.close();
            },
          }), { headers: { "content-type": "text/plain" } });
        }
        if (path === "/firehose") {
          const chunk = new Uint8Array(64 * 1024).fill(120);
          return new Response(new ReadableStream({
            pull(controller) {
              if (globalThis.produced >= 4000) return controller.close();
              globalThis.produced = (globalThis.produced ?? 0) + 1;
              controller.enqueue(chunk);
            },
          }));
        }
        if (path === "/produced") return new Response(String(globalThis.produced ?? 0));
        if (path === "/bad-chunk") {
          return new Response(new ReadableStream({ start(c) { c.enqueue(new TextEncoder().encode("ok;")); c.enqueue("not bytes"); c.close(); } }));
        }
        if (path === "/wait-until") {
          ctx.waitUntil(new Promise((r) => setTimeout(r, 100)).then(() => console.log("after the response")));
          return new Response("answered");
        }
        if (path === "/wait-forever") {
          ctx.waitUntil(new Promise(() => {}));
          return new Response("answered");
        }
        if (path === "/stray-timer") {
          setTimeout(() => console.log("stray timer fired"), 50);
          return new Response("answered");
        }
        if (path === "/first-chunk") {
          const { value } = await request.body.getReader().read();
          return new Response("first " + (value.length > 0));
        }
        if (path === "/slow-reader") {
          // Reads nothing for a while, then everything: the client must not get far ahead.
          await new Promise((r) => setTimeout(r, 1000));
          let bytes = 0;
          const reader = request.body.getReader();
          for (;;) { const { done, value } = await reader.read(); if (done) break; bytes += value.length; }
          return new Response(String(bytes));
        }
        if (path === "/read-body") {
          const reader = request.body.getReader();
          let bytes = 0, chunks = 0;
          for (;;) { const { done, value } = await reader.read(); if (done) break; bytes += value.length; chunks++; }
          return Response.json({ bytes, chunks: chunks > 0, bodyUsed: request.bodyUsed });
        }
        return new Response("?", { status: 404 });
      } };`,
  });
});
after(() => node.kill());

test("a streamed response reaches the client chunk by chunk: the first chunk arrives before the handler finishes", async () => {
  const res = await fetch(`${node.url}/fn/stream/gated`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-length"), null, "chunked, not buffered");
  assert.ok(res.headers.get("x-flick-invocation-id"));
  const reader = res.body!.getReader();
  const first = await reader.read();
  // The handler cannot finish until /release runs, and we have not called it yet.
  assert.equal(new TextDecoder().decode(first.value), "first;");
  assert.equal(await (await fetch(`${node.url}/fn/stream/release`)).text(), "released");
  let rest = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    rest += new TextDecoder().decode(value);
  }
  assert.equal(rest, "second;");
});

test("a streamed body waits for a slow client instead of piling up in the node", async () => {
  const res = await fetch(`${node.url}/fn/stream/firehose`);
  const reader = res.body!.getReader();
  await reader.read();
  await new Promise((r) => setTimeout(r, 1000));
  const produced = Number(await (await fetch(`${node.url}/fn/stream/produced`)).text());
  // 4,000 chunks of 64 KiB = 250 MiB if nothing held the producer back.
  assert.ok(produced < 1000, `the function produced ${produced} chunks while the client read one`);
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
  }
  assert.ok(total > 200 * 1024 * 1024, `the whole body still arrives (${total} bytes)`);
});

test("a client that leaves mid-stream stops the invocation at once, not at its timeout", async () => {
  const controller = new AbortController();
  const res = await fetch(`${node.url}/fn/stream/gated`, { signal: controller.signal });
  const id = res.headers.get("x-flick-invocation-id");
  await res.body!.getReader().read();
  controller.abort();
  const deadline = Date.now() + 3000; // the function's timeout is 5 s
  for (;;) {
    const lines = (await node.admin.readLogs("stream")).filter((l) => l.invocationId === id);
    if (lines.some((l) => l.message === "the client disconnected; the invocation was stopped")) break;
    assert.ok(Date.now() < deadline, "the invocation kept running after its client left");
    await new Promise((r) => setTimeout(r, 50));
  }
  await (await fetch(`${node.url}/fn/stream/release`)).text();
});

test("a body chunk that is not bytes cuts the stream and logs the error", async () => {
  const res = await fetch(`${node.url}/fn/stream/bad-chunk`);
  assert.equal(res.status, 200);
  await assert.rejects(res.text());
  const lines = await node.admin.readLogs("stream");
  assert.ok(lines.some((l) => l.level === "error" && /chunks must be Uint8Array/.test(l.message)));
});

test("a request body can be read incrementally with a reader", async () => {
  const body = new Uint8Array(300_000).fill(7);
  const res = await fetch(`${node.url}/fn/stream/read-body`, { method: "POST", body });
  assert.deepEqual(await res.json(), { bytes: 300_000, chunks: true, bodyUsed: true });
});

test("a large request body reaches the handler while it is still arriving", async () => {
  const { request } = await import("node:http");
  const half = Buffer.alloc(400 * 1024, 1);
  const answer = await new Promise<string>((resolve, reject) => {
    const req = request(`${node.url}/fn/stream/first-chunk`, { method: "POST", headers: { "content-length": String(half.length * 2) } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    // Only the first half is sent until the answer is in: a node that buffered the whole body would never answer.
    req.write(half);
  });
  assert.equal(answer, "first true");
});

test("a chunked request body (no Content-Length) streams too: the handler answers before the client finished", async () => {
  const { request } = await import("node:http");
  const part = Buffer.alloc(400 * 1024, 2);
  const answer = await new Promise<string>((resolve, reject) => {
    const req = request(`${node.url}/fn/stream/first-chunk`, { method: "POST", headers: { "transfer-encoding": "chunked" } }, (res) => {
      let text = "";
      res.on("data", (d: Buffer) => (text += d.toString()));
      res.on("end", () => resolve(text));
    });
    req.on("error", reject);
    req.write(part); // and nothing more until the answer is in
  });
  assert.equal(answer, "first true");
});

test("a request body is read from the client no faster than the handler reads it (back-pressure)", async () => {
  const total = 64 * 1024 * 1024;
  const chunk = new Uint8Array(256 * 1024).fill(3);
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled >= total) return controller.close();
      pulled += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const response = fetch(`${node.url}/fn/stream/slow-reader`, { method: "POST", body, duplex: "half" } as RequestInit);
  await new Promise((r) => setTimeout(r, 700));
  const pulledWhileHandlerWaited = pulled;
  const res = await response;
  assert.equal(await res.text(), String(total), "every byte arrives in the end");
  assert.ok(
    pulledWhileHandlerWaited < 24 * 1024 * 1024,
    `the client got ${pulledWhileHandlerWaited} bytes out while the handler read nothing: only the window and socket buffers should fill`,
  );
});

test("ctx.waitUntil keeps the invocation working after the response", async () => {
  const res = await fetch(`${node.url}/fn/stream/wait-until`);
  const id = res.headers.get("x-flick-invocation-id");
  assert.equal(await res.text(), "answered");
  const deadline = Date.now() + 5000;
  for (;;) {
    const lines = (await node.admin.readLogs("stream")).filter((l) => l.invocationId === id);
    if (lines.some((l) => l.message === "after the response")) break;
    assert.ok(Date.now() < deadline, "the waitUntil work never logged");
    await new Promise((r) => setTimeout(r, 50));
  }
});

test("waitUntil work is bounded by the timeout, and timers never outlive their invocation", async () => {
  const forever = await fetch(`${node.url}/fn/stream/wait-forever`);
  const foreverId = forever.headers.get("x-flick-invocation-id");
  assert.equal(await forever.text(), "answered");
  const stray = await fetch(`${node.url}/fn/stream/stray-timer`);
  const strayId = stray.headers.get("x-flick-invocation-id");
  assert.equal(await stray.text(), "answered");
  const deadline = Date.now() + 10_000;
  for (;;) {
    const lines = (await node.admin.readLogs("stream")).filter((l) => l.invocationId === foreverId);
    if (lines.some((l) => /waitUntil\) ran past the 5000 ms limit and was cancelled/.test(l.message))) break;
    assert.ok(Date.now() < deadline, "the waitUntil work was not cut at the timeout");
    await new Promise((r) => setTimeout(r, 100));
  }
  const strayLines = (await node.admin.readLogs("stream")).filter((l) => l.invocationId === strayId);
  assert.deepEqual(strayLines.map((l) => l.message), [], "a timer set without waitUntil died with its invocation");
});
