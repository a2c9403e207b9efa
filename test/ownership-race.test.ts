// Who owns a function name cannot race: of two tenants deploying one new name at once,
// exactly one wins and the other gets 409 name_taken — never two 201s with the loser
// owning (or running) the winner's function.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { FlickError } from "../src/errors/index.ts";
import { bundleSource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode();
});
after(() => node.kill());

test("50 pairs of tenants deploying the same new names at once: one 201 and one 409 name_taken per name, and the winner's code answers", async () => {
  const pairs = 50;
  const tenants = ["red", "blue"] as const;
  const clients = new Map<string, FlickClient>();
  for (const t of tenants) clients.set(t, new FlickClient(node.url, (await node.admin.createTenant(t)).token));
  // Each tenant's own code and secret: a function answering with both shows whose it runs.
  const code = new Map<string, string>();
  for (const t of tenants) code.set(t, await bundleSource(`export default { fetch: (req, env) => new Response("${t}:" + env.SECRET) };`));

  // Both deploys of a name start together; validation (a round trip to a worker host) keeps
  // them in flight side by side, as two clients on two connections would.
  const outcomes = await Promise.all(
    Array.from({ length: pairs }, (_, i) => `contested-${i}`).map(async (name) => {
      const results = await Promise.allSettled(
        tenants.map((t) => clients.get(t)!.deploy(name, { code: code.get(t)!, secrets: { SECRET: `${t}-secret` } })),
      );
      return { name, results };
    }),
  );

  for (const { name, results } of outcomes) {
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [tenants[i]!] : []));
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    assert.equal(won.length, 1, `${name}: exactly one deploy wins (${won.join(", ")} won)`);
    assert.equal(lost.length, 1);
    assert.ok(lost[0] instanceof FlickError && lost[0].code === "name_taken", `${name}: the other gets name_taken, not ${String(lost[0])}`);
    const winner = won[0]!;
    const fn = results.find((r) => r.status === "fulfilled")!;
    assert.equal((fn as PromiseFulfilledResult<{ function: { tenant: string } }>).value.function.tenant, winner);
    // The store agrees, and the function runs the winner's code with the winner's secret.
    assert.equal((await node.admin.getFunction(name)).tenant, winner);
    assert.equal(await (await fetch(`${node.url}/fn/${name}`)).text(), `${winner}:${winner}-secret`);
    const loser = tenants.find((t) => t !== winner)!;
    await assert.rejects(clients.get(loser)!.getFunction(name), (e: unknown) => e instanceof FlickError && e.code === "forbidden");
  }
  // Each tenant sees exactly the names it won.
  const owned = await Promise.all(tenants.map(async (t) => (await clients.get(t)!.listFunctions()).length));
  assert.equal(owned[0]! + owned[1]!, pairs);
});
