// Threat: a request that sets timers without end (a loop of a million setTimeout calls),
// alone or a dozen at once. The host must survive, the function must see a RangeError past
// 10,000 pending timers and still be able to answer (and use a timer again once it cleared
// one), and other tenants' functions must answer meanwhile.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";
import { hostPids } from "../support/processes.ts";
import { startSignalServer, type SignalServer } from "../support/signal-server.ts";

let node: TestNode;
let signal: SignalServer;
let bystander: FlickClient;

const flood = `export default { async fetch(request, env) {
  const ids = [];
  let error = "";
  try {
    for (let i = 0; i < 1_000_000; i++) ids.push(setTimeout(() => {}, 600_000));
  } catch (e) {
    error = e.name + ": " + e.message;
  }
  const result = { set: ids.length, error };
  // ?hold: stay in flight, every timer pending, until the test lets go.
  if (new URL(request.url).searchParams.has("hold")) {
    await fetch(env.SIGNAL + "/hold/flood");
    return Response.json(result);
  }
  clearTimeout(ids[0]);
  result.fired = await new Promise((resolve) => setTimeout(() => resolve(true), 5));
  return Response.json(result);
} };`;

before(async () => {
  signal = await startSignalServer();
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
  await deploySource(node.admin, "flood", flood, { env: { SIGNAL: signal.url } });
  bystander = new FlickClient(node.url, (await node.admin.createTenant("bystander")).token);
  await deploySource(bystander, "hello", `export default { fetch: () => new Response("hello") };`);
  assert.equal(await (await bystander.invoke("hello")).text(), "hello");
});
after(async () => {
  await node?.kill("SIGKILL");
  await signal?.close();
});

type FloodResult = { set: number; error: string; fired?: boolean };

async function expectFloodAnswer(res: Response, held: boolean): Promise<void> {
  const text = await res.text();
  assert.equal(res.status, 200, text);
  const r = JSON.parse(text) as FloodResult;
  assert.equal(r.set, 10_000, "10,000 timers were set, the next one refused");
  assert.match(r.error, /^RangeError: /);
  if (!held) assert.equal(r.fired, true, "a timer set after one was cleared fires");
}

test("a request that tries to set a million timers gets a RangeError past 10,000 and still answers", { timeout: 120_000 }, async () => {
  const pids = hostPids(node);
  await expectFloodAnswer(await node.admin.invoke("flood"), false);
  assert.deepEqual(hostPids(node), pids, "the same host process");
});

test("twelve such requests at once, each holding its 10,000 timers: nothing crashes and another tenant's function answers meanwhile", { timeout: 120_000 }, async () => {
  const pids = hostPids(node);
  const floods = Array.from({ length: 12 }, () => node.admin.invoke("flood", { path: "?hold" }));
  let allHeld = false;
  const early = Promise.race(floods).then(async (res) => {
    if (!allHeld) assert.fail(`a flood answered before all twelve were in flight: ${res.status} ${await res.text()}`);
  });
  await Promise.race([signal.arrived("hold/flood", 12).then(() => (allHeld = true)), early]);
  // All twelve are in flight with their timers pending.
  const res = await bystander.invoke("hello");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "hello");
  signal.release("flood");
  for (const f of await Promise.all(floods)) await expectFloodAnswer(f, true);
  assert.equal(await (await bystander.invoke("hello")).text(), "hello");
  assert.deepEqual(hostPids(node), pids, "the same host process");
});
