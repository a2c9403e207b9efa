// Threat: a module whose top level never ends — at deploy, or only when a request cold-starts
// it. Module evaluation runs on an isolate thread like any entry, under a deadline the host
// enforces: the deploy answers 504 timeout, a cold start answers the request's 504, and
// meanwhile every other function on the same host keeps answering.
//
// A module's top level cannot call out, so nothing signals "the loop runs now": instead
// another tenant's function is asked over and over, one request after another, for as long
// as the loop lasts, and no gap between its answers may come near the loop's length (a
// host whose event loop the module held would leave one gap as long as the loop).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { FlickError } from "../../src/errors/index.ts";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const timeoutMs = 3000;

let node: TestNode;
let bystander: FlickClient;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  bystander = new FlickClient(node.url, (await node.admin.createTenant("bystander")).token);
  await deploySource(bystander, "hello", `export default { fetch: () => new Response("hello") };`);
  assert.equal(await (await bystander.invoke("hello")).text(), "hello");
});
after(() => node.kill("SIGKILL"));

/**
 * Asks the bystander's function, one request after another, until `busy` settles; returns
 * the longest time without an answer (from the start, between answers, until the end) and
 * how long `busy` took.
 */
async function keepAsking(busy: Promise<unknown>): Promise<{ answers: number; longestGapMs: number; busyMs: number }> {
  const started = performance.now();
  let done = false;
  void busy.then(() => (done = true), () => (done = true));
  const times = [started];
  while (!done) {
    const res = await bystander.invoke("hello");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "hello");
    times.push(performance.now());
  }
  await busy.catch(() => {});
  const ended = performance.now();
  times.push(ended);
  let longestGapMs = 0;
  for (let i = 1; i < times.length; i++) longestGapMs = Math.max(longestGapMs, times[i]! - times[i - 1]!);
  return { answers: times.length - 2, longestGapMs, busyMs: ended - started };
}

test("deploying a module whose top level loops answers 504 timeout, stores nothing, and other tenants' functions answer all the while", async () => {
  const deploy = deploySource(node.admin, "loops-at-deploy", `while (true) {}\nexport default { fetch: () => new Response("never") };`, { timeoutMs });
  const outcome = deploy.then(() => undefined, (err: unknown) => err);
  const { answers, longestGapMs, busyMs } = await keepAsking(deploy);
  const err = await outcome;
  assert.ok(err instanceof FlickError, `the deploy was refused (${String(err)})`);
  assert.equal(err.code, "timeout", err.message);
  assert.equal(err.status, 504);
  // The deploy check gives the top level what a cold start gives it: the function's timeout.
  assert.match(err.message, new RegExp(`ran past ${timeoutMs} ms`), err.message);
  assert.ok(longestGapMs < busyMs / 2, `the bystander went ${longestGapMs.toFixed(0)} ms without an answer during the ${busyMs.toFixed(0)} ms deploy (${answers} answers)`);
  assert.deepEqual((await node.admin.listFunctions()).map((f) => f.name).filter((n) => n === "loops-at-deploy"), []);
});

test("a module that loops only when a request cold-starts it answers that request 504 at its deadline, while other tenants' functions answer", async () => {
  // Deploy checks a module in an isolate with the largest memory limit; requests run it in
  // one with the function's own (128 MiB), where this allocation is refused: so the deploy
  // passes and every cold start loops.
  await deploySource(
    node.admin,
    "loops-at-cold-start",
    `let roomy = true;
     try { new ArrayBuffer(200 * 1024 * 1024); } catch { roomy = false; }
     if (!roomy) while (true) {}
     export default { fetch: () => new Response("loaded") };`,
    { timeoutMs },
  );
  for (let attempt = 0; attempt < 2; attempt++) {
    const sent = performance.now();
    const request = node.admin.invoke("loops-at-cold-start").then(async (res) => ({
      status: res.status,
      error: res.headers.get("x-flick-error"),
      body: await res.text(),
      afterMs: performance.now() - sent,
    }));
    const { answers, longestGapMs, busyMs } = await keepAsking(request);
    const res = await request;
    assert.equal(res.status, 504, res.body);
    assert.equal(res.error, "timeout");
    assert.ok(res.afterMs >= timeoutMs - 50 && res.afterMs < 2 * timeoutMs, `answered ${res.afterMs.toFixed(0)} ms after it was sent; its deadline was ${timeoutMs} ms`);
    assert.ok(longestGapMs < busyMs / 2, `the bystander went ${longestGapMs.toFixed(0)} ms without an answer during the ${busyMs.toFixed(0)} ms cold start (${answers} answers)`);
  }
});
