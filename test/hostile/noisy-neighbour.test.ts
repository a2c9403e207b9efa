// Threat: a noisy neighbour. Functions that spin (`while (true) {}`) — more of them than the
// machine has cores — must not slow or starve any other function, another tenant's or their
// own tenant's, and must not delay each other's deadlines: every request is answered at its
// own deadline (arrival + timeout), however many spin on one host.
//
// One worker host, so every function below shares it. Each spinner tells the test it is
// spinning (a request to the signal server) before its loop, so the victims are asked while
// every spinner holds a thread, and the assertions are about the order of answers.
import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";
import { startSignalServer, type SignalServer } from "../support/signal-server.ts";

const timeoutMs = 4000;
/** One spinner per core, plus one. */
const spinners = availableParallelism() + 1;

const spinner = `export default { async fetch(request, env) {
  // ?now spins at once; else it first tells the test it is about to.
  if (!new URL(request.url).searchParams.has("now")) await fetch(env.SIGNAL + "/" + env.NAME);
  while (true) {}
} };`;
const hello = `export default { fetch: () => new Response("hello") };`;

let node: TestNode;
let signal: SignalServer;
let tenantB: FlickClient;

before(async () => {
  signal = await startSignalServer();
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
  tenantB = new FlickClient(node.url, (await node.admin.createTenant("b")).token);
  for (let i = 0; i < spinners; i++) await deploySource(node.admin, `spin-${i}`, spinner, { timeoutMs, env: { SIGNAL: signal.url, NAME: `spin-${i}` } });
  await deploySource(node.admin, "spin-queued", spinner, { timeoutMs, env: { SIGNAL: signal.url, NAME: "spin-queued" } });
  await deploySource(node.admin, "a-hello", hello);
  await deploySource(tenantB, "b-hello", hello);
  // Warm, so the victims' answers below are not cold starts.
  assert.equal(await (await node.admin.invoke("a-hello")).text(), "hello");
  assert.equal(await (await tenantB.invoke("b-hello")).text(), "hello");
});
after(async () => {
  await node?.kill("SIGKILL");
  await signal?.close();
});

test(`while ${spinners} functions of one tenant spin, another tenant's function and the same tenant's other function answer before any spinner's 504`, async () => {
  const order: string[] = [];
  const spins = Array.from({ length: spinners }, (_, i) =>
    node.admin.invoke(`spin-${i}`).then(async (res) => {
      order.push(`spin-${i}`);
      return { status: res.status, error: res.headers.get("x-flick-error"), body: await res.text() };
    }),
  );
  for (let i = 0; i < spinners; i++) await signal.arrived(`spin-${i}`);

  const asked = performance.now();
  const victims = await Promise.all([
    tenantB.invoke("b-hello").then(async (res) => {
      order.push("b-hello");
      return [res.status, await res.text()];
    }),
    node.admin.invoke("a-hello").then(async (res) => {
      order.push("a-hello");
      return [res.status, await res.text()];
    }),
  ]);
  const tookMs = performance.now() - asked;
  assert.deepEqual(victims, [[200, "hello"], [200, "hello"]]);
  assert.deepEqual(order.slice(0, 2).sort(), ["a-hello", "b-hello"], `the victims answered first: ${order.join(", ")}`);
  // A host whose event loop a spinner held would answer them only when the spinners' time is up.
  assert.ok(tookMs < timeoutMs / 2, `the victims took ${tookMs.toFixed(0)} ms, while the spinners have ${timeoutMs} ms`);

  for (const spin of await Promise.all(spins)) {
    assert.equal(spin.status, 504, spin.body);
    assert.equal(spin.error, "timeout");
  }
});

test("requests queued behind a spinning one each get their 504 at their own deadline, not one after another", async () => {
  // The first request spins (after telling the test); the others come while it does, so
  // they wait for its isolate: each must still be answered at its own arrival + timeout.
  const n = 4;
  const firstSent = performance.now();
  const ask = (query: string) => {
    const sent = performance.now();
    return node.admin.invoke("spin-queued", { path: query }).then(async (res) => ({
      status: res.status,
      error: res.headers.get("x-flick-error"),
      body: await res.text(),
      ownMs: performance.now() - sent,
      sinceFirstMs: performance.now() - firstSent,
    }));
  };
  const first = ask("");
  await signal.arrived("spin-queued");
  const queued = Array.from({ length: n - 1 }, () => ask("?now"));
  const answers = await Promise.all([first, ...queued]);
  for (const a of answers) {
    assert.equal(a.status, 504, a.body);
    assert.equal(a.error, "timeout");
    assert.ok(a.ownMs >= timeoutMs - 50, `a 504 ${a.ownMs.toFixed(0)} ms after its request, before its ${timeoutMs} ms deadline`);
  }
  const last = Math.max(...answers.map((a) => a.sinceFirstMs));
  assert.ok(last < 2 * timeoutMs, `the last of ${n} requests was answered ${last.toFixed(0)} ms after the first was sent; each deadline is ${timeoutMs} ms after its own arrival`);
});
