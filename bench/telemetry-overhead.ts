/**
 * What observability costs warm throughput (issue 13, point 6): four Flick nodes side by
 * side, serving the same hello world, in interleaved rounds (A B C D, B C D A, …):
 *   none  — `--trace-sample 0`: metrics and usage metering only (they are always on);
 *   1 %   — `--trace-sample 0.01`, spans exported over OTLP/HTTP;
 *   100 % — `--trace-sample 1`, every request's spans exported (`--trace-max-rate 0`: no cap);
 *   100 % capped — `--trace-sample 1` with the default cap of 1,000 recorded invocations a second.
 * The nodes run on one CPU and the load on the other(s) (`splitCpus`). Spans go in
 * OTLP's protobuf encoding, the default. Each round starts one setting further
 * on, and each run waits until the previous node has stopped exporting. The OTLP receiver
 * runs in this process and only counts what arrives, as cheaply as it can: the cost
 * measured is Flick's (recording, encoding, batching, sending), not a collector's. It
 * still shares the machine's two cores, as the load generator does.
 * Targets: 1 % costs ≤ 5 % of throughput, 100 % ≤ 15 %.
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { cpus } from "node:os";
import { treeCpuSeconds } from "./process-cpu.ts";
import { startFlick, stopTarget, type Target } from "./targets.ts";
import { spread, type Spread } from "./warm.ts";
import { loadTest, type LoadOptions } from "./wrk.ts";

export interface TelemetryOverhead {
  rounds: number;
  /** CPUs the nodes ran on and those wrk and the receiver ran on (`taskset -c`), or null when not split. */
  cpus: { nodes: string; load: string } | null;
  /** Seconds of load per node per round. */
  durationS: number;
  /** Per setting: requests/s of each round. */
  requestsPerSec: Record<"none" | "sampled1" | "sampled100" | "sampled100capped", number[]>;
  /** Throughput lost against `none`, per round: 1 − sampled / none. */
  dropAt1Percent: Spread;
  dropAt100Percent: Spread;
  dropAt100PercentCapped: Spread;
  /**
   * CPU seconds the node and its worker hosts used per request, µs, per setting and round
   * (null off Linux): the work, without the time another process took the CPU away. The
   * export that follows a run (its last second of spans) is counted in it.
   */
  cpuMicrosPerRequest: Record<"none" | "sampled1" | "sampled100" | "sampled100capped", number[]> | null;
  /** Throughput lost on a saturated CPU, from CPU per request: 1 − none / setting, per round. */
  cpuDropAt1Percent: Spread | null;
  cpuDropAt100Percent: Spread | null;
  cpuDropAt100PercentCapped: Spread | null;
  /** Spans the receiver got, and export requests it answered. */
  spansExported: number;
  exportRequests: number;
}

/** One length-delimited field's [start, end) after its tag at `at`, and the field number. */
function field(buf: Buffer, at: number): { number: number; start: number; end: number } {
  let key = 0;
  let shift = 1;
  for (;;) {
    const b = buf[at++]!;
    key += (b & 127) * shift;
    shift *= 128;
    if (b < 128) break;
  }
  let length = 0;
  shift = 1;
  for (;;) {
    const b = buf[at++]!;
    length += (b & 127) * shift;
    shift *= 128;
    if (b < 128) break;
  }
  return { number: Math.floor(key / 8), start: at, end: at + length };
}

/** Spans in an ExportTraceServiceRequest: resource_spans (1) → scope_spans (2) → spans (2), walked without decoding them. */
export function countSpans(body: Buffer): number {
  let spans = 0;
  for (let a = 0; a < body.length; ) {
    const rs = field(body, a);
    for (let b = rs.start; b < rs.end; ) {
      const ss = field(body, b);
      if (ss.number === 2) {
        for (let c = ss.start; c < ss.end; ) {
          const s = field(body, c);
          if (s.number === 2) spans++;
          c = s.end;
        }
      }
      b = ss.end;
    }
    a = rs.end;
  }
  return spans;
}

/**
 * The nodes on the last CPU (one worker host each), wrk and the receiver on the others:
 * with everything sharing both cores, one round's throughput swung by ±15 % and a 5 %
 * difference drowned. Without taskset or a second CPU, everything shares.
 */
function splitCpus(): { nodes: string; load: string; all: string } | null {
  const n = cpus().length;
  if (n < 2) return null;
  try {
    execFileSync("taskset", ["-p", String(process.pid)], { stdio: "ignore" });
  } catch {
    return null;
  }
  return { nodes: String(n - 1), load: n === 2 ? "0" : `0-${n - 2}`, all: `0-${n - 1}` };
}

