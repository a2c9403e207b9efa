/**
 * What a function's own code costs at a cold start, with the real Instance class: loading a
 * version as an ES module (the old path, and the fallback for top-level await), as its
 * script form compiled from source, and as its script form from the V8 code cache the
 * platform makes at deploy. Two sizes: hello world, and a generated 4,000-function bundle
 * standing in for a function with a large npm dependency tree.
 */
import * as path from "node:path";
import type ivm from "isolated-vm";
import { bundleFunction, bundleRuntime, scriptForm } from "../src/build/index.ts";
import { EgressPolicy } from "../src/host/egress-policy.ts";
import { Instance, makeRuntimeSnapshot, type FunctionCode, type HostContext, type RuntimeCode } from "../src/host/instance.ts";
import { FairJobs } from "../src/host/fair-jobs.ts";

export interface CodeLoadingRow {
  function: string;
  bundleKiB: number;
  /** Median time to create an instance (isolate, runtime, function evaluated), ms. */
  moduleMs: number;
  scriptMs: number;
  scriptCachedMs: number;
  codeCacheKiB: number;
}

/** Declarations and a handler that calls some of them, like a bundle with big dependencies. */
export function largeBundle(functions = 4_000): string {
  const parts: string[] = [];
  for (let i = 0; i < functions; i++) {
    parts.push(`function helper${i}(a, b) { const o = { x: a + ${i}, y: [b, ${i}, "s${i}"] }; if (a > ${i}) return o.x * 2 + o.y.length; for (let k = 0; k < 3; k++) a += k; return a - b; }`);
  }
  const calls = Array.from({ length: 200 }, (_, i) => `t += helper${i * 7}(1, 2);`).join(" ");
  parts.push(`export default { fetch() { let t = 0; ${calls} return new Response("sum " + t); } };`);
  return parts.join("\n");
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function measureCodeLoading(samples = 60): Promise<CodeLoadingRow[]> {
  const source = await bundleRuntime();
  const snapshot = makeRuntimeSnapshot(source);
  const runtime: RuntimeCode = snapshot === undefined ? { source } : { source, snapshot };
  const host: HostContext = { runtime, egress: new EgressPolicy(), jobs: new FairJobs(), taint: (reason) => { throw new Error(reason); } };
  const links = { wasm: () => null };
  const hello = (await bundleFunction(path.join(path.dirname(new URL(import.meta.url).pathname), "..", "examples", "hello.ts"))).code;
  const spec = { instance: "bench#load", function: "bench/load", tenant: "bench", key: "bench/load@v", versionId: "v", bundlePath: "", memoryMiB: 128, timeoutMs: 30_000, cpuLimitMs: null, concurrency: 16, env: [], wasm: {} };
  const time = async (code: () => FunctionCode): Promise<number> => {
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const c = code();
      const t = performance.now();
      const instance = await Instance.create(spec, c, host, links);
      times.push(performance.now() - t);
      instance.dispose();
    }
    return median(times);
  };
  const rows: CodeLoadingRow[] = [];
  for (const [name, module] of [["hello", hello], ["4,000 functions", largeBundle()]] as const) {
    const script = await scriptForm(module);
    if (script === null) throw new Error(`bench: ${name} has no script form`);
    let cache: ivm.ExternalCopy<ArrayBuffer> | undefined;
    (await Instance.create(spec, { script, onCachedData: (data) => (cache = data) }, host, links)).dispose();
    if (cache === undefined) throw new Error("bench: V8 made no code cache");
    const cachedData = cache;
    rows.push({
      function: name,
      bundleKiB: Buffer.byteLength(module) / 1024,
      moduleMs: await time(() => module),
      scriptMs: await time(() => ({ script })),
      scriptCachedMs: await time(() => ({ script, cachedData })),
      codeCacheKiB: cachedData.copy().byteLength / 1024,
    });
  }
  return rows;
}
