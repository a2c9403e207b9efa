// Placement across nodes (docs/cluster.md, "Placement and forwarding"), on three NATS
// servers and three Flick nodes: node-1 in zone a, node-2 and node-3 in zone b. A function
// pinned to zone b answers through node-1, which forwards it; its provisioned instances
// are dealt over the nodes that may run it, and move when one of them is killed.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { deploySource } from "../support/functions.ts";
import { startFlickCluster, type FlickCluster } from "../support/flick-cluster.ts";
import type { TestNode } from "../support/node-process.ts";

const zones = ["a", "b", "b"];
let cluster: FlickCluster | undefined;
let nodes: TestNode[] = [];
before(async () => {
  cluster = await startFlickCluster({ nodes: 3, argsOf: (i) => ["--labels", `zone=${zones[i]}`] });
  nodes = cluster.nodes.map((n) => n!);
});
after(() => cluster?.stop());

/** The function's provisioned instances on a node, from its /metrics. */
async function provisionedOn(node: TestNode, fn: string): Promise<number> {
  const res = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  const text = await res.text();
  const line = text.split("\n").find((l) => l.startsWith("flick_instances{") && l.includes(`function="${fn}"`) && l.includes(`state="provisioned"`));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/** Asks until `ok` holds of what `read` gives; the test's timeout bounds it. */
async function until<T>(signal: AbortSignal, read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (ok(value) || signal.aborted) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function everyNodeListsThree(signal: AbortSignal): Promise<void> {
  for (const node of nodes) await until(signal, () => node.admin.listNodes(), (n) => n.length === 3);
}

test("a function pinned to zone b answers through the node in zone a, forwarded; its provisioned instances go to zone b's nodes", { timeout: 120_000 }, async (t) => {
  await everyNodeListsThree(t.signal);
  await deploySource(nodes[0]!.admin, "pinned", `export default { fetch: () => new Response("ran") };`);
  await nodes[0]!.admin.scale("pinned", { pin: { zone: "b" }, minInstances: 2 });
  // Through zone a: forwarded to a zone-b node.
  const res = await until(t.signal, () => fetch(`${nodes[0]!.url}/fn/pinned`), (r) => r.headers.get("x-flick-forwarded-to") !== null);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ran");
  assert.ok(["node-2", "node-3"].includes(res.headers.get("x-flick-forwarded-to")!), `forwarded to ${res.headers.get("x-flick-forwarded-to")}`);
  assert.match(res.headers.get("x-flick-invocation-id") ?? "", /^[0-9a-f-]{36}$/, "the running node's invocation id comes back");
  // Through zone b: served there, not forwarded.
  for (const node of nodes.slice(1)) {
    const here = await fetch(`${node.url}/fn/pinned`);
    assert.equal(here.status, 200);
    assert.equal(await here.text(), "ran");
    assert.equal(here.headers.get("x-flick-forwarded-to"), null);
  }
  // Two provisioned instances over zone b's two nodes: one each; none in zone a.
  for (const [i, want] of [0, 1, 1].entries()) {
    assert.equal(await until(t.signal, () => provisionedOn(nodes[i]!, "pinned"), (n) => n === want), want, `node-${i + 1}`);
  }
});

test("a request marked as forwarded is never forwarded again: through zone a it is refused (the pin holds), not run there", { timeout: 60_000 }, async () => {
  const res = await fetch(`${nodes[0]!.url}/fn/pinned`, { headers: { "x-flick-forwarded-by": "node-2" } });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get("x-flick-error"), "no_capacity");
  await res.body?.cancel();
});

test("a private function forwarded to another node is still checked there: no token 401, another tenant's 403, its own 200", { timeout: 60_000 }, async (t) => {
  const ownerToken = (await nodes[0]!.admin.createTenant("owner")).token;
  const owner = new FlickClient(nodes[0]!.url, ownerToken);
  const other = (await nodes[0]!.admin.createTenant("other")).token;
  await deploySource(owner, "secretive", `export default { fetch: async (r) => new Response("mine " + (await r.text()).length) };`, { private: true });
  await owner.scale("secretive", { pin: { zone: "b" } });
  const via = `${nodes[0]!.url}/fn/secretive`;
  const anonymous = await until(t.signal, () => fetch(via), (r) => r.headers.get("x-flick-forwarded-to") !== null);
  assert.equal(anonymous.status, 401);
  await anonymous.body?.cancel();
  const stranger = await fetch(via, { headers: { authorization: `Bearer ${other}` } });
  assert.equal(stranger.status, 403);
  assert.ok(stranger.headers.get("x-flick-forwarded-to") !== null);
  await stranger.body?.cancel();
  // Its own token, with a body: the body goes along whole.
  const own = await fetch(via, { method: "POST", body: "x".repeat(100_000), headers: { authorization: `Bearer ${ownerToken}` } });
  assert.equal(own.status, 200);
  assert.equal(await own.text(), "mine 100000");
});
