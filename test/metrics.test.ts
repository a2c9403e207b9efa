// The metrics a Prometheus test cannot cheaply drive, read from /metrics directly: async
// attempts by result and dead letters by reason, worker host restarts, store commits.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";
import { hostPids } from "./support/processes.ts";

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 2 });
});
after(async () => {
  await node?.kill();
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

async function metrics(): Promise<string> {
  const res = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  assert.equal(res.status, 200);
  return res.text();
}

/** The value of one series, or undefined while it does not exist. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

// Each test waits for a count; its timeout is a bound for a count that never comes, not a speed target.
test("async attempts are counted by result, and dead letters by reason", { timeout: 60_000 }, async (t) => {
  await deploySource(node.admin, "fine", `export default { fetch: () => new Response("ok") };`);
  await deploySource(node.admin, "broken", `export default { fetch() { throw new Error("no"); } };`, { retries: 0 });
  const ok = await node.admin.invokeAsync("fine", { mode: "async", data: "x" });
  const bad = await node.admin.invokeAsync("broken", { mode: "async", data: "x" });
  for (const id of [ok.id, bad.id]) {
    while (!t.signal.aborted && !["completed", "dead"].includes((await node.admin.getInvocation(id)).status)) await new Promise((r) => setTimeout(r, 50));
  }
  const text = await metrics();
  assert.equal(value(text, 'flick_async_attempts_total{tenant="default",function="fine",result="completed"}'), 1);
  assert.equal(value(text, 'flick_async_attempts_total{tenant="default",function="broken",result="failed"}'), 1);
  assert.equal(value(text, 'flick_async_dead_lettered_total{tenant="default",function="broken",reason="retries_exhausted"}'), 1);
  assert.equal(value(text, 'flick_async_events{status="dead"}'), 1);
  assert.ok((value(text, "flick_store_commit_seconds_count") ?? 0) >= 2, "the deploys committed");
});

test("a worker host that dies is counted as a restart of that host", { timeout: 60_000 }, async (t) => {
  const [first] = hostPids(node);
  process.kill(first!, "SIGKILL");
  // Host 0 or 1, whichever it was: one restart in all.
  while (!t.signal.aborted) {
    // A kept-alive connection to the killed host is reset: that read is tried again.
    const text = await metrics().catch(() => "");
    const restarts = (value(text, 'flick_host_restarts_total{host="0"}') ?? 0) + (value(text, 'flick_host_restarts_total{host="1"}') ?? 0);
    if (restarts === 1) break;
    assert.equal(restarts, 0);
    await new Promise((r) => setTimeout(r, 50));
  }
});

test("cold starts are counted by kind: code_cache, pool, and none (a new isolate, the code compiled)", { timeout: 120_000 }, async (t) => {
  // Over 32 KiB: it runs as its script form, from the V8 code cache made at deploy.
  const big = `const table = [${Array.from({ length: 2500 }, (_, i) => `(x) => x + ${i}`).join(",")}];
    export default { fetch: () => new Response(String(table.length)) };`;
  await deploySource(node.admin, "cold-big", big);
  await deploySource(node.admin, "cold-small", `export default { fetch: () => new Response("small") };`);
  // A node without the isolate pool: its first request makes a new isolate.
  const bare = await startTestNode({ hosts: 1, env: { FLICK_POOL: "0" } });
  t.after(async () => {
    await bare.kill();
    rmSync(bare.dataDir, { recursive: true, force: true });
  });
  await deploySource(bare.admin, "cold-bare", `export default { fetch: () => new Response("bare") };`);
  for (const url of [`${node.url}/fn/cold-big`, `${node.url}/fn/cold-small`, `${bare.url}/fn/cold-bare`]) assert.equal((await fetch(url)).status, 200);
  const read = async (n: TestNode) => (await fetch(`${n.url}/metrics`, { headers: { authorization: `Bearer ${n.adminToken}` } })).text();
  const want: [TestNode, string][] = [
    [node, 'flick_cold_starts_total{tenant="default",function="cold-big",kind="code_cache"}'],
    [node, 'flick_cold_starts_total{tenant="default",function="cold-small",kind="pool"}'],
    [bare, 'flick_cold_starts_total{tenant="default",function="cold-bare",kind="none"}'],
  ];
  // Hosts report every 250 ms: wait until each count shows, then check nothing else did.
  for (const [n, series] of want) {
    while (!t.signal.aborted && value(await read(n), series) === undefined) await new Promise((r) => setTimeout(r, 50));
    assert.equal(value(await read(n), series), 1, series);
  }
  const text = await read(node);
  for (const kind of ["pool", "none"]) assert.equal(value(text, `flick_cold_starts_total{tenant="default",function="cold-big",kind="${kind}"}`), undefined);
  for (const kind of ["code_cache", "none"]) assert.equal(value(text, `flick_cold_starts_total{tenant="default",function="cold-small",kind="${kind}"}`), undefined);
});
