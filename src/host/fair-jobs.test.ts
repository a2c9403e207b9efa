// The host's share of Node's thread pool: a few jobs at a time, never all of them one
// tenant's, round robin between tenants, and nothing started for a request that ended.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FairJobs } from "./fair-jobs.ts";

/** A job that runs until released, recording when it started. */
function gate(log: string[], name: string, owner: string, wanted = () => true) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    job: { owner, wanted, start: () => { log.push(name); return done; } },
    release,
  };
}

test("one tenant never holds every slot: another tenant's job starts at once", () => {
  const jobs = new FairJobs(4);
  const log: string[] = [];
  const flood = Array.from({ length: 10 }, (_, i) => gate(log, `a${i}`, "a"));
  for (const g of flood) jobs.run(g.job);
  assert.deepEqual(log, ["a0", "a1", "a2"], "three of four slots for one tenant");
  jobs.run(gate(log, "b0", "b").job);
  assert.deepEqual(log, ["a0", "a1", "a2", "b0"], "the fourth is free for the other tenant");
  assert.equal(jobs.queued, 7);
});

test("waiting jobs are taken round robin across tenants", async () => {
  const jobs = new FairJobs(1);
  const log: string[] = [];
  const first = gate(log, "a0", "a");
  jobs.run(first.job);
  const rest = [gate(log, "a1", "a"), gate(log, "a2", "a"), gate(log, "b0", "b"), gate(log, "c0", "c"), gate(log, "b1", "b")];
  for (const g of rest) jobs.run(g.job);
  for (const g of [first, ...rest]) {
    g.release();
    await new Promise((r) => setImmediate(r));
  }
  assert.deepEqual(log, ["a0", "a1", "b0", "c0", "a2", "b1"]);
});

test("a job whose request ended while it waited is dropped, never started", async () => {
  const jobs = new FairJobs(1);
  const log: string[] = [];
  const running = gate(log, "a0", "a");
  jobs.run(running.job);
  let live = true;
  jobs.run(gate(log, "a1", "a", () => live).job);
  jobs.run(gate(log, "b0", "b").job);
  live = false;
  running.release();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(log, ["a0", "b0"]);
});
