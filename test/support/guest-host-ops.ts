/**
 * For the guest runtime's unit tests under Node: host ops as the host provides the ones
 * URL parsing needs (Node's UTS #46 ToASCII, "" meaning failure; CSPRNG bytes), the rest
 * inert. Tests only; kept out of src/ so the runtime stays free of Node APIs.
 */
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import { installHostOps } from "../../src/runtime/guest/host-ops.ts";

/** How many times the runtime asked the host for IDNA (tests check it caches). */
export const hostCalls = { domainToASCII: 0 };

export function installTestHostOps(): void {
  installHostOps({
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    domainToASCII: (domain) => {
      hostCalls.domainToASCII++;
      const ascii = domainToASCII(domain);
      return ascii === "" ? null : ascii;
    },
    log: () => {},
    timerStart: () => {},
    timerClear: () => {},
    respond: () => {},
    chunk: () => true,
    complete: () => {},
    fail: () => {},
    fetchStart: () => {},
    fetchAbort: () => {},
    queueSend: () => {},
    wasmModule: () => null,
    zlibOpen: () => {},
    zlibWrite: () => {},
    subtle: () => undefined,
    zlibClose: () => undefined,
    bodyCredit: () => undefined,
  });
}
