/**
 * The narrow set of operations the host gives the guest runtime.
 *
 * The bootstrap receives these as plain functions, captures them here and removes every
 * trace of them from the global scope before user code runs: user code reaches the host
 * only through the Web APIs built on top. Each op takes and returns copies (strings,
 * numbers, arrays of strings, Uint8Array), never references to host objects.
 */
export interface HostOps {
  /** `length` cryptographically strong random bytes; `length` ≤ 65536 (Web Crypto's quota). */
  randomBytes(length: number): Uint8Array;
  /** UTS #46 ToASCII of a domain, as WHATWG URL's "domain to ASCII" wants; `null` when invalid. */
  domainToASCII(domain: string): string | null;
  /** One console line of invocation `invocation` (0 = outside any invocation). */
  log(invocation: number, level: string, message: string): void;
  /** Asks the host to call the dispatcher's `fireTimer(timer)` after `delayMs`. */
  timerStart(invocation: number, timer: number, delayMs: number): void;
  timerClear(timer: number): void;
  /**
   * The response head; headers flattened as name, value, name, value… With `end`, `body`
   * is the whole body (or null for none); without, chunks follow through `chunk`.
   */
  respond(invocation: number, status: number, headers: string[], body: Uint8Array | null, end: boolean): void;
  /**
   * One chunk of a streamed response body; `end` on the last (which may be empty). Returns
   * false when the client is behind: send nothing more until the dispatcher's `resume`.
   */
  chunk(invocation: number, bytes: Uint8Array, end: boolean): boolean;
  /** The invocation is over: its response is complete and its waitUntil promises settled. */
  complete(invocation: number): void;
  /** The handler threw, returned something that is not a Response, or its body stream failed. */
  fail(invocation: number, message: string, stack: string): void;
  /**
   * Starts an outbound HTTP request for `invocation`; the host answers later through the
   * dispatcher's `fetched(op, …)`. Throws (synchronously) when a per-invocation limit is hit.
   */
  fetchStart(invocation: number, op: number, method: string, url: string, headers: string[], body: Uint8Array | null, redirect: string, binding: string): void;
  /** The guest no longer wants op's answer (its signal aborted). */
  fetchAbort(op: number): void;
  /** The bytes of a Wasm module shipped with this version (by SHA-256), or null. */
  wasmModule(hash: string): Uint8Array | null;
  /** Opens zlib stream `stream` for `invocation` ("gzip", "deflate" or "deflate-raw"). */
  zlibOpen(invocation: number, stream: number, format: string, compress: boolean): void;
  /** Feeds a chunk (or the end, with `final`); the output comes back as the dispatcher's `zlibDone(op, …)`. */
  zlibWrite(invocation: number, stream: number, op: number, bytes: Uint8Array, final: boolean): void;
  /** Frees stream `stream` (it errored or was cancelled in the guest). */
  zlibClose(invocation: number, stream: number): void;
  /** The handler read `bytes` more of its streamed request body: the host may send more. */
  bodyCredit(invocation: number, bytes: number): void;
  /**
   * Starts a crypto.subtle call (`method`'s arguments as JSON text plus byte buffers, see
   * subtle-crypto.ts); the host answers through the dispatcher's `subtleDone(op, …)`.
   */
  subtle(invocation: number, op: number, method: string, json: string, buffers: Uint8Array[]): void;
  /**
   * Queues messages (bodies with content types) through queue binding `binding`; the host
   * answers through the dispatcher's `queueDone(op, …)` once they are durable.
   */
  queueSend(invocation: number, op: number, binding: string, bodies: Uint8Array[], contentTypes: string[]): void;
}

let installed: HostOps | undefined;

// Sizes checked in the guest, before anything is copied to the host (which would double
// a giant argument in host memory before the host could refuse it).
const maxBytes = 100 * 1024 * 1024;
const maxCryptoBytes = 64 * 1024 * 1024;
const maxCryptoJson = 256 * 1024;
const maxText = 64 * 1024;
/** Queue messages per sendBatch, and bytes per message (the async payload limit). */
export const maxQueueBatch = 100;
export const maxQueueMessage = 1024 * 1024;
const maxStrings = 2048;

function isInt(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v);
}
function bytesOk(v: unknown, max: number): v is Uint8Array {
  return v instanceof Uint8Array && v.byteLength <= max;
}
function stringsOk(v: unknown): v is string[] {
  if (!Array.isArray(v) || v.length > maxStrings) return false;
  for (let i = 0; i < v.length; i++) if (typeof v[i] !== "string" || (v[i] as string).length > maxText) return false;
  return true;
}
function refuse(op: string): never {
  throw new TypeError(`${op}: an argument has the wrong type or size`);
}

