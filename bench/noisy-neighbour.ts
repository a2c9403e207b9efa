/**
 * A victim's latency next to spinning neighbours: tenant "victim"'s hello world under one
 * connection (wrk -t1 -c1) with no spinner, with one, and with N (distinct functions of
 * tenant "noisy", each `while (true) {}` in its own isolate, so each holds a thread). The
 * goal: the victim's p99 with spinners at most 2× its p99 without.
 */
import { availableParallelism } from "node:os";
import * as path from "node:path";
import { FlickClient } from "../src/api/index.ts";
import { bundleFunction } from "../src/build/index.ts";
import { repoRoot, startFlick, stopTarget } from "./targets.ts";
import { loadTest, type LoadResult } from "./wrk.ts";

export interface NoisyNeighbour {
  spinners: number[];
  /** The victim's latency with each number of spinners. */
  results: LoadResult[];
  /** p99 with k spinners over p99 with none. */
  p99Ratios: number[];
}

export async function measureNoisyNeighbour(durationS = 4, many = availableParallelism()): Promise<NoisyNeighbour> {
  const flick = await startFlick();
  const noisy = new FlickClient(flick.baseUrl, (await flick.client.createTenant("noisy")).token);
  const victim = new FlickClient(flick.baseUrl, (await flick.client.createTenant("victim")).token);
  try {
    await victim.deploy("victim", { code: (await bundleFunction(path.join(repoRoot, "examples", "hello.ts"))).code });
    for (let i = 0; i < many; i++) {
      await noisy.deploy(`spin-${i}`, { code: `export default { fetch() { while (true) {} } };\n// ${i}\n`, timeoutMs: 600_000 });
    }
    const url = `${flick.baseUrl}/fn/victim`;
    await loadTest(url, { connections: 1, threads: 1, durationS: 1 });
    const spinners = [0, 1, many];
    const results: LoadResult[] = [];
    let running = 0;
    const spinning: Promise<unknown>[] = [];
    for (const count of spinners) {
      for (; running < count; running++) spinning.push(fetch(`${flick.baseUrl}/fn/spin-${running}`).then((r) => r.arrayBuffer(), () => undefined));
      // Give the spinners' cold starts time to finish and their loops to take their threads.
      await new Promise((r) => setTimeout(r, 500));
      results.push(await loadTest(url, { connections: 1, threads: 1, durationS }));
      console.error(`victim next to ${count} spinners: p99 ${results.at(-1)!.p99Ms} ms`);
    }
    // Removing the spinners stops their isolates (and answers their requests).
    for (let i = 0; i < many; i++) await noisy.removeFunction(`spin-${i}`);
    await Promise.all(spinning);
    return { spinners, results, p99Ratios: results.map((r) => r.p99Ms / results[0]!.p99Ms) };
  } finally {
    await stopTarget(flick);
  }
}
