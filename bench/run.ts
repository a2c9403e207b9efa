/**
 * `npm run bench [-- --duration 10s --connections 64 --cold-functions 500 --rounds 3 --sections a,b]`:
 * one run, one machine, the same load for every system. `--sections` runs only the sections
 * named (see `sections` below; all by default) and then writes only the timestamped file.
 * 1. Warm hello world: Flick, workerd and a bare node:http server started side by side,
 *    measured in interleaved rounds (wrk -t2 -c64, then one connection), ratios per round.
 * 2. Flick cold starts: the first request to each of N freshly deployed functions, back to
 *    back and with 10 ms between them (time for the hosts' isolate pools to refill); then,
 *    from the same client at the same spacing, a bare node:http and a warm Flick function.
 * 3. A victim's latency next to 0, 1 and N spinning functions of another tenant.
 * 4. A worker host killed with SIGKILL under load: the other hosts' success ratio.
 * 5. Inside a host: isolate creation with the runtime, heap after boot, blank isolates per
 *    second, runtime cost per request; a function's own load time (module, script, cache).
 * 6. Density: host memory per idle warm instance at 1,000 functions.
 * 7. The scheduler's acquire/release cost at 10,000 hosts and 100,000 instances; `flick sim`'s
 *    speed at 1,000, 100,000 and 1,000,000 functions, and (`sim-day`) a million functions'
 *    whole day as `flick sim` runs it, in shards (bench/sim-speed.ts).
 * 8. Burst: 0 → 2,000 concurrent requests over 200 functions.
 * 9. Async invocations: events/s accepted and completed, enqueue latency (synchronous=FULL).
 * 10. CLI start-up: `flick --help`, `ls` and `invoke` next to `node -e 0`.
 * 11. State: KV get, put and a 9:1 mix, SQL point reads and writes (D1's API), durable object
 *    round trips to 100 objects and to one hot object; the same Worker script on Flick and on
 *    Miniflare (workerd with its simulated bindings on disk), in interleaved rounds, ratio
 *    per round, the stored state checked after the rounds.
 * Prints a table and writes bench/results/<timestamp>.json and bench/results/latest.json.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { arch, cpus, loadavg, release, totalmem, type } from "node:os";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { stopAllChildren } from "./children.ts";
import { measureAsync } from "./async.ts";
import { measureAsyncCluster } from "./async-cluster.ts";
import { measureClusterForward } from "./cluster-forward.ts";
import { measureCliStartup } from "./cli-startup.ts";
import { measureBurst } from "./burst.ts";
import { largeBundle, measureCodeLoading } from "./code-loading.ts";
import { measureColdStarts } from "./cold-starts.ts";
import { measureDensity } from "./density.ts";
import { measureHostKill } from "./host-kill.ts";
import { measureNoisyNeighbour } from "./noisy-neighbour.ts";
import { measureSchedulerCost } from "./scheduler-cost.ts";
import { measureSimDay, measureSimSpeed } from "./sim-speed.ts";
import { measureIsolateCosts } from "./isolate-costs.ts";
import { repoRoot, startFlick, startNodeHttp, startWorkerd, stopTarget, workerdVersion, type Target } from "./targets.ts";
import { measureWarmRounds, spread, type Spread } from "./warm.ts";
import { wrkVersion, type LoadOptions } from "./wrk.ts";
import { measureTelemetryOverhead } from "./telemetry-overhead.ts";
import { measureWasiHello } from "./wasi-hello.ts";
import { measureState, miniflareVersion } from "./state.ts";

/** What `--sections` names, in the order they run. */
const sections = [
  "warm", "telemetry", "wasi", "cold", "noisy", "host-kill", "isolate", "code-loading", "density",
  "scheduler", "sim", "sim-day", "burst", "async", "async-cluster", "cluster-forward", "cli", "state",
] as const;
type Section = (typeof sections)[number];

