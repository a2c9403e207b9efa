/**
 * What a hostile-code test reads about a node's processes from /proc (Linux): its worker
 * hosts (the primary's children) and how much memory a process holds.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import type { TestNode } from "./node-process.ts";

/** PIDs of the primary's child processes (its worker hosts, draining ones included), sorted. */
export function hostPids(node: TestNode): number[] {
  let out = "";
  try {
    out = execFileSync("pgrep", ["-P", String(node.process.pid)], { encoding: "utf8" });
  } catch {
    // pgrep exits 1 when there is no child.
  }
  return out.trim().split("\n").filter((s) => s !== "").map(Number).sort((a, b) => a - b);
}

/** Resident memory of a process in MiB (VmRSS of /proc/<pid>/status). */
export function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (match === null) throw new Error(`no VmRSS for process ${pid}`);
  return Number(match[1]) / 1024;
}

/** GET /readyz: how many worker hosts the primary counts as its own. */
export async function readyHosts(node: TestNode): Promise<number> {
  const res = await fetch(`${node.url}/readyz`);
  return ((await res.json()) as { hosts: number }).hosts;
}
