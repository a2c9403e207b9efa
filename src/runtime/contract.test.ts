// The host ⇄ guest contract's shapes: what an outbox may hold, checked the same way on
// both sides; anything else is named and refused, never acted on.
import assert from "node:assert/strict";
import { test } from "node:test";
import { checkHostOp, maxOpBytes, maxOpString, maxOpStrings } from "./contract.ts";

test("well-formed ops pass", () => {
  assert.equal(checkHostOp(["log", 1, "info", "hello"]), null);
  assert.equal(checkHostOp(["respond", 3, 200, ["content-type", "text/plain"], new Uint8Array(2), true]), null);
  assert.equal(checkHostOp(["respond", 3, 204, [], null, true]), null);
  assert.equal(checkHostOp(["binding", 1, 2, "queue", "JOBS", "send", ["text/plain"], [new Uint8Array(1)]]), null);
  assert.equal(checkHostOp(["wake", 1, 1_700_000_000_000.5]), null);
});

test("unknown ops, wrong arity and wrong types are named", () => {
  assert.match(checkHostOp(["evalThis", "code"])!, /unknown op evalThis/);
  assert.match(checkHostOp(["log", 1, "info"])!, /log: 2 arguments, expected 3/);
  assert.match(checkHostOp(["log", 1.5, "info", "x"])!, /log: argument 1 is not int/);
  assert.match(checkHostOp(["respond", 1, 200, ["a", 1], null, true])!, /respond: argument 3 is not strs/);
  assert.match(checkHostOp(["respond", 1, 200, [], "body", true])!, /argument 4 is not bytes\?/);
  assert.match(checkHostOp(["wake", 1, Infinity])!, /argument 2 is not num/);
  for (const junk of [null, undefined, 7, "log", [], [1, 2], { 0: "log" }]) assert.ok(checkHostOp(junk) !== null, String(junk));
});

test("sizes are bounded: strings, string lists, bytes, byte lists", () => {
  assert.ok(checkHostOp(["log", 1, "info", "x".repeat(maxOpString + 1)]) !== null);
  assert.ok(checkHostOp(["respond", 1, 200, Array(maxOpStrings + 2).fill("x"), null, true]) !== null);
  assert.ok(checkHostOp(["subtle", 1, 2, "digest", "{}", Array(129).fill(new Uint8Array(0))]) !== null);
  const big = { byteLength: maxOpBytes + 1 };
  Object.setPrototypeOf(big, Uint8Array.prototype);
  assert.ok(checkHostOp(["chunk", 1, big, false]) !== null, "over the byte limit");
});
