/**
 * The contract between a worker host and the guest runtime in each of its isolates,
 * declared once and checked on both sides (the guest before it hands an op over, the host
 * before it acts on one: the guest is never trusted).
 *
 * The host enters an isolate asynchronously — the isolate runs on its own thread, never on
 * the host's event loop — and one entry per instance per event-loop turn carries every
 * event queued for it (`GuestEvent`: requests, timers due, fetch answers …). Guest code
 * never calls the host and waits, except for the four `SyncHostCalls`; everything else it
 * asks of the host is a `HostOp` appended to an outbox. `run` returns the outbox once the
 * microtasks its events started have had their turns (so the response of an `async fetch`
 * travels back with the entry that started it); an op emitted later in the same entry
 * (a long promise chain, a streamed body) makes the guest call `more`, and the host comes
 * back for it with `take`.
 *
 * This module is plain data and pure functions: it is bundled into the guest runtime and
 * imported by the host alike.
 */

/** What one entry carries from the host to the guest, in order. */
export type GuestEvent =
  /** A request for `fetch`; `streamed`: the body follows in "body" events. */
  | [kind: "request", invocation: number, method: string, url: string, headers: string[], body: Uint8Array | null, streamed: boolean]
  /** A cron trigger for `scheduled`. */
  | [kind: "scheduled", invocation: number, cron: string, scheduledTime: number]
  /** A batch of queue messages for `queue`. */
  | [kind: "queue", invocation: number, queue: string, ids: string[], timestamps: number[], attempts: number[], bodies: Uint8Array[], contentTypes: string[]]
  /** The invocation's earliest timer is due (the guest fires every due one of it). */
  | [kind: "timers", invocation: number]
  /** An outbound fetch ended: a response, or an error name and message to reject with. */
  | [kind: "fetched", op: number, status: number, statusText: string, headers: string[], body: Uint8Array | null, urlList: string[], errorName: string, errorMessage: string]
  | [kind: "zlibDone", op: number, output: Uint8Array | null, error: string]
  | [kind: "subtleDone", op: number, error: string, json: string, buffers: Uint8Array[]]
  /** A binding call ended (the generic channel, "binding" op): an error message, or what the kind's method answered. */
  | [kind: "bindingDone", op: number, errorName: string, errorMessage: string, strings: string[], buffers: Uint8Array[]]
  /** The client took `bytes` of the invocation's streamed response: room to send more. */
  | [kind: "credit", invocation: number, bytes: number]
  /** A piece of a streamed request body (`end` on the last; `error` when the client went away). */
  | [kind: "body", invocation: number, bytes: Uint8Array, end: boolean, error: string]
  /** The host ended the invocation (timeout, limit, client gone): forget its timers, streams, state. */
  | [kind: "end", invocation: number]
  /** A promise rejection nobody handled surfaced at the end of the last entry. */
  | [kind: "rejection", invocation: number, reason: unknown]
  /** The instance has been idle a while: collect garbage now, so its heap shrinks while it waits. */
  | [kind: "collect"];

export type GuestEventKind = GuestEvent[0];

