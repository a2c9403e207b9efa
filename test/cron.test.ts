// Cron triggers on a real node against the real clock: a `* * * * *` trigger runs the
// scheduled handler at the next whole minute (the test waits for it: up to a minute).
// The missed-run policy and time zones are tested against a virtual clock in
// src/queue/cron-runner.test.ts and src/queue/cron.test.ts.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startLedger, type Ledger } from "./support/ledger.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let ledger: Ledger;
before(async () => {
  ledger = await startLedger();
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
});
after(async () => {
  await node?.kill("SIGKILL");
  await ledger?.close();
});

const cronFunction = `
export default {
  async scheduled(controller, env) {
    await fetch(env.LEDGER + "/hit?id=" + encodeURIComponent(controller.cron + "@" + controller.scheduledTime) + "&attempt=1");
    console.log("ran for " + new Date(controller.scheduledTime).toISOString());
  },
};
`;

test("a * * * * * trigger runs the scheduled handler once at the next whole minute; flick info shows the next runs", { timeout: 90_000 }, async () => {
  const deployed = await node.admin.deploy("tick", { code: cronFunction, env: { LEDGER: ledger.url }, crons: ["* * * * *"], timeZone: "Europe/Paris" });
  assert.deepEqual([deployed.function.settings.crons, deployed.function.settings.timeZone, deployed.function.settings.cronMissed], [["* * * * *"], "Europe/Paris", "once"]);
  const info = await node.admin.getFunction("tick");
  const next = info.cron?.[0]?.next ?? [];
  assert.equal(next.length, 3);
  assert.ok(next.every((t, i) => t % 60_000 === 0 && (i === 0 || t - next[i - 1]! === 60_000)), "whole minutes, one apart");
  const firstRun = next[0]!;

  const deadline = Date.now() + 75_000;
  while (!ledger.hits.some((h) => h.id === `* * * * *@${firstRun}`)) {
    if (Date.now() > deadline) throw new Error(`no run for ${new Date(firstRun).toISOString()}; ledger: ${JSON.stringify(ledger.hits)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const ranAt = Date.now();
  assert.ok(ranAt >= firstRun && ranAt - firstRun < 10_000, `ran ${ranAt - firstRun} ms after its scheduled time`);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(ledger.hits.filter((h) => h.id === `* * * * *@${firstRun}`).length, 1, "once");
  const logs = await node.admin.readLogs("tick");
  assert.ok(logs.some((l) => l.message === `ran for ${new Date(firstRun).toISOString()}`));
  const counts = (await node.admin.getFunction("tick")).invocations;
  assert.ok((counts?.completed ?? 0) >= 1);
  // The run is in the metrics, as run on schedule (a run the node was down for counts as `missed`).
  const metrics = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } })).text();
  const runs = metrics.split("\n").find((l) => l.startsWith('flick_cron_runs_total{tenant="default",function="tick",trigger="schedule"} '));
  assert.ok(runs !== undefined && Number(runs.split(" ")[1]) >= 1, `a cron run counted: ${runs}`);
  assert.ok(!metrics.includes('function="tick",trigger="missed"'), "nothing missed");
});

test("a bad cron expression or time zone is refused at deploy with what to fix", async () => {
  await assert.rejects(node.admin.deploy("bad-cron", { code: cronFunction, crons: ["*/61 * * * *"] }), (err: Error & { code?: string }) => {
    assert.equal(err.code, "validation_failed");
    assert.match(err.message, /\*\/61 \* \* \* \*.*minute/);
    return true;
  });
  await assert.rejects(node.admin.deploy("bad-tz", { code: cronFunction, crons: ["@daily"], timeZone: "Mars/Olympus" }), /unknown time zone "Mars\/Olympus"/);
  await assert.rejects(node.admin.deploy("tz-alone", { code: cronFunction, timeZone: "UTC" }), /add at least one/);
});

test("a cron trigger for a module without a scheduled handler is refused at deploy", async () => {
  const code = `export default { fetch: () => new Response("no cron here") };`;
  await assert.rejects(node.admin.deploy("fetch-only-cron", { code, crons: ["@hourly"] }), (err: Error & { code?: string }) => {
    assert.equal(err.code, "validation_failed");
    assert.equal(err.message, 'crons: the module has no scheduled handler for "@hourly" to run (its default export has fetch); add `async scheduled(controller, env, ctx) { … }` or deploy without --cron (--unset cron drops the ones it has)');
    return true;
  });
  await assert.rejects(node.admin.getFunction("fetch-only-cron"), /not found|no function/i);
});

test("a module with only a scheduled handler deploys; a request to it says it has no fetch handler", async () => {
  await node.admin.deploy("cron-only", { code: cronFunction, env: { LEDGER: ledger.url }, crons: ["@yearly"] });
  const res = await fetch(`${node.url}/fn/cron-only`);
  assert.equal(res.status, 502);
  assert.match(await res.text(), /no fetch handler/);
});
