/** Flick cold starts as a client sees them: the first request to each of N new functions. */
import * as path from "node:path";
import { bundleFunction } from "../src/build/index.ts";
import { repoRoot, startFlick, stopTarget } from "./targets.ts";

export interface ColdStarts {
  functions: number;
  /** Pause between one function's first request and the next one's. */
  gapMs: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** `code`: the function deployed (default: examples/hello.ts bundled). */
export async function measureColdStarts(functions: number, gapMs = 0, code?: string): Promise<ColdStarts> {
  const flick = await startFlick();
  try {
    const base = code ?? (await bundleFunction(path.join(repoRoot, "examples", "hello.ts"))).code;
    for (let i = 0; i < functions; i++) {
      // Distinct code per function, so each is its own version and gets its own instance.
      await flick.client.deploy(`cold-${i}`, { code: `${base}\n// function ${i}\n` });
    }
    const times: number[] = [];
    for (let i = 0; i < functions; i++) {
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      const started = performance.now();
      const res = await fetch(`${flick.baseUrl}/fn/cold-${i}`);
      await res.arrayBuffer();
      times.push(performance.now() - started);
      if (res.headers.get("x-flick-cold-start") !== "1") throw new Error(`cold-${i} was not a cold start`);
    }
    times.sort((a, b) => a - b);
    return { functions, gapMs, p50Ms: percentile(times, 50), p99Ms: percentile(times, 99), maxMs: times.at(-1)! };
  } finally {
    await stopTarget(flick);
  }
}
