/**
 * `npm run bench`: one run, one machine, the same load for every system.
 * 1. Warm hello world over 64 connections for 10 s (wrk): Flick, workerd and a bare
 *    node:http server, each started fresh and measured alone; ratios against Flick.
 * 2. Flick cold starts: the first request to each of N freshly deployed functions.
 * 3. Inside a host: isolate creation with the runtime, heap after boot, runtime cost per request.
 * Prints a table and writes bench/results/<timestamp>.json and latest.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { bundleFunction } from "../src/build/index.ts";
import { measureIsolateCosts } from "./isolate-costs.ts";
import { repoRoot, startFlick, startNodeHttp, startWorkerd, stopTarget, type Target } from "./targets.ts";
import { loadTest, type LoadResult } from "./wrk.ts";

const { values } = parseArgs({
  options: {
    duration: { type: "string", default: "10" },
    connections: { type: "string", default: "64" },
    "cold-functions": { type: "string", default: "100" },
  },
});
const load = { connections: Number(values.connections), durationS: Number(String(values.duration).replace(/s$/, "")), threads: 2 };
const coldFunctions = Number(values["cold-functions"]);

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function measure(start: () => Promise<Target>): Promise<{ target: Target; result: LoadResult }> {
  const target = await start();
  try {
    await loadTest(target.url, { ...load, durationS: 2 }); // warm-up: JIT, instances, connections
    return { target, result: await loadTest(target.url, load) };
  } finally {
    await stopTarget(target);
  }
}

async function coldStarts(): Promise<{ functions: number; p50Ms: number; p99Ms: number; maxMs: number }> {
  const flick = await startFlick();
  try {
    const dir = path.join(repoRoot, "examples", "hello.ts");
    const base = (await bundleFunction(dir)).code;
    for (let i = 0; i < coldFunctions; i++) {
      // Distinct code per function, so each is its own version and its own instance.
      await flick.client.deploy(`cold-${i}`, { code: `${base}\n// function ${i}\n` });
    }
    const base_url = flick.url.replace(/\/fn\/hello$/, "");
    const times: number[] = [];
    for (let i = 0; i < coldFunctions; i++) {
      const started = performance.now();
      const res = await fetch(`${base_url}/fn/cold-${i}`);
      await res.arrayBuffer();
      times.push(performance.now() - started);
      if (res.headers.get("x-flick-cold-start") !== "1") throw new Error(`cold-${i} was not a cold start`);
    }
    times.sort((a, b) => a - b);
    return { functions: coldFunctions, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: times.at(-1)! };
  } finally {
    await stopTarget(flick);
  }
}

const warm: { system: string; version: string; result: LoadResult }[] = [];
for (const start of [startFlick, startWorkerd, startNodeHttp]) {
  const { target, result } = await measure(start);
  warm.push({ system: target.name, version: target.version, result });
  console.error(`measured ${target.name}: ${result.requestsPerSec.toFixed(0)} req/s`);
}
const cold = await coldStarts();
const isolate = await measureIsolateCosts();

const flick = warm.find((w) => w.system === "flick")!.result;
const ratio = (system: string) => flick.requestsPerSec / warm.find((w) => w.system === system)!.result.requestsPerSec;
const fmt = (n: number, digits = 2) => n.toFixed(digits);

console.log(`\nWarm hello world: ${load.connections} connections, ${load.durationS} s, wrk -t${load.threads}, one system at a time`);
console.log("system      version               req/s     p50 ms   p99 ms   errors");
for (const { system, version, result } of warm) {
  console.log(
    `${system.padEnd(11)} ${version.slice(0, 20).padEnd(20)} ${fmt(result.requestsPerSec, 0).padStart(8)} ${fmt(result.p50Ms).padStart(9)} ${fmt(result.p99Ms).padStart(8)} ${String(result.errors).padStart(8)}`,
  );
}
console.log(`\nFlick / workerd   = ${fmt(ratio("workerd"))}× requests/s`);
console.log(`Flick / node:http = ${fmt(ratio("node:http"))}× requests/s`);
console.log(`\nFlick cold start at the HTTP client, first request to each of ${cold.functions} functions:`);
console.log(`p50 ${fmt(cold.p50Ms)} ms, p99 ${fmt(cold.p99Ms)} ms, max ${fmt(cold.maxMs)} ms`);
console.log(`\nInside a worker host (median of 200; runtime bundle ${(isolate.runtimeBytes / 1024).toFixed(0)} KiB, loaded from a V8 ${isolate.runtimeLoading}):`);
console.log(`blank isolate + context          ${fmt(isolate.blankIsolateMs, 3)} ms`);
console.log(`isolate with runtime + module    ${fmt(isolate.isolateWithRuntimeMs, 3)} ms   (target ≤ 2 ms)`);
console.log(`heap after boot                  ${fmt(isolate.heapAfterBootMiB)} MiB  (target ≤ 2 MiB)`);
console.log(`warm request through the runtime ${fmt(isolate.warmRequestUs, 1)} µs; bare isolate call ${fmt(isolate.bareCallUs, 1)} µs; runtime cost ${fmt(isolate.runtimeCostPerRequestUs, 1)} µs`);

const report = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  load,
  warm: warm.map(({ system, version, result }) => ({ system, version, ...result })),
  ratios: { flickOverWorkerd: ratio("workerd"), flickOverNodeHttp: ratio("node:http") },
  coldStart: cold,
  isolate,
};
const dir = path.join(repoRoot, "bench", "results");
mkdirSync(dir, { recursive: true });
const file = path.join(dir, `${report.date.replace(/[:.]/g, "-")}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(path.join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
console.log(`\nwritten ${path.relative(repoRoot, file)}`);
