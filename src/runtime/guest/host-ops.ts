/**
 * The narrow set of operations the host gives the guest runtime.
 *
 * The bootstrap receives these as plain functions, captures them here and removes every
 * trace of them from the global scope before user code runs: user code reaches the host
 * only through the Web APIs built on top. Each op takes and returns copies (strings,
 * numbers, Uint8Array), never references to host objects.
 */
export interface HostOps {
  /** `length` cryptographically strong random bytes; `length` ≤ 65536 (Web Crypto's quota). */
  randomBytes(length: number): Uint8Array;
  /** UTS #46 ToASCII of a domain, as WHATWG URL's "domain to ASCII" wants; `null` when invalid. */
  domainToASCII(domain: string): string | null;
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
