// Logs people can use: a request line per invocation worth reading (it printed, failed or
// answered 5xx) with its console lines under it and the same as data; `flick logs`
// filtered by level, invocation and text; `flick tail` following every function of a
// tenant, and nothing of another tenant's.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { flick } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { spawnLive, type LiveCli } from "./support/live-cli.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let cwd: string;
const running: LiveCli[] = [];

before(async () => {
  node = await startTestNode({ hosts: 2 });
  cwd = tempDir("flick-logviews-");
  await deploySource(node.admin, "chatty", `export default { fetch(request) {
    const url = new URL(request.url);
    console.log("hello " + url.searchParams.get("n"));
    if (url.searchParams.has("warn")) console.warn("careful " + url.searchParams.get("n"));
    return new Response("ok", { status: Number(url.searchParams.get("status") ?? 200) });
  } };`);
  await deploySource(node.admin, "quiet", `export default { fetch: (r) => new Response("q", { status: new URL(r.url).searchParams.has("fail") ? 503 : 200 }) };`);
});
after(async () => {
  for (const cli of running) cli.kill();
  await node?.kill();
  rmSync(cwd, { recursive: true, force: true });
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

async function call(fn: string, query: string): Promise<string> {
  const res = await fetch(`${node.url}/fn/${fn}/items/7?${query}`);
  await res.text();
  return res.headers.get("x-flick-invocation-id")!;
}

/** The invocation's request line, once stored (it is written when the invocation ended, after its answer). */
async function requestLineOf(fn: string, invocationId: string) {
  for (;;) {
    const line = (await node.admin.readLogs(fn, { invocationId })).find((l) => l.request !== undefined);
    if (line !== undefined) return line;
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Waits below poll for what the node stores after answering; the timeout bounds a wait for
// something that never comes (a broken guard), it is not a speed target.
test("an invocation that printed gets a request line, with its lines under it, and the same as data", { timeout: 120_000 }, async () => {
  const id = await call("chatty", "n=1&secret=do-not-log");
  const request = await requestLineOf("chatty", id);
  assert.deepEqual({ ...request.request, ms: 0, cpuMs: 0, cold: false }, { method: "GET", path: "/items/7", status: 200, ms: 0, cpuMs: 0, cold: false });
  assert.ok(request.request!.ms > 0 && request.request!.cpuMs >= 0);
  assert.match(request.message, /^GET \/items\/7 → 200 \(\d+(\.\d)? ms, (cold, )?CPU [\d.]+ ms\)$/);
  assert.doesNotMatch(request.message, /do-not-log/, "the query may carry secrets: it is not in the line");
  const text = await flick(["logs", "chatty", "--invocation", id, "--data-dir", node.dataDir], {}, cwd);
  assert.equal(text.code, 0, text.stderr);
  const printed = text.stdout.trim().split("\n");
  assert.match(printed[0]!, /▸ GET \/items\/7 → 200/);
  assert.match(printed[1]!, / {4}hello 1$/);
});

test("a quiet success writes no line; a quiet 5xx gets its request line at level error", { timeout: 120_000 }, async () => {
  const ok = await call("quiet", "");
  const failed = await call("quiet", "fail");
  const line = await requestLineOf("quiet", failed);
  assert.equal((await node.admin.readLogs("quiet", { invocationId: ok })).length, 0, "(stored before the failed one's, had it been written)");
  assert.equal(line.level, "error");
  assert.equal(line.request?.status, 503);
});

test("flick logs filters by level, invocation and text; bad filters are refused", { timeout: 120_000 }, async () => {
  for (let n = 10; n < 15; n++) await call("chatty", `n=${n}${n === 12 ? "&warn" : ""}`);
  const warned = await flick(["logs", "chatty", "--level", "warn", "--json", "--data-dir", node.dataDir], {}, cwd);
  assert.equal(warned.code, 0, warned.stderr);
  assert.deepEqual(warned.stdout.trim().split("\n").map((l) => JSON.parse(l).message), ["careful 12"]);
  const grep = await node.admin.readLogs("chatty", { text: "hello 13" });
  assert.deepEqual(grep.map((l) => l.message), ["hello 13"]);
  await assert.rejects(node.admin.readLogs("chatty", { levels: ["loud" as never] }), /level=loud: levels are debug, info, log, warn, error/);
  // --status: the lines of the invocations that answered it (request line and console lines).
  const failed = await call("chatty", "n=20&status=503");
  await requestLineOf("chatty", failed);
  const fives = await node.admin.readLogs("chatty", { status: "5xx" });
  assert.deepEqual([...new Set(fives.map((l) => l.invocationId))], [failed]);
  assert.deepEqual(fives.map((l) => l.message).filter((m) => !m.startsWith("GET")), ["hello 20"]);
  assert.deepEqual(await node.admin.readLogs("chatty", { status: "502" }), []);
  await assert.rejects(node.admin.readLogs("chatty", { status: "bad" }), /status=bad: expected a class \(5xx\)/);
  const bad = await flick(["logs", "chatty", "--level", "loud", "--data-dir", node.dataDir], {}, cwd);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--level loud: levels are/);
});

test("flick tail follows every function of the tenant, and nothing of another tenant's", { timeout: 120_000 }, async () => {
  const acme = await node.admin.createTenant("tail-acme");
  const acmeClient = new FlickClient(node.url, acme.token);
  await deploySource(acmeClient, "acme-one", `export default { fetch() { console.log("one speaks"); return new Response("1"); } };`);
  await deploySource(acmeClient, "acme-two", `export default { fetch() { console.log("two speaks"); return new Response("2"); } };`);
  const tail = spawnLive(["tail"], { cwd, env: { FLICK_URL: node.url, FLICK_TOKEN: acme.token } });
  running.push(tail);
  // Until a line of acme-one shows, the follow may not be open yet: call again.
  while (!tail.stdout().includes("one speaks")) {
    await fetch(`${node.url}/fn/acme-one`).then((r) => r.text());
    await Promise.race([tail.printed("one speaks"), new Promise((r) => setTimeout(r, 200))]);
  }
  // Another tenant's line, stored before acme-two's: were it sent to acme, it would come first.
  const other = await call("chatty", "n=999");
  while ((await node.admin.readLogs("chatty", { invocationId: other })).length === 0) await new Promise((r) => setTimeout(r, 20));
  await fetch(`${node.url}/fn/acme-two`).then((r) => r.text());
  await tail.printed("two speaks");
  assert.match(tail.stdout(), /^acme-one +\S+ +log +\w+ +one speaks$/m);
  assert.doesNotMatch(tail.stdout(), /hello 999|chatty/, "another tenant's lines never show");
  assert.equal(await tail.interrupt(), 0, tail.stderr());
  await assert.rejects(acmeClient.readLogs(null, { tenant: "default" }), (err: Error & { code?: string }) => err.code === "forbidden");
});
