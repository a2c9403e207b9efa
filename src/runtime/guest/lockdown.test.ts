// The lockdown's memory guards in an isolate made from a startup snapshot, as the hosts
// make them: some globals (WebAssembly, gc) are created with each context, not kept in
// the snapshot, and must be guarded again when the host connects.
import assert from "node:assert/strict";
import { afterEach, test } from "node:test";
import { createGuestIsolate, type GuestIsolate } from "../../../test/support/guest-isolate.ts";
import { wasmModule } from "../../../test/support/wasm-module.ts";

let guest: GuestIsolate | undefined;
afterEach(() => guest?.dispose());

test("every memory guard is in place in an isolate made from the runtime snapshot", async () => {
  const g = (guest = await createGuestIsolate({ memoryMiB: 32, fromSnapshot: true }));
  const module = g.shipWasm(wasmModule({ memories: [{ minimum: 1, maximum: 65536 }] }));
  const out = g.attempt(`
    const outcome = (run) => { try { return run(); } catch (e) { return e.name; } };
    let shared = 0;
    return [
      outcome(() => new ArrayBuffer(8, { maxByteLength: 2 ** 30 })),
      outcome(() => new Array(1e9).fill(0)),
      outcome(() => Object.prototype.toString.call(new WebAssembly.Memory({ initial: 1, maximum: 2, get shared() { return shared++ > 0; } }).buffer)),
      outcome(() => new WebAssembly.Memory({ initial: 1 }).grow(3000)),
      typeof gc,
    ];
  `);
  assert.deepEqual(out.value, ["RangeError", "RangeError", "[object ArrayBuffer]", "RangeError", "undefined"]);
  assert.equal(g.reached.length, 2);
  assert.equal(g.attempt(`return new WebAssembly.Instance(${module}).exports.grow(3000);`).value, -1);
});
