// An instance that has waited 10 s has its garbage collected once, in an entry of its
// own (V8's memory-reducing full collection through the runtime's captured `gc`): a warm
// idle instance holds less memory, and nothing runs on the request path for it.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import type ivm from "isolated-vm";
import { bundleRuntime } from "../build/index.ts";
import { EgressPolicy } from "./egress-policy.ts";
import { FairJobs } from "./fair-jobs.ts";
import { idleCollectionsRunning } from "./idle-collection.ts";
import { Instance, makeRuntimeSnapshot, type HostContext } from "./instance.ts";
import type { InstanceSpec, ResponseSink } from "./protocol.ts";

// As hosts run (supervisor.ts): the runtime gets V8's gc.
setFlagsFromString("--expose-gc");
const source = await bundleRuntime();
const snapshot = makeRuntimeSnapshot(source);
// A taint is recorded, not thrown: it comes from a timer or isolated-vm's callback, where a
// throw outlives the test and fails the whole file without saying which test (afterEach says).
const taints: string[] = [];
const host: HostContext = { runtime: snapshot === undefined ? { source } : { source, snapshot }, egress: new EgressPolicy(), jobs: new FairJobs(), taint: (reason) => void taints.push(reason) };
afterEach(() => assert.deepEqual(taints.splice(0), [], "no isolate failed to stop"));
const spec: InstanceSpec = {
  instance: "i#1", function: "t/garbage", tenant: "t", key: "t/garbage@v", versionId: "v", bundlePath: "", memoryMiB: 128, timeoutMs: 5000, cpuLimitMs: null, concurrency: 16, env: [], wasm: {},
};
const sink: ResponseSink = { head() {}, chunk() {}, bodyCredit() {} };

test("an idle instance's heap shrinks once its garbage is collected", async () => {
  // Each request leaves about 4 MiB of garbage behind, much of it promoted to the old space.
  const code = `export default { fetch() {
    let keep = [];
    for (let i = 0; i < 40000; i++) { keep.push({ i, s: "x".repeat(16) + i }); if (keep.length > 20000) keep = []; }
    return new Response(String(keep.length));
  } };`;
  const instance = await Instance.create(spec, code, host, { wasm: () => null });
  try {
    for (let i = 0; i < 20; i++) {
      const end = await instance.invoke({ method: "GET", url: "http://fn.test/", headers: [], body: null }, sink);
      assert.equal(end.error, null);
    }
    const isolate = (instance as unknown as { isolate: ivm.Isolate }).isolate;
    const busy = (await isolate.getHeapStatistics()).total_physical_size;
    let now = busy;
    // The collection comes 10 s after the last request (the sweep runs every second); wait
    // for its effect, giving up after 600 looks so a missing one fails rather than hangs.
    for (let look = 0; look < 600 && now > busy * 0.75; look++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = (await isolate.getHeapStatistics()).total_physical_size;
    }
    assert.ok(now <= busy * 0.75, `physical heap ${busy} → ${now}`);
    // It still serves afterwards.
    assert.equal((await instance.invoke({ method: "GET", url: "http://fn.test/", headers: [], body: null }, sink)).error, null);
  } finally {
    instance.dispose();
  }
});

test("idle instances are collected one at a time, and none is lost to it", async () => {
  // isolated-vm starts a thread for every entry it is given: hundreds of collections posted
  // at once shared the cores so thinly that some outlived the 1 s an idle entry may run,
  // and their instances were stopped as if they had hung.
  const gone: string[] = [];
  const code = `const keep = []; for (let i = 0; i < 50000; i++) keep.push({ i });
    export default { fetch() { return new Response(String(keep.length)); } };`;
  const instances: Instance[] = [];
  try {
    for (let i = 0; i < 12; i++) {
      const instance = await Instance.create({ ...spec, instance: `i#${i + 2}`, key: `t/garbage@${i}` }, code, host, { wasm: () => null, onGone: (reason) => gone.push(reason) });
      instances.push(instance);
      assert.equal((await instance.invoke({ method: "GET", url: "http://fn.test/", headers: [], body: null }, sink)).error, null);
    }
    const collected = () => instances.filter((i) => (i as unknown as { collected: boolean }).collected && !i.collectPending).length;
    let most = 0;
    // Looked at every turn until all 12 are collected (600 s of turns at most, so a
    // missing collection fails rather than hangs).
    const giveUp = performance.now() + 600_000;
    while (collected() < instances.length && performance.now() < giveUp) {
      most = Math.max(most, idleCollectionsRunning());
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(collected(), instances.length, "every idle instance was collected");
    assert.equal(most, 1, "at most one collection at a time");
    assert.deepEqual(gone, [], "no instance stopped");
    for (const instance of instances) assert.equal((await instance.invoke({ method: "GET", url: "http://fn.test/", headers: [], body: null }, sink)).error, null);
  } finally {
    for (const instance of instances) instance.dispose();
  }
});
