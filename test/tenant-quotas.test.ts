// Quotas the operator sets per tenant: provisioned instances and memory (403
// quota_exceeded, naming the quota), and the log kept per tenant.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { FlickError } from "../src/errors/index.ts";
import { flick } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let acme: FlickClient;

before(async () => {
  node = await startTestNode({ hosts: 1, args: ["--tenant-max-provisioned", "3", "--tenant-max-provisioned-memory", "512", "--tenant-log-lines", "20"] });
  acme = new FlickClient(node.url, (await node.admin.createTenant("acme")).token);
});
after(() => node.kill());

const answering = (text: string) => `export default { fetch: () => new Response(${JSON.stringify(text)}) };`;
const quotaExceeded = (quota: string) => (e: unknown) =>
  e instanceof FlickError && e.code === "quota_exceeded" && e.message.includes(`${quota} quota`) && e.details?.["quota"] === quota;

test("provisioned instances and memory are capped per tenant: node defaults, per-tenant overrides, on scale and deploy", async () => {
  await deploySource(acme, "small", answering("small v1"), { memoryMiB: 64 });
  await deploySource(acme, "large", answering("large"), { memoryMiB: 128 });
  await acme.scale("small", { minInstances: 2 });
  await assert.rejects(acme.scale("large", { minInstances: 2 }), quotaExceeded("max-provisioned"));
  // On the wire: 403 with the error contract.
  const raw = await fetch(`${node.url}/api/v1/functions/large/scale`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ minInstances: 2 }),
  });
  assert.equal(raw.status, 403);
  assert.equal(raw.headers.get("x-flick-error"), "quota_exceeded");
  assert.match(((await raw.json()) as { error: { message: string } }).error.message, /tenant "acme" would reserve 4 provisioned instances .* over its max-provisioned quota of 3/);
  assert.equal((await acme.getFunction("large")).scale.minInstances, 0, "nothing was changed");

  // The operator raises acme's instance quota; memory (512 MiB, the node's) binds next.
  const set = await flick(["tenants", "set", "acme", "--max-provisioned", "10", "--data-dir", node.dataDir]);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /tenant acme: concurrency default, max-provisioned 10 \(2 used\), max-provisioned-memory default 512 MiB \(128 MiB used\)/);
  await acme.scale("large", { minInstances: 3 }); // 2 × 64 + 3 × 128 = 512 MiB
  await assert.rejects(acme.scale("large", { minInstances: 4 }), quotaExceeded("max-provisioned-memory"));
  // A deploy that raises the memory of a provisioned function counts too.
  await assert.rejects(deploySource(acme, "small", answering("small v2"), { memoryMiB: 256 }), quotaExceeded("max-provisioned-memory"));
  assert.equal(await (await fetch(`${node.url}/fn/small`)).text(), "small v1", "the old version still serves");

  const list = await flick(["tenants", "ls", "--data-dir", node.dataDir]);
  assert.match(list.stdout, /^acme +default +\S+ \S+ +5\/10 +512\/512 MiB$/m);
  // Back to the node's default; going down is always allowed.
  await node.admin.updateTenant("acme", { maxProvisioned: null });
  await acme.scale("large", { minInstances: 1 });
  const info = (await node.admin.listTenants()).find((t) => t.name === "acme")!;
  assert.deepEqual(info.provisioned, { instances: 3, memoryMiB: 256, maxInstances: 3, maxMemoryMiB: 512 });
  assert.equal(info.maxProvisioned, null);
  await assert.rejects(acme.updateTenant("acme", { maxProvisioned: 1000 }), (e: unknown) => e instanceof FlickError && e.code === "forbidden");
});

test("concurrent scale-ups cannot together pass the quota: exactly as many as fit succeed", async () => {
  const racer = new FlickClient(node.url, (await node.admin.createTenant("racer")).token);
  await node.admin.updateTenant("racer", { maxProvisioned: 4 });
  const names = Array.from({ length: 10 }, (_, i) => `racer-${i}`);
  for (const name of names) await deploySource(racer, name, answering(name), { memoryMiB: 16 });
  const results = await Promise.allSettled(names.map((name) => racer.scale(name, { minInstances: 1 })));
  assert.equal(results.filter((r) => r.status === "fulfilled").length, 4);
  for (const r of results) if (r.status === "rejected") assert.ok(quotaExceeded("max-provisioned")(r.reason), String(r.reason));
  assert.equal((await node.admin.listTenants()).find((t) => t.name === "racer")!.provisioned!.instances, 4);
});

