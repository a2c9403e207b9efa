// An instance that has waited 10 s has its garbage collected once, in an entry of its
// own (V8's memory-reducing full collection through the runtime's captured `gc`): a warm
// idle instance holds less memory, and nothing runs on the request path for it.
import assert from "node:assert/strict";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import type ivm from "isolated-vm";
import { bundleRuntime } from "../build/index.ts";
import { EgressPolicy } from "./egress-policy.ts";
import { FairJobs } from "./fair-jobs.ts";
import { Instance, makeRuntimeSnapshot, type HostContext } from "./instance.ts";
import type { InstanceSpec, ResponseSink } from "./protocol.ts";

// As hosts run (supervisor.ts): the runtime gets V8's gc.
setFlagsFromString("--expose-gc");
const source = await bundleRuntime();
const snapshot = makeRuntimeSnapshot(source);
const host: HostContext = { runtime: snapshot === undefined ? { source } : { source, snapshot }, egress: new EgressPolicy(), jobs: new FairJobs(), taint: (reason) => assert.fail(`tainted: ${reason}`) };
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
