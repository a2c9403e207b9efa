// CompressionStream / DecompressionStream inside a function, checked against Node's zlib.
import assert from "node:assert/strict";
import { deflateRawSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await node.admin.deploy("zip", {
    code: `export default { async fetch(request) {
      const url = new URL(request.url);
      const format = url.searchParams.get("format") ?? "gzip";
      try {
        if (url.pathname === "/compress") return new Response(request.body.pipeThrough(new CompressionStream(format)));
        if (url.pathname === "/decompress") return new Response(await new Response(request.body.pipeThrough(new DecompressionStream(format))).arrayBuffer());
        if (url.pathname === "/roundtrip") {
          const text = "hello ".repeat(10000);
          const packed = await new Response(new Response(text).body.pipeThrough(new CompressionStream(format))).arrayBuffer();
          const back = await new Response(new Response(packed).body.pipeThrough(new DecompressionStream(format))).text();
          return Response.json({ ok: back === text, packed: packed.byteLength });
        }
        if (url.pathname === "/bad-format") { new CompressionStream("zip"); return new Response("no error"); }
      } catch (e) { return new Response(e.name + ": " + e.message, { status: 500 }); }
      return new Response("?", { status: 404 });
    } };`,
  });
});
after(() => node.kill());

test("gzip, deflate and deflate-raw round-trip inside the isolate", async () => {
  for (const format of ["gzip", "deflate", "deflate-raw"]) {
    const r = (await (await fetch(`${node.url}/fn/zip/roundtrip?format=${format}`)).json()) as { ok: boolean; packed: number };
    assert.equal(r.ok, true, format);
    assert.ok(r.packed < 1000, `${format} compressed 60 KB of repetition to ${r.packed} bytes`);
  }
});

test("what the isolate compresses, Node decompresses, and the other way round", async () => {
  const text = "The quick brown fox ".repeat(500);
  const gz = Buffer.from(await (await fetch(`${node.url}/fn/zip/compress?format=gzip`, { method: "POST", body: text })).arrayBuffer());
  assert.equal(gunzipSync(gz).toString(), text);
  const df = Buffer.from(await (await fetch(`${node.url}/fn/zip/compress?format=deflate`, { method: "POST", body: text })).arrayBuffer());
  assert.equal(inflateSync(df).toString(), text);
  const fromNode = await fetch(`${node.url}/fn/zip/decompress?format=deflate-raw`, { method: "POST", body: deflateRawSync(text) });
  assert.equal(await fromNode.text(), text);
  const gzFromNode = await fetch(`${node.url}/fn/zip/decompress?format=gzip`, { method: "POST", body: gzipSync(text) });
  assert.equal(await gzFromNode.text(), text);
});

test("corrupt input is a TypeError in the function, and unknown formats are refused", async () => {
  const bad = await fetch(`${node.url}/fn/zip/decompress?format=gzip`, { method: "POST", body: "definitely not gzip" });
  assert.equal(bad.status, 500);
  assert.match(await bad.text(), /^TypeError: /);
  const format = await fetch(`${node.url}/fn/zip/bad-format`);
  assert.match(await format.text(), /^TypeError: .*Unsupported compression format: 'zip'/);
});
