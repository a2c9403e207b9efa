/**
 * Density: resident memory of the worker hosts with 1,000 warm idle instances (one per
 * function, each served one request and then left idle), per instance, and how many would
 * fit in 16 GiB at that rate.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { bundleFunction } from "../src/build/index.ts";
import { repoRoot, startFlick, stopTarget } from "./targets.ts";

export interface Density {
  instances: number;
  hostsRssBeforeMiB: number;
  hostsRssAfterMiB: number;
  perInstanceMiB: number;
  fitIn16GiB: number;
}

/** Resident memory of a node's worker hosts (the primary's children), MiB. */
export function hostsRssMiB(primaryPid: number): number {
  let pids: number[] = [];
  try {
    pids = execFileSync("pgrep", ["-P", String(primaryPid)], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {}
  let kib = 0;
  for (const pid of pids) {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    kib += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  }
  return kib / 1024;
}

export async function measureDensity(count = 1_000): Promise<Density> {
  const flick = await startFlick();
  try {
    const base = (await bundleFunction(path.join(repoRoot, "examples", "hello.ts"))).code;
    for (let i = 0; i < count; i++) await flick.client.deploy(`dense-${i}`, { code: `${base}\n// dense ${i}\n` });
    await new Promise((r) => setTimeout(r, 500));
    const before = hostsRssMiB(flick.child.pid!);
    for (let i = 0; i < count; i++) await (await fetch(`${flick.baseUrl}/fn/dense-${i}`)).arrayBuffer();
    // Idle: hosts collect an instance's garbage once it has waited 10 s (instance.ts
    // idleCollectMs), up to 100 a second on a quiet host: after 25 s every instance had its turn.
    await new Promise((r) => setTimeout(r, 25_000));
    const after = hostsRssMiB(flick.child.pid!);
    const perInstanceMiB = (after - before) / count;
    return { instances: count, hostsRssBeforeMiB: before, hostsRssAfterMiB: after, perInstanceMiB, fitIn16GiB: Math.floor(16_384 / perInstanceMiB) };
  } finally {
    await stopTarget(flick);
  }
}