function parseOptions(): { load: LoadOptions; coldFunctions: number; rounds: number; only: Set<Section> | null } {
  const { values } = parseArgs({
    options: {
      duration: { type: "string", default: "10s" },
      connections: { type: "string", default: "64" },
      "cold-functions": { type: "string", default: "500" },
      rounds: { type: "string", default: "3" },
      sections: { type: "string" },
    },
  });
  const count = (name: string, value: string, min: number) => {
    if (!/^\d+$/.test(value) || Number(value) < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got "${value}"`);
    return Number(value);
  };
  const duration = /^(\d+)s?$/.exec(values.duration);
  if (duration === null || Number(duration[1]) < 1) throw new Error(`--duration must be whole seconds like 10s, got "${values.duration}"`);
  const connections = count("connections", values.connections, 1);
  let only: Set<Section> | null = null;
  if (values.sections !== undefined) {
    const named = values.sections.split(",").map((x) => x.trim()).filter((x) => x !== "");
    const unknown = named.filter((x) => !(sections as readonly string[]).includes(x));
    if (named.length === 0 || unknown.length > 0) throw new Error(`--sections takes a comma-separated list of ${sections.join(", ")}; got "${values.sections}"`);
    only = new Set(named as Section[]);
  }
  return {
    // wrk needs at least one connection per thread.
    load: { connections, durationS: Number(duration[1]), threads: Math.min(2, connections) },
    coldFunctions: count("cold-functions", values["cold-functions"], 0),
    rounds: count("rounds", values.rounds, 1),
    only,
  };
}

async function main(): Promise<void> {
  const { load, coldFunctions, rounds, only } = parseOptions();
  const on = (section: Section) => only === null || only.has(section);
  const started = Date.now();
  // Fail before starting anything when a tool is missing.
  const versions = {
    wrk: wrkVersion(),
    ...(on("warm") ? { workerd: workerdVersion() } : {}),
    ...(on("state") ? { miniflare: miniflareVersion() } : {}),
  };
  const machine = {
    os: `${type()} ${release()} ${arch()}`,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    // Other work on the machine skews everything; this says how busy it was going in.
    loadAverage1m: loadavg()[0],
    node: process.version,
    ...versions,
  };

  let warm;
  if (on("warm")) {
    const targets: Target[] = [];
    try {
      for (const start of [startFlick, startWorkerd, startNodeHttp]) targets.push(await start());
      warm = await measureWarmRounds(targets, load, rounds);
    } finally {
      for (const t of targets) await stopTarget(t);
    }
  }
  // Five times the rounds at a fifth of the length, in the same time: the four settings
  // differ by a few per cent and one round on this shared machine can swing by twenty (the
  // drift is slow, so runs close in time pair well), so the median wants many short rounds.
  const telemetry = on("telemetry") ? await measureTelemetryOverhead({ ...load, durationS: Math.max(2, Math.round(load.durationS / 5)) }, rounds * 5) : undefined;
  const wasi = on("wasi") ? await measureWasiHello({ ...load, durationS: Math.max(3, Math.round(load.durationS / 2)) }, rounds) : undefined;
  const cold = on("cold") && coldFunctions > 0 ? await measureColdStarts(coldFunctions) : undefined;
  const coldSpaced = on("cold") && coldFunctions > 0 ? await measureColdStarts(coldFunctions, 10) : undefined;
  // A 675 KiB function: runs as its script form from the V8 code cache made at deploy.
  const coldLarge = on("cold") && coldFunctions > 0 ? await measureColdStarts(Math.min(50, coldFunctions), 10, largeBundle()) : undefined;
  const noisy = on("noisy") ? await measureNoisyNeighbour() : undefined;
  const hostKill = on("host-kill") ? await measureHostKill() : undefined;
  // The density section prints the isolate section's blank isolates per second too.
  const isolate = on("isolate") || on("density") ? await measureIsolateCosts() : undefined;
  const codeLoading = on("code-loading") ? await measureCodeLoading() : undefined;
  const density = on("density") ? await measureDensity(1_000) : undefined;
  const scheduler = on("scheduler") ? measureSchedulerCost() : undefined;
  const sim = on("sim") ? measureSimSpeed() : undefined;
  const simDay = on("sim-day") ? await measureSimDay() : undefined;
  const burst = on("burst") ? await measureBurst(200, 2_000) : undefined;
  const asyncInvocations = on("async") ? await measureAsync(20_000, 64) : undefined;
  const asyncCluster = on("async-cluster") ? await measureAsyncCluster(5000, 64, 3) : undefined;
  const clusterForward = on("cluster-forward") ? await measureClusterForward(2000, 3) : undefined;
  const cli = on("cli") ? await measureCliStartup() : undefined;
  const state = on("state") ? await measureState(load, rounds) : undefined;

  const fmt = (n: number, digits = 2) => n.toFixed(digits);
  const range = (s: Spread, digits = 2) => `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

  console.log(`\n${machine.cpu} × ${machine.cores}, ${machine.os}, load average ${fmt(machine.loadAverage1m ?? 0)} at start`);
  console.log(`node ${machine.node}, ${[machine.workerd, machine.miniflare, machine.wrk].filter((v) => v !== undefined).join(", ")}`);
  if (only !== null) console.log(`sections: ${[...only].join(", ")} (--sections)`);
  if (warm !== undefined) {
    console.log(`\nWarm hello world, ${warm.rounds} interleaved rounds: wrk -t${load.threads} -c${load.connections} -d${load.durationS}s --latency, then one connection (wrk -t1 -c1 -d3s); medians over rounds`);
    console.log("system        req/s   p50 ms   p99 ms   errors   1-conn p50 µs   1-conn p99 µs");
    for (const s of warm.systems) {
      console.log(
        `${s.system.padEnd(10)} ${fmt(median(s.load.map((r) => r.requestsPerSec)), 0).padStart(8)} ${fmt(median(s.load.map((r) => r.p50Ms))).padStart(8)} ${fmt(median(s.load.map((r) => r.p99Ms))).padStart(8)} ${String(s.load.reduce((a, r) => a + r.errors, 0)).padStart(8)} ${fmt(median(s.single.map((r) => r.p50Ms * 1000)), 0).padStart(15)} ${fmt(median(s.single.map((r) => r.p99Ms * 1000)), 0).padStart(15)}`,
      );
    }
    console.log(`\nFlick / workerd   = ${range(warm.flickOverWorkerd)}× requests/s, median (range) over rounds (target ≥ 1.5)`);
    console.log(`Flick / node:http = ${range(warm.flickOverNodeHttp)}× requests/s (target ≥ 0.6)`);
    console.log(`one-connection p50, Flick / node:http = ${range(warm.singleP50OverNodeHttp)}× (target ≤ 1.5)`);
  }
  const pct = (s: Spread) => `${fmt(s.median * 100, 1)} % (${fmt(s.min * 100, 1)} – ${fmt(s.max * 100, 1)})`;
  // Many short rounds on a noisy machine: the middle half says more than the extremes.
  const pctQ = (s: Spread) => `${fmt(s.median * 100, 1)} % (middle half ${fmt(s.q1 * 100, 1)} – ${fmt(s.q3 * 100, 1)}, all ${fmt(s.min * 100, 1)} – ${fmt(s.max * 100, 1)})`;
  if (telemetry !== undefined) {
    const pinned = telemetry.cpus === null ? "sharing every CPU with the load" : `on CPU ${telemetry.cpus.nodes} with one worker host each, wrk and the receiver on CPU ${telemetry.cpus.load}`;
    console.log(`\nObservability overhead on warm throughput, ${telemetry.rounds} interleaved rounds of four Flick nodes, ${telemetry.durationS} s each, ${pinned} (metrics and metering always on):`);
    console.log(`req/s (median): no tracing ${fmt(median(telemetry.requestsPerSec.none), 0)}, 1 % sampled ${fmt(median(telemetry.requestsPerSec.sampled1), 0)}, 100 % sampled ${fmt(median(telemetry.requestsPerSec.sampled100), 0)}; ${telemetry.spansExported} spans exported over OTLP/HTTP`);
    console.log(`throughput lost at 1 % sampling ${pctQ(telemetry.dropAt1Percent)} (target ≤ 5 %), at 100 % ${pctQ(telemetry.dropAt100Percent)} (target ≤ 15 %), median over rounds`);
    console.log(`at 100 % within the default --trace-max-rate (1,000 recorded a second): ${fmt(median(telemetry.requestsPerSec.sampled100capped), 0)} req/s, ${pctQ(telemetry.dropAt100PercentCapped)} lost`);
    const c = telemetry.cpuMicrosPerRequest;
    if (c !== null && telemetry.cpuDropAt1Percent !== null && telemetry.cpuDropAt100Percent !== null && telemetry.cpuDropAt100PercentCapped !== null) {
      console.log(`CPU per request, node and worker host (median µs): no tracing ${fmt(median(c.none), 1)}, 1 % ${fmt(median(c.sampled1), 1)}, 100 % ${fmt(median(c.sampled100), 1)}, 100 % capped ${fmt(median(c.sampled100capped), 1)}`);
      console.log(`throughput lost on a saturated CPU, from CPU per request (steal and the load's share left out): 1 % ${pctQ(telemetry.cpuDropAt1Percent)}, 100 % ${pctQ(telemetry.cpuDropAt100Percent)}, 100 % capped ${pctQ(telemetry.cpuDropAt100PercentCapped)}`);
    }
  }
  if (cold !== undefined && coldSpaced !== undefined) {
    console.log(`\nFlick cold start at the HTTP client, first request to each of ${cold.functions} functions:`);
    console.log(`back to back:        p50 ${fmt(cold.p50Ms)} ms, p99 ${fmt(cold.p99Ms)} ms, max ${fmt(cold.maxMs)} ms  (target p99 ≤ 10 ms)`);
    console.log(`10 ms between them:  p50 ${fmt(coldSpaced.p50Ms)} ms, p99 ${fmt(coldSpaced.p99Ms)} ms, max ${fmt(coldSpaced.maxMs)} ms  (target p50 ≤ 1 ms, p99 ≤ 3 ms)`);
    console.log(`the same client and spacing, right after (what any request costs here):`);
    for (const [label, c] of [["back to back", cold], ["10 ms apart", coldSpaced]] as const) {
      console.log(`  ${label.padEnd(13)} bare node:http p50 ${fmt(c.nodeHttp.p50Ms)} ms, p99 ${fmt(c.nodeHttp.p99Ms)} ms; warm Flick function p50 ${fmt(c.warm.p50Ms)} ms, p99 ${fmt(c.warm.p99Ms)} ms`);
    }
    if (coldLarge !== undefined) {
      console.log(`675 KiB function, ${coldLarge.functions} of them, 10 ms apart: p50 ${fmt(coldLarge.p50Ms)} ms, p99 ${fmt(coldLarge.p99Ms)} ms  (script form from the V8 code cache)`);
    }
  }
  if (noisy !== undefined) {
    console.log(`\nA victim (another tenant's hello world, one connection) next to spinning functions (while (true) {}, each its own isolate); goal p99 ≤ 2× that with none:`);
    noisy.spinners.forEach((n, i) => {
      const r = noisy.results[i]!;
      console.log(`${String(n).padStart(2)} spinners: p50 ${fmt(r.p50Ms * 1000, 0)} µs, p99 ${fmt(r.p99Ms * 1000, 0)} µs, ${fmt(r.requestsPerSec, 0)} req/s, errors ${r.errors}; p99 ${fmt(noisy.p99Ratios[i]!)}×`);
    });
  }
  if (hostKill !== undefined) {
    console.log(`\nA worker host killed (SIGKILL) under load, ${hostKill.clients} keep-alive clients for ${hostKill.durationS} s (goal ≥ 0.99):`);
    console.log(`${hostKill.requests} requests; ${hostKill.failedOnKilledHost} failed on the killed host's connections, ${hostKill.failedElsewhere} elsewhere; success ratio of the other hosts' requests ${fmt(hostKill.successRatioOtherHosts, 4)}; all hosts back after ${fmt(hostKill.recoveredMs, 0)} ms`);
  }

  if (isolate !== undefined) {
    console.log(`\nInside a worker host (median of 200; runtime bundle ${(isolate.runtimeBytes / 1024).toFixed(0)} KiB, loaded from a V8 ${isolate.runtimeLoading}):`);
    console.log(`blank isolate + context          ${fmt(isolate.blankIsolateMs, 3)} ms`);
    console.log(`isolate with runtime + module    ${fmt(isolate.isolateWithRuntimeMs, 3)} ms   (target ≤ 2 ms)`);
    console.log(`heap after boot                  ${fmt(isolate.heapAfterBootMiB)} MiB  (target ≤ 2 MiB)`);
    console.log(`warm request through the runtime ${fmt(isolate.warmRequestUs, 1)} µs; bare isolate call ${fmt(isolate.bareCallUs, 1)} µs; runtime cost ${fmt(isolate.runtimeCostPerRequestUs, 1)} µs`);
  }

  if (codeLoading !== undefined) {
    console.log(`\nA function's own code at a cold start (median ms to create an instance with it, runtime included):`);
    console.log("function          bundle KiB   module   script   script+code cache   cache KiB");
    for (const row of codeLoading) {
      console.log(`${row.function.padEnd(16)} ${fmt(row.bundleKiB, 0).padStart(11)} ${fmt(row.moduleMs, 3).padStart(8)} ${fmt(row.scriptMs, 3).padStart(8)} ${fmt(row.scriptCachedMs, 3).padStart(19)} ${fmt(row.codeCacheKiB, 1).padStart(11)}`);
    }
  }

  if (density !== undefined && isolate !== undefined) {
    console.log(`\nDensity, ${density.instances} warm idle instances (one per function):`);
    console.log(`hosts' RSS ${fmt(density.hostsRssBeforeMiB, 0)} → ${fmt(density.hostsRssAfterMiB, 0)} MiB: ${fmt(density.perInstanceMiB)} MiB per instance (target ≤ 2), ${density.fitIn16GiB} fit in 16 GiB (target ≥ 10,000)`);
    console.log(`blank isolates one host makes per second (as its pool does: isolate from the snapshot, context, runtime connected): ${fmt(isolate.blankPerSec, 0)} sequential, ${fmt(isolate.blankPerSecParallel, 0)} two at a time (target ≥ 500/s)`);
  }
  if (sim !== undefined || simDay !== undefined) {
    console.log(`\nflick sim's speed, a synthetic workload through the hybrid keep-alive (one host per 100 functions; target: a million functions' day in ≤ 10 min and ≤ 8 GiB):`);
    console.log("functions   hosts  virtual h  shards   requests    wall s   requests/s   ticks/s   peak RSS MiB");
    for (const s of [...(sim ?? []), ...(simDay === undefined ? [] : [simDay])]) {
      console.log(`${String(s.functions).padStart(9)} ${String(s.hosts).padStart(7)} ${String(s.virtualHours).padStart(10)} ${String(s.shards).padStart(7)} ${String(s.invocations).padStart(10)} ${fmt(s.wallS, 1).padStart(9)} ${fmt(s.invocationsPerSec, 0).padStart(12)} ${fmt(s.ticksPerSec, 0).padStart(9)} ${fmt(s.peakRssMiB, 0).padStart(14)}`);
    }
  }
  if (scheduler !== undefined) {
    console.log(`\nScheduler at ${scheduler.hosts} hosts, ${scheduler.instances} instances (target p99 ≤ 20 µs):`);
    console.log(`release + acquire (warm): p50 ${fmt(scheduler.warmP50Us)} µs, p99 ${fmt(scheduler.warmP99Us)} µs; placement of a new instance: p50 ${fmt(scheduler.coldP50Us)} µs, p99 ${fmt(scheduler.coldP99Us)} µs`);
  }
  if (burst !== undefined) {
    console.log(`\nBurst, 0 → ${burst.requests} concurrent requests over ${burst.functions} functions (default limits: 1000 in flight per tenant):`);
    console.log(`${burst.ok} ok, 429: ${JSON.stringify(burst.throttled)}, other errors: ${JSON.stringify(burst.otherErrors)}, p50 ${fmt(burst.p50Ms)} ms, p99 ${fmt(burst.p99Ms)} ms, node alive: ${burst.nodeAlive}`);
  }

  if (asyncInvocations !== undefined) {
    console.log(`\nAsync invocations, ${asyncInvocations.events} events to a no-op function from ${asyncInvocations.clients} clients (each 202 after an fsync):`);
    console.log(`accepted ${fmt(asyncInvocations.acceptedPerSec, 0)}/s, completed ${fmt(asyncInvocations.completedPerSec, 0)}/s end to end; enqueue latency p50 ${fmt(asyncInvocations.enqueueP50Ms)} ms, p99 ${fmt(asyncInvocations.enqueueP99Ms)} ms; errors ${asyncInvocations.errors}`);
  }

  const spreadOf = spread;
  const runs = (rs: { acceptedPerSec: number; completedPerSec: number; enqueueP50Ms: number; enqueueP99Ms: number }[]) =>
    `accepted ${range(spreadOf(rs.map((r) => r.acceptedPerSec)), 0)}/s, completed ${range(spreadOf(rs.map((r) => r.completedPerSec)), 0)}/s; enqueue p50 ${range(spreadOf(rs.map((r) => r.enqueueP50Ms)), 0)} ms, p99 ${range(spreadOf(rs.map((r) => r.enqueueP99Ms)), 0)} ms`;
  if (asyncCluster !== undefined) {
    console.log(`\nAsync invocations on one node, embedded SQLite vs the cluster's queue (R3 JetStream, three nats-servers on this machine), ${asyncCluster.rounds} interleaved rounds of ${asyncCluster.events} events from ${asyncCluster.clients} clients; each run reports to a counter on 127.0.0.1; medians (range):`);
    console.log(`SQLite:       ${runs(asyncCluster.sqlite)}`);
    console.log(`JetStream R3: ${runs(asyncCluster.jetstream)}`);
    const ratios = asyncCluster.jetstream.map((j, i) => j.completedPerSec / asyncCluster.sqlite[i]!.completedPerSec);
    console.log(`JetStream R3 / SQLite, completed per second: ${range(spreadOf(ratios))}`);
  }

  if (clusterForward !== undefined) {
    const lat = clusterForward.latency;
    console.log(`\nForwarding between nodes (three nodes and three nats-servers on this machine; a function pinned to zone b, asked through the node in zone a), ${lat.length} interleaved rounds of ${clusterForward.requestsPerPath} requests one at a time per path; medians (range):`);
    console.log(`direct to a zone-b node:         p50 ${range(spreadOf(lat.map((l) => l.directP50Ms)))} ms, p99 ${range(spreadOf(lat.map((l) => l.directP99Ms)))} ms`);
    console.log(`through node-1, HTTP forward:    p50 ${range(spreadOf(lat.map((l) => l.httpP50Ms)))} ms, p99 ${range(spreadOf(lat.map((l) => l.httpP99Ms)))} ms; adds ${range(spreadOf(lat.map((l) => l.httpP50Ms - l.directP50Ms)))} ms at p50`);
    console.log(`NATS request-reply hop instead:  p50 ${range(spreadOf(lat.map((l) => l.natsP50Ms)))} ms, p99 ${range(spreadOf(lat.map((l) => l.natsP99Ms)))} ms; adds ${range(spreadOf(lat.map((l) => l.natsP50Ms - l.directP50Ms)))} ms at p50`);
    const fo = clusterForward.failover;
    console.log(`a zone-b node SIGKILLed under two clients through node-1, ${fo.length} rounds: answered again after ${range(spreadOf(fo.map((f) => f.answeredAgainMs)), 1)} ms; ${fo.map((f) => `${f.failed} of ${f.requests}`).join(", ")} requests failed; its provisioned instance on the other zone-b node after ${range(spreadOf(fo.map((f) => f.instancesMovedMs / 1000)), 1)} s (membership time-to-live 10 s)`);
  }

  if (wasi !== undefined && "missing" in wasi) console.log(`\nWASI hello world: not measured, missing ${wasi.missing}`);
  else if (wasi !== undefined) {
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    console.log(`\nWASI hello world (bench/wasi/hello.c, ${fmt(wasi.moduleBytes / 1024, 1)} KiB of wasm32-wasi), Flick next to the same program under node:wasi behind node:http:`);
    console.log(`cold start at the client: Flick p50 ${fmt(wasi.coldMs.flick.p50)} ms, p99 ${fmt(wasi.coldMs.flick.p99)} ms (first request to each of ${wasi.functions} functions, 10 ms apart); node:wasi, a new process per function, p50 ${fmt(wasi.coldMs.node.p50, 1)} ms, p99 ${fmt(wasi.coldMs.node.p99, 1)} ms (${wasi.coldMs.node.starts} starts)`);
    console.log(`warm, ${wasi.requestsPerSec.flick.length} interleaved rounds: Flick ${fmt(med(wasi.requestsPerSec.flick), 0)} req/s, node:wasi ${fmt(med(wasi.requestsPerSec.node), 0)} req/s; Flick / node:wasi = ${range(wasi.ratio)}×; errors ${wasi.errors.flick} and ${wasi.errors.node}`);
    console.log(`memory per idle instance: Flick ${fmt(wasi.idleMiB.flickPerInstance)} MiB (hosts' RSS over ${wasi.functions} warm idle instances); node:wasi ${fmt(wasi.idleMiB.nodeProcess, 1)} MiB (one idle process)`);
  }

  if (cli !== undefined) {
    console.log(`\nCLI start-up, median wall of ${cli.runs} interleaved runs (targets: --help ≤ 150 ms, ls ≤ 250 ms):`);
    console.log(`node -e 0 ${fmt(cli.nodeMs, 0)} ms; flick --help ${fmt(cli.helpMs, 0)} ms; flick ls ${fmt(cli.lsMs, 0)} ms; flick invoke ${fmt(cli.invokeMs, 0)} ms`);
  }

  if (state !== undefined) {
    const f0 = (n: number) => fmt(n, 0);
    const rps = (s: Spread) => `${f0(s.median)} (${f0(s.min)}–${f0(s.max)})`;
    const width = Math.max(9, ...state.workloads.map((w) => w.name.length));
    console.log(`\nState through bindings (KV, SQL databases, durable objects), the same Worker script on Flick and on ${state.systems.find((s) => s.name === "miniflare")!.version}, ${state.rounds} interleaved rounds of wrk -t${state.load.threads} -c${state.load.connections} -d${state.load.durationS}s; medians (range) over rounds`);
    console.log(`${"workload".padEnd(width)} ${"system".padEnd(10)} ${"req/s".padStart(23)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}   ${"errors (non-2xx + socket)".padEnd(38)} Flick / Miniflare req/s`);
    for (const w of state.workloads) {
      for (const name of ["flick", "miniflare"] as const) {
        const rs = w.rounds[name];
        const non2xx = rs.reduce((a, r) => a + r.non2xx, 0);
        const socket = rs.reduce((a, r) => a + r.socketErrors, 0);
        const errors = `${non2xx + socket}${non2xx + socket === 0 ? "" : ` (${non2xx} + ${socket}) of ${rs.reduce((a, r) => a + r.requests, 0)}`}`;
        console.log(
          `${(name === "flick" ? w.name : "").padEnd(width)} ${name.padEnd(10)} ${rps(spread(rs.map((r) => r.requestsPerSec))).padStart(23)} ${fmt(spread(rs.map((r) => r.p50Ms)).median).padStart(8)} ${fmt(spread(rs.map((r) => r.p99Ms)).median).padStart(8)}   ${errors.padEnd(38)} ${name === "flick" ? `${range(w.flickOverMiniflare)}×` : ""}`.trimEnd(),
        );
      }
    }
    for (const w of state.workloads) {
      const a = w.after;
      const answer = (x: NonNullable<typeof a>["flick"]) => `${x.status === 200 ? "" : `${x.status} `}${JSON.stringify(x.body)} ${x.ok ? "right" : "WRONG"} (expected ${x.expected})`;
      console.log(`${w.name}: ${w.what}${a === null ? "" : `; ${a.what}: Flick ${answer(a.flick)}, Miniflare ${answer(a.miniflare)}`}`);
    }
    const errored = state.workloads.filter((w) => [...w.rounds.flick, ...w.rounds.miniflare, w.warmUp.flick, w.warmUp.miniflare].some((r) => r.errors > 0));
    if (errored.length > 0) {
      console.log(`ERRORS in ${errored.map((w) => w.name).join(", ")}: their requests/s count the failed answers too`);
      for (const w of errored) {
        for (const name of ["flick", "miniflare"] as const) {
          const u = w.warmUp[name];
          if (u.errors > 0) console.log(`  ${w.name} ${name} warm-up (not in the table): ${u.errors} errors (${u.non2xx} non-2xx + ${u.socketErrors} socket) of ${u.requests}`);
        }
      }
    }
    const wrong = state.workloads.filter((w) => w.after !== null && !(w.after.flick.ok && w.after.miniflare.ok));
    if (wrong.length > 0) console.log(`WRONG STATE after the rounds in ${wrong.map((w) => w.name).join(", ")} (see above)`);
    for (const s of state.systems) {
      for (const [kind, text] of Object.entries(s.durability)) console.log(`durability, ${s.name}, ${kind}: ${text}`);
    }
  }

  const report = {
    date: new Date(started).toISOString(),
    durationS: Math.round((Date.now() - started) / 1000),
    machine,
    load,
    sections: only === null ? "all" : [...only],
    warm,
    telemetry,
    wasi,
    noisyNeighbour: noisy,
    hostKill,
    // Sections not run are left out (undefined is not written).
    coldStart: on("cold") ? (cold ?? null) : undefined,
    coldStartSpaced: on("cold") ? (coldSpaced ?? null) : undefined,
    coldStartLarge: on("cold") ? (coldLarge ?? null) : undefined,
    isolate,
    codeLoading,
    density,
    scheduler,
    sim,
    simDay,
    burst,
    async: asyncInvocations,
    asyncCluster,
    clusterForward,
    cliStartup: cli,
    state,
  };
  const dir = path.join(repoRoot, "bench", "results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${report.date.replace(/[:.]/g, "-")}.json`);
  const json = `${JSON.stringify(report, null, 2)}\n`;
  writeFileSync(file, json);
  // latest.json is always a whole run: a run of some sections writes only its own file.
  if (only === null) writeFileSync(path.join(dir, "latest.json"), json);
  console.log(`\nwritten ${path.relative(repoRoot, file)}${only === null ? " and bench/results/latest.json" : ""} (run took ${report.durationS} s)`);
}

try {
  await main();
} catch (err) {
  console.error(`bench failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
} finally {
  // Whatever happened above, no server outlives the run.
  await stopAllChildren();
}
