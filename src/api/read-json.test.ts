// The nesting check of admin API bodies, on the text before it is parsed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { tooDeepAt } from "./read-json.ts";

test("nesting deeper than the limit is found, at the bracket that goes too deep", () => {
  assert.equal(tooDeepAt(`${"[".repeat(64)}${"]".repeat(64)}`, 64), -1);
  assert.equal(tooDeepAt(`${"[".repeat(65)}${"]".repeat(65)}`, 64), 64);
  assert.equal(tooDeepAt(`{"a":${'{"a":'.repeat(64)}1${"}".repeat(65)}`, 64), 5 + 5 * 63);
  assert.equal(tooDeepAt(`[[],[],[[]]]`, 3), -1, "siblings do not add up");
  assert.equal(tooDeepAt(`[[],[],[[]]]`, 2), 8);
});

test("brackets inside strings do not count, escaped quotes included", () => {
  assert.equal(tooDeepAt(JSON.stringify({ code: "[[[[{{{{".repeat(100) }), 2), -1);
  assert.equal(tooDeepAt(JSON.stringify({ code: 'say \\"[[[[\\" and "{{{{"' }), 2), -1);
  assert.equal(tooDeepAt(JSON.stringify(["\\", [[1]]]), 2), 7, "a string ending in a backslash closes");
  assert.equal(tooDeepAt('["unterminated [[[[', 1), -1);
});
