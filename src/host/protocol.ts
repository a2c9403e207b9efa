/**
 * Messages between the primary (control plane) and a worker host process, over the fork
 * IPC channel with `serialization: "advanced"` (structured clone, so bodies travel as
 * bytes), batched per event-loop turn (message-batch.ts).
 *
 * The hot path uses none of them: a host accepts `/fn/` connections itself, admits a
 * request with the instance slots and tenant tokens it holds, and runs it. It asks the
 * primary only on a miss (`acquire`), reports usage now and then (`report`), and ships
 * log lines (`logs`). The primary pushes routes, places instances (with env and secrets,
 * once per instance), and sends the invocations it originates itself (async attempts,
 * cron, binding calls, requests relayed from another host).
 */
import type { SpanData } from "../telemetry/index.ts";
import type { ErrorData } from "../errors/index.ts";
import type { LogLevel, RequestFields, UsageRow } from "../model/index.ts";
import type { Forwarding } from "../gateway/index.ts";

/** Everything a host needs to create an instance of one function version. */
export interface InstanceSpec {
  /** Unique per instance (a version may have several), made by the scheduler. */
  instance: string;
  /** `<tenant>/<function>`, for log attribution and file names in stack traces. */
  function: string;
  tenant: string;
  /** `<tenant>/<function>@<version>`: the version's instances share it. */
  key: string;
  versionId: string;
  bundlePath: string;
  /**
   * The version's script form (build/script-form.ts), when it has one: hosts run it instead
   * of the module, from a V8 code cache kept beside it (`<scriptPath>.v8cache`).
   */
  scriptPath?: string;
  memoryMiB: number;
  timeoutMs: number;
  /** CPU time one invocation may use, ms; null: bounded by the timeout only. */
  cpuLimitMs: number | null;
  /** Requests the instance serves at once. */
  concurrency: number;
  /** name, value, name, value…: vars and opened secrets. */
  env: string[];
  /** WebAssembly modules shipped with the version: SHA-256 → file. */
  wasm: Record<string, string>;
  /** Bindings in env: a service binding's `fetch`, a queue binding's `send`, to another function of the tenant. */
  bindings?: BindingSpec[];
  /**
   * The durable object this instance holds (bindings/do/): its requests go to an instance
   * of `className` constructed for `id`, and its storage binding (`$storage`) reaches that
   * object's storage only.
   */
  object?: { className: string; id: string; name: string };
}

export interface BindingSpec {
  name: string;
  /** The binding kind: a folder under src/bindings/. */
  kind: string;
  /** What it binds, of the function's tenant: a function's name, a KV namespace's … */
  target: string;
}

/** What a host needs to route `/fn/<name>` and admit its requests; no env, no secrets. */
export interface RouteInfo {
  name: string;
  tenant: string;
  /** `<tenant>/<name>`. */
  fn: string;
  /** The live version's key: requests go to instances of it (or of the split's). */
  key: string;
  /** The live version's id. */
  version: string;
  /** A traffic split: each version's key and its share; absent: all to `key`. */
  split?: { version: string; key: string; percent: number }[];
  private: boolean;
  concurrency: number;
  /** In a cluster, when this node may not run the function: the nodes that may (gateway/forward.ts). */
  forward?: Forwarding;
}

export interface WireRequest {
  method: string;
  url: string;
  /** name, value, name, value… */
  headers: string[];
  /** The whole body, or null: none, or (with `streamed`) it follows in `body` messages. */
  body: Uint8Array | null;
  streamed?: boolean;
  /** The platform's id of this invocation (logs, x-flick-invocation-id); propagated to binding calls. */
  invocationId?: string;
  /** Service binding calls this invocation is nested in (0 from a client); capped by the platform. */
  depth?: number;
  /** Queue hops of the async event this invocation runs (absent: a request to /fn); its sends carry hops + 1. */
  hops?: number;
  /** When the request arrived, host `performance.now()` ms: its deadline counts from here. */
  arrivalMs?: number;
  /** Not a request but a batch of queue messages for the `queue` handler. */
  queue?: { name: string; messages: { id: string; timestamp: number; attempts: number; body: Uint8Array; contentType: string }[] };
  /** Not a request but a cron trigger: the handler called is `scheduled` (method, url, body unused). */
  scheduled?: { cron: string; scheduledTime: number };
}

/** [time ms, level, message] */
export type WireLogLine = [number, LogLevel, string] | [number, LogLevel, string, RequestFields];

/** A log line a host ships to the primary for storage. */
export interface ShippedLogLine {
  timeMs: number;
  level: LogLevel;
  message: string;
  /** The function's name and tenant. */
  function: string;
  tenant: string;
  invocationId: string;
  request?: RequestFields;
}

