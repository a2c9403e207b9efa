import assert from "node:assert/strict";
import { test } from "node:test";
import { FlickError } from "../errors/index.ts";
import { checkServerVersion } from "./open-cluster-store.ts";

test("a node joins NATS 2.10 or later, and refuses an older or unknown server with what to do", () => {
  for (const ok of ["2.10.0", "2.10.27", "2.11.3", "3.0.0"]) assert.doesNotThrow(() => checkServerVersion(ok, ["nats://a:4222"]), ok);
  for (const old of ["2.9.10", "2.2.0", "1.4.1", "", undefined]) {
    assert.throws(() => checkServerVersion(old, ["nats://a:4222"]), (err: unknown) => {
      assert.ok(err instanceof FlickError);
      assert.match(err.message, /^the NATS server at nats:\/\/a:4222 is .*; Flick's cluster needs nats-server 2\.10 or later/);
      assert.match(err.message, /upgrade the NATS servers/);
      return true;
    }, String(old));
  }
});
