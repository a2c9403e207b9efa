/**
 * What observability costs warm throughput (issue 13, point 6): three Flick nodes side by
 * side, serving the same hello world, in interleaved rounds (A B C A B C …):
 *   none  — `--trace-sample 0`: metrics and usage metering only (they are always on);
 *   1 %   — `--trace-sample 0.01`, spans exported over OTLP/HTTP;
 *   100 % — `--trace-sample 1`, every request's spans exported (`--trace-max-rate 0`: no cap);
 *   100 % capped — `--trace-sample 1` with the default cap of 1,000 recorded invocations a second.
 * The OTLP receiver runs in this process and only counts what arrives, as cheaply as it
 * can: the cost measured is Flick's (recording, the SDK's batching and encoding, sending),
 * not a collector's. It still shares the machine's two cores, as the load generator does.
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
  requestsPerSec: Record<"none" | "sampled1" | "sampled100" | "sampled100capped", number[]>;
  /** Throughput lost against `none`, per round: 1 − sampled / none. */
  dropAt1Percent: Spread;
  dropAt100Percent: Spread;
  dropAt100PercentCapped: Spread;
  /** Spans the receiver got, and export requests it answered. */
  spansExported: number;
  exportRequests: number;
}

const spanIdKey = Buffer.from('"spanId"');

export async function measureTelemetryOverhead(load: LoadOptions, rounds: number): Promise<TelemetryOverhead> {
  let spans = 0;
  let requests = 0;
  const receiver = createServer((req, res) => {
    // Counting spans as the bytes go by: one "spanId" key per span in the OTLP JSON encoding
    // (a key that never straddles two chunks is all this needs to be close; the count is a
    // check that export happened, not a measure).
    const traces = req.url === "/v1/traces";
    req.on("data", (chunk: Buffer) => {
      if (!traces) return;
      for (let at = chunk.indexOf(spanIdKey); at >= 0; at = chunk.indexOf(spanIdKey, at + spanIdKey.length)) spans++;
    });
    req.on("end", () => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
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
    dropAt100PercentCapped: drop(result.sampled100capped),
    spansExported: spans,
    exportRequests: requests,
  };
}
