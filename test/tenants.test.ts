// Tenants and tokens: each tenant sees and changes only its own functions.
import assert from "node:assert/strict";
import { statSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { FlickError } from "../src/errors/index.ts";
import { bundleSource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let acme: FlickClient;
let globex: FlickClient;
let code: string;

async function rejects(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => err instanceof FlickError && err.code === code);
}

before(async () => {
  node = await startTestNode();
  acme = new FlickClient(node.url, (await node.admin.createTenant("acme")).token);
  globex = new FlickClient(node.url, (await node.admin.createTenant("globex")).token);
  code = await bundleSource(`export default { fetch: (req, env) => new Response(env.WHO ?? "nobody") };`);
});
after(() => node.kill());

test("the admin token is written to the data dir with mode 0600", () => {
  const mode = statSync(path.join(node.dataDir, "admin.token")).mode & 0o777;
  assert.equal(mode, 0o600);
});

test("a tenant token deploys, lists, reads logs of and removes only its own functions", async () => {
  await acme.deploy("acme-fn", { code, env: { WHO: "acme" } });
  await globex.deploy("globex-fn", { code, env: { WHO: "globex" } });
  assert.deepEqual((await acme.listFunctions()).map((f) => f.name), ["acme-fn"]);
  assert.deepEqual((await globex.listFunctions()).map((f) => [f.name, f.tenant]), [["globex-fn", "globex"]]);
  const all = (await node.admin.listFunctions()).map((f) => f.name);
  assert.ok(all.includes("acme-fn") && all.includes("globex-fn"));
  await rejects(acme.getFunction("globex-fn"), "forbidden");
  await rejects(acme.readLogs("globex-fn"), "forbidden");
  await rejects(acme.listVersions("globex-fn"), "forbidden");
  await rejects(acme.rollback("globex-fn"), "forbidden");
  await rejects(acme.removeFunction("globex-fn"), "forbidden");
  assert.equal(await (await fetch(`${node.url}/fn/globex-fn`)).text(), "globex");
});

test("names are unique per node: one tenant cannot take or shadow another's", async () => {
  await acme.deploy("shared-name", { code, env: { WHO: "acme" } });
  await rejects(globex.deploy("shared-name", { code, env: { WHO: "globex" } }), "name_taken");
  await rejects(node.admin.deploy("shared-name", { code, tenant: "globex" }), "name_taken");
  assert.equal(await (await fetch(`${node.url}/fn/shared-name`)).text(), "acme");
});

test("a tenant cannot deploy for another tenant, create tenants or list them", async () => {
  await rejects(acme.deploy("sneaky", { code, tenant: "globex" }), "forbidden");
  await rejects(acme.createTenant("evil"), "forbidden");
  await rejects(acme.listTenants(), "forbidden");
  assert.deepEqual((await node.admin.listTenants()).map((t) => t.name), ["acme", "default", "globex"]);
});

test("missing or unknown tokens are 401, with the error contract", async () => {
  for (const headers of [{}, { authorization: "Bearer flk_not-a-real-token" }, { authorization: "Basic abc" }]) {
    const res = await fetch(`${node.url}/api/v1/functions`, { headers });
    assert.equal(res.status, 401);
    assert.equal(res.headers.get("x-flick-error"), "unauthorized");
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "unauthorized");
  }
});

test("the admin deploys for a tenant with tenant=, and for `default` otherwise", async () => {
  const forAcme = await node.admin.deploy("admin-made", { code, tenant: "acme" });
  assert.equal(forAcme.function.tenant, "acme");
  assert.ok((await acme.listFunctions()).some((f) => f.name === "admin-made"));
  assert.equal((await node.admin.deploy("admin-default", { code })).function.tenant, "default");
  await rejects(node.admin.deploy("x", { code, tenant: "nope" }), "tenant_not_found");
});

test("a private function needs a token of its tenant; public ones need none", async () => {
  await acme.deploy("secret-fn", { code, private: true, env: { WHO: "acme-private" } });
  assert.equal((await fetch(`${node.url}/fn/acme-fn`)).status, 200);
  const anonymous = await fetch(`${node.url}/fn/secret-fn`);
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.headers.get("x-flick-error"), "unauthorized");
  assert.equal((await globex.invoke("secret-fn")).status, 403);
  const own = await acme.invoke("secret-fn");
  assert.equal([own.status, await own.text()].join(" "), "200 acme-private");
  assert.equal((await node.admin.invoke("secret-fn")).status, 200);
});

test("a private function never sees the Flick token that authorized the call", async () => {
  await acme.deploy("peek", { code: await bundleSource(`export default { fetch: (req) => new Response(req.headers.get("authorization") ?? "none") };`), private: true });
  assert.equal(await (await acme.invoke("peek")).text(), "none");
});

test("a single node lists itself as the platform's one node, for the admin only", async () => {
  const list = await node.admin.listNodes();
  assert.equal(list.length, 1);
  assert.equal(list[0]!.url, node.url);
  assert.equal(list[0]!.capacity.hosts, 2);
  assert.ok(list[0]!.startedAtMs <= Date.now());
  const acme = new FlickClient(node.url, (await node.admin.createTenant("nodes-curious")).token);
  await assert.rejects(acme.listNodes(), (err: unknown) => err instanceof FlickError && err.code === "forbidden");
});
