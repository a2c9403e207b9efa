// Threat: one request's work charged to another request on the same instance. Timers,
// console lines, subrequests and their limits belong to the request that made them; when a
// request ends, what it owns goes with it. If work after an `await` were charged to
// whichever request ran last, a request ending could drop another's timer (leaving that one
// to hang until its 504), and log lines would be stored under the wrong invocation.
//
// Two requests of one function on one instance wait on the signal server; the test answers
// both at once, so their continuations run in the same entry into the isolate.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";
import { startSignalServer, type SignalServer } from "../support/signal-server.ts";

let node: TestNode;
let signal: SignalServer;

before(async () => {
  signal = await startSignalServer();
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
  await deploySource(
    node.admin,
    "pair",
    `export default { async fetch(request, env) {
      const q = new URL(request.url).searchParams;
      const who = q.get("who"), round = q.get("round");
      await fetch(env.SIGNAL + "/hold/" + round);
      console.log(who + " after its await");
      // The slow one still has a timer to wait for when the quick one has answered.
      if (who === "slow") await new Promise((resolve) => setTimeout(resolve, 50));
      return new Response(who + " done");
    } };`,
    { env: { SIGNAL: signal.url }, timeoutMs: 5000 },
  );
});
after(async () => {
  await node?.kill("SIGKILL");
  await signal?.close();
});

// When an entry ran all its events first and their microtasks after, every continuation was
// charged to the entry's last invocation: the slow request's timer went to the quick one,
// was dropped when the quick one answered, and the slow one ended 504 timeout, its log line
// stored under the quick one's invocation id (51b18fd and the first new data plane both).
test("two requests resumed in the same entry each keep their own timers and log lines", { timeout: 60_000 }, async () => {
  for (let round = 0; round < 3; round++) {
    const name = `r${round}`;
    const slow = node.admin.invoke("pair", { path: `?who=slow&round=${name}` });
    await signal.arrived(`hold/${name}`, 1);
    const quick = node.admin.invoke("pair", { path: `?who=quick&round=${name}` });
    await signal.arrived(`hold/${name}`, 2);
    signal.release(name);
    const answers = await Promise.all([slow, quick]);
    const texts = await Promise.all(answers.map((r) => r.text()));
    assert.deepEqual(answers.map((r, i) => [r.status, texts[i]]), [[200, "slow done"], [200, "quick done"]], `round ${round}`);
    const ids = answers.map((r) => r.headers.get("x-flick-invocation-id"));
    const lines = (await node.admin.readLogs("pair")).filter((l) => l.message.endsWith(" after its await") && ids.includes(l.invocationId));
    assert.deepEqual(
      lines.map((l) => [ids.indexOf(l.invocationId), l.message]).sort(),
      [[0, "slow after its await"], [1, "quick after its await"]],
      `round ${round}: each line under its own invocation`,
    );
  }
});
