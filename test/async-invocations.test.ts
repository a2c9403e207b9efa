// Async invocations on a real node: 202 only once durable, at-least-once delivery with the
// invocation id and attempt, retries and their backoff, maximum event age, dead letters and
// replay, idempotency keys, leases, bad input, a locked store, and SIGTERM.
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import * as path from "node:path";
import { after, before, test } from "node:test";
import type { InvocationInfo } from "../src/api/index.ts";
import { startLedger, ledgerFunction, type Ledger } from "./support/ledger.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let ledger: Ledger;
const backoffMs = 200;

before(async () => {
  ledger = await startLedger();
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1", "--retry-backoff", `${backoffMs}ms`, "--async-lease", "300ms"] });
});
after(async () => {
  await node?.kill("SIGKILL");
  await ledger?.close();
});

const deploy = (name: string, settings: Record<string, unknown> = {}) =>
  node.admin.deploy(name, { code: ledgerFunction, env: { LEDGER: ledger.url }, ...settings });

async function settled(id: string, ms = 20_000): Promise<InvocationInfo> {
  const deadline = Date.now() + ms;
  for (;;) {
    const inv = await node.admin.getInvocation(id);
    if (inv.status === "completed" || inv.status === "dead") return inv;
    if (Date.now() > deadline) throw new Error(`invocation ${id} still ${inv.status} after ${ms} ms: ${JSON.stringify(inv)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const post = (name: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${node.url}/api/v1/functions/${name}/invocations`, {
    method: "POST",
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json", ...headers },
    body,
  });

test("202 with an id once durable; the function gets the payload, its id and attempt; the result is kept", async () => {
  await deploy("echo");
  const res = await post("echo", JSON.stringify({ mode: "async", data: { photo: "1.jpg" } }));
  assert.equal(res.status, 202);
  const { id, duplicate } = (await res.json()) as { id: string; duplicate: boolean };
  assert.equal(duplicate, false);
  assert.equal(res.headers.get("location"), `/api/v1/invocations/${id}`);
  const done = await settled(id);
  assert.equal(done.status, "completed");
  assert.equal(done.attempts, 1);
  assert.deepEqual(done.result, { status: 200, body: 'ok {"photo":"1.jpg"}', truncated: false });
  assert.deepEqual(done.payload, { text: '{"photo":"1.jpg"}' });
  assert.deepEqual(ledger.hits.filter((h) => h.id === id).map((h) => h.attempt), [1]);
});

test("a failing function gets exactly 1 + retries attempts, backed off with jitter, then is dead-lettered with payload and error", async () => {
  await deploy("fails", { retries: 2 });
  const { id } = await node.admin.invokeAsync("fails", { mode: "async", data: "fail" });
  const dead = await settled(id);
  assert.equal(dead.status, "dead");
  assert.equal(dead.deadReason, "retries_exhausted");
  assert.equal(dead.attempts, 3);
  assert.equal(dead.failures, 3);
  assert.equal(dead.lastError?.code, "function_error");
  assert.match(dead.lastError?.message ?? "", /asked to fail/);
  const hits = ledger.hits.filter((h) => h.id === id);
  assert.deepEqual(hits.map((h) => h.attempt), [1, 2, 3]);
  // Equal jitter: the n-th retry waits between half and all of base·2^(n-1), plus the
  // time it takes to run (scheduling slack allowed above, never below).
  const gap1 = hits[1]!.atMs - hits[0]!.atMs;
  const gap2 = hits[2]!.atMs - hits[1]!.atMs;
  assert.ok(gap1 >= backoffMs / 2 - 5 && gap1 <= backoffMs + 500, `first retry after ${gap1.toFixed(0)} ms, expected ${backoffMs / 2}-${backoffMs}`);
  assert.ok(gap2 >= backoffMs - 5 && gap2 <= 2 * backoffMs + 500, `second retry after ${gap2.toFixed(0)} ms, expected ${backoffMs}-${2 * backoffMs}`);

  const dlq = await node.admin.listDead("fails");
  assert.deepEqual(dlq.map((d) => [d.id, d.deadReason, d.payload]), [[id, "retries_exhausted", { text: "fail" }]]);
});

test("a 5xx answer and a timeout are failures too; --retries 0 means one attempt", async () => {
  await deploy("once", { retries: 0, timeoutMs: 300 });
  const five = await node.admin.invokeAsync("once", { mode: "async", data: "5xx" });
  const slow = await node.admin.invokeAsync("once", { mode: "async", data: "sleep:2000" });
  const [a, b] = await Promise.all([settled(five.id), settled(slow.id)]);
  assert.deepEqual([a.status, a.attempts, a.lastError?.code], ["dead", 1, "function_error"]);
  assert.match(a.lastError?.message ?? "", /answered 503/);
  assert.deepEqual([b.status, b.attempts, b.lastError?.code], ["dead", 1, "timeout"]);
});

test("replay queues dead-lettered invocations again with fresh attempts", async () => {
  await deploy("flaky", { retries: 0 });
  const { id } = await node.admin.invokeAsync("flaky", { mode: "async", data: "fail" });
  assert.equal((await settled(id)).status, "dead");
  // The fix: a new version that does not fail on that payload.
  await node.admin.deploy("flaky", { code: ledgerFunction.replace('body === "fail"', 'body === "never"'), env: { LEDGER: ledger.url }, retries: 0 });
  assert.deepEqual(await node.admin.replayDead("flaky", [id, "not-an-id"]), [id]);
  const done = await settled(id);
  assert.deepEqual([done.status, done.attempts, done.result?.body], ["completed", 1, "ok fail"]);
  assert.deepEqual(await node.admin.listDead("flaky"), []);
});

test("throttled invocations wait without using retries until their maximum age, then expire", async () => {
  await deploy("stopped", { retries: 0, maxEventAgeMs: 2000 });
  await node.admin.scale("stopped", { maxInstances: 0 }); // the kill switch: every attempt is a 429
  const { id } = await node.admin.invokeAsync("stopped", { mode: "async", data: "x" });
  const dead = await settled(id);
  assert.equal(dead.deadReason, "expired");
  assert.equal(dead.failures, 0, "throttles do not use the retry budget");
  assert.ok(dead.attempts >= 2, `retried while young (${dead.attempts} attempts)`);
  assert.equal(dead.lastError?.code, "function_limit");
  assert.equal(ledger.hits.filter((h) => h.id === id).length, 0, "it never ran");
});

test("an Idempotency-Key repeated within the window returns the first invocation and runs nothing new", async () => {
  await deploy("once-only");
  const first = await post("once-only", JSON.stringify({ mode: "async", data: "a" }), { "idempotency-key": "order-42" });
  const second = await post("once-only", JSON.stringify({ mode: "async", data: "b" }), { "idempotency-key": "order-42" });
  const a = (await first.json()) as { id: string; duplicate: boolean };
  const b = (await second.json()) as { id: string; duplicate: boolean };
  assert.equal(second.status, 202);
  assert.deepEqual([b.id, b.duplicate, a.duplicate], [a.id, true, false]);
  await settled(a.id);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(ledger.hits.filter((h) => h.id === a.id).length, 1);
  const bad = await post("once-only", JSON.stringify({ mode: "async" }), { "idempotency-key": "has space" });
  assert.equal(bad.status, 400);
});

test("a function that takes 90% of its timeout runs exactly once, though its lease is a third of that", async () => {
  await deploy("slow", { timeoutMs: 1000 });
  const { id } = await node.admin.invokeAsync("slow", { mode: "async", data: "sleep:900" });
  const done = await settled(id);
  assert.deepEqual([done.status, done.attempts], ["completed", 1]);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(ledger.hits.filter((h) => h.id === id).length, 1);
});

test("bad input: 413 over the payload limit, 404 unknown function or invocation, 400 malformed JSON or mode", async () => {
  await deploy("strict");
  const big = await post("strict", JSON.stringify({ mode: "async", data: "x".repeat(1024 * 1024 + 1) }));
  assert.equal(big.status, 413);
  assert.match(((await big.json()) as { error: { message: string } }).error.message, /over the async limit of 1048576 bytes/);
  const unknown = await post("no-such-fn", JSON.stringify({ mode: "async" }));
  assert.equal(unknown.status, 404);
  assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "function_not_found");
  const malformed = await post("strict", "{ not json");
  assert.equal(malformed.status, 400);
  assert.equal(((await malformed.json()) as { error: { code: string } }).error.code, "invalid_json");
  const noMode = await post("strict", JSON.stringify({ data: 1 }));
  assert.equal(noMode.status, 400);
  assert.match(await noMode.text(), /mode/);
  const missing = await fetch(`${node.url}/api/v1/invocations/nope`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "invocation_not_found");
});

test("when the store cannot take the write (locked by another process), 503 with Retry-After, never 202", async () => {
  await deploy("locked");
  const other = new DatabaseSync(path.join(node.dataDir, "queue.db"));
  other.exec("BEGIN EXCLUSIVE");
  try {
    const res = await post("locked", JSON.stringify({ mode: "async", data: "x" }));
    assert.equal(res.status, 503);
    assert.equal(res.headers.get("retry-after"), "1");
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "store_unavailable");
  } finally {
    other.exec("ROLLBACK");
    other.close();
  }
  const res = await post("locked", JSON.stringify({ mode: "async", data: "x" }));
  assert.equal(res.status, 202);
  assert.equal((await settled(((await res.json()) as { id: string }).id)).status, "completed");
});

