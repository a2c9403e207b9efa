// Threat: a function that logs in a tight loop — millions of lines, or lines as long as a
// line may be. It must still answer; what is kept of one invocation's output is capped
// (1,000 lines or 1 Mi characters, then one marker line); other tenants' functions keep
// answering while it floods; and the node's memory does not grow with what was logged.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import type { LogLine } from "../../src/model/index.ts";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";
import { rssMiB } from "../support/processes.ts";

let node: TestNode;
let bystander: FlickClient;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  await deploySource(
    node.admin,
    "flood",
    `export default { fetch(request) {
      // ?wide: lines of 16 Ki characters, so the character cap comes before the line cap.
      const line = new URL(request.url).searchParams.has("wide") ? "w".repeat(16 * 1024) : "flood line";
      for (let i = 0; i < 3_000_000; i++) console.log(line, i);
      return new Response("logged");
    } };`,
  );
  bystander = new FlickClient(node.url, (await node.admin.createTenant("bystander")).token);
  await deploySource(bystander, "hello", `export default { fetch: () => new Response("hello") };`);
  assert.equal(await (await bystander.invoke("hello")).text(), "hello");
});
after(() => node.kill("SIGKILL"));

/** Runs one flood while the bystander is asked, one request after another, until it answers. */
async function floodWhileAsking(query: string): Promise<{ lines: LogLine[]; bystanderAnswers: number }> {
  let done = false;
  const flood = node.admin.invoke("flood", { path: query }).finally(() => (done = true));
  let bystanderAnswers = 0;
  while (!done) {
    const res = await bystander.invoke("hello");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "hello");
    bystanderAnswers++;
  }
  const res = await flood;
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(await res.text(), "logged");
  const id = res.headers.get("x-flick-invocation-id");
  // The lines of an invocation are stored before its answer ends.
  const lines = (await node.admin.readLogs("flood", { limit: 10_000 })).filter((l) => l.invocationId === id && l.request === undefined);
  return { lines, bystanderAnswers };
}

function assertCapped(lines: LogLine[]): void {
  assert.ok(lines.length > 1, "the first lines are kept");
  assert.ok(lines.length <= 1001, `${lines.length} lines kept of one invocation`);
  assert.match(lines.at(-1)!.message, /dropped/, "the last line says the rest was dropped");
  const chars = lines.slice(0, -1).reduce((n, l) => n + l.message.length, 0);
  // The line that crosses 1 Mi characters is kept whole: at most one line (16 Ki characters) over.
  assert.ok(chars <= 1024 * 1024 + 16 * 1024 + 64, `${chars} characters kept of one invocation`);
}

test("three million console.log calls: the function answers, 1,000 lines and a marker are kept, another tenant answers meanwhile", async () => {
  const { lines, bystanderAnswers } = await floodWhileAsking("");
  assertCapped(lines);
  assert.equal(lines.length, 1001);
  assert.equal(lines[0]!.message, "flood line 0");
  assert.ok(bystanderAnswers >= 1);
});

test("lines of 16 Ki characters are capped at 1 Mi characters per invocation", async () => {
  const { lines } = await floodWhileAsking("?wide");
  assertCapped(lines);
  assert.ok(lines.length < 100, `${lines.length} lines of 16 Ki characters`);
});

test("the node's memory does not grow with what its functions log", async () => {
  const primary = node.process.pid!;
  const before = rssMiB(primary);
  for (let i = 0; i < 5; i++) await floodWhileAsking(i % 2 === 0 ? "" : "?wide");
  const grown = rssMiB(primary) - before;
  // Five floods of millions of lines each; what may be kept of them is ~5 MiB.
  assert.ok(grown < 100, `the primary's resident memory grew by ${grown.toFixed(0)} MiB`);
});
