/**
 * `flick sim`'s own speed: a seeded synthetic workload of 1,000, 100,000 and 1,000,000
 * functions (hosts: one per 100 functions) replayed through the hybrid keep-alive, each
 * size in a child process of its own so that its peak RSS is its own. The smaller sizes
 * replay a whole day; 100,000 functions six hours and a million one hour of it (the first
 * hours are the dear ones: every function's first request is a cold start and its state
 * is made then). Figures: requests replayed per second and scheduler ticks per second of
 * wall time, and the child's peak RSS.
 *
 * The `sim-day` section replays the target, a million functions' whole day over
 * 10,000 hosts, as `flick sim --synthetic 1000000` runs it: in shards, one per core.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export interface SimSpeed {
  functions: number;
  hosts: number;
  virtualHours: number;
  invocations: number;
  wallS: number;
  invocationsPerSec: number;
  ticksPerSec: number;
  peakRssMiB: number;
  coldPct: number;
  /** Worker threads it ran in (1: the scheduler on the main thread). */
  shards: number;
}

const sizes: [number, number][] = [
  [1_000, 24],
  [100_000, 6],
  [1_000_000, 1],
];

/** Run as a child: `node bench/sim-speed.ts FUNCTIONS HOURS [SHARDS]` prints one JSON line. */
async function child(functions: number, hours: number, shards: number): Promise<void> {
  const { simulate, simulateSharded, syntheticWorkload } = await import("../src/sim/index.ts");
  const started = performance.now();
  const hosts = Math.max(1, Math.ceil(functions / 100));
  const options = { hosts, hostMemoryMiB: 65_536, hostSlots: 10_000, concurrency: 16, placement: "best-fit", keepAlive: { policy: "hybrid", fallbackTtlMs: 600_000 } } as const;
  const synthetic = { functions, seed: 1, durationMs: hours * 3_600_000 };
  const r = shards > 1 ? await simulateSharded({ synthetic }, options, shards) : simulate(syntheticWorkload(synthetic), options);
  const wallS = (performance.now() - started) / 1000;
  const out: SimSpeed = {
    functions, hosts, virtualHours: hours, invocations: r.invocations, wallS,
    invocationsPerSec: r.invocations / wallS, ticksPerSec: r.ticks / wallS,
    peakRssMiB: process.resourceUsage().maxRSS / 1024, coldPct: r.coldPct, shards,
  };
  console.log(JSON.stringify(out));
}

export function measureSimSpeed(only?: number[]): SimSpeed[] {
  const self = fileURLToPath(import.meta.url);
  const out: SimSpeed[] = [];
  for (const [functions, hours] of sizes) {
    if (only !== undefined && !only.includes(functions)) continue;
    const text = execFileSync(process.execPath, ["--max-old-space-size=8192", self, String(functions), String(hours)], { encoding: "utf8", cwd: path.dirname(self), maxBuffer: 1 << 20 });
    out.push(JSON.parse(text.trim().split("\n").at(-1)!) as SimSpeed);
    console.error(`sim speed: ${functions} functions done`);
  }
  return out;
}

/** The million-function day as `flick sim` runs it (one shard per core). */
export async function measureSimDay(): Promise<SimSpeed> {
  const { defaultShards } = await import("../src/sim/index.ts");
  const self = fileURLToPath(import.meta.url);
  const text = execFileSync(process.execPath, [self, "1000000", "24", String(defaultShards(1_000_000))], { encoding: "utf8", cwd: path.dirname(self), maxBuffer: 1 << 20 });
  return JSON.parse(text.trim().split("\n").at(-1)!) as SimSpeed;
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length >= 4) await child(Number(process.argv[2]), Number(process.argv[3]), Number(process.argv[4] ?? 1));
