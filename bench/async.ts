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
    const { latencies, errors, started, acceptedS } = await postEvents(flick.baseUrl, "noop", (flick.client as unknown as { token: string }).token, events, clients);
    for (;;) {
      const counts = (await flick.client.getFunction("noop")).invocations;
      if (counts !== undefined && counts.completed + counts.dead >= latencies.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const completedS = (performance.now() - started) / 1000;
    return {
      events,
      clients,
      acceptedPerSec: latencies.length / acceptedS,
      completedPerSec: latencies.length / completedS,
      enqueueP50Ms: quantile(latencies, 0.5),
      enqueueP99Ms: quantile(latencies, 0.99),
      errors,
    };
  } finally {
    await stopTarget(flick);
  }
}

/** `events` async invocations of `fn` posted by `clients` at once; each one's POST-to-202 time, sorted, and the seconds from the first POST to the last answer. */
export async function postEvents(baseUrl: string, fn: string, token: string, events: number, clients: number): Promise<{ latencies: number[]; errors: number; started: number; acceptedS: number }> {
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const url = `${baseUrl}/api/v1/functions/${fn}/invocations`;
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
  latencies.sort((a, b) => a - b);
  return { latencies, errors, started, acceptedS };
}

/** The `p` quantile of sorted `xs` (0 when empty). */
export const quantile = (xs: number[], p: number) => xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] ?? 0;
