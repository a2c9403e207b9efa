/**
 * Messages between the supervisor (primary process) and a worker host process, sent
 * over the fork IPC channel with `serialization: "advanced"` (structured clone, so
 * bodies travel as bytes).
 */
import type { ErrorData } from "../errors/index.ts";
import type { LogLevel } from "../model/index.ts";

/** Everything a host needs to create an instance of one function version. */
export interface InstanceSpec {
  /** Unique per instance (a version may have several). */
  instance: string;
  /** `<tenant>/<function>`, for log attribution and file names in stack traces. */
  function: string;
  versionId: string;
  bundlePath: string;
  /**
   * The version's script form (build/script-form.ts), when it has one: hosts run it instead
   * of the module, from a V8 code cache kept beside it (`<scriptPath>.v8cache`).
   */
  scriptPath?: string;
  memoryMiB: number;
  timeoutMs: number;
  /** name, value, name, value…: vars and opened secrets. */
  env: string[];
  /** WebAssembly modules shipped with the version: SHA-256 → file. */
  wasm: Record<string, string>;
  /** Bindings in env: a service binding's `fetch`, a queue binding's `send`, to another function of the tenant. */
  bindings?: BindingSpec[];
}

export interface BindingSpec {
  name: string;
  kind: "service" | "queue";
  /** The bound function's name. */
  target: string;
}

export interface WireRequest {
  method: string;
  url: string;
  /** name, value, name, value… */
  headers: string[];
  /** The whole body, or null: none, or (with `streamed`) it follows in `body` messages. */
  body: Uint8Array | null;
  streamed?: boolean;
  /** The platform's id of this invocation (logs, x-flick-invocation-id); propagated to service binding calls. */
  invocationId?: string;
  /** Service binding calls this invocation is nested in (0 from a client); capped by the platform. */
  depth?: number;
  /** Not a request but a batch of queue messages for the `queue` handler. */
  queue?: { name: string; messages: { id: string; timestamp: number; attempts: number; body: Uint8Array; contentType: string }[] };
  /** Not a request but a cron trigger: the handler called is `scheduled` (method, url, body unused). */
  scheduled?: { cron: string; scheduledTime: number };
}

/** [time ms, level, message] */
export type WireLogLine = [number, LogLevel, string];

export type ToHost =
  | { t: "invoke"; id: number; spec: InstanceSpec; request: WireRequest }
  /**
   * Load `code` in a throwaway isolate. With `script` (its script form and where it will be
   * stored), load that too and, when it works, seal its V8 code cache beside that path.
   */
  | { t: "validate"; id: number; code: string; filename: string; wasm: Record<string, Uint8Array>; script?: { code: string; path: string } }
  | { t: "drop"; instance: string }
  /** Start an instance now, without a request (provisioned or pre-warmed). */
  | { t: "warm"; spec: InstanceSpec }
  /** The client took `bytes` of invocation `id`'s streamed body: room for more. */
  | { t: "credit"; id: number; bytes: number }
  /** A piece of a streamed request body of invocation `id`; `end` on the last; `error` if the client went away. */
  | { t: "body"; id: number; bytes: Uint8Array; end: boolean; error?: string }
  /** The client of invocation `id` went away: stop it. */
  | { t: "cancel"; id: number }
  /** The answer to the host's `call` `id`. */
  | { t: "callDone"; id: number; result: CallResult };

/**
 * What an instance asks of the platform through a binding: the primary checks the binding
 * (same tenant, target live) and answers with `callDone`.
 */
export type Call =
  | { kind: "enqueue"; caller: string; target: string; messages: { body: Uint8Array; contentType: string }[] }
  | { kind: "fetch"; caller: string; target: string; parentInvocationId: string; depth: number; request: WireRequest };

export type CallResult =
  | { kind: "enqueue"; error: string | null }
  | {
      kind: "fetch";
      status: number;
      statusText: string;
      headers: string[];
      body: Uint8Array | null;
      /** Set when no response came: [error name, message] for the guest to reject with. */
      error: [string, string] | null;
    };

/** How a response reaches the primary: the head (with the whole body when `end`), then chunks. */
export interface ResponseSink {
  head(status: number, headers: string[], body: Uint8Array | null, end: boolean, logs: WireLogLine[]): void;
  chunk(bytes: Uint8Array, end: boolean, logs: WireLogLine[]): void;
  /** The function read `bytes` more of its streamed request body: the primary may send more. */
  bodyCredit(bytes: number): void;
}

/** Control of a running invocation from outside: flow-control credit, request body pieces. */
export interface InvocationControl {
  credit(bytes: number): void;
  body(bytes: Uint8Array, end: boolean, error?: string): void;
  cancel(): void;
}

/**
 * Flow control of streamed bodies, both ways: the guest pauses above this many response
 * bytes not yet taken by the client, and the primary stops reading a request body when
 * this many bytes are on their way to a function that has not read them.
 */
export const streamHighWaterBytes = 1024 * 1024;

/** The end of an invocation: null error when it completed; its remaining log lines. */
export interface InvocationEnd {
  error: ErrorData | null;
  logs: WireLogLine[];
}

export type FromHost =
  | { t: "ready"; pid: number }
  | { t: "head"; id: number; status: number; headers: string[]; body: Uint8Array | null; end: boolean; logs: WireLogLine[]; cold: boolean }
  | { t: "chunk"; id: number; bytes: Uint8Array; end: boolean; logs: WireLogLine[] }
  /** Invocation `id`'s function read `bytes` of its streamed request body. */
  | { t: "bodyCredit"; id: number; bytes: number }
  /** `memoryMiB`: what the instance holds now, sent on its first request and every 64th after. */
  | { t: "done"; id: number; error: ErrorData | null; logs: WireLogLine[]; cold: boolean; memoryMiB?: number; codeCache?: "hit" | "miss" | "module" }
  /** `scriptOk`: the script form runs the same way (false when none was sent, or it failed). */
  | { t: "validated"; id: number; error: ErrorData | null; scriptOk: boolean; handlers: string[] }
  /** The instance is gone (limit hit, crash): the supervisor forgets it. */
  | { t: "gone"; instance: string; reason: string }
  /** An instance's binding call (service fetch, queue send), answered with `callDone`. */
  | { t: "call"; id: number; call: Call };

/**
 * Set by whoever runs an invocation: called when its client goes away. A plain object
 * rather than an AbortSignal, since one is made per request on the hot path.
 */
export interface ClientGone {
  cancel?: () => void;
}
