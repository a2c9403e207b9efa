/**
 * What a worker host tells the primary about the requests it admitted itself, a few times
 * a second and only when something changed: per instance, requests in flight and when it
 * was last used (keep-alive, reclamation and relays decide by them); per function, counts
 * and a bounded sample of latencies for `flick info`; measured instance memory. Never per
 * request: the hot path sends nothing.
 */
import type { FromHost, FunctionUsage, InstanceUsage } from "./protocol.ts";

/** Latencies kept per function per report (a uniform sample beyond that). */
const latencySample = 64;
export const reportIntervalMs = 250;

export class UsageReport {
  private readonly changed = new Map<string, InstanceUsage>();
  private readonly functions = new Map<string, FunctionUsage & { seen: number }>();
  private readonly memory = new Map<string, number>();

  instance(id: string, inFlight: number, lastUsedMs: number): void {
    this.changed.set(id, [id, inFlight, lastUsedMs]);
  }

  private fn(name: string): FunctionUsage & { seen: number } {
    let f = this.functions.get(name);
    if (f === undefined) {
      f = { fn: name, invocations: 0, coldStarts: 0, codeCacheHits: 0, codeCacheMisses: 0, throttled: 0, latencies: [], seen: 0 };
      this.functions.set(name, f);
    }
    return f;
  }

  invocation(fn: string, latencyMs: number, cold: boolean, codeCache: "hit" | "miss" | "module" | undefined): void {
    const f = this.fn(fn);
    f.invocations++;
    if (cold) f.coldStarts++;
    if (codeCache === "hit") f.codeCacheHits++;
    else if (codeCache === "miss") f.codeCacheMisses++;
    // Reservoir sampling: every latency of the interval is equally likely to be kept.
    f.seen++;
    if (f.latencies.length < latencySample) f.latencies.push(latencyMs);
    else {
      const j = Math.floor(Math.random() * f.seen);
      if (j < latencySample) f.latencies[j] = latencyMs;
    }
  }

  throttled(fn: string): void {
    this.fn(fn).throttled++;
  }

  memoryOf(instance: string, memoryMiB: number): void {
    this.memory.set(instance, memoryMiB);
  }

  /** The report since the last one, or undefined when nothing changed. */
  take(): Extract<FromHost, { t: "report" }> | undefined {
    if (this.changed.size === 0 && this.functions.size === 0 && this.memory.size === 0) return undefined;
    const report: Extract<FromHost, { t: "report" }> = {
      t: "report",
      instances: [...this.changed.values()],
      functions: [...this.functions.values()].map(({ seen: _seen, ...f }) => f),
      memory: [...this.memory],
    };
    this.changed.clear();
    this.functions.clear();
    this.memory.clear();
    return report;
  }
}
