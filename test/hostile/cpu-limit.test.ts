// Threat: a function that burns CPU — in one long stretch, or in many short ones between
// awaits — beyond its CPU limit (`flick deploy --cpu-limit 50ms`). It must end 502
// cpu_limit (the timeout is far away), a request within its budget must be served, and the
// function must serve again right after one of its requests hit the limit.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

let node: TestNode;
/** Far beyond what the CPU limit allows, so only the CPU limit can stop a burn. */
const timeoutMs = 60_000;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await deploySource(
    node.admin,
    "burner",
    `const burn = (n) => { let x = 0; for (let i = 0; i < n; i++) x = (x + i * i) % 1000003; return x; };
     export default { async fetch(request) {
       const q = new URL(request.url).searchParams;
       const n = Number(q.get("n"));
       // ?slices=k: the work cut in k pieces, each in an entry of its own (a timer turn between them).
       const slices = Number(q.get("slices") ?? "1");
       let x = 0;
       for (let s = 0; s < slices; s++) {
         x += burn(n / slices);
         if (slices > 1) await new Promise((r) => setTimeout(r, 0));
       }
       return new Response(String(x));
     } };`,
    { cpuLimitMs: 50, timeoutMs },
  );
});
after(() => node.kill("SIGKILL"));

async function answer(path: string) {
  const sent = performance.now();
  const res = await node.admin.invoke("burner", { path });
  const text = await res.text();
  return { status: res.status, error: res.headers.get("x-flick-error"), text, afterMs: performance.now() - sent };
}

/** The burns below: minutes of CPU in one stretch, or seconds cut in 400 slices of a few ms each (each entry far below the limit). */
const burns = { "in one stretch": "?n=1e10", "in many short entries between awaits": "?n=2e9&slices=400" };

test("a request within its CPU budget is served", async () => {
  const res = await answer("?n=1000");
  assert.equal(res.status, 200, res.text);
  assert.match(res.text, /^\d+$/);
});

for (const [how, path] of Object.entries(burns)) {
  test(`a request that burns CPU ${how} is stopped long before its timeout, and the next request is served`, async () => {
    const burnt = await answer(path);
    assert.ok(burnt.status >= 500 && burnt.error !== null, `a platform error, not the function's answer: ${burnt.status} ${burnt.text}`);
    assert.ok(burnt.afterMs < timeoutMs / 2, `stopped after ${burnt.afterMs.toFixed(0)} ms; the timeout is ${timeoutMs} ms`);
    const next = await answer("?n=1000");
    assert.equal(next.status, 200, next.text);
  });

  // Known bug, described in the report that added this file: Instance.overrun() (src/host/instance.ts)
  // tells cpu_limit from timeout by `cpuUsedMs + ranMs >= cpuLimitMs`, with ranMs from
  // performance.now(), while the watch that calls it is a setTimeout counted from libuv's
  // millisecond-truncated loop time, which fires up to 1 ms early: about half of these
  // requests end 504 "timeout ... ran past its 60000 ms limit" after ~55 ms.
  test(`a request that burns CPU ${how} answers 502 cpu_limit, every time`, async () => {
    for (let i = 0; i < 6; i++) {
      const burnt = await answer(path);
      assert.equal(burnt.status, 502, burnt.text);
      assert.equal(burnt.error, "cpu_limit");
      assert.equal((JSON.parse(burnt.text) as { error: { code: string } }).error.code, "cpu_limit");
    }
  });
}
