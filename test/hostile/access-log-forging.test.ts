// Anyone, without a token, chooses the path of a request, and the path goes into the
// node's access lines. A function name that percent-decodes to line breaks must not start
// a line of its own (an operator's log would show a request that never happened): the
// name is printed as it was sent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestNode } from "../support/node-process.ts";

test("a path that decodes to a line break cannot forge an access line", { timeout: 60_000 }, async () => {
  const node = await startTestNode({ hosts: 1 });
  try {
    const forged = "2026-01-01T00:00:00.000Z admin GET /fn/payroll 200 0.1ms id=forged";
    const res = await fetch(`${node.url}/fn/x${encodeURIComponent(`\n${forged}\n`)}`);
    assert.equal(res.status, 404);
    await res.text();
    const id = res.headers.get("x-flick-invocation-id")!;
    while (!node.output().includes(id)) await new Promise((resolve) => node.process.stdout!.once("data", resolve));
    const lines = node.output().split("\n");
    assert.equal(lines.filter((l) => l.includes(id)).length, 1);
    assert.match(lines.find((l) => l.includes(id))!, / x%0A2026-01-01T00%3A00%3A00\.000Z%20admin%20GET%20%2Ffn%2Fpayroll/);
    assert.ok(!lines.some((l) => l.startsWith(forged)), "no forged line");
  } finally {
    await node.kill();
  }
});
