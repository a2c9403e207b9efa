/**
 * `flick sim`'s own speed: a seeded synthetic workload of 1,000, 100,000 and 1,000,000
 * functions (hosts: one per 100 functions) replayed through the hybrid keep-alive, each
 * size in a child process of its own so that its peak RSS is its own. The smaller sizes
 * replay a whole day; 100,000 functions six hours and a million one hour of it (the first
 * hours are the dear ones: every function's first request is a cold start and its state
 * is made then). Figures: requests replayed per second and scheduler ticks per second of
 * wall time, and the child's peak RSS.
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
}

const sizes: [number, number][] = [
  [1_000, 24],
  [100_000, 6],
  [1_000_000, 1],
];

/** Run as a child: `node bench/sim-speed.ts FUNCTIONS HOURS` prints one JSON line. */
async function child(functions: number, hours: number): Promise<void> {
  const { simulate, syntheticWorkload } = await import("../src/sim/index.ts");
  const started = performance.now();
  const workload = syntheticWorkload({ functions, seed: 1, durationMs: hours * 3_600_000 });
  const hosts = Math.max(1, Math.ceil(functions / 100));
  const r = simulate(workload, { hosts, hostMemoryMiB: 65_536, hostSlots: 10_000, concurrency: 16, placement: "best-fit", keepAlive: { policy: "hybrid", fallbackTtlMs: 600_000 } });
  const wallS = (performance.now() - started) / 1000;
  const out: SimSpeed = {
    functions, hosts, virtualHours: hours, invocations: r.invocations, wallS,
    invocationsPerSec: r.invocations / wallS, ticksPerSec: r.ticks / wallS,
    peakRssMiB: process.resourceUsage().maxRSS / 1024, coldPct: r.coldPct,
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

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.length >= 4) await child(Number(process.argv[2]), Number(process.argv[3]));
