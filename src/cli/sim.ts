/**
 * `flick sim`: replays a trace, or a seeded synthetic day, through the node's scheduler on
 * a virtual clock (src/sim/), and prints what each keep-alive policy costs: cold starts
 * against idle instance time and memory. Runs locally; no node needed.
 */
import { writeFileSync } from "node:fs";
import { FlickError } from "../errors/index.ts";
import type { Command } from "./command.ts";
import { table } from "./format.ts";
import { parseDuration, parseInteger } from "./parse.ts";
import type { WorkloadSource } from "../sim/index.ts";

/** What `--compare frontier` runs: the fixed TTLs the issue's frontier names, and both hybrids. */
const frontier = ["fixed:5m", "fixed:10m", "fixed:20m", "fixed:30m", "fixed:60m", "hybrid-paper", "hybrid"];

type Spec = { policy: "fixed"; ttlMs: number } | { policy: "hybrid"; fallbackTtlMs: number; tuning?: Record<string, unknown> };

/**
 * `fixed:10m`; `hybrid` (Flick's, a cold start worth `--cold-start-cost` of idle instance time,
 * default 20 min); `hybrid-paper` (the paper's percentile windows). Both fall back to 10 min.
 */
function policyOf(text: string, coldStartCostMs: number | undefined): Spec {
  const t = text.trim();
  if (t.startsWith("fixed:")) return { policy: "fixed", ttlMs: parseDuration(t.slice(6), "--keep-alive", { min: 0, max: 7 * 24 * 3600_000 }) };
  // What `flick up --keep-alive hybrid` runs: the node's idle TTL (10 min) until a function has a few idle periods.
  if (t === "hybrid") return { policy: "hybrid", fallbackTtlMs: 10 * 60_000, ...(coldStartCostMs === undefined ? {} : { tuning: { coldStartCostMs } }) };
  if (t === "hybrid-paper") return { policy: "hybrid", fallbackTtlMs: 10 * 60_000, tuning: { choose: "percentile", margin: 0.1, burstKeepMs: 90_000, headPercentile: 0.05, tailPercentile: 0.99 } };
  throw new FlickError("bad_request", `--keep-alive ${t}: expected fixed:DURATION (e.g. fixed:10m), hybrid or hybrid-paper`);
}

const name = (spec: Spec, text: string) => (text.trim() === "hybrid-paper" ? "hybrid-paper" : spec.policy === "fixed" ? text.trim().replace(":", " ") : "hybrid");

