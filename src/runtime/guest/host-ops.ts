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
  fetchStart(invocation: number, op: number, method: string, url: string, headers: string[], body: Uint8Array | null, redirect: string): void;
  /** The guest no longer wants op's answer (its signal aborted). */
  fetchAbort(op: number): void;
  /** The bytes of a Wasm module shipped with this version (by SHA-256), or null. */
  wasmModule(hash: string): Uint8Array | null;
  /** Opens zlib stream `stream` for `invocation` ("gzip", "deflate" or "deflate-raw"). */
  zlibOpen(invocation: number, stream: number, format: string, compress: boolean): void;
  /** Feeds a chunk (or the end, with `final`); the output comes back as the dispatcher's `zlibDone(op, …)`. */
  zlibWrite(invocation: number, stream: number, op: number, bytes: Uint8Array, final: boolean): void;
  /**
   * A Web Crypto primitive run by the host (node:crypto): digest, hmacSign, hmacVerify,
   * aesGcm, generateKeyPair, checkJwk, sign, verify, pbkdf2, hkdf. Throws an Error whose
   * message starts with the DOMException name to report.
   */
  crypto(name: string, ...args: unknown[]): unknown;
}

let installed: HostOps | undefined;

/** Called once by the bootstrap; a second call is a bug in the bootstrap. */
export function installHostOps(ops: HostOps): void {
  if (installed !== undefined) throw new Error("host ops are already installed");
  installed = ops;
}

/** The installed ops; throws when called before the bootstrap ran (a runtime bug, never user error). */
export function hostOps(): HostOps {
  if (installed === undefined) throw new Error("host ops are not installed");
  return installed;
}
