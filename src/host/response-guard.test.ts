// What may leave an isolate as a response head: Fetch's rules and Node's, both; anything
// else is a clear refusal naming the header, never an exception.
import assert from "node:assert/strict";
import { validateHeaderName, validateHeaderValue } from "node:http";
import { test } from "node:test";
import { checkResponseHead } from "./response-guard.ts";

test("statuses outside 200–599, or not integers, are refused with the value in the message", () => {
  for (const status of [0, 101, 199, 600, 1e9, -1, 200.5, Number.NaN, "200", null]) {
    const r = checkResponseHead("t/f", status, []);
    assert.equal(r.ok, false, String(status));
    if (!r.ok) assert.match(r.message, /status/);
  }
  assert.deepEqual(checkResponseHead("t/f", 204, []), { ok: true, status: 204, headers: [] });
});

test("a value Fetch allows but Node refuses (a control character) names the header and the byte", () => {
  const r = checkResponseHead("t/f", 200, ["content-disposition", "attachment; filename=\u0001.txt"]);
  assert.equal(r.ok, false);
  if (!r.ok) assert.match(r.message, /"content-disposition".*byte 0x01 at offset 21/);
  const wide = checkResponseHead("t/f", 200, ["x-name", "caf\u00e9 \u20ac"]);
  assert.equal(wide.ok, false, "a code point over U+00FF cannot go out as a byte");
  if (!wide.ok) assert.match(wide.message, /U\+20AC/);
});

test("names that are not tokens, odd lists and non-strings are refused", () => {
  for (const headers of [["bad name", "v"], ["", "v"], ["x:y", "v"], ["a"], [1, "v"], ["a", 2], "a: b", null]) {
    assert.equal(checkResponseHead("t/f", 200, headers).ok, false, JSON.stringify(headers));
  }
  assert.equal(checkResponseHead("t/f", 200, Array.from({ length: 2049 }, () => "x")).ok, false, "over 1,024 headers");
  assert.equal(checkResponseHead("t/f", 200, ["x-big", "v".repeat(300 * 1024)]).ok, false, "over 256 KiB of headers");
});

test("hop-by-hop headers, content-length and the platform's own x-flick-* are dropped, the rest kept in order", () => {
  const r = checkResponseHead("t/f", 200, [
    "Content-Type", "text/plain", "Connection", "close", "content-length", "5", "X-Flick-Error", "timeout",
    "set-cookie", "a=1", "Transfer-Encoding", "chunked", "set-cookie", "b=2",
  ]);
  assert.deepEqual(r, { ok: true, status: 200, headers: ["Content-Type", "text/plain", "set-cookie", "a=1", "set-cookie", "b=2"] });
});

test("whatever it accepts, Node accepts too (random heads)", () => {
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const char = () => String.fromCharCode(Math.floor(random() < 0.9 ? 32 + random() * 95 : random() * 512));
  for (let i = 0; i < 5000; i++) {
    const headers: string[] = [];
    for (let h = 0; h < 3; h++) headers.push(Array.from({ length: 1 + Math.floor(random() * 8) }, char).join(""), Array.from({ length: Math.floor(random() * 12) }, char).join(""));
    const r = checkResponseHead("t/f", 200, headers);
    if (!r.ok) continue;
    for (let h = 0; h < r.headers.length; h += 2) {
      assert.doesNotThrow(() => validateHeaderName(r.headers[h]!), r.headers[h]);
      assert.doesNotThrow(() => validateHeaderValue(r.headers[h]!, r.headers[h + 1]!), JSON.stringify(r.headers[h + 1]));
    }
  }
});
