// The binding kinds' four lists name the same kinds: their settings
// (src/bindings/settings.ts), their guest side (src/bindings/guest.ts, bundled into
// isolates), their host side (src/bindings/host.ts) and their platform side
// (src/bindings/platform.ts, in the node).
// A kind added to one and forgotten in another would deploy, then fail at its first call.
import assert from "node:assert/strict";
import { test } from "node:test";
import { guestBindings } from "../src/bindings/guest.ts";
import { hostBindings } from "../src/bindings/host.ts";
import { bindingSettings } from "../src/bindings/index.ts";
import { platformBindings } from "../src/bindings/platform.ts";
import { queueContract } from "../src/bindings/queue/contract.ts";
import { limits } from "../src/model/index.ts";


test("every binding kind has settings, a guest side, a host side and a platform side", () => {
  const settings = bindingSettings.map((k) => k.kind).sort();
  const guest = Object.keys(guestBindings).sort();
  const host = [...hostBindings.keys()].sort();
  const platform = platformBindings.map((k) => k.kind).sort();
  assert.deepEqual(guest, host, "guest.ts and host.ts list the same kinds");
  assert.deepEqual(guest, settings, "and every kind with settings");
  assert.deepEqual(platform, settings, "and every kind has a platform side");
  for (const [kind, host] of hostBindings) assert.equal(host.kind, kind);
});

test("the queue binding's guest-side message limit is the platform's async payload limit (the guest cannot import it, so it keeps a copy)", () => {
  assert.equal(queueContract.maxMessageBytes, limits.asyncPayloadMaxBytes);
});