/** What the guest asks of the host, collected in the outbox during an entry. */
export type HostOp =
  /** One console line (0 = module scope). */
  | [op: "log", invocation: number, level: string, message: string]
  /** Enter again with a "timers" event for the invocation at this guest time (ms); 0: none pending. */
  | [op: "wake", invocation: number, atMs: number]
  /** The response head; with `end`, `body` is the whole body (or null), else chunks follow. */
  | [op: "respond", invocation: number, status: number, headers: string[], body: Uint8Array | null, end: boolean]
  /** One chunk of a streamed response body; `end` on the last (which may be empty). */
  | [op: "chunk", invocation: number, bytes: Uint8Array, end: boolean]
  /** The invocation is over: response complete and waitUntil promises settled. */
  | [op: "complete", invocation: number]
  /**
   * The handler threw, returned something that is not a Response, or its body failed.
   * `thrown`: the message is the function's own (its exception), not the runtime's words.
   */
  | [op: "fail", invocation: number, message: string, stack: string, thrown: boolean]
  /** Starts an outbound fetch to the network (a service binding's fetch goes through the "binding" op). */
  | [op: "fetch", invocation: number, fetchOp: number, method: string, url: string, headers: string[], body: Uint8Array | null, redirect: string]
  | [op: "fetchAbort", fetchOp: number]
  | [op: "zlibOpen", invocation: number, stream: number, format: string, compress: boolean]
  | [op: "zlibWrite", invocation: number, stream: number, zlibOp: number, bytes: Uint8Array, final: boolean]
  | [op: "zlibClose", invocation: number, stream: number]
  /** The handler read `bytes` more of its streamed request body. */
  | [op: "bodyCredit", invocation: number, bytes: number]
  | [op: "subtle", invocation: number, subtleOp: number, method: string, json: string, buffers: Uint8Array[]]
  /**
   * A call of a binding's method (`env.JOBS.send(body)`): the one channel every binding kind
   * shares (src/bindings/). What `strings` and `buffers` hold is the kind's own contract
   * (src/bindings/<kind>/contract.ts); the host checks it again.
   */
  | [op: "binding", invocation: number, callOp: number, kind: string, name: string, method: string, strings: string[], buffers: Uint8Array[]]
  /** An allocation guard found an operation that cannot fit in the instance's memory limit. */
  | [op: "memoryLimit", what: string];

export type HostOpName = HostOp[0];

/**
 * The only calls the guest makes and waits for (its thread blocks until the host answers):
 * rare, small, and answered from host data. Everything else is a `HostOp`.
 */
export interface SyncHostCalls {
  /** `length` CSPRNG bytes, 1..65536 (the guest keeps a buffer and asks for 4 KiB at a time). */
  randomBytes(length: number): Uint8Array;
  /** UTS #46 ToASCII of a domain (WHATWG URL "domain to ASCII"); null when invalid. */
  domainToASCII(domain: string): string | null;
  /** The bytes of a Wasm module shipped with this version, by SHA-256; null if not shipped. */
  wasmModule(hash: string): Uint8Array | null;
  /**
   * One index of the Encoding Standard in its binary form (scripts/gen-encoding-indexes.ts
   * documents it), asked for when a legacy multi-byte TextDecoder is first constructed; null
   * for a name not in `encodingIndexNames`. At most 48 KiB, the same for every isolate.
   */
  encodingIndex(name: string): Uint8Array | null;
}

/** The indexes `encodingIndex` answers for (Encoding §5): the CJK decoders' tables. */
export const encodingIndexNames = ["gb18030", "gb18030-ranges", "big5", "jis0208", "jis0212", "euc-kr"] as const;
export type EncodingIndexName = (typeof encodingIndexNames)[number];

/**
 * The runtime's entry points, left by the bootstrap on `globalThis.__flickRuntime` for the
 * host to take references to (and delete) when it connects an isolate.
 */
export interface RuntimeEntries {
  /**
   * Connects the isolate to its host once: the sync calls (as separate functions: the host
   * passes callbacks, which cannot travel inside a copied object), the clock, the memory limit.
   */
  connect(
    randomBytes: SyncHostCalls["randomBytes"],
    domainToASCII: SyncHostCalls["domainToASCII"],
    wasmModule: SyncHostCalls["wasmModule"],
    encodingIndex: SyncHostCalls["encodingIndex"],
    /** Not waited for: ops are waiting in the outbox after `run` returned; the host calls `take`. */
    more: () => void,
    nowMs: number,
    memoryLimitBytes: number,
  ): void;
  /** Binds the module's default export and env; "" or why the module is not a function. */
  /** `object`: [class, id, name] when the instance holds that durable object. */
  init(namespace: unknown, env: string[], bindings: string[], object?: string[]): string;
  /** "fetch,scheduled,queue" — the handlers the module has. */
  handlers(): string;
  /**
   * Runs the events of one entry at host time `nowMs`, and resolves with the outbox once
   * their microtasks have had their turns, and the invocation last running. `acked`: the
   * host has the outbox `run` last resolved with (else `take` gives those ops again: an
   * unhandled rejection makes isolated-vm drop an entry's result).
   */
  run(nowMs: number, acked: boolean, events: GuestEvent[]): Promise<[ops: HostOp[], lastInvocation: number]>;
  /**
   * The ops emitted since the last `run` resolved; with `acked` false also those it resolved
   * with (an unhandled rejection made isolated-vm drop that result).
   */
  take(acked: boolean): [ops: HostOp[], lastInvocation: number];
}