// The timeout bounds a wait for a request line that never comes (a broken guard), not a speed target.
test("a tenant's stored log is capped (flick up --tenant-log-lines): its oldest lines go first", { timeout: 120_000 }, async () => {
  await deploySource(acme, "chatty", `export default { fetch: (req) => {
    const run = new URL(req.url).searchParams.get("run");
    for (let i = 0; i < 15; i++) console.log(run + "-" + i);
    return new Response("ok");
  } };`);
  let lastId = "";
  for (const run of ["a", "b"]) {
    const res = await fetch(`${node.url}/fn/chatty?run=${run}`);
    assert.equal(await res.text(), "ok");
    lastId = res.headers.get("x-flick-invocation-id")!;
  }
  // Each invocation's request line is stored once it ended, after its answer: wait for b's.
  let stored = await acme.readLogs("chatty");
  while (!stored.some((l) => l.invocationId === lastId && l.request !== undefined)) {
    await new Promise((r) => setTimeout(r, 20));
    stored = await acme.readLogs("chatty");
  }
  assert.equal(stored.length, 20, "the cap: 20 lines");
  // What is kept is the newest: the console lines are the end of all 30, in order.
  const written = [...Array.from({ length: 15 }, (_, i) => `a-${i}`), ...Array.from({ length: 15 }, (_, i) => `b-${i}`)];
  const kept = stored.filter((l) => l.request === undefined).map((l) => l.message);
  assert.deepEqual(kept, written.slice(written.length - kept.length));
  assert.ok(kept.length >= 18, `${kept.length} console lines kept`);
});

test("a tenant's own async queue quota goes over the node's: beyond it, 429 queue_full and nothing queued", async () => {
  const beta = new FlickClient(node.url, (await node.admin.createTenant("beta")).token);
  // Held by a gate the test owns: what is queued stays queued or running.
  await deploySource(beta, "slow", `export default { async fetch() { await new Promise(() => {}); } };`, { timeoutMs: 60_000 });
  const set = await flick(["tenants", "set", "beta", "--max-queue-messages", "2", "--data-dir", node.dataDir]);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /max-queue-messages 2/);
  await beta.invokeAsync("slow", { mode: "async", data: "1" });
  await beta.invokeAsync("slow", { mode: "async", data: "2" });
  await assert.rejects(beta.invokeAsync("slow", { mode: "async", data: "3" }), (e: unknown) => e instanceof FlickError && e.code === "queue_full");
  const counts = (await beta.getFunction("slow")).invocations!;
  assert.equal(counts.queued + counts.running, 2, "the refused one was not queued");
  // Back to the node's default (100,000): room again.
  await flick(["tenants", "set", "beta", "--max-queue-messages", "default", "--data-dir", node.dataDir]);
  await beta.invokeAsync("slow", { mode: "async", data: "3" });
  await node.admin.removeFunction("slow");
});

test("flick tenants storage: what a tenant stores with KV, SQL and durable objects against its quotas, counted as the quotas count it; a tenant sees its own only", async () => {
  const token = (await node.admin.createTenant("storer")).token;
  const store = new FlickClient(node.url, token);
  const before = await store.tenantStorage("storer");
  assert.deepEqual(before.kinds.map((k) => [k.kind, k.bytes, k.quotaBytes, k.scope]), [
    ["kv", 0, 1024 * 1024 * 1024, "node"],
    ["sql", 0, 1024 * 1024 * 1024, "node"],
    ["do", 0, 1024 * 1024 * 1024, "node"],
  ]);
  await store.kvCreate("notes");
  await store.kvPut("notes", "key", "hello"); // 3 + 5 bytes
  await store.sqlCreate("db");
  await store.sqlQuery("db", "CREATE TABLE t (x); INSERT INTO t VALUES (zeroblob(100000))");
  await deploySource(store, "box", `
export class Box {
  constructor(state) { this.state = state; }
  async fetch() { await this.state.storage.put("k", new Uint8Array(1000)); return new Response("stored"); }
}
export default { fetch: (request, env) => env.BOX.getByName("b").fetch(request) };`, { durableObjectBindings: { BOX: "Box" } });
  assert.equal(await (await fetch(`${node.url}/fn/box`)).text(), "stored");
  const after = Object.fromEntries((await store.tenantStorage("storer")).kinds.map((k) => [k.kind, k.bytes]));
  assert.equal(after["kv"], 8, "a KV entry counts its key and value");
  assert.ok(after["sql"]! >= 100_000 && after["sql"]! < 200_000, `the database's pages: ${after["sql"]}`);
  assert.ok(after["do"]! > 1000 && after["do"]! < 1500, `the key and the value's encoding: ${after["do"]}`);

  // The CLI, with the tenant's own token and no name.
  const shown = await flick(["tenants", "storage"], { FLICK_URL: node.url, FLICK_TOKEN: token });
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^tenant storer, as node \S+ counts it:/);
  assert.match(shown.stdout, /KV \(--tenant-kv-mib\)\s+8 B\s+1024\.0 MiB\s+0\.0%\s+on this node/);
  assert.match(shown.stdout, /durable objects \(--tenant-do-mib\)\s+1\.\d KiB/);

  // Another tenant's storage is not the tenant's to see; the admin sees any tenant's.
  await assert.rejects(acme.tenantStorage("storer"), (e: unknown) => e instanceof FlickError && e.code === "forbidden");
  assert.equal((await node.admin.tenantStorage("storer")).tenant, "storer");
  await assert.rejects(node.admin.tenantStorage("nobody"), (e: unknown) => e instanceof FlickError && e.code === "tenant_not_found");
});
