/**
 * Flick cold starts as a client sees them: the first request to each of N new functions.
 *
 * Then the same client, with the same pause before each request, asks a bare node:http
 * hello world and a warm Flick function as many times: what a request costs on this
 * machine at that spacing, whatever serves it. After a pause the client's and the
 * servers' threads wake from idle, and on a small VM that alone costs about a millisecond.
 */
import * as path from "node:path";
import { bundleFunction } from "../src/build/index.ts";
import { repoRoot, startFlick, startNodeHttp, stopTarget } from "./targets.ts";

export interface Latencies {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ColdStarts extends Latencies {
  functions: number;
  /** Pause before each request. */
  gapMs: number;
  /** The same client and spacing, to a bare node:http hello world. */
  nodeHttp: Latencies;
  /** The same client and spacing, to a warm Flick function. */
  warm: Latencies;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function latencies(times: number[]): Latencies {
  const sorted = times.slice().sort((a, b) => a - b);
  return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1)! };
}

/** `code`: the function deployed (default: examples/hello.ts bundled). */
export async function measureColdStarts(functions: number, gapMs = 0, code?: string): Promise<ColdStarts> {
  const flick = await startFlick();
  const node = await startNodeHttp().catch(async (err: unknown) => {
    await stopTarget(flick);
    throw err;
  });
  try {
    const base = code ?? (await bundleFunction(path.join(repoRoot, "examples", "hello.ts"))).code;
    for (let i = 0; i < functions; i++) {
      // Distinct code per function, so each is its own version and gets its own instance.
      await flick.client.deploy(`cold-${i}`, { code: `${base}\n// function ${i}\n` });
    }
    await flick.client.deploy("warm-reference", { code: base });
    const timed = async (url: string): Promise<[number, Response]> => {
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      const started = performance.now();
      const res = await fetch(url);
      await res.arrayBuffer();
      return [performance.now() - started, res];
    };
    await timed(`${flick.baseUrl}/fn/warm-reference`);
    await timed(node.url);
    const cold: number[] = [];
    for (let i = 0; i < functions; i++) {
      const [ms, res] = await timed(`${flick.baseUrl}/fn/cold-${i}`);
      if (res.headers.get("x-flick-cold-start") !== "1") throw new Error(`cold-${i} was not a cold start`);
      cold.push(ms);
    }
    // The references after the cold starts, not between them: the cold starts keep their spacing.
    const bare: number[] = [];
    for (let i = 0; i < functions; i++) bare.push((await timed(node.url))[0]);
    const warm: number[] = [];
    for (let i = 0; i < functions; i++) warm.push((await timed(`${flick.baseUrl}/fn/warm-reference`))[0]);
    return { functions, gapMs, ...latencies(cold), nodeHttp: latencies(bare), warm: latencies(warm) };
  } finally {
    await stopTarget(node);
    await stopTarget(flick);
  }
}
