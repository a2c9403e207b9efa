// A node with no room for a request passes it to another node that may run it
// (docs/cluster.md, "Placement and forwarding"): node-1 holds one isolate at most
// (`--host-slots 1`); while a request keeps its one instance busy, a request for another
// function through node-1 is answered by node-2, not refused.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { startFlickCluster, type FlickCluster } from "../support/flick-cluster.ts";
import type { TestNode } from "../support/node-process.ts";
import { startSignalServer, type SignalServer } from "../support/signal-server.ts";

let cluster: FlickCluster | undefined;
let signals: SignalServer | undefined;
let nodes: TestNode[] = [];
before(async () => {
  signals = await startSignalServer();
  cluster = await startFlickCluster({ nodes: 2, args: ["--egress-allow", "127.0.0.1"], argsOf: (i) => (i === 0 ? ["--host-slots", "1"] : []) });
  nodes = cluster.nodes.map((n) => n!);
});
after(async () => {
  signals?.release("busy");
  await cluster?.stop();
  await signals?.close();
});

test("a request node-1 has no room for is answered by node-2; one marked as forwarded is refused 429 instead", { timeout: 120_000 }, async (t) => {
  for (;;) {
    if ((await nodes[0]!.admin.listNodes()).length === 2 || t.signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await deploySource(nodes[0]!.admin, "holder", `export default { fetch: async (_r, env) => { await fetch(env.SIGNAL + "/hold/busy"); return new Response("held"); } };`, { env: { SIGNAL: signals!.url } });
  await deploySource(nodes[0]!.admin, "other", `export default { fetch: () => new Response("other ran") };`);
  // node-1's one isolate is busy with holder until the test releases it.
  const held = fetch(`${nodes[0]!.url}/fn/holder`);
  await signals!.arrived("hold/busy");
  // Hosts report what they run to their node's scheduler now and then: once it counts holder busy, node-1 is full.
  for (;;) {
    const metrics = await (await fetch(`${nodes[0]!.url}/metrics`, { headers: { authorization: `Bearer ${nodes[0]!.adminToken}` } })).text();
    if (/^flick_instances\{[^}]*function="holder"[^}]*state="busy"[^}]*\} 1$/m.test(metrics) || t.signal.aborted) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const res = await fetch(`${nodes[0]!.url}/fn/other`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "other ran");
  assert.equal(res.headers.get("x-flick-forwarded-to"), "node-2");
  // The one-hop rule: already forwarded once, it stays, and node-1 has no room.
  const refused = await fetch(`${nodes[0]!.url}/fn/other`, { headers: { "x-flick-forwarded-by": "node-2" } });
  assert.equal(refused.status, 429);
  assert.equal(refused.headers.get("x-flick-error"), "no_capacity");
  await refused.body?.cancel();
  signals!.release("busy");
  const first = await held;
  assert.equal(await first.text(), "held");
  assert.equal(first.headers.get("x-flick-forwarded-to"), null, "node-1 ran holder itself");
});
