/**
 * Costs inside one worker host, measured with the real Instance class in this process:
 * creating an isolate with the runtime loaded (V8 code cache on, as the host does), its
 * heap right after boot, and the runtime's cost per warm request (Request in, Response
 * out through the dispatcher) against a bare isolate call that does no Web API work.
 */
import * as path from "node:path";
import ivm from "isolated-vm";
import { bundleFunction, bundleRuntime } from "../src/build/index.ts";
import { EgressPolicy } from "../src/host/egress-policy.ts";
import { FairJobs } from "../src/host/fair-jobs.ts";
import { Instance, makeRuntimeSnapshot, type HostContext, type RuntimeCode } from "../src/host/instance.ts";
import type { ResponseSink } from "../src/host/protocol.ts";

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export interface IsolateCosts {
  runtimeBytes: number;
  /** "snapshot" or "code cache": how the runtime gets into a new isolate. */
  runtimeLoading: string;
  blankIsolateMs: number;
  /** Blank instances as a host's pool makes them (snapshot, context, runtime connected, warm-up requests), per second. */
  blankPerSec: number;
  /** The same, two in the making at once (the host's main thread is free while an isolate thread works). */
  blankPerSecParallel: number;
  isolateWithRuntimeMs: number;
  heapAfterBootMiB: number;
  warmRequestUs: number;
  bareCallUs: number;
  runtimeCostPerRequestUs: number;
}

export async function measureIsolateCosts(samples = 200, requests = 20_000): Promise<IsolateCosts> {
  const source = await bundleRuntime();
  // As the worker host does: a startup snapshot with the runtime evaluated, when V8 makes one.
  const snapshot = makeRuntimeSnapshot(source);
  const runtime: RuntimeCode = snapshot === undefined ? { source } : { source, snapshot };
  const hello = (await bundleFunction(path.join(path.dirname(new URL(import.meta.url).pathname), "..", "examples", "hello.ts"))).code;
  const host: HostContext = { runtime, egress: new EgressPolicy(), jobs: new FairJobs(), taint: (reason) => { throw new Error(reason); } };
  const links = { wasm: () => null };
  const spec = (i: number) => ({
    instance: `bench#${i}`, function: "bench/hello", tenant: "bench", key: "bench/hello@v", versionId: "v", bundlePath: "", memoryMiB: 128, timeoutMs: 30_000,
    cpuLimitMs: null, concurrency: 16, env: [], wasm: {},
  });

  // A blank isolate and context, no runtime: the floor.
  const blank: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const isolate = new ivm.Isolate({ memoryLimit: 128 });
    isolate.createContextSync();
    blank.push(performance.now() - t);
    isolate.dispose();
  }

  // Blank instances as the pool makes them, one after another and two at a time.
  const blanks = async (n: number, parallel: number): Promise<number> => {
    const t = performance.now();
    for (let i = 0; i < n; i += parallel) {
      const made = await Promise.all(Array.from({ length: parallel }, () => Instance.blank(128, host)));
      for (const m of made) m.dispose();
    }
    return (n / (performance.now() - t)) * 1000;
  };
  await blanks(20, 1);
  const blankPerSec = await blanks(samples, 1);
  const blankPerSecParallel = await blanks(samples, 2);

  // With the runtime and a module loaded (the first one produces the code cache).
  (await Instance.create(spec(-1), hello, host, links)).dispose();
  const boot: number[] = [];
  const heaps: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t = performance.now();
    const instance = await Instance.create(spec(i), hello, host, links);
    boot.push(performance.now() - t);
    const heap = await (instance as unknown as { isolate: ivm.Isolate }).isolate.getHeapStatistics();
    heaps.push((heap.used_heap_size + heap.externally_allocated_size) / 2 ** 20);
    instance.dispose();
  }

  // Warm requests through the dispatcher, sequentially.
  const instance = await Instance.create(spec(0), hello, host, links);
  const sink: ResponseSink = { head() {}, chunk() {}, bodyCredit() {} };
  const request = { method: "GET", url: "http://localhost/", headers: ["accept", "*/*", "user-agent", "bench"], body: null };
  for (let i = 0; i < 2000; i++) await instance.invoke(request, sink);
  let t = performance.now();
  for (let i = 0; i < requests; i++) await instance.invoke(request, sink);
  const warmRequestUs = ((performance.now() - t) * 1000) / requests;
  instance.dispose();

  // A bare call into an isolate that returns a string: what is not the runtime's cost.
  const bare = new ivm.Isolate({ memoryLimit: 128 });
  const context = bare.createContextSync();
  context.evalSync("globalThis.f = (id, m, u, h) => 'Hello from Flick!\\n'");
  const f = context.global.getSync("f", { reference: true }) as ivm.Reference<(...a: unknown[]) => string>;
  for (let i = 0; i < 2000; i++) f.applySync(undefined, [i, "GET", "http://localhost/", request.headers], { arguments: { copy: true }, timeout: 1000 });
  t = performance.now();
  for (let i = 0; i < requests; i++) {
    f.applySync(undefined, [i, "GET", "http://localhost/", request.headers], { arguments: { copy: true }, timeout: 1000 });
    await Promise.resolve();
  }
  const bareCallUs = ((performance.now() - t) * 1000) / requests;
  bare.dispose();

  return {
    runtimeBytes: Buffer.byteLength(runtime.source),
    runtimeLoading: snapshot === undefined ? "code cache" : "startup snapshot",
    blankIsolateMs: median(blank),
    blankPerSec,
    blankPerSecParallel,
    isolateWithRuntimeMs: median(boot),
    heapAfterBootMiB: median(heaps),
    warmRequestUs,
    bareCallUs,
    runtimeCostPerRequestUs: warmRequestUs - bareCallUs,
  };
}