/** What the primary answers a host's miss with. */
export type AcquireResult =
  /** Create this instance here (env and secrets inside) and use it. */
  | { kind: "place"; spec: InstanceSpec; tokens: number; spare: number }
  /** No instance for this host: send the request to the primary, which runs it elsewhere. */
  | { kind: "relay"; tokens: number; spare: number }
  /** Only tokens were asked for. */
  | { kind: "tokens"; tokens: number; spare: number }
  | { kind: "throttle"; reason: "function_limit" | "tenant_limit" | "no_capacity"; message: string; retryAfterMs: number; tokens: number; spare: number }
  | { kind: "gone"; message: string };

/** Usage of one instance since the last report: [instance, in flight now, last used (epoch ms)]. */
export type InstanceUsage = [instance: string, inFlight: number, lastUsedMs: number];

/** Per-function numbers for `flick info`, since the last report. */
export interface FunctionUsage {
  fn: string;
  invocations: number;
  coldStarts: number;
  codeCacheHits: number;
  codeCacheMisses: number;
  /** Cold starts that had neither a pooled isolate nor the V8 code cache (flick_cold_starts_total kind="none"). */
  coldStartsFresh: number;
  throttled: number;
  /** A sample of latencies (ms, as the client saw them from arrival to the end). */
  latencies: number[];
  /** Answers by `<status class>|<platform error code>` ("2xx|" for the function's own 2xx, "5xx|function_error"). */
  outcomes: Record<string, number>;
  /** Every latency counted into `durationBucketsMs` (one more count for above the last), and their sum, ms. */
  durations: number[];
  durationSumMs: number;
  /** 429s by reason (`function_limit`, `tenant_limit`, `no_capacity`). */
  throttledBy: Record<string, number>;
  /** CPU ms per invocation and time from arrival to a slot (queue wait), counted into `durationBucketsMs` as `durations` is. */
  cpu: number[];
  cpuSumMs: number;
  queueWait: number[];
  queueWaitSumMs: number;
  /** Outbound fetches: allowed, denied by the egress policy, failed. */
  egress: Record<"allowed" | "denied" | "failed", number>;
}

export type ToHost =
  /** Routes: the whole table (`full`) or changes; answered with `ack`. */
  | { t: "routes"; id: number; full: boolean; routes: RouteInfo[]; removed: string[] }
  | { t: "acquired"; id: number; result: AcquireResult }
  /** Give back every tenant token of `tenant` not in use now; answered with `reclaimed`. */
  | { t: "reclaim"; id: number; tenant: string }
  /** The spans this host keeps of the trace of `invocationId`, or of `traceId` when given (`flick trace`). */
  | { t: "spans"; id: number; invocationId: string; traceId: string | null }
  /**
   * Run a request the primary originates (async attempt, cron, binding call, relay) on
   * `instance`; with `spec`, create it first. Tenant tokens are the primary's.
   */
  | { t: "invoke"; id: number; instance: string; spec?: InstanceSpec; request: WireRequest }
  /**
   * Load `code` in a throwaway isolate. With `script` (its script form and where it will be
   * stored), load that too and, when it works, seal its V8 code cache beside that path.
   */
  | { t: "validate"; id: number; code: string; filename: string; timeoutMs: number; wasm: Record<string, Uint8Array>; script?: { code: string; path: string } }
  /** Stop an instance: now (kill switch, removal), or once its requests are done. */
  | { t: "drop"; instance: string; now: boolean }
  /** Start an instance now, without a request (provisioned or pre-warmed). */
  | { t: "warm"; spec: InstanceSpec }
  /** The client took `bytes` of invocation `id`'s streamed body: room for more. */
  | { t: "credit"; id: number; bytes: number }
  /** A piece of a streamed request body of invocation `id`; `end` on the last; `error` if the client went away. */
  | { t: "body"; id: number; bytes: Uint8Array; end: boolean; error?: string }
  /** The client of invocation `id` went away: stop it. */
  | { t: "cancel"; id: number }
  /** The answer to the host's `call` `id`. */
  | { t: "callDone"; id: number; result: CallResult }
  /** Who a token acts for (answer to `auth`). */
  | { t: "authed"; id: number; principal: { role: "admin" } | { role: "tenant"; tenant: string } | null }
  /** Log lines of `logs` `id` are stored (or could not be: `ok` false). */
  | { t: "logsStored"; id: number; ok: boolean }
  /** Send the usage report now (`flick info` wants what happened until this moment); answered with `ack`. */
  | { t: "flush"; id: number }
  /** Stop taking connections, finish what runs (up to `graceMs`), then exit. */
  | { t: "drain"; graceMs: number };

/**
 * What an instance asks of the platform through a binding (`env.NAME.method(…)` of a kind
 * under src/bindings/): the kind's host side makes it, the primary hands it to the kind's
 * platform side (src/bindings/platform.ts), which checks it again — the tenant boundary is
 * not left to the host — and answers with `callDone`. What `strings` and `buffers` carry is
 * the kind's own contract between its host and platform sides.
 */
