/**
 * Defaults and bounds of function settings and request sizes. One place, so the API's
 * validation, the docs (docs/limits.md) and the host agree.
 */
export const limits = {
  memoryMiB: { default: 128, min: 16, max: 1024 },
  timeoutMs: { default: 30_000, min: 100, max: 900_000 },
  /** CPU time per invocation (`--cpu-limit`); unset, the timeout bounds it. */
  cpuLimitMs: { min: 1, max: 900_000 },
  /**
   * A function bundle (the JS after esbuild, with its Wasm modules), in bytes once gzipped,
   * as Workers counts it: a JavaScript component carries its engine (about 13 MB, 4 MB
   * compressed). Uncompressed it may hold at most `bundleMaxUncompressedBytes`.
   */
  bundleMaxBytes: 10 * 1024 * 1024,
  bundleMaxUncompressedBytes: 64 * 1024 * 1024,
  /** env vars + secrets per function, and the size of each value. */
  envMaxEntries: 128,
  envValueMaxBytes: 5 * 1024,
  /** Request body a function may receive over /fn, in bytes. */
  requestBodyMaxBytes: 100 * 1024 * 1024,
  /**
   * Admin API JSON bodies (a deploy carries the bundle), in bytes as sent; a gzip-encoded
   * body (`content-encoding: gzip`, as the CLI sends a large deploy) may inflate to
   * `apiBodyMaxInflatedBytes` (a bundle at its uncompressed limit, in base64).
   */
  apiBodyMaxBytes: 16 * 1024 * 1024,
  apiBodyMaxInflatedBytes: 96 * 1024 * 1024,
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
  /**
   * Queue hops a message may have behind it (an event from the API or cron is hop 0, what
   * its invocation sends hop 1, …): a function queueing to itself stops after this many.
   */
  asyncHops: 16,
  /** A tenant's async queue: messages queued or running, and their payload bytes (node default; `flick up`). */
  queueMaxMessages: 100_000,
  queueMaxBytes: 256 * 1024 * 1024,
  /** One console line is cut beyond this many bytes. */
  logLineMaxBytes: 16 * 1024,
  /** How deep arrays and objects may nest in an admin API body (as System.Text.Json's default): deeper is a 400, not a stack overflow. */
  apiJsonMaxDepth: 64,
  /**
   * What a tenant may reserve with provisioned instances (`flick scale --min-instances`),
   * summed over its functions: instances, and instances × each function's memory MiB.
   * Node-wide defaults (`flick up --tenant-max-provisioned[-memory]`), per tenant
   * `flick tenants set`; beyond: 403 quota_exceeded. The defaults keep one tenant from
   * reserving a small node's whole capacity; `max` bounds what an operator may set.
   */
  tenantMaxProvisioned: { default: 50, max: 100_000 },
  tenantMaxProvisionedMemoryMiB: { default: 2048, max: 100 * 1024 * 1024 },
} as const;

/** Function names: what Workers allows, so they are safe in URLs, subjects and file names. */
export const functionNamePattern = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
export const tenantNamePattern = functionNamePattern;

/**
 * Upper bounds (ms) of the invocation wall-time histogram (`flick_invocation_duration_seconds`):
 * hosts count into these buckets, the primary adds the counts up. Fixed, so every host's
 * counts line up; one more bucket holds what is above the last.
 */
export const durationBucketsMs: readonly number[] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000, 900_000];
