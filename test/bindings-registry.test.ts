// The binding kinds' three lists name the same kinds: the settings every kind has
// (src/bindings/settings.ts), the guest side of the kinds on the binding channel
// (src/bindings/guest.ts, bundled into isolates) and their host side (src/bindings/host.ts).
// A kind added to one and forgotten in another would deploy, then fail at its first call.
import assert from "node:assert/strict";
import { test } from "node:test";
import { guestBindings } from "../src/bindings/guest.ts";
import { bindingSettings, hostBindings } from "../src/bindings/index.ts";

/** Kinds that do not speak the channel yet (issue 16): the service binding rides the fetch op. */
const beforeTheChannel = ["service"];

test("every binding kind has settings, and the channel's kinds have both a guest and a host side", () => {
  const settings = bindingSettings.map((k) => k.kind).sort();
  const guest = Object.keys(guestBindings).sort();
  const host = [...hostBindings.keys()].sort();
  assert.deepEqual(guest, host, "guest.ts and host.ts list the same kinds");
  assert.deepEqual([...guest, ...beforeTheChannel].sort(), settings, "and with the kinds not on the channel yet, every kind with settings");
  for (const [kind, host] of hostBindings) assert.equal(host.kind, kind);
});
