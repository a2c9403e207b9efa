// Function traffic on /fn/<name>: everything passes through unchanged, both ways.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode();
  await deploySource(
    node.admin,
    "echo",
    `export default {
      async fetch(request) {
        const url = new URL(request.url);
        const body = new Uint8Array(await request.arrayBuffer());
        const headers = new Headers({
          "x-method": request.method,
          "x-path": url.pathname,
          "x-query": url.search,
          "x-seen-headers": JSON.stringify([...request.headers]),
          "content-type": "application/octet-stream",
        });
        headers.append("set-cookie", "a=1");
        headers.append("set-cookie", "b=2");
        const status = url.searchParams.get("status") ? Number(url.searchParams.get("status")) : 200;
        return new Response(status === 204 ? null : body, { status, headers });
      },
    };`,
  );
});
after(() => node.kill());

for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) {
  test(`${method} with path and query reaches the function unchanged`, async () => {
    const res = await fetch(`${node.url}/fn/echo/a/b%20c/?x=1&y=%C3%A9&x=2`, { method, headers: { "x-custom": "v1", accept: "text/plain" } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-method"), method);
    assert.equal(res.headers.get("x-path"), "/a/b%20c/");
    assert.equal(res.headers.get("x-query"), "?x=1&y=%C3%A9&x=2");
    const seen = new Map(JSON.parse(res.headers.get("x-seen-headers")!) as [string, string][]);
    assert.equal(seen.get("x-custom"), "v1");
    assert.equal(seen.get("accept"), "text/plain");
    assert.match(res.headers.get("x-flick-invocation-id")!, /^[0-9a-f-]{36}$/);
  });
}

test("the bare function URL arrives as path /", async () => {
  const res = await fetch(`${node.url}/fn/echo`);
  assert.equal(res.headers.get("x-path"), "/");
});

test("binary request bodies come back byte for byte", async () => {
  const body = randomBytes(1024 * 1024 + 17);
  const res = await fetch(`${node.url}/fn/echo/upload`, { method: "POST", body });
  assert.equal(res.status, 200);
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), body);
  assert.equal(res.headers.get("content-type"), "application/octet-stream");
});

test("response status, repeated headers and invocation ids are returned", async () => {
  const res = await fetch(`${node.url}/fn/echo?status=418`);
  assert.equal(res.status, 418);
  assert.deepEqual(res.headers.getSetCookie(), ["a=1", "b=2"]);
  const other = await fetch(`${node.url}/fn/echo`);
  assert.notEqual(res.headers.get("x-flick-invocation-id"), other.headers.get("x-flick-invocation-id"));
  assert.equal(res.headers.get("x-flick-error"), null);
});

test("204 has no body and HEAD gets headers only", async () => {
  const res = await fetch(`${node.url}/fn/echo?status=204`, { method: "POST", body: "ignored" });
  assert.equal(res.status, 204);
  assert.equal(await res.text(), "");
  const head = await fetch(`${node.url}/fn/echo`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("x-method"), "HEAD");
});

test("many concurrent requests each get their own answer", async () => {
  const answers = await Promise.all(
    Array.from({ length: 200 }, async (_, i) => {
      const res = await fetch(`${node.url}/fn/echo/${i}`, { method: "POST", body: `body-${i}` });
      return [res.headers.get("x-path"), await res.text()];
    }),
  );
  answers.forEach(([path, body], i) => assert.deepEqual([path, body], [`/${i}`, `body-${i}`]));
});
