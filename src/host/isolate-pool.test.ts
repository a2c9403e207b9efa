// The pool with real isolates: blank instances made ahead, adopted by a function, refilled
// only when the host is quiet, and grown when a cold start finds it empty.
import assert from "node:assert/strict";
import { after, afterEach, test } from "node:test";
import { bundleRuntime } from "../build/index.ts";
import { EgressPolicy } from "./egress-policy.ts";
import { FairJobs } from "./fair-jobs.ts";
import { Instance, makeRuntimeSnapshot, type HostContext, type RuntimeCode } from "./instance.ts";
import { IsolatePool } from "./isolate-pool.ts";
import type { InstanceSpec, ResponseSink } from "./protocol.ts";

const source = await bundleRuntime();
const snapshot = makeRuntimeSnapshot(source);
const runtime: RuntimeCode = snapshot === undefined ? { source } : { source, snapshot };
// A taint is recorded, not thrown: it comes from a timer or isolated-vm's callback, where a
// throw outlives the test and fails the whole file without saying which test (afterEach says).
const taints: string[] = [];
const host: HostContext = { runtime, egress: new EgressPolicy(), jobs: new FairJobs(), taint: (reason) => void taints.push(reason) };
afterEach(() => assert.deepEqual(taints.splice(0), [], "no isolate failed to stop"));
const pools: IsolatePool[] = [];
after(() => pools.forEach((p) => p.dispose()));

function pool(initial: number, quietMs = 3): IsolatePool {
  const p = new IsolatePool({ memoryMiB: 128, initial, max: 8, quietMs, make: () => Instance.blank(128, host) });
  pools.push(p);
  return p;
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), what);
}

const spec = (memoryMiB = 128): InstanceSpec => ({
  instance: "p#1", function: "t/pooled", tenant: "t", key: "t/pooled@v", versionId: "v", bundlePath: "", memoryMiB, timeoutMs: 5000, cpuLimitMs: null, concurrency: 16,
  env: ["WHO", "pool"], wasm: {},
});
const links = { wasm: () => null };

test("a blank instance from the pool adopts a function and serves it", async () => {
  const p = pool(2);
  await until(() => p.size === 2, "the pool fills to its initial size");
  const blank = p.take(128)!;
  assert.ok(blank !== undefined);
  assert.equal(blank.busy, 0, "its warm-up requests all finished before it was pooled");
  await blank.adopt(spec(), `export default { fetch: (request, env) => new Response("hello from " + env.WHO) };`, links);
  let body = "";
  const sink: ResponseSink = { head: (_s, _h, b) => void (body = new TextDecoder().decode(b ?? new Uint8Array())), chunk() {}, bodyCredit() {} };
  const end = await blank.invoke({ method: "GET", url: "http://x/", headers: [], body: null }, sink);
  assert.equal(end.error, null);
  assert.equal(body, "hello from pool");
  blank.dispose();
  assert.equal(p.hits, 1);
  await until(() => p.size === 2, "and refills what was taken");
});

test("a pooled instance's warm-up requests leave it at module scope: the module's top-level I/O is refused", async () => {
  const p = pool(1);
  await until(() => p.size === 1, "filled");
  const blank = p.take(128)!;
  await assert.rejects(blank.adopt(spec(), "setTimeout(() => {}, 1); export default { fetch: () => new Response('x') };", links), /cannot be called at module scope/);
});

test("another memory limit is not served from the pool; a bad module is refused as on the cold path", async () => {
  const p = pool(1);
  await until(() => p.size === 1, "filled");
  assert.equal(p.take(256), undefined);
  const blank = p.take(128)!;
  await assert.rejects(blank.adopt(spec(), "export default {};", links), /no fetch method/);
  assert.equal(blank.disposed, true);
});

test("an empty pool is a miss that doubles its target; refilling waits while the host is busy", async () => {
  const p = pool(1, 50);
  await until(() => p.size === 1, "filled");
  p.take(128)!.dispose();
  assert.equal(p.take(128), undefined, "empty right after");
  assert.equal(p.misses, 1);
  assert.equal(p.targetSize, 2);
  // Busy: a request every 10 ms keeps the 50 ms quiet period from ever passing.
  for (let i = 0; i < 10; i++) {
    p.touch();
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(p.size, 0, "nothing made while busy");
  await until(() => p.size === 2, "made once quiet, up to the new target");
});
