// CompressionStream / DecompressionStream inside a function, checked against Node's zlib.
import assert from "node:assert/strict";
import { brotliCompressSync, brotliDecompressSync, deflateRawSync, deflateSync, gunzipSync, gzipSync, inflateSync } from "node:zlib";
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
        if (url.pathname === "/many-bad-chunks") {
          // 40 streams that each fail on a bad chunk: each frees its slot (the limit is 16 open).
          const names = [];
          for (let i = 0; i < 40; i++) {
            const cs = new CompressionStream("gzip");
            const w = cs.writable.getWriter();
            w.write(new Uint8Array([1])).catch(() => {});
            w.write("not bytes").catch(() => {});
            const r = cs.readable.getReader();
            try { while (!(await r.read()).done); names.push("no error"); } catch (e) { names.push(e.name); }
          }
          return Response.json(names);
        }
        if (url.pathname === "/trailing") {
          const ds = new DecompressionStream(format);
          const reader = ds.readable.getReader();
          ds.writable.getWriter().write(new Uint8Array(await request.arrayBuffer())).catch(() => {});
          const first = await reader.read();
          let second;
          try { await reader.read(); second = "no error"; } catch (e) { second = e.name; }
          return Response.json({ first: new TextDecoder().decode(first.value), second });
        }
      } catch (e) { return new Response(e.name + ": " + e.message, { status: 500 }); }
      return new Response("?", { status: 404 });
    } };`,
  });
});
after(() => node.kill());

test("gzip, deflate, deflate-raw and brotli round-trip inside the isolate", async () => {
  for (const format of ["gzip", "deflate", "deflate-raw", "brotli"]) {
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

test("brotli interoperates with Node's zlib both ways", async () => {
  const text = "brotli brotli ".repeat(300);
  const br = Buffer.from(await (await fetch(`${node.url}/fn/zip/compress?format=brotli`, { method: "POST", body: text })).arrayBuffer());
  assert.equal(brotliDecompressSync(br).toString(), text);
  const back = await fetch(`${node.url}/fn/zip/decompress?format=brotli`, { method: "POST", body: brotliCompressSync(text) });
  assert.equal(await back.text(), text);
});

test("data after the end of the compressed stream: the output is read, then a TypeError", async () => {
  const body = Buffer.concat([deflateSync("hello"), Buffer.from([0])]);
  const r = (await (await fetch(`${node.url}/fn/zip/trailing?format=deflate`, { method: "POST", body })).json()) as Record<string, string>;
  assert.deepEqual(r, { first: "hello", second: "TypeError" });
});

test("a stream that errors on a bad chunk frees its slot: 40 in one request all error cleanly", async () => {
  const names = (await (await fetch(`${node.url}/fn/zip/many-bad-chunks`)).json()) as string[];
  assert.equal(names.length, 40);
  assert.deepEqual(new Set(names), new Set(["TypeError"]));
});
