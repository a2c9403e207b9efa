// Versions people can try before everyone gets them: a canary share of the requests,
// any split by `flick traffic`, `flick promote`, rollback ending a split, preview URLs that
// need the tenant's token, and `x-flick-version` on every answer. Real node (two worker
// hosts, so requests land on both), real HTTP, real CLI.
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { flick, type CliResult } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let dir: string;

before(async () => {
  node = await startTestNode({ hosts: 2 });
  dir = tempDir("flick-traffic-");
});
after(async () => {
  await node?.kill();
  rmSync(dir, { recursive: true, force: true });
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

const answering = (body: string) => `export default { fetch: () => new Response(${JSON.stringify(body)}) };\n`;

async function cli(...args: string[]): Promise<string> {
  const r: CliResult = await flick([...args, "--data-dir", node.dataDir], {}, dir);
  assert.equal(r.code, 0, `flick ${args.join(" ")}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Deploys `body` as function `name` through the CLI (extra flags after), returning the new version's id. */
async function deploy(name: string, body: string, ...flags: string[]): Promise<string> {
  writeFileSync(path.join(dir, `${name}.ts`), answering(body));
  return (JSON.parse(await cli("deploy", `${name}.ts`, "--json", ...flags)) as { version: string }).version;
}

/** `n` requests, `parallel` at a time: how many answers each version gave, checking each body is its version's. */
async function tally(name: string, n: number, bodyOf: Record<string, string>, parallel = 16): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < n) {
      next++;
      const res = await fetch(`${node.url}/fn/${name}`);
      const version = res.headers.get("x-flick-version") ?? "none";
      assert.equal(await res.text(), bodyOf[version], `the answer of version ${version} is its own`);
      counts[version] = (counts[version] ?? 0) + 1;
    }
  }));
  return counts;
}

test("a 90/10 canary gives the new version 10 ± 3 % of 2,000 requests, each answer naming its version", async () => {
  const v1 = await deploy("shop", "one");
  const v2 = await deploy("shop", "two", "--canary", "10%");
  const info = await node.admin.getFunction("shop");
  assert.equal(info.liveVersion, v1, "the live version stays live during a canary");
  assert.deepEqual(info.traffic, [{ version: v1, percent: 90 }, { version: v2, percent: 10 }]);
  const counts = await tally("shop", 2000, { [v1]: "one", [v2]: "two" });
  assert.deepEqual(Object.keys(counts).sort(), [v1, v2].sort());
  const share = counts[v2]! / 2000;
  assert.ok(share >= 0.07 && share <= 0.13, `the canary took ${(share * 100).toFixed(1)} % (${counts[v2]} of 2000)`);

  // flick traffic sets any split; the largest share is the live version.
  await cli("traffic", "shop", `${v1.slice(0, 6)}=30`, `${v2.slice(0, 6)}=70`);
  assert.equal((await node.admin.getFunction("shop")).liveVersion, v2);
  const versions = JSON.parse(await cli("versions", "shop", "--json")) as { id: string; percent: number }[];
  assert.deepEqual(versions.map((v) => [v.id, v.percent]).sort(), [[v1, 30], [v2, 70]].sort());

  // Rollback during a split ends it, on the live version.
  await cli("rollback", "shop");
  assert.deepEqual((await node.admin.getFunction("shop")).traffic, [{ version: v2, percent: 100 }]);
  assert.deepEqual(await tally("shop", 40, { [v2]: "two" }), { [v2]: 40 });
});

test("flick promote gives the canary every request; a deploy without --canary ends a split", async () => {
  const v1 = await deploy("promo", "one");
  const v2 = await deploy("promo", "two", "--canary", "25");
  assert.match(await cli("promote", "promo"), new RegExp(`every request goes to ${v2} now`));
  assert.deepEqual(await tally("promo", 40, { [v2]: "two" }), { [v2]: 40 });

  await cli("traffic", "promo", `${v1}=50`, `${v2}=50`);
  const v3 = await deploy("promo", "three");
  const info = await node.admin.getFunction("promo");
  assert.equal(info.liveVersion, v3);
  assert.deepEqual(info.traffic, [{ version: v3, percent: 100 }]);
});

test("a split survives a restart of the node", async () => {
  const v1 = await deploy("durable-split", "one");
  const v2 = await deploy("durable-split", "two", "--canary", "40");
  await node.kill();
  node = await startTestNode({ hosts: 2, dataDir: node.dataDir });
  assert.deepEqual((await node.admin.getFunction("durable-split")).traffic, [{ version: v1, percent: 60 }, { version: v2, percent: 40 }]);
  const counts = await tally("durable-split", 200, { [v1]: "one", [v2]: "two" });
  assert.ok((counts[v1] ?? 0) > 0 && (counts[v2] ?? 0) > 0, JSON.stringify(counts));
});

test("every version has a preview URL that needs a token of the function's tenant", async () => {
  const v1 = await deploy("peek", "one");
  const v2 = await deploy("peek", "two");
  const acme = await node.admin.createTenant("acme");
  const url = `${node.url}/fn/peek@${v1}`;
  const anonymous = await fetch(url);
  assert.equal(anonymous.status, 401);
  assert.match(await anonymous.text(), /a preview URL needs `Authorization: Bearer <token>`/);
  const other = await fetch(url, { headers: { authorization: `Bearer ${acme.token}` } });
  assert.equal(other.status, 403);
  const owner = await fetch(url, { headers: { authorization: `Bearer ${node.adminToken}` } });
  assert.equal(owner.status, 200);
  assert.equal(await owner.text(), "one", "an old version, taking no traffic, answers on its preview URL");
  assert.equal(owner.headers.get("x-flick-version"), v1);
  assert.equal(await (await fetch(`${node.url}/fn/peek`)).text(), "two", "the public URL is untouched");
  const info = JSON.parse(await cli("versions", "peek", "--json")) as { id: string; previewUrl: string }[];
  assert.equal(info.find((v) => v.id === v2)!.previewUrl, `${node.url}/fn/peek@${v2}`);

  const missing = await fetch(`${node.url}/fn/peek@0123456789abcdef`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  assert.equal(missing.status, 404);
  assert.match(await missing.text(), /has no version 0123456789abcdef/);
  const malformed = await fetch(`${node.url}/fn/peek@latest`);
  assert.equal(malformed.status, 400);
  // Another function's version is not this function's, even with the admin token.
  const foreign = await fetch(`${node.url}/fn/shop@${v1}`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  assert.equal(foreign.status, 404);
});

test("odd splits are refused with what to fix; another tenant cannot change one", async () => {
  const v1 = await deploy("strict", "one");
  const v2 = await deploy("strict", "two");
  await assert.rejects(node.admin.traffic("strict", { [v1]: 50, [v2]: 40 }), /add up to 90, not 100/);
  await assert.rejects(node.admin.traffic("strict", { [v1]: 50, "0123456789abcdef": 50 }), /has no version 0123456789abcdef/);
  await assert.rejects(node.admin.traffic("strict", { [v1]: 101 }), /split\.[0-9a-f]{16}: Too big/);
  await assert.rejects(node.admin.deploy("strict", { canary: 100 }), /a canary takes 1-99% of the requests/);
  await assert.rejects(node.admin.promote("strict"), /has no traffic split to promote from/);
  const other = await deploySource(node.admin, "other-fn", answering("x"));
  await assert.rejects(node.admin.traffic("strict", { [v1]: 50, [other.version]: 50 }), /has no version/);
  const globex = new FlickClient(node.url, (await node.admin.createTenant("globex")).token);
  await assert.rejects(globex.traffic("strict", { [v1]: 50, [v2]: 50 }), (err: Error & { code?: string }) => err.code === "forbidden");
  await assert.rejects(globex.promote("strict", v1), (err: Error & { code?: string }) => err.code === "forbidden");
  assert.deepEqual((await node.admin.getFunction("strict")).traffic, [{ version: v2, percent: 100 }]);
});