test("SIGTERM lets running attempts finish and leaves queued events for the next start", async () => {
  const dataDir = node.dataDir;
  await node.kill("SIGKILL");
  node = await startTestNode({ dataDir, hosts: 1, args: ["--egress-allow", "127.0.0.1", "--async-concurrency", "1", "--shutdown-grace", "5s"] });
  await deploy("graceful");
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) ids.push((await node.admin.invokeAsync("graceful", { mode: "async", data: "sleep:700" })).id);
  const deadline = Date.now() + 10_000;
  while (!ledger.hits.some((h) => h.id === ids[0])) {
    if (Date.now() > deadline) throw new Error("the first attempt never started");
    await new Promise((r) => setTimeout(r, 5));
  }
  await node.kill("SIGTERM");
  assert.match(node.output(), /Stopping/);
  assert.deepEqual(ids.map((id) => ledger.hits.filter((h) => h.id === id).length), [1, 0, 0], "only the running one ran before the stop");
  node = await startTestNode({ dataDir, hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
  const first = await node.admin.getInvocation(ids[0]!);
  assert.deepEqual([first.status, first.attempts], ["completed", 1], "it finished within the grace period");
  const rest = await Promise.all(ids.slice(1).map((id) => settled(id)));
  assert.deepEqual(rest.map((r) => [r.status, r.attempts]), [["completed", 1], ["completed", 1]], "queued ones ran after the restart, once");
});

test("a function's async invocations are listed newest first, by status, payloads cut to 1 KiB; never another tenant's", async () => {
  await deploy("listed", { retries: 0 });
  const big = "é".repeat(3000); // 6000 bytes of UTF-8: cut as text, not as bytes
  const ok = await node.admin.invokeAsync("listed", { mode: "async", data: big });
  const bad = await node.admin.invokeAsync("listed", { mode: "async", data: "fail" });
  assert.equal((await settled(ok.id)).status, "completed");
  assert.equal((await settled(bad.id)).status, "dead");
  const all = await node.admin.listInvocations("listed");
  assert.deepEqual(new Set(all.map((i) => i.id)), new Set([ok.id, bad.id]));
  assert.ok(all[0]!.updatedAtMs >= all[1]!.updatedAtMs, "most recently changed first");
  const listedBig = all.find((i) => i.id === ok.id)!;
  assert.deepEqual(listedBig.payload, { text: "é".repeat(512), truncated: true });
  assert.deepEqual((await node.admin.getInvocation(ok.id)).payload, { text: big }, "one invocation has all of it");
  assert.deepEqual((await node.admin.listInvocations("listed", { status: "dead" })).map((i) => i.id), [bad.id]);
  assert.deepEqual((await node.admin.listInvocations("listed", { status: "queued" })), []);
  assert.equal((await node.admin.listInvocations("listed", { limit: 1 })).length, 1);
  await assert.rejects(node.admin.listInvocations("listed", { status: "lost" }), /status=lost: an invocation's status is queued, running, completed, dead/);
  // Another tenant's token: the function is not its to list.
  const other = await node.admin.createTenant("lists-other");
  const { FlickClient } = await import("../src/api/index.ts");
  await assert.rejects(new FlickClient(node.url, other.token).listInvocations("listed"), (err: Error & { code?: string }) => ["forbidden", "function_not_found"].includes(err.code ?? ""));
  // The CLI prints them as a table.
  const { flick } = await import("./support/cli.ts");
  const printed = await flick(["invocations", "listed", "--status", "dead"], { FLICK_URL: node.url, FLICK_TOKEN: node.adminToken });
  assert.equal(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, new RegExp(`${bad.id}\\s+fetch\\s+dead \\(retries_exhausted\\)\\s+1 \\(1 failed\\)`));
});
