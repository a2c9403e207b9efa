/** Runs wrk against a URL and reads its report: requests/s, latency percentiles, errors. */
import { execFileSync } from "node:child_process";
import { outputOf, spawnChild, stopChild } from "./children.ts";

const missing = "install wrk: apt-get install wrk";

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p75Ms: number;
  p90Ms: number;
  p99Ms: number;
  requests: number;
  non2xx: number;
  socketErrors: number;
  /** non2xx + socketErrors: anything but a clean answer. */
  errors: number;
}

export interface LoadOptions {
  connections: number;
  durationS: number;
  threads: number;
  /** CPUs wrk may run on (`taskset -c` list), when the system measured has the others. */
  cpus?: string;
}

/** Fails before anything is started when wrk is not there. */
export function wrkVersion(): string {
  try {
    // `wrk -v` prints its version and exits 1, so read the output of the failed call too.
    return execFileSync("wrk", ["-v"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stdout?: string };
    if (e.code === "ENOENT") throw new Error(missing);
    return /wrk [^\s]+/.exec(e.stdout ?? "")?.[0] ?? "wrk";
  }
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n;
}

/** Reads wrk's text report (with --latency, which adds the 50/75/90/99% distribution). */
export function parseWrk(output: string): LoadResult {
  const latency = (p: string) => {
    const m = new RegExp(`^\\s*${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(output);
    if (m === null) throw new Error(`wrk output has no ${p}% latency:\n${output}`);
    return toMs(m[1]!, m[2]!);
  };
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(output);
  const total = /(\d+) requests in/.exec(output);
  if (rps === null || total === null) throw new Error(`cannot read wrk output:\n${output}`);
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(output)?.[1] ?? 0);
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(output);
  const socketErrors = socket === null ? 0 : socket.slice(1).reduce((a, b) => a + Number(b), 0);
  return {
    requestsPerSec: Number(rps[1]),
    p50Ms: latency("50"),
    p75Ms: latency("75"),
    p90Ms: latency("90"),
    p99Ms: latency("99"),
    requests: Number(total[1]),
    non2xx,
    socketErrors,
    errors: non2xx + socketErrors,
  };
}

export async function loadTest(url: string, options: LoadOptions): Promise<LoadResult> {
  const args = [`-t${options.threads}`, `-c${options.connections}`, `-d${options.durationS}s`, "--latency", url];
  // A tracked child rather than execFile, so an interrupted run stops wrk as well.
  const wrk = options.cpus === undefined ? spawnChild("wrk", args) : spawnChild("taskset", ["-c", options.cpus, "wrk", ...args]);
  let stdout = "";
  wrk.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  // A backstop: wrk stops by itself after -d, plus its 2 s socket timeout.
  const timer = setTimeout(() => void stopChild(wrk), (options.durationS + 30) * 1000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      wrk.once("error", (err: NodeJS.ErrnoException) => reject(err.code === "ENOENT" ? new Error(missing) : err));
      wrk.once("close", resolve);
    });
    if (code !== 0) throw new Error(`wrk ${args.join(" ")} exited (${code}):\n${outputOf(wrk)}`);
    return parseWrk(stdout);
  } finally {
    clearTimeout(timer);
  }
}
