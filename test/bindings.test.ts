// Service and queue bindings on a real node: env.API.fetch(request) calls another function
// of the tenant without an HTTP hop (the caller's invocation id goes along, depth is
// capped); env.JOBS.send(body) queues durable async invocations; a binding to another
// tenant's function is refused at deploy.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { flick } from "./support/cli.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
before(async () => {
  node = await startTestNode({ hosts: 2 });
});
after(() => node?.kill("SIGKILL"));

const users = `
export default {
  async fetch(request) {
    const url = new URL(request.url);
    return Response.json({ path: url.pathname + url.search, parent: request.headers.get("x-flick-parent-invocation-id"), body: await request.text() }, { headers: { "x-from": "users" } });
  },
};`;

const front = `
export default {
  async fetch(request, env) {
    const answer = await env.USERS.fetch("https://users.internal/list?page=2", { method: "POST", body: "hi" });
    return Response.json({ status: answer.status, from: answer.headers.get("x-from"), users: await answer.json() });
  },
};`;

test("a service binding calls the bound function directly, with the caller's invocation id", async () => {
  await node.admin.deploy("users", { code: users });
  const deployed = await node.admin.deploy("front", { code: front, serviceBindings: { USERS: "users" } });
  assert.deepEqual(deployed.function.settings.serviceBindings, { USERS: "users" });
  const res = await fetch(`${node.url}/fn/front`);
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: number; from: string; users: { path: string; parent: string; body: string } };
  assert.deepEqual(body, { status: 200, from: "users", users: { path: "/list?page=2", parent: res.headers.get("x-flick-invocation-id"), body: "hi" } });
  const logs = await node.admin.readLogs("front");
  assert.ok(logs.some((l) => /fetch POST https:\/\/users\.internal\/list\?page=2 → 200/.test(l.message)), "the call is in the caller's logs");
});

test("recursion through bindings stops at depth 16 with a clear error", async () => {
  const self = `
export default {
  async fetch(request, env) {
    const depth = Number(new URL(request.url).searchParams.get("d") ?? "0");
    try {
      const r = await env.SELF.fetch("https://self/?d=" + (depth + 1));
      return new Response(await r.text());
    } catch (err) {
      return new Response("stopped at " + depth + ": " + err.message);
    }
  },
};`;
  await node.admin.deploy("recurse", { code: self });
  await node.admin.deploy("recurse", { code: self, serviceBindings: { SELF: "recurse" } });
  const text = await (await fetch(`${node.url}/fn/recurse`)).text();
  assert.match(text, /^stopped at 16: service binding calls nest deeper than 16/);
});

