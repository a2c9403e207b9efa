// Ops a function emits after its entry resolved (a promise chain that outlives the
// response) reach the host through `more` + `take` — each exactly once.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await node.admin.deploy("late", {
    code: `
      export default { fetch(request, env, ctx) {
        const n = new URL(request.url).searchParams.get("n");
        console.log("in fetch " + n);
        ctx.waitUntil((async () => {
          for (let i = 0; i < 200; i++) await null;
          console.log("late " + n);
        })());
        return new Response("ok " + n);
      } };`,
  });
});
after(() => node.kill());

test("lines logged before and after the entry resolved are each stored once", async () => {
  const ids: string[] = [];
  for (let n = 0; n < 5; n++) {
    const res = await fetch(`${node.url}/fn/late?n=${n}`);
    assert.equal(await res.text(), `ok ${n}`);
    ids.push(res.headers.get("x-flick-invocation-id") ?? "");
  }
  // The late lines travel after the response: read until the last one is stored.
  let lines = await node.admin.readLogs("late");
  while (!lines.some((l) => l.message === "late 4")) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    lines = await node.admin.readLogs("late");
  }
  for (let n = 0; n < 5; n++) {
    const mine = lines.filter((l) => l.invocationId === ids[n] && l.request === undefined).map((l) => l.message);
    assert.deepEqual(mine.sort(), [`in fetch ${n}`, `late ${n}`], `invocation ${n}: ${JSON.stringify(mine)}`);
  }
});
