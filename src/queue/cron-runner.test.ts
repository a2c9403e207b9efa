import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { FlickError } from "../errors/index.ts";
import { SqliteQueue } from "../store/index.ts";
import { parseCron } from "./cron.ts";
import { CronRunner, dueRuns, type CronTrigger } from "./cron-runner.ts";

const at = (iso: string) => Date.parse(iso);
const every5 = parseCron("*/5 * * * *");

test("a run falls due on time: fired once, remembered", () => {
  assert.deepEqual(dueRuns(every5, at("2026-11-28T10:00:00Z"), at("2026-11-28T10:04:59Z"), "once"), { fire: [], lastMs: at("2026-11-28T10:00:00Z") });
  assert.deepEqual(dueRuns(every5, at("2026-11-28T10:00:00Z"), at("2026-11-28T10:05:00Z"), "once"), { fire: [at("2026-11-28T10:05:00Z")], lastMs: at("2026-11-28T10:05:00Z") });
  assert.deepEqual(dueRuns(every5, at("2026-11-28T10:00:00Z"), at("2026-11-28T10:05:40Z"), "skip"), { fire: [at("2026-11-28T10:05:00Z")], lastMs: at("2026-11-28T10:05:00Z") }, "40 s late is still on time");
});

test("runs missed while the node was down: `once` fires the latest one, `skip` none; both move on", () => {
  const last = at("2026-11-28T10:00:00Z");
  const now = at("2026-11-28T13:02:00Z"); // down three hours: 36 runs missed
  assert.deepEqual(dueRuns(every5, last, now, "once"), { fire: [at("2026-11-28T13:00:00Z")], lastMs: at("2026-11-28T13:00:00Z") });
  assert.deepEqual(dueRuns(every5, last, now, "skip"), { fire: [], lastMs: at("2026-11-28T13:00:00Z") });
  const single = dueRuns(every5, last, at("2026-11-28T10:07:00Z"), "skip");
  assert.deepEqual(single, { fire: [], lastMs: at("2026-11-28T10:05:00Z") }, "one run, two minutes late, is a missed one");
  const minutely = parseCron("* * * * *");
  const weeks = dueRuns(minutely, at("2026-10-01T00:00:00Z"), at("2026-11-28T10:00:30Z"), "once");
  assert.deepEqual(weeks, { fire: [at("2026-11-28T10:00:00Z")], lastMs: at("2026-11-28T10:00:00Z") }, "weeks of minutely runs: one");
});

test("time zones: a 09:00 Paris schedule fires at 08:00 UTC in winter", () => {
  const paris = parseCron("0 9 * * *", "Europe/Paris");
  assert.deepEqual(dueRuns(paris, at("2026-11-28T07:00:00Z"), at("2026-11-28T08:00:10Z"), "once").fire, [at("2026-11-28T08:00:00Z")]);
});

test("the runner fires the missed run once at start, counts new triggers from now, and never fires a run twice", async () => {
  const store = new SqliteQueue(mkdtempSync(path.join(tmpdir(), "flick-cron-")));
  let now = at("2026-11-28T12:31:00Z");
  await store.setCronState("reports", "*/5 * * * *", at("2026-11-28T10:00:00Z"));
  const fired: [string, number][] = [];
  const triggers: CronTrigger[] = [
    { fn: "reports", tenant: "t", schedule: every5, missed: "once" },
    { fn: "fresh", tenant: "t", schedule: parseCron("* * * * *"), missed: "once" },
  ];
  const runner = new CronRunner({ store, now: () => now, fire: async (t, time) => void fired.push([t.fn, time]) });
  runner.setTriggers(triggers);
  await runner.start();
  assert.deepEqual(fired, [["reports", at("2026-11-28T12:30:00Z")]]);
  const state = new Map((await store.cronState()).map((s) => [s.fn, s.lastMs]));
  assert.equal(state.get("fresh"), now, "a new trigger starts counting now");
  assert.equal(state.get("reports"), at("2026-11-28T12:30:00Z"));
  assert.deepEqual(runner.upcoming("reports", 2), [{ expression: "*/5 * * * *", timeZone: "UTC", next: [at("2026-11-28T12:35:00Z"), at("2026-11-28T12:40:00Z")] }]);

  // A restarted runner (same store) at the same moment fires nothing again.
  runner.stop();
  const again = new CronRunner({ store, now: () => now, fire: async (t, time) => void fired.push([t.fn, time]) });
  again.setTriggers(triggers);
  await again.start();
  assert.equal(fired.length, 1);
  now = at("2026-11-28T12:32:00Z");
  again.setTriggers(triggers); // a tick at 12:32: "fresh" is due for 12:32
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(fired.slice(1), [["fresh", at("2026-11-28T12:32:00Z")]]);
  again.stop();
  await store.close();
});

test("a run that cannot be queued (its tenant's queue is full) holds up no other trigger, and is tried again after a pause", async () => {
  const store = new SqliteQueue(mkdtempSync(path.join(tmpdir(), "flick-cron-")));
  let now = at("2026-11-28T12:00:00Z");
  await store.setCronState("full", "* * * * *", now);
  await store.setCronState("fine", "* * * * *", now);
  now = at("2026-11-28T12:01:00Z");
  const fired: string[] = [];
  let full = true;
  const errors: unknown[] = [];
  const runner = new CronRunner({
    store,
    now: () => now,
    onError: (err) => errors.push(err),
    fire: async (t) => {
      fired.push(t.fn);
      if (t.fn === "full" && full) throw new FlickError("queue_full", `the async queue of tenant "${t.tenant}" is full`);
    },
  });
  const triggers: CronTrigger[] = [
    { fn: "full", tenant: "a", schedule: parseCron("* * * * *"), missed: "once" },
    { fn: "fine", tenant: "b", schedule: parseCron("* * * * *"), missed: "once" },
  ];
  runner.setTriggers(triggers);
  await runner.start();
  assert.deepEqual(fired, ["full", "fine"], "the other tenant's run fired in the same tick");
  assert.equal((errors[0] as FlickError).code, "queue_full");
  runner.setTriggers(triggers); // another tick at the same moment: the failed run waits its pause
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(fired, ["full", "fine"]);
  full = false;
  now += 1000;
  runner.setTriggers(triggers);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(fired, ["full", "fine", "full"], "tried again after the pause, and queued");
  assert.equal((await store.cronState()).find((s) => s.fn === "full")?.lastMs, at("2026-11-28T12:01:00Z"));
  runner.stop();
  await store.close();
});
