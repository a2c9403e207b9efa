// Threat: one tenant seeing another's secrets, globals or logs on shared hosts. Thousands
// of randomised invocations across tenants; every answer and log line is checked.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;
const tenants = ["t0", "t1", "t2", "t3"];
const secrets = new Map(tenants.map((t) => [t, randomBytes(12).toString("hex")]));
const functions = tenants.flatMap((t) => [0, 1, 2].map((i) => ({ tenant: t, name: `${t}-fn${i}` })));
const clients = new Map<string, FlickClient>();

const canary = `
export default { async fetch(request, env) {
  const mine = "mark_" + env.TENANT + "_" + env.NAME;
  globalThis[mine] = (globalThis[mine] ?? 0) + 1;
  const others = Object.keys(globalThis).filter((k) => k.startsWith("mark_") && k !== mine);
  console.log("canary", env.TENANT, env.NAME, env.SECRET);
  if (Math.random() < 0.3) await new Promise((r) => setTimeout(r, Math.random() * 5));
  return Response.json({ tenant: env.TENANT, name: env.NAME, secret: env.SECRET, others });
} };`;

before(async () => {
  node = await startTestNode({ hosts: 2 });
  for (const t of tenants) clients.set(t, new FlickClient(node.url, (await node.admin.createTenant(t)).token));
  for (const f of functions) {
    await clients.get(f.tenant)!.deploy(f.name, { code: canary, env: { TENANT: f.tenant, NAME: f.name }, secrets: { SECRET: secrets.get(f.tenant)! } });
  }
});
after(() => node.kill());

test("3,000 randomised invocations across tenants on shared hosts: nobody sees another's secret, globals or logs", async () => {
  const total = 3000;
  let next = 0;
  const counts = new Map<string, number>();
  const worker = async () => {
    while (next < total) {
      next++;
      const f = functions[Math.floor(Math.random() * functions.length)]!;
      const res = await fetch(`${node.url}/fn/${f.name}`);
      assert.equal(res.status, 200);
      const body = (await res.json()) as { tenant: string; name: string; secret: string; others: string[] };
      assert.deepEqual(body, { tenant: f.tenant, name: f.name, secret: secrets.get(f.tenant), others: [] });
      counts.set(f.name, (counts.get(f.name) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  assert.equal([...counts.values()].reduce((a, b) => a + b, 0), total);

  for (const f of functions) {
    const client = clients.get(f.tenant)!;
    // Console lines only (each invocation also has its request line).
    const lines = (await client.readLogs(f.name, { limit: 10_000 })).filter((l) => l.request === undefined);
    assert.equal(lines.length, counts.get(f.name) ?? 0, `${f.name} has one line per invocation`);
    for (const line of lines) assert.equal(line.message, `canary ${f.tenant} ${f.name} ${secrets.get(f.tenant)}`);
    for (const other of tenants.filter((t) => t !== f.tenant)) {
      await assert.rejects(clients.get(other)!.readLogs(f.name), /another tenant/);
    }
  }
});