export const sim: Command = {
  name: "sim",
  summary: "Replay a trace (or a synthetic day) through the scheduler on a virtual clock and compare keep-alive policies.",
  usage: "sim [TRACE_DIR] [--synthetic N] [--keep-alive P | --compare P,P,…|frontier] [--hosts N] [--json FILE] [--chart FILE.svg]",
  optionHelp: [
    "TRACE_DIR            a directory in the Azure Functions 2019 format (*_inv.csv, *_run.csv, *_mem.csv)",
    "--synthetic N        instead of a trace: a seeded day of N functions (heavy-tailed, bursty, diurnal)",
    "--minutes N          replay only the first N minutes",
    "--spread S           how a trace's per-minute counts become arrivals: even (default) or poisson (seeded)",
    "--seed N             the seed for every random choice (default 1): the same seed gives the same figures",
    "--keep-alive P       fixed:DURATION, hybrid (default) or hybrid-paper",
    "--cold-start-cost D  hybrid: how much idle instance time a cold start is worth (default 20m)",
    "--compare LIST       several policies on the same workload, e.g. fixed:10m,hybrid; `frontier` for fixed 5–60 min and both hybrids",
    "--hosts N            hosts (default 100, or N/100 for --synthetic)",
    "--host-memory MIB    memory per host for instances, MiB (default 65536)",
    "--host-slots N       isolates per host (default 10000)",
    "--concurrency N      requests one instance takes at once (default 16)",
    "--placement P        best-fit (default), spread or load-aware",
    "--shards N           replay the functions N ways in parallel, one thread each (default: one per core from 10,000 functions); exact unless a shard runs out of room",
    "--json FILE          also write every figure as JSON (- for standard output)",
    "--chart FILE         also draw the frontier and memory over time as an SVG image",
  ],
  examples: [
    "flick sim ../shared/traces/azure2019-sample-100 --compare frontier --chart frontier.svg",
    "flick sim --synthetic 100000 --keep-alive hybrid --json day.json",
  ],
  options: {
    synthetic: { type: "string" },
    minutes: { type: "string" },
    spread: { type: "string" },
    seed: { type: "string" },
    "keep-alive": { type: "string" },
    "cold-start-cost": { type: "string" },
    compare: { type: "string" },
    hosts: { type: "string" },
    "host-memory": { type: "string" },
    "host-slots": { type: "string" },
    concurrency: { type: "string" },
    placement: { type: "string" },
    shards: { type: "string" },
    json: { type: "string" },
    chart: { type: "string" },
  },
  positionals: { min: 0, max: 1 },
  async run({ values, positionals }) {
    const { workloadOf, simulate, simulateSharded, defaultShards, renderChart, simSummary } = await import("../sim/index.ts");
    const text = (k: string) => values[k] as string | undefined;
    const trace = positionals[0];
    const synthetic = text("synthetic") === undefined ? undefined : parseInteger(text("synthetic")!, "--synthetic", { min: 1, max: 10_000_000 });
    if ((trace === undefined) === (synthetic === undefined)) throw new FlickError("bad_request", "give a trace directory or --synthetic N (one of them): flick sim ../shared/traces/azure2019-sample-100");
    const seed = text("seed") === undefined ? 1 : parseInteger(text("seed")!, "--seed", { min: 0, max: 2 ** 31 - 1 });
    const spread = text("spread") ?? "even";
    if (spread !== "even" && spread !== "poisson") throw new FlickError("bad_request", `--spread ${spread}: expected even or poisson`);
    const minutes = text("minutes") === undefined ? undefined : parseInteger(text("minutes")!, "--minutes", { min: 1, max: 14 * 1440 });
    const placement = text("placement") ?? "best-fit";
    if (placement !== "best-fit" && placement !== "spread" && placement !== "load-aware") throw new FlickError("bad_request", `--placement ${placement}: expected best-fit, spread or load-aware`);
    const cost = text("cold-start-cost") === undefined ? undefined : parseDuration(text("cold-start-cost")!, "--cold-start-cost", { min: 1000, max: 24 * 3600_000 });
    if (text("compare") !== undefined && text("keep-alive") !== undefined) throw new FlickError("bad_request", "--compare and --keep-alive: give one (--compare runs each policy it lists)");
    const listed = text("compare") === "frontier" ? frontier : (text("compare") ?? text("keep-alive") ?? "hybrid").split(",").filter((p) => p.trim() !== "");
    const policies = listed.map((p) => {
      const spec = policyOf(p, cost);
      return { spec, name: name(spec, p) };
    });

    // The same description makes the workload here and in each shard's worker.
    const source: WorkloadSource = trace !== undefined
      ? { trace, options: { spread, seed, ...(minutes === undefined ? {} : { minutes }) } }
      : { synthetic: { functions: synthetic!, seed, ...(minutes === undefined ? {} : { durationMs: minutes * 60_000 }) } };
    let workload;
    try {
      workload = workloadOf(source);
    } catch (err) {
      // The readers' errors say which file, which line and what to do: shown as they are, without a stack.
      throw new FlickError("bad_request", (err as Error).message);
    }
    for (const note of workload.notes) process.stderr.write(`${note}\n`);
    const hosts = text("hosts") === undefined ? Math.max(1, Math.ceil((synthetic ?? 10_000) / 100)) : parseInteger(text("hosts")!, "--hosts", { min: 1, max: 1_000_000 });
    const options = {
      hosts,
      hostMemoryMiB: text("host-memory") === undefined ? 65_536 : parseInteger(text("host-memory")!, "--host-memory", { min: 16, max: 16 * 2 ** 20 }, "MiB"),
      hostSlots: text("host-slots") === undefined ? 10_000 : parseInteger(text("host-slots")!, "--host-slots", { min: 1, max: 1_000_000 }),
      concurrency: text("concurrency") === undefined ? 16 : parseInteger(text("concurrency")!, "--concurrency", { min: 1, max: 10_000 }),
      placement: placement as "best-fit" | "spread" | "load-aware",
    } as const;

    const shards = text("shards") === undefined ? Math.min(defaultShards(workload.functions.length), hosts) : parseInteger(text("shards")!, "--shards", { min: 1, max: Math.min(64, hosts) });
    const results = [];
    const inexact: string[] = [];
    for (const p of policies) {
      const started = Date.now();
      const run = {
        ...options,
        keepAlive: p.spec as never,
        // A progress line only on a terminal, and only for a run long enough to wait for.
        progress: (ms: number) => {
          if (process.stderr.isTTY && Date.now() - started > 2000) process.stderr.write(`\r${p.name}: hour ${Math.round(ms / 3600_000)} of ${Math.round(workload.durationMs / 3600_000)} (${Math.round((Date.now() - started) / 1000)} s)`);
        },
      };
      let r;
      if (shards > 1) {
        const sharded = await simulateSharded(source, run, shards);
        if (!sharded.exact) inexact.push(p.name);
        r = sharded;
      } else r = simulate(workload, run);
      if (process.stderr.isTTY && Date.now() - started > 2000) process.stderr.write(`\r${" ".repeat(60)}\r`);
      r.policy = p.name;
      results.push(r);
    }
    const base = results.find((r) => r.policy === "fixed 10m");
    const pct = (v: number) => `${v.toFixed(3)} %`;
    const rel = (v: number, b: number | undefined) => (b === undefined || b === 0 ? "" : ` (${(v / b).toFixed(2)}×)`);
    console.log(`${workload.name}: ${results[0]!.functions} functions, ${results[0]!.invocations} requests, ${options.hosts} hosts of ${options.hostMemoryMiB} MiB, concurrency ${options.concurrency}, ${spread} arrivals, seed ${seed}`);
    console.log(table(
      ["POLICY", "COLD", "COLD STARTS", "IDLE INSTANCE-MIN", "IDLE GB-MIN", "STARTS", "PRE-WARM HIT/MISS", "PER-FN COLD P50/P90/P99", "429"],
      results.map((r) => [
        r.policy,
        pct(r.coldPct),
        String(r.coldStarts),
        `${Math.round(r.idleInstanceMinutes)}${rel(r.idleInstanceMinutes, base?.idleInstanceMinutes)}`,
        `${Math.round(r.idleGbMinutes)}${rel(r.idleGbMinutes, base?.idleGbMinutes)}`,
        String(r.instanceStarts),
        `${r.prewarmHits}/${r.prewarmMisses}`,
        `${r.perFunctionColdPct.p50.toFixed(1)}/${r.perFunctionColdPct.p90.toFixed(1)}/${r.perFunctionColdPct.p99.toFixed(1)} %`,
        String(r.throttled.function_limit + r.throttled.no_capacity),
      ]),
    ));
    const speed = results.map((r) => `${r.policy} ${(r.cost.wallMs / 1000).toFixed(1)} s`).join(", ");
    process.stderr.write(`simulated in ${speed}${shards > 1 ? ` (${shards} shards in parallel)` : ""}; peak RSS ${Math.round(Math.max(...results.map((r) => r.cost.peakRssMiB)))} MiB\n`);
    if (inexact.length > 0) process.stderr.write(`flick sim: hosts ran out of room in a shard under ${inexact.join(", ")}, so those figures are not exactly one scheduler's: rerun with --shards 1 for them\n`);
    const json = text("json");
    if (json !== undefined) {
      const body = JSON.stringify({ workload: workload.name, seed, spread, options, shards, results: results.map(simSummary) }, null, 2);
      if (json === "-") console.log(body);
      else writeFileSync(json, `${body}\n`);
    }
    const chart = text("chart");
    if (chart !== undefined) writeFileSync(chart, renderChart(results, `${workload.name}: cold starts against idle memory`));
  },
};