/**
 * Console output one invocation (or an instance's module scope) may produce: a longer
 * line is cut, lines past the caps are dropped with one marker line saying how many.
 * The guest stops sending at the caps; the host enforces them again.
 */
export const logLimits = {
  lineMaxChars: 16 * 1024,
  linesPerInvocation: 1000,
  charsPerInvocation: 1024 * 1024,
} as const;

// — shapes, checked on both sides —

/** One argument's shape. `?` allows null. */
type Shape = "int" | "num" | "str" | "bool" | "strs" | "bytes" | "bytes?" | "bytesList" | "any";

/** Strings the guest may hand over in one op (a log line is cut before that). */
export const maxOpString = 64 * 1024;
/** String arrays (headers: name, value, …). */
export const maxOpStrings = 4096;
/** Bytes in one op: a whole response body or an outbound request body. */
export const maxOpBytes = 100 * 1024 * 1024;
/**
 * A response head: at most this many headers and this many characters of names and
 * values together. The guest refuses more (a 502 naming the excess) before it emits the
 * op; the host checks again (response-guard.ts).
 */
export const responseHeadLimits = { headers: 1024, chars: 256 * 1024 } as const;

const hostOpShapes: { readonly [K in HostOpName]: readonly Shape[] } = {
  log: ["int", "str", "str"],
  wake: ["int", "num"],
  respond: ["int", "int", "strs", "bytes?", "bool"],
  chunk: ["int", "bytes", "bool"],
  complete: ["int"],
  fail: ["int", "str", "str", "bool"],
  fetch: ["int", "int", "str", "str", "strs", "bytes?", "str"],
  fetchAbort: ["int"],
  zlibOpen: ["int", "int", "str", "bool"],
  zlibWrite: ["int", "int", "int", "bytes", "bool"],
  zlibClose: ["int", "int"],
  bodyCredit: ["int", "int"],
  subtle: ["int", "int", "str", "str", "bytesList"],
  binding: ["int", "int", "str", "str", "str", "strs", "bytesList"],
  memoryLimit: ["str"],
};

function fits(shape: Shape, v: unknown): boolean {
  switch (shape) {
    case "int":
      return typeof v === "number" && Number.isSafeInteger(v);
    case "num":
      return typeof v === "number" && Number.isFinite(v);
    case "str":
      return typeof v === "string" && v.length <= maxOpString;
    case "bool":
      return typeof v === "boolean";
    case "strs": {
      if (!Array.isArray(v) || v.length > maxOpStrings) return false;
      for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string" || (v[i] as string).length > maxOpString) return false;
      return true;
    }
    case "bytes":
      return v instanceof Uint8Array && v.byteLength <= maxOpBytes;
    case "bytes?":
      return v === null || (v instanceof Uint8Array && v.byteLength <= maxOpBytes);
    case "bytesList": {
      if (!Array.isArray(v) || v.length > 128) return false;
      let total = 0;
      for (let i = 0; i < v.length; i++) {
        const b = v[i] as unknown;
        if (!(b instanceof Uint8Array)) return false;
        total += b.byteLength;
      }
      return total <= maxOpBytes;
    }
    case "any":
      return true;
  }
}

/**
 * Why `op` is not a well-formed host op, or null when it is. The host calls it on every op
 * it takes from an outbox; the guest on every op it puts in one (so a runtime bug surfaces
 * where it happens, not as a dropped op).
 */
export function checkHostOp(op: unknown): string | null {
  if (!Array.isArray(op) || op.length === 0 || typeof op[0] !== "string") return "not an op";
  const name = op[0] as string;
  if (!Object.hasOwn(hostOpShapes, name)) return `unknown op ${name.slice(0, 32)}`;
  const shapes = hostOpShapes[name as HostOpName];
  if (op.length !== shapes.length + 1) return `${name}: ${op.length - 1} arguments, expected ${shapes.length}`;
  for (let i = 0; i < shapes.length; i++) {
    if (!fits(shapes[i]!, op[i + 1])) return `${name}: argument ${i + 1} is not ${shapes[i]}`;
  }
  return null;
}