export async function measureTelemetryOverhead(load: LoadOptions, rounds: number): Promise<TelemetryOverhead> {
  const split = splitCpus();
  if (split !== null) {
    execFileSync("taskset", ["-a", "-p", "-c", split.load, String(process.pid)], { stdio: "ignore" });
    load = { ...load, cpus: split.load, threads: Math.min(load.threads, cpus().length - 1) };
  }
  let spans = 0;
  let requests = 0;
  let lastExportAt = 0;
  const receiver = createServer((req, res) => {
    // The count is a check that export happened, not a measure: the spans are counted by
    // walking the message's lengths, not decoded.
    const traces = req.url === "/v1/traces";
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => {
      if (traces) chunks.push(chunk);
    });
    req.on("end", () => {
      requests++;
      lastExportAt = performance.now();
      if (traces) spans += countSpans(Buffer.concat(chunks));
      res.writeHead(200, { "content-type": "application/x-protobuf" }).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const settings = [
    ["none", ["--trace-sample", "0"]],
    ["sampled1", ["--trace-sample", "0.01", "--trace-max-rate", "0", "--otlp-endpoint", endpoint]],
    ["sampled100", ["--trace-sample", "1", "--trace-max-rate", "0", "--otlp-endpoint", endpoint]],
    ["sampled100capped", ["--trace-sample", "1", "--otlp-endpoint", endpoint]],
  ] as const;
  const targets: Target[] = [];
  const result: TelemetryOverhead["requestsPerSec"] = { none: [], sampled1: [], sampled100: [], sampled100capped: [] };
  const cpu: NonNullable<TelemetryOverhead["cpuMicrosPerRequest"]> = { none: [], sampled1: [], sampled100: [], sampled100capped: [] };
  let cpuKnown = true;
  try {
    for (const [, args] of settings) targets.push(split === null ? await startFlick([...args]) : await startFlick(["--hosts", "1", ...args], split.nodes));
    for (const t of targets) await loadTest(t.url, { ...load, durationS: Math.min(2, load.durationS) });
    // A node that was just loaded at 100 % goes on posting its last second of spans, and
    // the receiver shares the machine: the next node's run waits until that has stopped.
    const settled = async () => {
      const until = performance.now() + 5000;
      while (performance.now() < until && performance.now() - lastExportAt < 1200) await new Promise((resolve) => setTimeout(resolve, 100));
    };
    for (let r = 0; r < rounds; r++) {
      // Each round starts one setting further on, so no setting always runs first or last.
      for (let k = 0; k < settings.length; k++) {
        const i = (r + k) % settings.length;
        await settled();
        const pid = targets[i]!.child.pid;
        const cpuBefore = treeCpuSeconds(pid);
        const { requestsPerSec, requests } = await loadTest(targets[i]!.url, load);
        await settled();
        const cpuAfter = treeCpuSeconds(pid);
        result[settings[i]![0]].push(requestsPerSec);
        if (cpuBefore === null || cpuAfter === null) cpuKnown = false;
        else cpu[settings[i]![0]].push(((cpuAfter - cpuBefore) / requests) * 1e6);
        const cpuNote = cpuKnown ? `, ${cpu[settings[i]![0]].at(-1)!.toFixed(1)} µs CPU per request` : "";
        console.error(`telemetry round ${r + 1}: ${settings[i]![0]} ${requestsPerSec.toFixed(0)} req/s${cpuNote}`);
      }
    }
  } finally {
    for (const t of targets) await stopTarget(t);
    receiver.close();
    if (split !== null) execFileSync("taskset", ["-a", "-p", "-c", split.all, String(process.pid)], { stdio: "ignore" });
  }
  const drop = (of: number[]) => spread(of.map((x, i) => 1 - x / result.none[i]!));
  const cpuDrop = (of: number[]) => (cpuKnown ? spread(of.map((x, i) => 1 - cpu.none[i]! / x)) : null);
  return {
    rounds,
    cpus: split === null ? null : { nodes: split.nodes, load: split.load },
    durationS: load.durationS,
    requestsPerSec: result,
    dropAt1Percent: drop(result.sampled1),
    dropAt100Percent: drop(result.sampled100),
    dropAt100PercentCapped: drop(result.sampled100capped),
    cpuMicrosPerRequest: cpuKnown ? cpu : null,
    cpuDropAt1Percent: cpuDrop(cpu.sampled1),
    cpuDropAt100Percent: cpuDrop(cpu.sampled100),
    cpuDropAt100PercentCapped: cpuDrop(cpu.sampled100capped),
    spansExported: spans,
    exportRequests: requests,
  };
}
