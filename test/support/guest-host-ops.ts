/**
 * For the guest runtime's unit tests under Node: the sync host calls as the host answers
 * them (Node's UTS #46 ToASCII, CSPRNG bytes, the host's index file for TextDecoder); ops
 * the runtime emits go to its outbox, which nothing takes. Tests only; kept out of src/ so
 * the runtime stays free of Node APIs.
 */
import { randomBytes } from "node:crypto";
import { domainToASCII } from "node:url";
import { encodingIndexes } from "../../src/host/encoding-indexes.ts";
import { installSyncCalls } from "../../src/runtime/guest/host-ops.ts";

/** How many times the runtime asked the host for IDNA and for index tables (tests check it caches). */
export const hostCalls = { domainToASCII: 0, encodingIndex: 0 };

export function installTestHostOps(): void {
  installSyncCalls(
    {
      randomBytes: (n) => new Uint8Array(randomBytes(n)),
      domainToASCII: (domain) => {
        hostCalls.domainToASCII++;
        const ascii = domainToASCII(domain);
        return ascii === "" ? null : ascii;
      },
      wasmModule: () => null,
      encodingIndex: (name) => {
        hostCalls.encodingIndex++;
        return encodingIndexes.table(name);
      },
    },
    () => {},
  );
}
