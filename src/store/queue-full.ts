import { FlickError } from "../errors/index.ts";
import type { QueueQuota, QueueUsage } from "./queue-store.ts";

/** How long a client refused for a full queue is told to wait; a backlog drains in seconds, not at once. */
export const queueFullRetryAfterSeconds = 5;

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;

/** 429 `queue_full`: what the tenant holds, its quota and what would have gone over; nothing was queued. */
export function queueFullError(refusal: { tenant: string; usage: QueueUsage; quota: QueueQuota; adding: QueueUsage }): FlickError {
  const { tenant, usage, quota, adding } = refusal;
  const what = usage.messages + adding.messages > quota.maxMessages
    ? `it holds ${usage.messages} of its ${quota.maxMessages} messages`
    : `it holds ${mib(usage.bytes)} of its ${mib(quota.maxBytes)} of payload`;
  return new FlickError(
    "queue_full",
    `the async queue of tenant "${tenant}" is full: ${what}, and ${adding.messages} more (${adding.bytes} bytes) would go over. ` +
      `Nothing was queued; retry after ${queueFullRetryAfterSeconds} s or let the backlog drain`,
    { details: { retryAfterSeconds: queueFullRetryAfterSeconds, tenant, ...usage, maxMessages: quota.maxMessages, maxBytes: quota.maxBytes } },
  );
}
