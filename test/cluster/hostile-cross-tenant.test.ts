// What a hostile tenant does in a cluster (flick up --cluster) with another tenant's names,
// through a different node than the one the victim used: every node reads ownership from
// the shared registry, so deploying over, changing, removing or reading the victim's
// function is refused there too, and the victim's function is unchanged on every node.
// The platform's node list is the operator's. Racing for a new name through two nodes at
// once reaches the registry's own write check (cluster/kv-registry.ts): that test fails
// without it.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { FlickError } from "../../src/errors/index.ts";
import { deploySource } from "../support/functions.ts";
import { startFlickCluster, type FlickCluster } from "../support/flick-cluster.ts";
import type { TestNode } from "../support/node-process.ts";

let cluster: FlickCluster | undefined;
let nodes: TestNode[] = [];
before(async () => {
  cluster = await startFlickCluster({ nodes: 2 });
  nodes = cluster.nodes.map((n) => n!);
});
after(() => cluster?.stop());

const refused = (...codes: string[]) => (err: unknown) => err instanceof FlickError && codes.includes(err.code);

test("through another node, a tenant cannot take, change, remove or read another tenant's function, nor list the nodes", { timeout: 120_000 }, async (t) => {
  const victim = new FlickClient(nodes[0]!.url, (await nodes[0]!.admin.createTenant("victim")).token);
  const mallory = new FlickClient(nodes[1]!.url, (await nodes[1]!.admin.createTenant("mallory")).token);
  await deploySource(victim, "vault", `export default { fetch: (_r, env) => { console.log("victim line"); return new Response("vault " + env.KEY); } };`, { secrets: { KEY: "k1" } });
  // Wait until node 2 serves it: the victim's function is known there.
  for (;;) {
    const res = await fetch(`${nodes[1]!.url}/fn/vault`);
    if ((await res.text()) === "vault k1" || t.signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const before = await victim.getFunction("vault");

  await assert.rejects(deploySource(mallory, "vault", `export default { fetch: () => new Response("mallory was here") };`), refused("name_taken"));
  await assert.rejects(mallory.removeFunction("vault"), refused("forbidden", "function_not_found"));
  await assert.rejects(mallory.setSecret("vault", "KEY", "stolen"), refused("forbidden", "function_not_found"));
  await assert.rejects(mallory.readLogs("vault"), refused("forbidden", "function_not_found"));
  await assert.rejects(mallory.getFunction("vault"), refused("forbidden", "function_not_found"));
  await assert.rejects(mallory.listNodes(), refused("forbidden"));
  assert.deepEqual((await mallory.listFunctions()).map((f) => f.name), [], "the victim's function is not in mallory's list on any node");

  // Nothing changed, on either node.
  assert.deepEqual(await victim.getFunction("vault"), before);
  for (const node of nodes) assert.equal(await (await fetch(`${node.url}/fn/vault`)).text(), "vault k1");
});

test("racing another tenant for new names through two nodes at once: one deploy gets each name, the other 409, and the winner's code runs everywhere", { timeout: 120_000 }, async (t) => {
  const acme = new FlickClient(nodes[0]!.url, (await nodes[0]!.admin.createTenant("acme")).token);
  const globex = new FlickClient(nodes[1]!.url, (await nodes[1]!.admin.createTenant("globex")).token);
  for (let i = 0; i < 5; i++) {
    const name = `grab-${i}`;
    const results = await Promise.allSettled([
      deploySource(acme, name, `export default { fetch: () => new Response("acme") };`),
      deploySource(globex, name, `export default { fetch: () => new Response("globex") };`),
    ]);
    const winners = results.flatMap((r, j) => (r.status === "fulfilled" ? [j === 0 ? "acme" : "globex"] : []));
    const losers = results.flatMap((r) => (r.status === "rejected" ? [r.reason] : []));
    assert.equal(winners.length, 1, `${name}: ${JSON.stringify(results.map((r) => r.status))}`);
    assert.ok(refused("name_taken")(losers[0]) && (losers[0] as FlickError).status === 409, String(losers[0]));
    // The loser never overwrote the winner: the owner and the code stay the winner's on both nodes.
    const owner = winners[0] === "acme" ? acme : globex;
    assert.equal((await owner.getFunction(name)).name, name);
    for (const node of nodes) {
      let text = "";
      while (text !== winners[0] && !t.signal.aborted) {
        text = await (await fetch(`${node.url}/fn/${name}`)).text();
        if (text !== winners[0]) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(text, winners[0]);
    }
  }
});

test("a tenant cannot pose as a node: a call between nodes it forges to run another tenant's function is refused 401, and nothing runs", { timeout: 60_000 }, async () => {
  const victim = new FlickClient(nodes[0]!.url, (await nodes[0]!.admin.createTenant("victim2")).token);
  await deploySource(victim, "vault2", `export default { fetch: () => { console.log("vault2 ran"); return new Response("vault2"); } };`);
  const runs = async () => (await victim.readLogs("vault2")).filter((l) => l.message === "vault2 ran").length;
  const before = await runs();
  // The frame node-calls.ts reads: the head's length, the head, the body.
  const head = Buffer.from(JSON.stringify({ name: "vault2", version: (await victim.getFunction("vault2")).liveVersion, invocationId: "forged", request: { method: "GET", url: "http://x/", headers: [], hasBody: false } }));
  const frame = Buffer.concat([Buffer.alloc(4), head]);
  frame.writeUInt32BE(head.byteLength, 0);
  for (const signature of [undefined, `node-1;${Date.now() + 30_000};${"0".repeat(64)}`, `node-1;${Date.now() + 30_000};not-hex`]) {
    const res = await fetch(`${nodes[1]!.url}/internal/v1/invoke`, {
      method: "POST", body: frame, headers: signature === undefined ? {} : { "x-flick-node-call": signature },
    });
    assert.equal(res.status, 401, `signature ${signature}`);
    assert.equal(res.headers.get("x-flick-error"), "unauthorized");
    await res.body?.cancel();
  }
  assert.equal(await runs(), before, "the victim's function did not run");
});
