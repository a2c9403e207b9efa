/**
 * What observability costs warm throughput (issue 13, point 6): three Flick nodes side by
 * side, serving the same hello world, in interleaved rounds (A B C A B C …):
 *   none  — `--trace-sample 0`: metrics and usage metering only (they are always on);
 *   1 %   — `--trace-sample 0.01`, spans exported over OTLP/HTTP;
 *   100 % — `--trace-sample 1`, every request's spans exported.
 * The OTLP receiver runs in this process and only counts what arrives: the cost measured
 * is Flick's (recording, shipping, the SDK's batching and encoding), not a collector's.
 * Targets: 1 % costs ≤ 5 % of throughput, 100 % ≤ 15 %.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { startFlick, stopTarget, type Target } from "./targets.ts";
import { spread, type Spread } from "./warm.ts";
import { loadTest, type LoadOptions } from "./wrk.ts";

export interface TelemetryOverhead {
  rounds: number;
  /** Per setting: requests/s of each round. */
  requestsPerSec: Record<"none" | "sampled1" | "sampled100", number[]>;
  /** Throughput lost against `none`, per round: 1 − sampled / none. */
  dropAt1Percent: Spread;
  dropAt100Percent: Spread;
  /** Spans the receiver got, and export requests it answered. */
  spansExported: number;
  exportRequests: number;
}

export async function measureTelemetryOverhead(load: LoadOptions, rounds: number): Promise<TelemetryOverhead> {
  let spans = 0;
  let requests = 0;
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests++;
      if (req.url === "/v1/traces") {
        // Counting spans: one "spanId" per span in the OTLP JSON encoding.
        spans += Buffer.concat(chunks).toString("utf8").split('"spanId"').length - 1;
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  const settings = [
    ["none", ["--trace-sample", "0"]],
    ["sampled1", ["--trace-sample", "0.01", "--otlp-endpoint", endpoint]],
    ["sampled100", ["--trace-sample", "1", "--otlp-endpoint", endpoint]],
  ] as const;
  const targets: Target[] = [];
  const result: TelemetryOverhead["requestsPerSec"] = { none: [], sampled1: [], sampled100: [] };
  try {
    for (const [, args] of settings) targets.push(await startFlick([...args]));
    for (const t of targets) await loadTest(t.url, { ...load, durationS: Math.min(2, load.durationS) });
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < settings.length; i++) {
        const { requestsPerSec } = await loadTest(targets[i]!.url, load);
        result[settings[i]![0]].push(requestsPerSec);
        console.error(`telemetry round ${r + 1}: ${settings[i]![0]} ${requestsPerSec.toFixed(0)} req/s`);
      }
    }
  } finally {
    for (const t of targets) await stopTarget(t);
    receiver.close();
  }
  const drop = (of: number[]) => spread(of.map((x, i) => 1 - x / result.none[i]!));
  return {
    rounds,
    requestsPerSec: result,
    dropAt1Percent: drop(result.sampled1),
    dropAt100Percent: drop(result.sampled100),
    spansExported: spans,
    exportRequests: requests,
  };
}
