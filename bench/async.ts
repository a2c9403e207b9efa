/**
 * Async invocations end to end on a fresh node (embedded store: queue.db in WAL with
 * synchronous=FULL, so every 202 waited for an fsync): N events posted by 64 concurrent
 * clients to a no-op function, then until all are completed. Reports events/s accepted
 * (first POST to last 202), events/s completed (first POST to the last completion), and
 * the enqueue latency each client saw (POST to 202).
 */
import { startFlick, stopTarget } from "./targets.ts";

export interface AsyncResult {
  events: number;
  clients: number;
  acceptedPerSec: number;
  completedPerSec: number;
  enqueueP50Ms: number;
  enqueueP99Ms: number;
  errors: number;
}

export async function measureAsync(events = 20_000, clients = 64): Promise<AsyncResult> {
  const flick = await startFlick();
  try {
    await flick.client.deploy("noop", { code: "export default { fetch: () => new Response(null, { status: 204 }) };" });
    const latencies: number[] = [];
    let next = 0;
    let errors = 0;
    const url = `${flick.baseUrl}/api/v1/functions/noop/invocations`;
    const token = (flick.client as unknown as { token: string }).token;
    const body = JSON.stringify({ mode: "async", data: { hello: "world" } });
    const started = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next < events) {
          next++;
          const t = performance.now();
          const res = await fetch(url, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body });
          await res.arrayBuffer();
          if (res.status === 202) latencies.push(performance.now() - t);
          else errors++;
        }
      }),
    );
    const acceptedS = (performance.now() - started) / 1000;
    for (;;) {
      const counts = (await flick.client.getFunction("noop")).invocations;
      if (counts !== undefined && counts.completed + counts.dead >= latencies.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const completedS = (performance.now() - started) / 1000;
    latencies.sort((a, b) => a - b);
    const pick = (p: number) => latencies[Math.min(latencies.length - 1, Math.ceil(p * latencies.length) - 1)] ?? 0;
    return {
      events,
      clients,
      acceptedPerSec: latencies.length / acceptedS,
      completedPerSec: latencies.length / completedS,
      enqueueP50Ms: pick(0.5),
      enqueueP99Ms: pick(0.99),
      errors,
    };
  } finally {
    await stopTarget(flick);
  }
}
