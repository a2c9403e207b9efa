// Threat: a function logs until the store cannot write (a full disk), and then its callers
// — or any caller of the node — wait forever, because log lines that come with the end of a
// response are stored before the client sees that end. The guarantee: when the store fails
// the lines are dropped (and counted), the answer is not held back, and every other
// function answers too.
//
// The fault is real, as in test/store-faults.test.ts: the node runs under a file size limit
// (`ulimit -f`), so a write past it fails with EFBIG in the kernel. Started once without it
// first (the runtime snapshot and keys are bigger than the limit), then under 256 KiB: the
// database's WAL takes log lines until the next commit would cross the limit, and no commit
// fits after that.
//
// "Promptly" is an order of events, not a time: each answer of the logging function must
// arrive while another function answers a bounded number of requests one after another.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { hostPids, httpCall, type RawAnswer } from "../support/node-health.ts";
import { startTestNode, tempDir, type TestNode } from "../support/node-process.ts";

const limitBytes = 256 * 1024;
/** Requests the other function answers, one after another, before a logging answer is late. */
const patience = 200;
let node: TestNode;
let pids: number[];

const logger = `export default { fetch(request) {
  const q = new URL(request.url).searchParams;
  const lines = Number(q.get("lines")), size = Number(q.get("size"));
  for (let i = 0; i < lines; i++) console.log("before " + i + " " + "x".repeat(size));
  if (q.get("mode") !== "stream") return new Response("answered");
  // A streamed body whose last lines come with its end.
  let first = true;
  return new Response(new ReadableStream({ pull(c) {
    if (first) { first = false; c.enqueue(new TextEncoder().encode("part ")); return; }
    for (let i = 0; i < lines; i++) console.log("end " + i + " " + "y".repeat(size));
    console.error("last line");
    c.enqueue(new TextEncoder().encode("end"));
    c.close();
  } }));
} };`;

before(async () => {
  const dataDir = tempDir();
  const first = await startTestNode({ dataDir, hosts: 1 });
  await deploySource(first.admin, "logger", logger);
  await deploySource(first.admin, "plain", `export default { fetch: () => new Response("plain") };`);
  await first.kill();
  node = await startTestNode({ dataDir, hosts: 1, fileSizeLimitBytes: limitBytes });
  pids = hostPids(node);
});
after(() => node.kill());

/** `answer`, once it settled while `plain` answered at most `patience` requests in a row. */
async function promptly(answer: Promise<RawAnswer>, what: string): Promise<RawAnswer> {
  let settled = false;
  const result = answer.finally(() => (settled = true));
  for (let i = 0; !settled && i < patience; i++) {
    const other = await httpCall(`${node.url}/fn/plain`);
    assert.equal(`${other.status} ${other.body.toString()}`, "200 plain", "another function answers meanwhile");
  }
  assert.ok(settled, `${what}: not answered while another function answered ${patience} requests one after another`);
  return result;
}

function logging(mode: "whole" | "stream", lines: number, size: number): Promise<RawAnswer> {
  return promptly(httpCall(`${node.url}/fn/logger?mode=${mode}&lines=${lines}&size=${size}`), `${mode} with ${lines} lines of ${size}`);
}

function assertAnswered(answer: RawAnswer, mode: "whole" | "stream"): void {
  assert.equal(answer.status, 200, answer.body.toString());
  assert.equal(answer.cut, false);
  assert.equal(answer.body.toString(), mode === "stream" ? "part end" : "answered");
}

test("a function that logs answers its clients, promptly, while and after the store cannot write", async (t) => {
  // Lines that fit are stored as usual.
  assertAnswered(await logging("whole", 1, 10), "whole");
  assertAnswered(await logging("stream", 1, 10), "stream");
  assert.ok((await node.admin.readLogs("logger")).some((l) => l.message === "last line"), "stored before the disk filled");

  // Fill the store: big lines, until the node says it dropped some.
  let requests = 0;
  while (!node.output().includes("log lines could not be stored")) {
    assert.ok(requests < 100, `100 requests of ~300 KiB of log lines fit under a ${limitBytes}-byte limit:\n${node.output().slice(-2000)}`);
    const mode = requests % 2 === 0 ? "stream" : "whole";
    assertAnswered(await logging(mode, 10, 15_000), mode);
    requests++;
  }
  const dropsBefore = node.output().split("log lines could not be stored").length - 1;
  // The store fails now; every answer still comes, whole and streamed, small lines or big.
  for (let i = 0; i < 20; i++) {
    const mode = i % 2 === 0 ? "stream" : "whole";
    assertAnswered(await logging(mode, i % 4 < 2 ? 1 : 10, i % 4 < 2 ? 10 : 15_000), mode);
  }
  // Several at once too.
  const together = await Promise.all(Array.from({ length: 8 }, (_, i) => logging(i % 2 === 0 ? "stream" : "whole", 5, 15_000)));
  together.forEach((answer, i) => assertAnswered(answer, i % 2 === 0 ? "stream" : "whole"));

  // One more answer, so the warnings of the last ones have reached our pipe.
  assertAnswered(await logging("whole", 1, 10), "whole");
  const drops = node.output().split("log lines could not be stored").length - 1;
  t.diagnostic(`the store refused log lines after ${requests} big requests; ${drops} batches dropped in all`);
  assert.ok(drops > dropsBefore, "the store was still refusing lines");
  assert.equal(node.process.exitCode, null, "the node is alive");
  assert.deepEqual(hostPids(node), pids, "the host is the same process");
  assert.doesNotMatch(node.output(), /internal error|uncaught/i, node.output().slice(-2000));
});