test("a queue binding queues durable async invocations of the bound function: send and sendBatch", async () => {
  await node.admin.deploy("consumer", { code: `export default { async fetch(request) { console.log("job " + request.headers.get("content-type") + " " + (await request.text())); return new Response("done"); } };` });
  await node.admin.deploy("producer", {
    code: `export default { async fetch(request, env) { await env.JOBS.send({ photo: 1 }); await env.JOBS.sendBatch([{ body: "two" }, { body: new Uint8Array([51]) }]); return new Response("queued"); } };`,
    queueBindings: { JOBS: "consumer" },
  });
  assert.equal(await (await fetch(`${node.url}/fn/producer`)).text(), "queued");
  const deadline = Date.now() + 10_000;
  let lines: string[] = [];
  while (lines.length < 3) {
    if (Date.now() > deadline) throw new Error(`consumer saw ${JSON.stringify(lines)}`);
    lines = (await node.admin.readLogs("consumer")).map((l) => l.message).filter((m) => m.startsWith("job "));
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual(lines.sort(), ['job application/json {"photo":1}', "job application/octet-stream 3", "job text/plain; charset=utf-8 two"]);
  assert.equal((await node.admin.getFunction("consumer")).invocations?.completed, 3);
});

test("bindings to another tenant's function, to nothing, or clashing with env are refused at deploy", async () => {
  const acme = new FlickClient(node.url, (await node.admin.createTenant("acme")).token);
  await acme.deploy("acme-users", { code: users });
  await assert.rejects(node.admin.deploy("thief", { code: front, serviceBindings: { USERS: "acme-users" } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, "forbidden");
    assert.match(err.message, /another tenant/);
    return true;
  });
  await assert.rejects(node.admin.deploy("thief", { code: front, queueBindings: { JOBS: "acme-users" } }), /another tenant/);
  await assert.rejects(node.admin.deploy("lost", { code: front, serviceBindings: { USERS: "nobody" } }), /no function named "nobody"/);
  await assert.rejects(node.admin.deploy("clash", { code: front, env: { USERS: "x" }, serviceBindings: { USERS: "users" } }), /used twice/);
});

test("a target with a queue handler gets the messages in batches, and message.retry() runs one again", async () => {
  await node.admin.deploy("batcher", {
    code: `export default {
      async queue(batch) {
        console.log("batch of " + batch.messages.length + " from " + batch.queue);
        for (const m of batch.messages) {
          console.log("message " + JSON.stringify(m.body) + " attempt " + m.attempts);
          if (m.body === "retry-me" && m.attempts === 1) m.retry();
          else m.ack();
        }
      },
    };`,
    retries: 2,
  });
  assert.deepEqual((await node.admin.getFunction("batcher")).settings.handlers, ["queue"]);
  await node.admin.deploy("batch-producer", {
    code: `export default { async fetch(request, env) { await env.JOBS.sendBatch([1, 2, 3, "retry-me", { five: 5 }].map((body) => ({ body }))); return new Response("sent"); } };`,
    queueBindings: { JOBS: "batcher" },
  });
  assert.equal(await (await fetch(`${node.url}/fn/batch-producer`)).text(), "sent");
  const deadline = Date.now() + 15_000;
  for (;;) {
    const counts = (await node.admin.getFunction("batcher")).invocations;
    if (counts?.completed === 5) break;
    if (Date.now() > deadline) throw new Error(`batcher: ${JSON.stringify(counts)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const lines = (await node.admin.readLogs("batcher")).map((l) => l.message);
  const sizes = lines.filter((l) => l.startsWith("batch of ")).map((l) => Number(l.split(" ")[2]));
  assert.equal(sizes.reduce((a, b) => a + b, 0), 6, "5 messages, one of them twice");
  assert.ok(sizes[0]! > 1, `the first batch carried several messages (${sizes.join(", ")})`);
  assert.ok(lines.includes('message "retry-me" attempt 1') && lines.includes('message "retry-me" attempt 2'));
  assert.ok(lines.includes('message {"five":5} attempt 1'));
});

test("queue sends count as subrequests: a loop of sends stops at the limit", async () => {
  await node.admin.deploy("flood-target", { code: `export default { fetch: () => new Response("ok") };` });
  await node.admin.deploy("flooder", {
    code: `export default { async fetch(request, env) { let sent = 0; try { for (;;) { await env.JOBS.send(sent); sent++; } } catch (err) { return new Response(sent + " " + err.message); } } };`,
    queueBindings: { JOBS: "flood-target" },
  });
  assert.match(await (await fetch(`${node.url}/fn/flooder`)).text(), /^50 too many subrequests/);
});

test("a service binding response over the outbound limit rejects the caller's fetch and stops the callee", async () => {
  await node.admin.deploy("firehose", {
    code: `export default { fetch() {
      let sent = 0;
      return new Response(new ReadableStream({ pull(c) { if (sent++ < 48) c.enqueue(new Uint8Array(1024 * 1024)); else c.close(); } }));
    } };`,
  });
  await node.admin.deploy("drinker", {
    code: `export default { async fetch(request, env) { try { await env.HOSE.fetch("https://hose/"); return new Response("took it all"); } catch (err) { return new Response(err.message); } } };`,
    serviceBindings: { HOSE: "firehose" },
  });
  assert.match(await (await fetch(`${node.url}/fn/drinker`)).text(), /the response of "firehose" is over 33554432 bytes/);
});

test("binding settings through the CLI: flags and flick.toml set them, --unset removes one, flick info shows them, the same deploy again is unchanged", { timeout: 60_000 }, async () => {
  // What the bindings refactor (one folder per kind) must keep as it is: names, sources, storage.
  const dir = tempDir("flick-bindings-cli-");
  const data = ["--data-dir", node.dataDir];
  writeFileSync(path.join(dir, "target.ts"), "export default { fetch: () => new Response('target') };\n");
  writeFileSync(path.join(dir, "caller.ts"), "export default { fetch: () => new Response('caller') };\n");
  for (const name of ["t1", "t2", "t3"]) assert.equal((await flick(["deploy", "target.ts", "--name", name, ...data], {}, dir)).code, 0);
  const first = await flick(["deploy", "caller.ts", "--name", "caller", "--service-binding", "API=t1", "--service-binding", "OTHER=t2", "--queue-binding", "JOBS=t3", ...data], {}, dir);
  assert.equal(first.code, 0, first.stderr);
  let info = await node.admin.getFunction("caller");
  assert.deepEqual([info.settings.serviceBindings, info.settings.queueBindings], [{ API: "t1", OTHER: "t2" }, { JOBS: "t3" }]);
  const shown = await flick(["info", "caller", ...data], {}, dir);
  assert.match(shown.stdout, /bindings +API → t1 \(service\), OTHER → t2 \(service\), JOBS → t3 \(queue\)/);
  assert.match(shown.stdout, /service-binding\.API +→ t1 +--service-binding, version [0-9a-f]{16}/);
  assert.match(shown.stdout, /queue-binding\.JOBS +→ t3 +--queue-binding, version [0-9a-f]{16}/);

  const again = await flick(["deploy", "caller.ts", "--name", "caller", "--service-binding", "API=t1", "--service-binding", "OTHER=t2", "--queue-binding", "JOBS=t3", ...data], {}, dir);
  assert.match(again.stdout, /unchanged/, "the same bindings make the same version");

  const unset = await flick(["deploy", "caller.ts", "--name", "caller", "--unset", "service-binding.OTHER", ...data], {}, dir);
  assert.equal(unset.code, 0, unset.stderr);
  info = await node.admin.getFunction("caller");
  assert.deepEqual([info.settings.serviceBindings, info.settings.queueBindings], [{ API: "t1" }, { JOBS: "t3" }], "the others stick");

  // A [bindings] table replaces each map it names.
  writeFileSync(path.join(dir, "flick.toml"), ['name = "caller"', 'entry = "caller.ts"', "[bindings.services]", 'USERS = "t2"', ""].join("\n"));
  const fromFile = await flick(["deploy", ...data], {}, dir);
  assert.equal(fromFile.code, 0, fromFile.stderr);
  info = await node.admin.getFunction("caller");
  assert.deepEqual([info.settings.serviceBindings, info.settings.queueBindings], [{ USERS: "t2" }, { JOBS: "t3" }]);
  assert.match((await flick(["info", "caller", ...data], {}, dir)).stdout, /service-binding\.USERS +→ t2 +flick\.toml, version/);

  const badUnset = await flick(["deploy", "caller.ts", "--name", "caller", "--unset", "service-binding.a-b", ...data], {}, dir);
  assert.notEqual(badUnset.code, 0);
  assert.match(badUnset.stderr, /--unset service-binding\.a-b: expected .*service-binding\.NAME, queue-binding\.NAME, .*or [a-z]+-binding\.NAME/);
});
