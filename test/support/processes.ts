/**
 * What a hostile-code test reads about a node's processes from /proc (Linux): its worker
 * hosts (the primary's children) and how much memory a process holds.
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
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

/** Whether process `pid` holds a listening TCP socket on `port` (from /proc/net/tcp{,6} and its fds). */
export function listensOn(pid: number, port: number): boolean {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      // f[1] local address "HEX_IP:HEX_PORT", f[3] state (0A = LISTEN), f[9] inode.
      if (f.length > 9 && f[3] === "0A" && Number.parseInt(f[1]!.split(":")[1]!, 16) === port) inodes.add(f[9]!);
    }
  }
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m !== null && inodes.has(m[1]!)) return true;
    } catch {
      // The fd closed meanwhile.
    }
  }
  return false;
}

/** Whether process `pid` still exists (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}
