import assert from "node:assert/strict";
import { test } from "node:test";
import ivm from "isolated-vm";
import { bundleRuntime } from "../build/index.ts";
import { snapshotWarmup } from "./instance.ts";

// makeRuntimeSnapshot falls back silently when the warm-up fails; this keeps it working.
test("the runtime snapshot builds with its warm-up (the request path compiled in)", async () => {
  const source = await bundleRuntime();
  const snapshot = ivm.Isolate.createSnapshot([{ code: source, filename: "flick:runtime.js" }], snapshotWarmup);
  assert.ok(snapshot.copy().byteLength > 100_000);
  const isolate = new ivm.Isolate({ snapshot, memoryLimit: 64 });
  const context = isolate.createContextSync();
  assert.equal(context.evalSync("typeof __flickRuntime.run + typeof Response + typeof globalThis.__flickHost"), "functionfunctionundefined");
  isolate.dispose();
});
