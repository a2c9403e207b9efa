/**
 * Defaults and bounds of function settings and request sizes. One place, so the API's
 * validation, the docs (docs/limits.md) and the host agree.
 */
export const limits = {
  memoryMiB: { default: 128, min: 16, max: 1024 },
  timeoutMs: { default: 30_000, min: 100, max: 900_000 },
  /** CPU time per invocation (`--cpu-limit`); unset, the timeout bounds it. */
  cpuLimitMs: { min: 1, max: 900_000 },
  /** A function bundle (the JS after esbuild), in bytes. */
  bundleMaxBytes: 10 * 1024 * 1024,
  /** env vars + secrets per function, and the size of each value. */
  envMaxEntries: 128,
  envValueMaxBytes: 5 * 1024,
  /** Request body a function may receive over /fn, in bytes. */
  requestBodyMaxBytes: 100 * 1024 * 1024,
  /** Admin API JSON bodies (a deploy carries the bundle), in bytes. */
  apiBodyMaxBytes: 16 * 1024 * 1024,
  /** Retries of a failed async invocation (function error or timeout), per function. */
  retries: { default: 2, min: 0, max: 10 },
  /** How long an async event may wait out throttles and platform faults before it is dead-lettered, ms. */
  maxEventAgeMs: { default: 6 * 3600_000, min: 1000, max: 6 * 3600_000 },
  /** An async invocation's payload, in bytes (Lambda's is 256 KiB, Workers Queues' 128 KiB). */
  asyncPayloadMaxBytes: 1024 * 1024,
  /** A repeated Idempotency-Key within this window returns the first invocation, ms. */
  idempotencyWindowMs: 24 * 3600_000,
  /** Service binding calls one request may nest (A → B → … ), against runaway recursion. */
  serviceBindingDepth: 16,
  /** One console line is cut beyond this many bytes. */
  logLineMaxBytes: 16 * 1024,
} as const;

/** Function names: what Workers allows, so they are safe in URLs, subjects and file names. */
export const functionNamePattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const tenantNamePattern = functionNamePattern;
