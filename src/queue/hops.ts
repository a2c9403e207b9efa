/**
 * The fan-out budget of queue messages. Every message carries `hops`: 0 for an event from
 * the API or cron, the sender's hops + 1 for a message an async invocation (or queue batch)
 * sent. A function that queues to itself — or a cycle of queue bindings — therefore stops
 * after `limits.asyncHops` generations, as service binding calls stop at their depth,
 * instead of growing the queue for ever.
 */
import { FlickError } from "../errors/index.ts";
import { limits } from "../model/index.ts";

/**
 * The hops of a message sent by an invocation whose own hops are `senderHops`: undefined
 * when the sender is not an async invocation (a request to /fn), which starts a new chain.
 * A queue batch sends with the largest hops of its messages.
 */
export function hopsOfSend(senderHops: number | undefined): number {
  return senderHops === undefined ? 0 : senderHops + 1;
}

/** Throws (400, nothing queued) when a message would have more hops than `maxHops`. */
export function checkHops(hops: number, maxHops: number = limits.asyncHops): void {
  if (!Number.isSafeInteger(hops) || hops < 0) throw new FlickError("internal", `a queue message cannot have ${hops} hops`);
  if (hops > maxHops) {
    throw new FlickError(
      "bad_request",
      `queue messages chain deeper than ${maxHops} hops (the limit of queue hops: a function that queues to itself, or a cycle of queue bindings, without an end); ` +
        "nothing was queued. Stop the chain, e.g. carry a counter in the message",
      { details: { hops, maxHops } },
    );
  }
}