export interface Call {
  /** The binding kind (`BindingSpec.kind`). */
  kind: string;
  /** `<tenant>/<function>` of the caller, and the invocation making the call. */
  caller: string;
  invocationId: string;
  /** The binding's target as deployed (a function, a namespace … of the caller's tenant). */
  target: string;
  method: string;
  /** How deep in service calls the caller runs (a request to /fn: 0). */
  depth: number;
  /** The queue hops of the invocation making the call (queue/hops.ts), absent for a request to /fn. */
  hops?: number;
  /** W3C `traceparent` / `tracestate` the platform's work continues (the call's span as parent). */
  trace?: string;
  traceState?: string;
  strings: string[];
  buffers: Uint8Array[];
}

/** A call's outcome: no error name and the method's result, or the error the guest rejects with. */
export interface CallResult {
  /** "" on success; else "Error", "TypeError", "RangeError", "TimeoutError" or "AbortError". */
  errorName: string;
  error: string;
  strings: string[];
  buffers: Uint8Array[];
}

/** How a response reaches its writer: the head (with the whole body when `end`), then chunks. */
export interface ResponseSink {
  head(status: number, headers: string[], body: Uint8Array | null, end: boolean, logs: WireLogLine[]): void;
  chunk(bytes: Uint8Array, end: boolean, logs: WireLogLine[]): void;
  /** The function read `bytes` more of its streamed request body: the writer may send more. */
  bodyCredit(bytes: number): void;
  /**
   * A console line of the invocation after it ended (an unhandled rejection reported at the
   * end of its entry, work that outlived it): stored without holding anything back.
   */
  lateLog?(line: WireLogLine): void;
}

/** Control of a running invocation from outside: flow-control credit, request body pieces. */
export interface InvocationControl {
  credit(bytes: number): void;
  body(bytes: Uint8Array, end: boolean, error?: string): void;
  cancel(): void;
}

/**
 * Flow control of streamed bodies, both ways: the guest pauses above this many response
 * bytes not yet taken by the client, and the reader of a request body stops reading when
 * this many bytes are on their way to a function that has not read them.
 */
export const streamHighWaterBytes = 1024 * 1024;

/** The end of an invocation: null error when it completed; its remaining log lines. */
export interface InvocationEnd {
  error: ErrorData | null;
  logs: WireLogLine[];
  /**
   * False when the request never reached the guest (its instance was stopped while it
   * waited): it may run elsewhere without running twice.
   */
  started: boolean;
  /** Usage: CPU ms (the isolate's thread clock, shared among concurrent invocations), request and response body bytes. */
  cpuMs?: number;
  requestBytes?: number;
  responseBytes?: number;
  /** Its outbound fetches: bytes sent and received, and how many were allowed, denied by the egress policy, failed. */
  egress?: { bytes: number; allowed: number; denied: number; failed: number };
}

export type FromHost =
  | { t: "ready"; pid: number }
  | { t: "ack"; id: number }
  /** A miss: this host needs a tenant token and/or an instance of `key`. */
  | { t: "acquire"; id: number; fn: string; key: string; token: boolean; instance: boolean }
  /** Tenant tokens this host no longer needs. */
  | { t: "tokensBack"; tenant: string; n: number }
  | { t: "reclaimed"; id: number; tenant: string; n: number }
  | { t: "report"; instances: InstanceUsage[]; functions: FunctionUsage[]; memory: [instance: string, memoryMiB: number][]; meter: UsageRow[] }
  | { t: "logs"; lines: ShippedLogLine[]; ack?: number }
  /** The spans this host keeps of a trace (null: it knows no such invocation or trace). */
  | { t: "spansOf"; id: number; traceId: string | null; spans: SpanData[] }
  | { t: "auth"; id: number; authorization: string }
  | { t: "head"; id: number; status: number; headers: string[]; body: Uint8Array | null; end: boolean; logs: WireLogLine[]; cold: boolean }
  | { t: "chunk"; id: number; bytes: Uint8Array; end: boolean; logs: WireLogLine[] }
  /** Invocation `id`'s function read `bytes` of its streamed request body. */
  | { t: "bodyCredit"; id: number; bytes: number }
  /** `busy`: the instance had no free slot (or was gone) and nothing ran; the primary places it again. */
  | { t: "done"; id: number; error: ErrorData | null; logs: WireLogLine[]; cold: boolean; started: boolean; codeCache?: "hit" | "miss" | "module"; pooled?: boolean }
  /** `scriptOk`: the script form runs the same way (false when none was sent, or it failed). */
  | { t: "validated"; id: number; error: ErrorData | null; scriptOk: boolean; handlers: string[] }
  /** The instance is gone (limit hit, crash, dropped): the primary forgets it. */
  | { t: "gone"; instance: string; reason: string }
  /** An instance's binding call (service fetch, queue send), answered with `callDone`. */
  | { t: "call"; id: number; call: Call }
  /**
   * Something this process cannot take back happened (an isolate V8 could not stop, or
   * one that ran out of memory where V8 cannot recover): replace this host; it drains.
   */
  | { t: "tainted"; reason: string };

/**
 * Set by whoever runs an invocation: called when its client goes away. A plain object
 * rather than an AbortSignal, since one is made per request on the hot path.
 */
export interface ClientGone {
  cancel?: () => void;
}
