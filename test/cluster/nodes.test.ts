// Flick nodes as one platform (docs/cluster.md): three real nats-server processes with
// JetStream (R3), three Flick nodes on them (`flick up --cluster`). A function deployed
// through one node answers through each node; tokens, secrets and removal are the
// cluster's. (Two tenants racing for one name through two nodes: test/cluster/hostile-cross-tenant.test.ts.)
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
  // All at once: they race to create the default tenant, as nodes started together do.
  cluster = await startFlickCluster({ nodes: 3 });
  nodes = cluster.nodes.map((n) => n!);
});
after(() => cluster?.stop());

/** Asks `url` until `ok` holds of the answer (the deploy reaching that node); the test's timeout bounds it. */
async function answers(signal: AbortSignal, url: string, ok: (status: number, text: string) => boolean): Promise<{ status: number; text: string }> {
  for (;;) {
    const res = await fetch(url);
    const text = await res.text();
    if (ok(res.status, text) || signal.aborted) return { status: res.status, text };
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("a function deployed through one node answers through each node, its secret opened by each", { timeout: 120_000 }, async (t) => {
  const deployed = performance.now();
  await deploySource(nodes[0]!.admin, "hello", `export default { fetch: (_r, env) => new Response("hi " + env.GREETING) };`, { secrets: { GREETING: "from the cluster" } });
  for (const [i, node] of nodes.entries()) {
    const got = await answers(t.signal, `${node.url}/fn/hello`, (status) => status === 200);
    assert.deepEqual(got, { status: 200, text: "hi from the cluster" }, `node ${i + 1}`);
    t.diagnostic(`node ${i + 1} served it ${(performance.now() - deployed).toFixed(0)} ms after the deploy began`);
  }
  // One registry: the function is listed, and a node's admin token works on the others.
  const listed = performance.now();
  for (const node of nodes) assert.deepEqual((await new FlickClient(node.url, nodes[2]!.adminToken).listFunctions()).map((f) => f.name), ["hello"]);
  t.diagnostic(`three listings took ${(performance.now() - listed).toFixed(0)} ms`);
});

/** Asks node `via` for the platform's nodes until `ok` holds of their names; the test's timeout bounds it. */
async function nodeNames(signal: AbortSignal, via: TestNode, ok: (names: string[]) => boolean): Promise<string[]> {
  for (;;) {
    const names = (await via.admin.listNodes()).map((n) => n.name);
    if (ok(names) || signal.aborted) return names;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test("every node lists the cluster's nodes; a tenant may not", { timeout: 120_000 }, async (t) => {
  for (const via of nodes) assert.deepEqual(await nodeNames(t.signal, via, (n) => n.length === 3), ["node-1", "node-2", "node-3"]);
  const [first] = await nodes[1]!.admin.listNodes();
  assert.equal(first!.url, nodes[0]!.url, "each node says where it serves");
  assert.equal(first!.capacity.hosts, 1);
  const tenant = new FlickClient(nodes[0]!.url, (await nodes[0]!.admin.createTenant("curious")).token);
  await assert.rejects(tenant.listNodes(), (err: unknown) => err instanceof FlickError && err.code === "forbidden");
});

test("a function removed through one node stops answering on every node", { timeout: 120_000 }, async (t) => {
  await deploySource(nodes[1]!.admin, "brief", `export default { fetch: () => new Response("here") };`);
  for (const node of nodes) assert.equal((await answers(t.signal, `${node.url}/fn/brief`, (s) => s === 200)).status, 200);
  await nodes[1]!.admin.removeFunction("brief");
  for (const node of nodes) assert.equal((await answers(t.signal, `${node.url}/fn/brief`, (s) => s === 404)).status, 404);
});

test("kill -9 of a node under load: requests to the live nodes all succeed, and deploys go on through them", { timeout: 120_000 }, async (t) => {
  await deploySource(nodes[0]!.admin, "steady", `export default { fetch: () => new Response("ok") };`);
  for (const node of nodes) await answers(t.signal, `${node.url}/fn/steady`, (s) => s === 200);
  const live = nodes.slice(1);
  let running = true;
  const outcomes: boolean[] = [];
  // Four clients on the live nodes, each asking again as soon as it has its answer.
  const clients = Array.from({ length: 4 }, async (_, i) => {
    const url = `${live[i % live.length]!.url}/fn/steady`;
    while (running && !t.signal.aborted) {
      const ok = await fetch(url).then(async (r) => r.status === 200 && (await r.text()) === "ok", () => false);
      outcomes.push(ok);
    }
  });
  // Some answers before the kill, and some after it.
  while (outcomes.length < 200 && !t.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 10));
  await nodes[0]!.kill("SIGKILL");
  const atKill = outcomes.length;
  while (outcomes.length < atKill + 400 && !t.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 10));
  running = false;
  await Promise.all(clients);
  const failed = outcomes.filter((ok) => !ok).length;
  t.diagnostic(`${outcomes.length} requests to the live nodes, ${atKill} before the kill; ${failed} failed`);
  assert.ok(failed <= outcomes.length / 100, `at least 99% succeed: ${failed} of ${outcomes.length} failed`);
  // The others stop listing it once its heartbeats are missed for the time-to-live (10 s).
  const since = performance.now();
  assert.deepEqual(await nodeNames(t.signal, nodes[1]!, (n) => !n.includes("node-1")), ["node-2", "node-3"]);
  t.diagnostic(`node-1 left the list ${(performance.now() - since).toFixed(0)} ms after its kill`);
  // The cluster's store does not depend on the dead node: a deploy through a live one reaches the other.
  await deploySource(nodes[1]!.admin, "after-kill", `export default { fetch: () => new Response("still here") };`);
  assert.equal((await answers(t.signal, `${nodes[2]!.url}/fn/after-kill`, (s) => s === 200)).text, "still here");
});

test("a function's log lines, written on the node that ran it, are read and followed through another (node-1 is dead by now)", { timeout: 120_000 }, async (t) => {
  await deploySource(nodes[1]!.admin, "talker", `export default { fetch: (r) => { console.log("said " + new URL(r.url).search); return new Response("ok"); } };`);
  await answers(t.signal, `${nodes[1]!.url}/fn/talker?first`, (status) => status === 200);
  // Read through node-3: the line node-2 stored.
  for (const via of [nodes[2]!]) {
    const lines = await until(t.signal, () => via.admin.readLogs("talker"), (ls) => ls.some((l) => l.message === "said ?first"));
    assert.ok(lines.some((l) => l.message === "said ?first"), `read through ${via.url}`);
  }
  // Followed through node-2, while node-3 runs the function.
  const seen: string[] = [];
  const stop = new AbortController();
  let opened!: () => void;
  const open = new Promise<void>((resolve) => (opened = resolve));
  const following = nodes[1]!.admin.followLogs("talker", (line) => {
    seen.push(line.message);
    if (line.message === "said ?second") stop.abort();
  }, { signal: stop.signal, onOpen: () => opened(), sinceMs: Date.now() });
  await open;
  await answers(t.signal, `${nodes[2]!.url}/fn/talker?second`, (status) => status === 200);
  await following;
  assert.ok(seen.includes("said ?second"), `followed: ${JSON.stringify(seen)}`);
});

/** Asks until `ok` holds of what `read` gives; the test's timeout bounds it. */
async function until<T>(signal: AbortSignal, read: () => Promise<T>, ok: (value: T) => boolean): Promise<T> {
  for (;;) {
    const value = await read();
    if (ok(value) || signal.aborted) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
