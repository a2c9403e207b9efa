/** 0 → 2,000 concurrent requests over 200 functions on a fresh node: what answers, what is refused and why. */
import * as path from "node:path";
import { bundleFunction } from "../src/build/index.ts";
import { repoRoot, startFlick, stopTarget } from "./targets.ts";

export interface BurstResult {
  functions: number;
  requests: number;
  ok: number;
  throttled: Record<string, number>;
  otherErrors: Record<string, number>;
  p50Ms: number;
  p99Ms: number;
  nodeAlive: boolean;
}

export async function measureBurst(functions = 200, requests = 2_000): Promise<BurstResult> {
  const flick = await startFlick();
  try {
    const base = (await bundleFunction(path.join(repoRoot, "examples", "hello.ts"))).code;
    for (let i = 0; i < functions; i++) await flick.client.deploy(`burst-${i}`, { code: `${base}\n// burst ${i}\n` });
    const latencies: number[] = [];
    const throttled: Record<string, number> = {};
    const otherErrors: Record<string, number> = {};
    let ok = 0;
    await Promise.all(
      Array.from({ length: requests }, async (_, i) => {
        const started = performance.now();
        try {
          const res = await fetch(`${flick.baseUrl}/fn/burst-${i % functions}`);
          await res.arrayBuffer();
          latencies.push(performance.now() - started);
          if (res.status === 200) ok++;
          else if (res.status === 429) throttled[res.headers.get("x-flick-error") ?? "?"] = (throttled[res.headers.get("x-flick-error") ?? "?"] ?? 0) + 1;
          else otherErrors[String(res.status)] = (otherErrors[String(res.status)] ?? 0) + 1;
        } catch (err) {
          const key = (err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : String(err);
          otherErrors[key] = (otherErrors[key] ?? 0) + 1;
        }
      }),
    );
    latencies.sort((a, b) => a - b);
    const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0;
    const alive = (await fetch(`${flick.baseUrl}/healthz`).then((r) => r.ok).catch(() => false)) && flick.child.exitCode === null;
    return { functions, requests, ok, throttled, otherErrors, p50Ms: pick(0.5), p99Ms: pick(0.99), nodeAlive: alive };
  } finally {
    await stopTarget(flick);
  }
}
