/**
 * One shard of `flick sim --shards N` (parallel.ts), in a worker thread: makes the
 * workload from its description, replays its share of the functions, and posts the
 * figures back with the per-function arrays.
 */
import { parentPort, workerData } from "node:worker_threads";
import { workloadOf, type ShardData, type ShardMessage, type ShardResult } from "./parallel.ts";
import { simulate } from "./simulate.ts";

const { source, options } = workerData as ShardData;
const post = (m: ShardMessage, transfer: ArrayBuffer[] = []) => parentPort!.postMessage(m, transfer);
try {
  const workload = workloadOf(source);
  const r = simulate(workload, { ...options, progress: (virtualMs) => post({ progress: virtualMs }) });
  const { keepAliveOf: _, ...arrays } = r.detail;
  const result: ShardResult = { ...r, detail: arrays };
  post({ result }, [arrays.requests.buffer as ArrayBuffer, arrays.colds.buffer as ArrayBuffer, arrays.idleMs.buffer as ArrayBuffer]);
} catch (err) {
  post({ error: (err as Error).message });
}
