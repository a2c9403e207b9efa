// What a hostile tenant does with this session's controls, given another tenant's names
// and ids: secrets, settings-only deploys, canaries, traffic, promote, preview URLs, usage,
// logs (filtered and tailed), /metrics, storage use, async invocation lists, traces. Each is refused with 403 (or 401/404 as said), and
// the victim's function is unchanged afterwards. Odd values are refused naming the field.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;
let victim: FlickClient;
let mallory: FlickClient;
let malloryToken: string;
let versions: string[];

const forbidden = (err: Error & { code?: string }) => err.code === "forbidden";

before(async () => {
  node = await startTestNode({ hosts: 1 });
  victim = new FlickClient(node.url, (await node.admin.createTenant("victim")).token);
  const m = await node.admin.createTenant("mallory");
  malloryToken = m.token;
  mallory = new FlickClient(node.url, malloryToken);
  const v1 = await deploySource(victim, "vault", `export default { fetch: (_r, env) => new Response("v1 " + env.KEY) };`, { secrets: { KEY: "k1" } });
  const v2 = await deploySource(victim, "vault", `export default { fetch: (_r, env) => { console.log("victim line"); return new Response("v2 " + env.KEY); } };`, { canary: 10 });
  versions = [v1.version, v2.version];
  await deploySource(mallory, "mallory-fn", `export default { fetch: () => new Response("m") };`);
  for (let i = 0; i < 3; i++) await (await fetch(`${node.url}/fn/vault`)).text();
  await (await fetch(`${node.url}/fn/mallory-fn`)).text();
});
after(async () => {
  await node?.kill();
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

test("another tenant's secrets, settings, canary, traffic and promote are refused, and nothing changes", async () => {
  const before = await victim.getFunction("vault");
  await assert.rejects(mallory.setSecret("vault", "KEY", "stolen"), forbidden);
  await assert.rejects(mallory.setSecret("vault", "KEY", null), forbidden);
  // A settings-only deploy (no code) or a canary of a name that is another tenant's.
  await assert.rejects(mallory.deploy("vault", { env: { X: "1" } }), (err: Error & { code?: string }) => err.code === "name_taken");
  await assert.rejects(mallory.deploy("vault", { code: "export default { fetch: () => new Response('pwned') };", canary: 50 }), (err: Error & { code?: string }) => err.code === "name_taken");
  await assert.rejects(mallory.traffic("vault", { [versions[1]!]: 100 }), forbidden);
  await assert.rejects(mallory.promote("vault"), forbidden);
  // A settings-only deploy of a function that does not exist yet has no code to run.
  await assert.rejects(mallory.deploy("nothing-here", { env: { X: "1" } }), /deploy its code first/);
  // Its own function cannot take another function's versions into a split.
  await assert.rejects(mallory.traffic("mallory-fn", { [versions[0]!]: 50, [(await mallory.getFunction("mallory-fn")).liveVersion]: 50 }), /has no version/);
  const after = await victim.getFunction("vault");
  assert.deepEqual([after.liveVersion, after.traffic, after.settings.secretNames], [before.liveVersion, before.traffic, before.settings.secretNames]);
  assert.equal((await victim.listVersions("vault")).length, 2);
});

test("another tenant's preview URLs, usage, logs and the node's metrics are refused", async () => {
  const preview = await fetch(`${node.url}/fn/vault@${versions[0]}`, { headers: { authorization: `Bearer ${malloryToken}` } });
  assert.equal(preview.status, 403);
  assert.doesNotMatch(await preview.text(), /k1/);
  // A preview of mallory's own function at the victim's version id is not the victim's code.
  const crossed = await fetch(`${node.url}/fn/mallory-fn@${versions[0]}`, { headers: { authorization: `Bearer ${malloryToken}` } });
  assert.equal(crossed.status, 404);
  await assert.rejects(mallory.usage({ tenant: "victim" }), forbidden);
  assert.deepEqual((await mallory.usage({ by: "tenant" })).lines.map((l) => l.tenant), ["mallory"]);
  await assert.rejects(mallory.readLogs("vault", { text: "victim" }), /another tenant/);
  await assert.rejects(mallory.readLogs(null, { tenant: "victim" }), forbidden);
  assert.ok((await mallory.readLogs(null)).every((l) => l.tenant === "mallory"), "tenant-wide logs are its own");
  const metrics = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${malloryToken}` } });
  assert.equal(metrics.status, 403);
  // What the victim stores (flick tenants storage): refused; its own is its own.
  await assert.rejects(mallory.tenantStorage("victim"), forbidden);
  assert.equal((await mallory.tenantStorage("mallory")).tenant, "mallory");
});

test("odd values are refused with the field named", async () => {
  const put = (path: string, body: unknown) =>
    fetch(`${node.url}/api/v1${path}`, { method: "PUT", headers: { authorization: `Bearer ${malloryToken}`, "content-type": "application/json" }, body: JSON.stringify(body) });
  const cases: [string, unknown, RegExp][] = [
    ["/functions/mallory-fn", { unset: ["memory; DROP TABLE"] }, /unset\.0: a setting is memoryMiB/],
    ["/functions/mallory-fn", { env: { A: "1" }, origin: { "env.A": "\u001b[31mred" } }, /origin\.env\.A: an origin is 1-80 printable ASCII characters/],
    ["/functions/mallory-fn", { canary: 0 }, /a canary takes 1-99% of the requests/],
    ["/functions/mallory-fn", { sourceMap: "{}" }, /a source map goes with the code it maps/],
    ["/functions/mallory-fn/secrets/..%2Fx", { value: "v" }, /invalid secret name/],
  ];
  for (const [path, body, message] of cases) {
    const res = await put(path, body);
    assert.equal(res.status, 400, path);
    assert.match(await res.text(), message);
  }
  const get = (path: string) => fetch(`${node.url}/api/v1${path}`, { headers: { authorization: `Bearer ${malloryToken}` } });
  for (const [path, message] of [
    ["/usage?by=everything", /by=everything: expected function, hour or tenant/],
    ["/usage?since=2000&until=1000", /since \(2000\) must be before until \(1000\)/],
    ["/logs?level=loud", /level=loud/],
    ["/logs?status=6xx", /status=6xx/],
    ["/logs?tenant=Not%20A%20Tenant", /not a tenant name/],
    ["/tenants/..%2Fvictim/storage", /not a tenant name/],
  ] as const) {
    const res = await get(path);
    assert.equal(res.status, 400, path);
    assert.match(await res.text(), message);
  }
  const malformed = await fetch(`${node.url}/fn/vault@latest`);
  assert.equal(malformed.status, 400);
});

test("another tenant's async invocations and traces are not listed or shown", { timeout: 60_000 }, async (t) => {
  await assert.rejects(mallory.listInvocations("vault"), forbidden);
  await assert.rejects(mallory.listInvocations("vault", { status: "dead" }), forbidden);
  const res = await fetch(`${node.url}/fn/vault`, { headers: { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" } });
  await res.text();
  const id = res.headers.get("x-flick-invocation-id")!;
  // Recorded (the victim sees it) before asking as mallory, so a refusal is the scoping, not a miss.
  while (!t.signal.aborted && !(await victim.getTrace(id).then(() => true, () => false))) await new Promise((r) => setTimeout(r, 50));
  await assert.rejects(mallory.getTrace(id), (err: Error & { code?: string }) => err.code === "trace_not_found");
});
