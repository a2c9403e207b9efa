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

test("kill -9 of a zone-b node under load through zone a: at least 99% of requests succeed, and the other zone-b node takes its provisioned instance", { timeout: 120_000 }, async (t) => {
  const via = `${nodes[0]!.url}/fn/pinned`;
  const outcomes: { atMs: number; ok: boolean; to: string | null }[] = [];
  let stop = false;
  // Two clients at once, each sending its next request when the last is answered.
  const client = async () => {
    while (!stop && !t.signal.aborted) {
      const res = await fetch(via).catch(() => undefined);
      const ok = res?.status === 200 && (await res.text()) === "ran";
      if (res !== undefined && !ok) await res.body?.cancel().catch(() => undefined);
      outcomes.push({ atMs: performance.now(), ok, to: res?.headers.get("x-flick-forwarded-to") ?? null });
    }
  };
  const clients = [client(), client()];
  // Both zone-b nodes serve (each holds one of the two provisioned instances).
  await until(t.signal, async () => new Set(outcomes.map((o) => o.to)), (seen) => seen.has("node-2") && seen.has("node-3"));
  const killedAt = performance.now();
  const before = outcomes.length;
  await cluster!.nodes[2]!.kill("SIGKILL");
  t.diagnostic(`node-3 killed after ${before} requests through node-1`);
  // node-1 forwards to node-2 alone from now on; the membership drops node-3, and node-2 keeps both provisioned instances.
  await until(t.signal, () => provisionedOn(nodes[1]!, "pinned"), (n) => n === 2);
  const movedAt = performance.now();
  // A few more requests after the move, then stop.
  const after = outcomes.length;
  await until(t.signal, async () => outcomes.length, (n) => n >= after + 50);
  stop = true;
  await Promise.all(clients);
  const afterKill = outcomes.filter((o) => o.atMs > killedAt);
  const failed = outcomes.filter((o) => !o.ok).length;
  const firstBack = afterKill.find((o) => o.ok && o.to === "node-2");
  t.diagnostic(`${outcomes.length} requests, ${failed} failed; after the kill, the first answer came ${((firstBack?.atMs ?? NaN) - killedAt).toFixed(0)} ms later; node-2 held both provisioned instances ${(movedAt - killedAt).toFixed(0)} ms after the kill`);
  assert.ok(failed <= outcomes.length / 100, `${failed} of ${outcomes.length} requests failed`);
  assert.ok(afterKill.slice(-50).every((o) => o.ok && o.to === "node-2"), "after the move every request is forwarded to node-2 and answered");
  assert.equal(await provisionedOn(nodes[0]!, "pinned"), 0, "never in zone a");
});

test("async events of a pinned function queued through zone a all run, in zone b", { timeout: 120_000 }, async (t) => {
  // Through node-1 (zone a): any node may pull them; zone a defers them (no_capacity), zone b runs them.
  const ids: string[] = [];
  for (let i = 0; i < 20; i++) ids.push((await nodes[0]!.admin.invokeAsync("pinned", { mode: "async", data: i })).id);
  for (const id of ids) {
    const info = await until(t.signal, () => nodes[0]!.admin.getInvocation(id), (inv) => inv.status === "completed" || inv.status === "dead");
    assert.equal(info.status, "completed", `${id}: ${JSON.stringify(info.lastError)}`);
  }
});
