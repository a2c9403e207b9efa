// Threat: a tenant fills the async queue — a function bound to its own queue whose queue
// handler sends more messages grew it by ~35k messages/s and starved every other tenant's
// async invocations and cron runs. On a real node: the tenant is held to its queue quota
// (the API answers 429 queue_full with Retry-After, env.Q.send rejects saying the queue is
// full, nothing is queued) and another tenant's async invocation runs at the next free
// slot, not behind the backlog. The node has one async slot, so the order attempts start
// in is the order the queue hands them out; a gate outside the node holds each attempt
// until the test lets it go.
import assert from "node:assert/strict";
import { createServer, type ServerResponse } from "node:http";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const quota = 12;

/** Requests to /hold?who=X wait until released; the test sees who came, in order. */
function startGate() {
  const held: ServerResponse[] = [];
  const hits: string[] = [];
  const waiters: (() => void)[] = [];
  let open = false;
  const server = createServer((req, res) => {
    hits.push(new URL(req.url ?? "/", "http://gate").searchParams.get("who") ?? "");
    if (open) res.end("go");
    else held.push(res);
    for (const w of waiters.splice(0)) w();
  });
  return {
    hits,
    listen: () => new Promise<string>((resolve) => server.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server.address() as { port: number }).port}`))),
    /** Resolves once `n` requests have come. */
    async hit(n: number): Promise<string> {
      while (hits.length < n) await new Promise<void>((r) => waiters.push(r));
      return hits[n - 1]!;
    },
    releaseOne: () => held.shift()?.end("go"),
    openAll() {
      open = true;
      for (const res of held.splice(0)) res.end("go");
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

let node: TestNode;
const gate = startGate();
let gateUrl: string;

before(async () => {
  gateUrl = await gate.listen();
  node = await startTestNode({
    hosts: 1,
    args: ["--async-concurrency", "1", "--tenant-queue-messages", String(quota), "--retry-backoff", "1h", "--egress-allow", "127.0.0.1"],
  });
});
after(async () => {
  gate.openAll();
  await node?.kill("SIGKILL");
  await gate.close();
});

test("past its queue quota a tenant gets 429 queue_full with Retry-After, and env.Q.send rejects saying the queue is full", async () => {
  const token = (await node.admin.createTenant("busy")).token;
  const busy = new FlickClient(node.url, token);
  // Each invocation fails once, then waits minutes for its retry: they stay in the queue.
  await busy.deploy("never", { code: `export default { fetch() { throw new Error("not now"); } };`, retries: 1 });
  const post = () => fetch(`${node.url}/api/v1/functions/never/invocations`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ mode: "async", data: "x" }),
  });
  for (let i = 0; i < quota; i++) assert.equal((await post()).status, 202);
  const full = await post();
  assert.equal(full.status, 429);
  assert.equal(full.headers.get("retry-after"), "5");
  const body = (await full.json()) as { error: { code: string; message: string } };
  assert.equal(body.error.code, "queue_full");
  assert.match(body.error.message, /the async queue of tenant "busy" is full: it holds 12 of its 12 messages/);
  const counts = (await busy.getFunction("never")).invocations!;
  assert.equal(counts.queued + counts.running, quota, "the refused one was not queued");

  await busy.deploy("producer", {
    code: `export default { async fetch(request, env) { try { await env.Q.send("one more"); return new Response("sent"); } catch (err) { return new Response(err.name + ": " + err.message); } } };`,
    queueBindings: { Q: "never" },
  });
  assert.match(await (await fetch(`${node.url}/fn/producer`)).text(), /^Error: .*the async queue of tenant "busy" is full/);
});

test("a function flooding its own queue holds up another tenant's async invocation by one attempt at most", async () => {
  await node.admin.deploy("flood", { code: "export default { fetch: () => new Response('') };" });
  await node.admin.deploy("flood", {
    code: `export default {
      async fetch(request, env) {
        await env.SELF.sendBatch(Array.from({ length: 10 }, (_, i) => ({ body: i })));
        return new Response("seeded");
      },
      async queue(batch, env) {
        try {
          await env.SELF.sendBatch(batch.messages.flatMap(() => [{ body: "more" }, { body: "more" }]));
        } catch (err) {
          console.log("send failed: " + err.message);
        }
        await fetch(env.GATE + "/hold?who=flood");
        for (const m of batch.messages) m.ack();
      },
    };`,
    env: { GATE: gateUrl },
    queueBindings: { SELF: "flood" },
  });
  const acme = new FlickClient(node.url, (await node.admin.createTenant("acme")).token);
  await acme.deploy("report", { code: `export default { async fetch(request, env) { await fetch(env.GATE + "/hold?who=report"); return new Response("reported"); } };`, env: { GATE: gateUrl } });

  assert.equal(await (await fetch(`${node.url}/fn/flood`)).text(), "seeded");
  assert.equal(await gate.hit(1), "flood", "the flood runs, holding the only async slot");
  const { id } = await acme.invokeAsync("report", { mode: "async", data: "" });
  // Queued behind at least 11 of the flood's messages, all older than it.
  const queued = (await node.admin.getFunction("flood")).invocations!.queued;
  assert.ok(queued >= 11, `the flood has ${queued} queued`);
  gate.releaseOne();
  assert.equal(await gate.hit(2), "report", "the next free slot went to the other tenant");
  gate.releaseOne();
  assert.equal(await gate.hit(3), "flood");
  gate.openAll();
  for (;;) {
    const inv = await acme.getInvocation(id);
    if (inv.status === "completed") {
      assert.deepEqual(inv.result, { status: 200, body: "reported", truncated: false });
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  // The flood is held to its quota: its sends are refused once the queue is full.
  for (;;) {
    const lines = (await node.admin.readLogs("flood")).map((l) => l.message);
    const failed = lines.find((l) => l.startsWith("send failed: "));
    if (failed !== undefined) {
      assert.match(failed, /the async queue of tenant "default" is full: it holds \d+ of its 12 messages/);
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const counts = (await node.admin.getFunction("flood")).invocations!;
  assert.ok(counts.queued + counts.running <= quota, JSON.stringify(counts));
  await node.admin.removeFunction("flood");
});
