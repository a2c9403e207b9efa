// Threat: a tenant floods the host's thread pool with slow crypto.subtle work (PBKDF2 with
// a high iteration count), then walks away. Another tenant's crypto must not wait behind
// the flood (a host keeps a slot of its pool for others), and work queued by an invocation
// that has ended must never start.
//
// One worker host. Every call below takes about `callMs` (the iteration count is sized on
// this machine first); the assertions are about which answer comes first.
import assert from "node:assert/strict";
import { pbkdf2Sync } from "node:crypto";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";
import { startSignalServer, type SignalServer } from "../support/signal-server.ts";

/** About how long one PBKDF2 call of the flood takes. */
const callMs = 500;

let node: TestNode;
let signal: SignalServer;
let tenantB: FlickClient;
let tenantC: FlickClient;
let iterations: number;

/**
 * PBKDF2-SHA-256 calls: ?n=K of them at once; ?chain: one after another; ?fire: started, and
 * the response sent without waiting for them. Each call that completes tells the signal
 * server (`<NAME>-done`); once all are started, so does the function (`<NAME>-fired`).
 */
const pbkdf2 = `export default { async fetch(request, env) {
  const q = new URL(request.url).searchParams;
  const n = Number(q.get("n"));
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode("password"), "PBKDF2", false, ["deriveBits"]);
  const derive = () => crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: new Uint8Array(16), iterations: Number(env.ITERATIONS) }, key, 256)
    .then(() => fetch(env.SIGNAL + "/" + env.NAME + "-done"));
  if (q.has("chain")) {
    for (let i = 0; i < n; i++) await derive();
    return new Response("chained " + n);
  }
  const calls = Array.from({ length: n }, derive);
  if (q.has("fire")) return new Response("fired " + n);
  await fetch(env.SIGNAL + "/" + env.NAME + "-fired");
  await Promise.all(calls);
  return new Response("derived " + n);
} };`;

const digest = `export default { async fetch() {
  const hash = await crypto.subtle.digest("SHA-256", new TextEncoder().encode("hello"));
  return new Response([...new Uint8Array(hash)].map((b) => b.toString(16).padStart(2, "0")).join(""));
} };`;
const helloDigest = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

before(async () => {
  // Iterations for about `callMs` per call on this machine, as loaded as it is now.
  const probe = 100_000;
  const started = performance.now();
  pbkdf2Sync("password", Buffer.alloc(16), probe, 32, "sha256");
  iterations = Math.min(10_000_000, Math.max(probe, Math.round((probe * callMs) / (performance.now() - started))));

  signal = await startSignalServer();
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
  tenantB = new FlickClient(node.url, (await node.admin.createTenant("b")).token);
  tenantC = new FlickClient(node.url, (await node.admin.createTenant("c")).token);
  const settings = (name: string) => ({ timeoutMs: 300_000, env: { SIGNAL: signal.url, NAME: name, ITERATIONS: String(iterations) } });
  await deploySource(node.admin, "a-flood", pbkdf2, settings("a-flood"));
  await deploySource(node.admin, "a-fire", pbkdf2, settings("a-fire"));
  await deploySource(node.admin, "a-one", pbkdf2, settings("a-one"));
  await deploySource(tenantC, "c-chain", pbkdf2, settings("c-chain"));
  await deploySource(tenantB, "b-digest", digest);
  assert.equal(await (await tenantB.invoke("b-digest")).text(), helloDigest);
});
after(async () => {
  await node?.kill("SIGKILL");
  await signal?.close();
});

test("another tenant's digest answers while one tenant's dozen slow PBKDF2 calls hold the pool, before any of them completes", { timeout: 120_000 }, async () => {
  // Two invocations of six calls each, so the flood is more than the pool's four threads.
  const floods = [node.admin.invoke("a-flood", { path: "?n=6" }), node.admin.invoke("a-flood", { path: "?n=6" })];
  await signal.arrived("a-flood-fired", 2);
  const res = await tenantB.invoke("b-digest");
  const doneBefore = signal.count("a-flood-done");
  assert.equal(res.status, 200);
  assert.equal(await res.text(), helloDigest);
  assert.equal(doneBefore, 0, `${doneBefore} of the flood's calls (about ${callMs} ms each) completed before the digest answered`);
  for (const flood of await Promise.all(floods)) assert.equal(await flood.text(), "derived 6");
  assert.equal(signal.count("a-flood-done"), 12);
});

test("PBKDF2 calls left queued by an invocation that ended are never started", { timeout: 120_000 }, async () => {
  // Thirty calls, and the response at once: the invocation ends with at most a few of them
  // running. Had the rest run anyway, a later call of the same tenant would queue behind
  // them (about ten calls' time); dropped, it waits for those few only. Another tenant's
  // chain of four calls, started at the same moment, is the yardstick: about four calls' time.
  const fired = await node.admin.invoke("a-fire", { path: "?n=30&fire" });
  assert.equal(await fired.text(), "fired 30");
  const order: string[] = [];
  const chain = tenantC.invoke("c-chain", { path: "?n=4&chain" }).then(async (res) => {
    order.push("c-chain");
    return res.text();
  });
  const one = node.admin.invoke("a-one", { path: "?n=1" }).then(async (res) => {
    order.push("a-one");
    return res.text();
  });
  await signal.arrived("a-one-fired");
  assert.deepEqual(await Promise.all([one, chain]), ["derived 1", "chained 4"]);
  assert.deepEqual(order, ["a-one", "c-chain"], "the tenant's next call did not wait for the ended invocation's thirty");
  assert.equal(signal.count("a-fire-done"), 0, "no call of the ended invocation was answered to it");
});
