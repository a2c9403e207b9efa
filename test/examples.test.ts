// `npm start` = `flick up --examples`: the examples answer at once, the Hono app included.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ args: ["--examples"] });
});
after(() => node.kill());

test("flick up prints the URL and the deployed examples", () => {
  assert.match(node.output(), new RegExp(`Flick is up at ${node.url.replace(/[.]/g, "\\.")}`));
  for (const name of ["hello", "json-api", "hono-app"]) assert.match(node.output(), new RegExp(`${node.url}/fn/${name}`));
});

test("hello answers", async () => {
  const res = await fetch(`${node.url}/fn/hello`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "Hello from Flick!\n");
  assert.ok(res.headers.get("x-flick-invocation-id"));
});

test("the JSON API routes, parses the query and the body, and rejects bad JSON", async () => {
  assert.deepEqual(await (await fetch(`${node.url}/fn/json-api/greet?name=Ada`)).json(), { message: "Hello, Ada!" });
  const sum = await fetch(`${node.url}/fn/json-api/sum`, { method: "POST", body: JSON.stringify({ numbers: [1, 2, 3.5] }) });
  assert.deepEqual(await sum.json(), { sum: 6.5, count: 3 });
  const bad = await fetch(`${node.url}/fn/json-api/sum`, { method: "POST", body: "{nope" });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get("x-flick-error"), null, "the function's own 400, not a platform error");
  assert.equal((await fetch(`${node.url}/fn/json-api/missing`)).status, 404);
});

test("the Hono app routes with params, query and JSON bodies", async () => {
  assert.equal(await (await fetch(`${node.url}/fn/hono-app/`)).text(), "Hello Hono on Flick!");
  assert.deepEqual(await (await fetch(`${node.url}/fn/hono-app/posts/42?page=3`)).json(), { id: "42", page: "3" });
  const created = await fetch(`${node.url}/fn/hono-app/posts`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ title: "t" }) });
  assert.equal(created.status, 201);
  assert.deepEqual(await created.json(), { title: "t" });
  assert.equal((await fetch(`${node.url}/fn/hono-app/nowhere`)).status, 404);
});

test("starting again with --examples leaves the user's versions of the examples alone", async () => {
  // The user changed an example after the first start.
  await node.admin.deploy("hello", { code: `export default { fetch: () => new Response("mine") };` });
  const before = await node.admin.listVersions("hello");
  await node.kill();
  const again = await startTestNode({ dataDir: node.dataDir, args: ["--examples"] });
  try {
    // The same versions (their preview URLs name the new port).
    const withoutUrl = (list: typeof before) => list.map(({ previewUrl: _url, ...v }) => v);
    assert.deepEqual(withoutUrl(await again.admin.listVersions("hello")), withoutUrl(before));
    assert.equal(await (await fetch(`${again.url}/fn/hello`)).text(), "mine");
    assert.match(again.output(), /examples {5}not deployed: this node already has functions/);
  } finally {
    await again.kill();
  }
});

test("flick up on a port already in use says so and exits 1", async () => {
  const { createServer } = await import("node:net");
  const { flick } = await import("./support/cli.ts");
  const { tempDir } = await import("./support/node-process.ts");
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
  const port = (blocker.address() as { port: number }).port;
  try {
    const result = await flick(["up", "--port", String(port), "--data-dir", tempDir(), "--hosts", "1"]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use.*--port 0`));
  } finally {
    blocker.close();
  }
});
