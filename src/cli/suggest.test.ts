import assert from "node:assert/strict";
import { test } from "node:test";
import { closest, editDistance } from "./suggest.ts";

test("edit distance counts a swap of neighbours as one edit", () => {
  assert.equal(editDistance("deploy", "deploy"), 0);
  assert.equal(editDistance("deplyo", "deploy"), 1);
  assert.equal(editDistance("lgos", "logs"), 1);
  assert.equal(editDistance("", "ls"), 2);
  assert.equal(editDistance("kitten", "sitting"), 3);
});

test("closest: a typo, a unique prefix, or nothing when none is plausibly meant", () => {
  const commands = ["up", "deploy", "dev", "invoke", "invocation", "dlq", "ls", "info", "versions", "rollback", "scale", "rm", "logs", "tenants"];
  assert.equal(closest("deplyo", commands), "deploy");
  assert.equal(closest("rollbak", commands), "rollback");
  assert.equal(closest("tenant", commands), "tenants");
  assert.equal(closest("DEPLOY", commands), "deploy");
  assert.equal(closest("invo", commands), undefined, "the start of two commands is no guess");
  assert.equal(closest("frobnicate", commands), undefined);
  assert.equal(closest("x", commands), undefined);
  assert.equal(closest("--memroy", ["--memory", "--timeout"]), "--memory");
});
