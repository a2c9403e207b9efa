// A promise rejection nobody handles is reported like a browser does — an
// `unhandledrejection` event, then the logs — and never costs the instance its isolate.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await node.admin.deploy("rejects", {
    code: `
      let served = 0;
      const seen = [];
      addEventListener("unhandledrejection", (event) => {
        seen.push(event.reason.message);
        if (event.reason.message.startsWith("quiet")) event.preventDefault();
      });
      export default { async fetch(request) {
        served++;
        const kind = new URL(request.url).searchParams.get("kind");
        if (kind === "loud") Promise.reject(new Error("loud rejection"));
        if (kind === "quiet") Promise.reject(new Error("quiet rejection"));
        if (kind === "after-await") { await null; Promise.reject(new Error("loud after await")); }
        return Response.json({ served, seen });
      } };`,
  });
});
after(() => node.kill());

test("an unhandled rejection fires unhandledrejection, is logged unless cancelled, and the instance lives on", async () => {
  const first = await fetch(`${node.url}/fn/rejects?kind=loud`);
  const firstId = first.headers.get("x-flick-invocation-id");
  assert.equal(first.status, 200);
  assert.deepEqual(await first.json(), { served: 1, seen: [] });
  const quiet = await fetch(`${node.url}/fn/rejects?kind=quiet`);
  const quietId = quiet.headers.get("x-flick-invocation-id");
  await quiet.text();
  const third = await fetch(`${node.url}/fn/rejects?kind=after-await`);
  await third.text();
  const last = await fetch(`${node.url}/fn/rejects`);
  assert.equal(last.headers.get("x-flick-cold-start"), "0", "the same isolate serves on");
  assert.deepEqual(await last.json(), { served: 4, seen: ["loud rejection", "quiet rejection", "loud after await"] });
  const lines = await node.admin.readLogs("rejects");
  assert.ok(lines.some((l) => l.invocationId === firstId && l.level === "error" && /^Uncaught \(in promise\) Error: loud rejection/.test(l.message)));
  assert.equal(lines.some((l) => l.invocationId === quietId), false, "a cancelled event is not logged");
  assert.ok(lines.some((l) => /Uncaught \(in promise\) Error: loud after await/.test(l.message)));
  for (const line of lines) assert.doesNotMatch(line.message, /isolated-vm boundary|file:\/\/|src\/host/, "no host frames reach the tenant's logs");
});