/**
 * Frozen shims over the raw host callbacks: each checks the types and sizes of its
 * arguments in the guest and passes plain copies only, so no guest object reaches the host.
 */
function shim(raw: HostOps): HostOps {
  const shimmed: HostOps = {
    randomBytes: (n) => (isInt(n) && n >= 0 && n <= 65536 ? raw.randomBytes(n) : refuse("randomBytes")),
    domainToASCII: (d) => (typeof d === "string" && d.length <= 4096 ? raw.domainToASCII(d) : null),
    log: (inv, level, message) => raw.log(inv, String(level), String(message).slice(0, maxText)),
    timerStart: (inv, timer, delay) => (isInt(inv) && isInt(timer) && typeof delay === "number" ? raw.timerStart(inv, timer, delay) : refuse("timer")),
    timerClear: (timer) => (isInt(timer) ? raw.timerClear(timer) : undefined),
    respond: (inv, status, headers, body, end) =>
      isInt(inv) && isInt(status) && stringsOk(headers) && (body === null || bytesOk(body, Number.MAX_SAFE_INTEGER))
        ? raw.respond(inv, status, headers, body, end === true)
        : refuse("respond"),
    chunk: (inv, bytes, end) => (isInt(inv) && bytes instanceof Uint8Array ? raw.chunk(inv, bytes, end === true) : refuse("chunk")),
    complete: (inv) => raw.complete(inv),
    fail: (inv, message, stack) => raw.fail(inv, String(message).slice(0, maxText), String(stack).slice(0, maxText)),
    fetchStart: (inv, op, method, url, headers, body, redirect, binding) =>
      isInt(inv) && isInt(op) && typeof method === "string" && typeof url === "string" && url.length <= 16 * 1024 && stringsOk(headers) &&
      (body === null || bytesOk(body, maxBytes)) && typeof redirect === "string" && typeof binding === "string" && binding.length <= 256
        ? raw.fetchStart(inv, op, method, url, headers, body, redirect, binding)
        : refuse("fetch"),
    fetchAbort: (op) => (isInt(op) ? raw.fetchAbort(op) : undefined),
    wasmModule: (hash) => (typeof hash === "string" && hash.length === 64 ? raw.wasmModule(hash) : null),
    zlibOpen: (inv, stream, format, compress) => (isInt(inv) && isInt(stream) && typeof format === "string" ? raw.zlibOpen(inv, stream, format, compress === true) : refuse("compression")),
    zlibWrite: (inv, stream, op, bytes, final) =>
      isInt(inv) && isInt(stream) && isInt(op) && bytesOk(bytes, maxBytes) ? raw.zlibWrite(inv, stream, op, bytes, final === true) : refuse("compression"),
    zlibClose: (inv, stream) => (isInt(inv) && isInt(stream) ? raw.zlibClose(inv, stream) : undefined),
    bodyCredit: (inv, bytes) => (isInt(inv) && isInt(bytes) && bytes > 0 ? raw.bodyCredit(inv, bytes) : undefined),
    subtle: (inv, op, method, json, buffers) => {
      if (!isInt(inv) || !isInt(op) || typeof method !== "string" || typeof json !== "string" || json.length > maxCryptoJson) refuse("crypto.subtle");
      if (!Array.isArray(buffers) || buffers.length > 64) refuse("crypto.subtle");
      let total = 0;
      for (let i = 0; i < buffers.length; i++) {
        if (!bytesOk(buffers[i], maxCryptoBytes)) refuse("crypto.subtle");
        total += buffers[i]!.byteLength;
      }
      if (total > maxCryptoBytes) refuse("crypto.subtle");
      return raw.subtle(inv, op, method, json, buffers);
    },
    queueSend: (inv, op, binding, bodies, contentTypes) => {
      if (!isInt(inv) || !isInt(op) || typeof binding !== "string" || binding.length > 256) refuse("queue send");
      if (!Array.isArray(bodies) || !Array.isArray(contentTypes) || bodies.length !== contentTypes.length || bodies.length > maxQueueBatch) refuse("queue send");
      for (let i = 0; i < bodies.length; i++) if (!bytesOk(bodies[i], maxQueueMessage) || typeof contentTypes[i] !== "string") refuse("queue send");
      return raw.queueSend(inv, op, binding, bodies, contentTypes);
    },
  };
  return Object.freeze(shimmed);
}

/** Called once by the bootstrap; a second call is a bug in the bootstrap. */
export function installHostOps(ops: HostOps): void {
  if (installed !== undefined) throw new Error("host ops are already installed");
  installed = shim(ops);
}

/** The installed ops; throws when called before the bootstrap ran (a runtime bug, never user error). */
export function hostOps(): HostOps {
  if (installed === undefined) throw new Error("host ops are not installed");
  return installed;
}
