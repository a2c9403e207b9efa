// Durable objects on a cluster: two Flick nodes on one real NATS server. An object's first
// request names its home node (bindings/do/object-homes.ts); requests through either node
// reach its one instance there, one at a time. With its home down it is unavailable — never
// run twice — and with the home back it answers with its storage whole.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { startSingleNats } from "../support/nats-cluster.ts";
import { startTestNode, tempDir, type TestNode } from "../support/node-process.ts";

let nats: ChildProcess | undefined;
const dir = tempDir("flick-do-cluster-");
let cluster: (name: string) => string[];
let a: TestNode;
let b: TestNode;

before(async () => {
  const key = path.join(dir, "cluster.key");
  writeFileSync(key, randomBytes(32).toString("hex"), { mode: 0o600 });
  const started = await startSingleNats(dir);
  nats = started.process;
  cluster = (name: string) => ["--cluster", started.url, "--cluster-replicas", "1", "--node-name", name, "--secret-key-file", key];
  [a, b] = await Promise.all([startTestNode({ hosts: 1, args: cluster("node-a") }), startTestNode({ hosts: 1, args: cluster("node-b") })]);
});
after(async () => {
  await Promise.all([a?.kill("SIGKILL"), b?.kill("SIGKILL")]);
  nats?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

const counter = `
export class Counter {
  constructor(state) { this.state = state; this.instance = crypto.randomUUID(); }
  async fetch(request) {
    const op = new URL(request.url).searchParams.get("op");
    let count = (await this.state.storage.get("count")) ?? 0;
    if (op !== "get") {
      await new Promise((r) => setTimeout(r, 1));
      await this.state.storage.put("count", ++count);
    }
    return Response.json({ count, instance: this.instance });
  }
}
export default {
  async fetch(request, env) {
    try {
      return await env.COUNTER.getByName("shared").fetch("https://o/" + new URL(request.url).search);
    } catch (err) {
      return new Response(err.message, { status: 503 });
    }
  },
};`;

async function ask(node: TestNode, query = ""): Promise<Response> {
  return fetch(`${node.url}/fn/counter${query}`);
}

/** Until `node` serves the function deployed through the other (the registry reaches it through NATS). */
async function untilServed(node: TestNode): Promise<void> {
  while ((await ask(node, "?op=get")).status === 404) await new Promise((r) => setTimeout(r, 100));
}

test("requests through both nodes reach the object's one instance on its home node, one at a time", async () => {
  await a.admin.deploy("counter", { code: counter, durableObjectBindings: { COUNTER: "Counter" } });
  // The first request, through a, makes a the object's home.
  const first = (await (await ask(a)).json()) as { count: number; instance: string };
  assert.equal(first.count, 1);
  await untilServed(b);
  const answers = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const res = await ask(i % 2 === 0 ? a : b);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { count: number; instance: string };
  }));
  assert.deepEqual(answers.map((x) => x.count).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 2));
  assert.deepEqual(new Set(answers.map((x) => x.instance)), new Set([first.instance]), "one live instance, whichever node took the request");
});

test("with its home node down the object is unavailable, never run elsewhere; with the home back it answers with its storage", async () => {
  const dataDir = a.dataDir;
  await a.kill("SIGKILL");
  const refused = await ask(b);
  assert.equal(refused.status, 503);
  assert.match(await refused.text(), /lives on node "node-a", which does not answer now/);
  a = await startTestNode({ hosts: 1, dataDir, args: cluster("node-a") });
  // b learns a's address again from the cluster's heartbeats: until then it answers 503.
  let res = await ask(b, "?op=get");
  while (res.status === 503) {
    await new Promise((r) => setTimeout(r, 200));
    res = await ask(b, "?op=get");
  }
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(((await res.json()) as { count: number }).count, 101);
});
