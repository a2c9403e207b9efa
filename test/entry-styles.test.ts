// Functions written for other platforms' entry styles run unchanged: Workers' service-worker
// syntax (addEventListener("fetch")) and Vercel Edge's default-exported function.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
before(async () => {
  node = await startTestNode({ hosts: 1 });
});
after(() => node.kill());

test("service-worker syntax: a fetch listener answers with event.respondWith, bindings are globals", async () => {
  await deploySource(
    node.admin,
    "sw",
    `addEventListener("fetch", (event) => {
      event.waitUntil(Promise.resolve().then(() => console.log("after")));
      event.respondWith(handle(event.request, event instanceof FetchEvent));
    });
    async function handle(request, isFetchEvent) {
      return new Response(new URL(request.url).pathname + " " + GREETING + " " + isFetchEvent);
    }`,
    { env: { GREETING: "hello" } },
  );
  const res = await fetch(`${node.url}/fn/sw/path`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "/path hello true");
});

test("a fetch listener that never calls respondWith is a function error that says so", async () => {
  await deploySource(node.admin, "sw-silent", `addEventListener("fetch", () => {});`);
  const res = await fetch(`${node.url}/fn/sw-silent`);
  assert.equal(res.status, 502);
  assert.match(await res.text(), /no \\"fetch\\" listener called event\.respondWith\(\)/);
});

test("Vercel Edge style: export default function handler(request, context)", async () => {
  await deploySource(
    node.admin,
    "edge",
    `export default async function handler(request, context) {
      context.waitUntil(Promise.resolve());
      return Response.json({ method: request.method, waitUntil: typeof context.waitUntil });
    }`,
  );
  const res = await fetch(`${node.url}/fn/edge`, { method: "POST", body: "x" });
  assert.deepEqual(await res.json(), { method: "POST", waitUntil: "function" });
});

test("a module with neither a default export nor a fetch listener is refused at deploy", async () => {
  await assert.rejects(deploySource(node.admin, "nothing", `export const x = 1;`), /no default export and no "fetch" listener/);
});
