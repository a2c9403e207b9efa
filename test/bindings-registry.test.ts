// The binding kinds' three lists name the same kinds: their settings
// (src/bindings/settings.ts), their guest side (src/bindings/guest.ts, bundled into
// isolates) and their host side (src/bindings/host.ts).
// A kind added to one and forgotten in another would deploy, then fail at its first call.
import assert from "node:assert/strict";
import { test } from "node:test";
import { guestBindings } from "../src/bindings/guest.ts";
import { bindingSettings, hostBindings } from "../src/bindings/index.ts";
import { queueContract } from "../src/bindings/queue/contract.ts";
import { limits } from "../src/model/index.ts";


test("every binding kind has settings, a guest side and a host side", () => {
  const settings = bindingSettings.map((k) => k.kind).sort();
  const guest = Object.keys(guestBindings).sort();
  const host = [...hostBindings.keys()].sort();
  assert.deepEqual(guest, host, "guest.ts and host.ts list the same kinds");
  assert.deepEqual(guest, settings, "and every kind with settings");
  for (const [kind, host] of hostBindings) assert.equal(host.kind, kind);
});

test("the queue binding's guest-side message limit is the platform's async payload limit (the guest cannot import it, so it keeps a copy)", () => {
  assert.equal(queueContract.maxMessageBytes, limits.asyncPayloadMaxBytes);
});
