/** Runs wrk against a URL and reads its report: requests/s, latency percentiles, errors. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

export interface LoadResult {
  requestsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  requests: number;
  /** Non-2xx/3xx answers plus socket errors. */
  errors: number;
}

export interface LoadOptions {
  connections: number;
  durationS: number;
  threads: number;
}

function toMs(value: string, unit: string): number {
  const n = Number(value);
  return unit === "us" ? n / 1000 : unit === "s" ? n * 1000 : unit === "m" ? n * 60_000 : n;
}

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
  return { requestsPerSec: Number(rps[1]), p50Ms: latency("50"), p99Ms: latency("99"), requests: Number(total[1]), errors: non2xx + socketErrors };
}

export async function loadTest(url: string, options: LoadOptions): Promise<LoadResult> {
  try {
    const { stdout } = await run("wrk", [`-t${options.threads}`, `-c${options.connections}`, `-d${options.durationS}s`, "--latency", url], { maxBuffer: 1 << 20 });
    return parseWrk(stdout);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") throw new Error("wrk is not installed; install it with `apt-get install wrk`");
    throw err;
  }
}
