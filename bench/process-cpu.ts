/**
 * CPU time a process and everything under it have used, read from /proc. The bench's
 * throughput figures share a noisy 2-core VM with the load generator and with whatever
 * else the host runs (steal time); CPU seconds per request are the work itself, and on a
 * saturated CPU throughput is their inverse. Linux only: elsewhere it answers null.
 */
import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ: /proc's utime and stime are in these ticks. It is 100 on every Linux port Node runs on. */
const ticksPerSecond = 100;

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    // One `children` file per thread; a process's children hang off the thread that forked them.
    for (const tid of readdirSafe(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text !== "") for (const c of text.split(" ")) out.push(Number(c));
    }
  } catch {}
  return out;
}

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** utime + stime of one process (all its threads), in seconds; 0 when it has gone. */
function ownCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // rest[0] is field 3 (state): utime is field 14, stime field 15.
    return (Number(rest[11]) + Number(rest[12])) / ticksPerSecond;
  } catch {
    return 0;
  }
}

/** CPU seconds of `pid` and its live descendants, or null where /proc cannot tell. */
export function treeCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined || process.platform !== "linux") return null;
  let total = 0;
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    total += ownCpuSeconds(p);
    stack.push(...childrenOf(p));
  }
  return total;
}
