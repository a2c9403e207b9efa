/**
 * What a node does at start against its store, tried again while the store answers
 * `store_unavailable`, for up to a minute: a cluster's store may not answer for a few
 * seconds (a NATS server lost, a stream electing its leader), and a node starting then
 * should wait rather than fail. The embedded store never answers that, so this is a
 * single call there. `work` must be safe to repeat.
 */
import { FlickError } from "../errors/index.ts";

export async function patiently<T>(work: () => Promise<T>, withinMs = 60_000): Promise<T> {
  const deadline = Date.now() + withinMs;
  let told = false;
  for (;;) {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof FlickError && err.code === "store_unavailable") || Date.now() > deadline) throw err;
      // Said once, so a node that seems stuck at start says what it waits for.
      if (!told) process.emitWarning(`flick: waiting for the store, up to ${withinMs / 1000} s: ${err.message}`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
