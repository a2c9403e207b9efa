// The dashboard's history against a real SQLite file: counts of known invocations sum
// exactly per minute and per hour (across flushes, tenants and a reopened file), p50/p99
// come from the buckets as Prometheus estimates them, and old rows are pruned.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { durationBucketsMs } from "../model/index.ts";
import { SqliteStore } from "../store/index.ts";
import type { InvocationCounts } from "../telemetry/index.ts";
import { bucketQuantile } from "./bucket-quantile.ts";
import { readSeries } from "./metrics-series.ts";
import { RollupRecorder } from "./rollup-recorder.ts";

const minute = 60_000;
const hour = 3_600_000;
const day = 24 * hour;

/** Counts as a host reports them; `latenciesMs` go into the duration buckets as host/usage.ts puts them. */
function counts(c: Partial<InvocationCounts> & { latenciesMs?: number[] }): InvocationCounts {
  const durations = new Array<number>(durationBucketsMs.length + 1).fill(0);
  for (const ms of c.latenciesMs ?? []) {
    let i = 0;
    while (i < durationBucketsMs.length && ms > durationBucketsMs[i]!) i++;
    durations[i]!++;
  }
  return {
    invocations: c.latenciesMs?.length ?? 0, coldStarts: 0, codeCacheHits: 0, outcomes: {}, throttledBy: {},
    durations, durationSumMs: (c.latenciesMs ?? []).reduce((a, b) => a + b, 0), ...c,
  };
}

function setup() {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-rollups-"));
  let store = new SqliteStore(dir);
  const clock = { now: Date.UTC(2026, 0, 5, 10, 58, 30) };
  const recorder = () => new RollupRecorder(store, { now: () => clock.now, onError: (err) => assert.fail(String(err)) });
  return {
    dir, clock, recorder,
    get store() {
      return store;
    },
    reopen() {
      void store.close();
      store = new SqliteStore(dir);
      return store;
    },
    cleanup() {
      void store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("counts of known invocations sum exactly per minute and per hour, per tenant, and survive reopening the file", async () => {
  const s = setup();
  try {
    const rollups = s.recorder();
    // 10:58 — three answers (a 500 from the platform among them), two 429s, a cold start, CPU.
    rollups.count("acme", "api", counts({ latenciesMs: [3, 4, 40], outcomes: { "2xx|": 2, "5xx|function_error": 1 }, coldStarts: 1, throttledBy: { tenant_limit: 2 }, cpuSumMs: 6.5 }));
    await rollups.flush();
    // Same minute, a second flush: merged into the stored row.
    rollups.count("acme", "api", counts({ latenciesMs: [7, 8], outcomes: { "4xx|": 1, "2xx|": 1 }, cpuSumMs: 1.25 }));
    rollups.count("globex", "x", counts({ latenciesMs: [1, 1, 1, 1, 1, 1, 1], outcomes: { "2xx|": 7 } }));
    s.clock.now += minute; // 10:59
    rollups.count("acme", "api", counts({ latenciesMs: [2, 2, 2, 2], outcomes: { "2xx|": 4 } }));
    s.clock.now += minute; // 11:00, the next hour
    rollups.count("acme", "api", counts({ latenciesMs: [600, 600, 600, 600, 600], outcomes: { "2xx|": 5 }, coldStarts: 1 }));
    rollups.count("acme", "idle", counts({})); // nothing in it: no row
    await rollups.close();

    for (const pass of ["as written", "after reopening"]) {
      const store = pass === "as written" ? s.store : s.reopen();
      const hourly = await readSeries(store, { range: "1h", tenant: "acme", function: "api" }, s.clock.now);
      assert.equal(hourly.stepMs, minute);
      assert.equal(hourly.points.startMs.length, 60);
      assert.equal(hourly.untilMs, Date.UTC(2026, 0, 5, 11, 1));
      assert.deepEqual(hourly.points.invocations.slice(-3), [5, 4, 5]);
      assert.deepEqual(hourly.points.throttled.slice(-3), [2, 0, 0]);
      assert.deepEqual(hourly.points.coldStarts.slice(-3), [1, 0, 1]);
      assert.equal(hourly.points.invocations.slice(0, -3).every((n) => n === 0), true);
      assert.deepEqual(
        { ...hourly.total, p50Ms: undefined, p99Ms: undefined },
        { invocations: 14, clientErrors: 1, serverErrors: 1, platformErrors: 1, throttled: 2, coldStarts: 2, cpuMs: 7.75, wallMs: 3 + 4 + 40 + 7 + 8 + 8 + 3000, p50Ms: undefined, p99Ms: undefined },
      );
      const weekly = await readSeries(store, { range: "7d", tenant: "acme" }, s.clock.now);
      assert.equal(weekly.stepMs, hour);
      assert.deepEqual(weekly.points.invocations.slice(-2), [9, 5]);
      assert.equal(weekly.total.invocations, 14);
      const node = await readSeries(store, { range: "24h" }, s.clock.now);
      assert.equal(node.total.invocations, 21, "no tenant: every tenant's");
      assert.equal((await readSeries(store, { range: "1h", tenant: "globex" }, s.clock.now)).total.invocations, 7);
      assert.equal((await readSeries(store, { range: "1h", tenant: "globex", function: "api" }, s.clock.now)).total.invocations, 0, "a name is read with its tenant");
      assert.deepEqual(await store.readRollups({ resolution: "minute", sinceMs: 0, untilMs: Number.MAX_SAFE_INTEGER, tenant: "acme", function: "idle" }), []);
    }
  } finally {
    s.cleanup();
  }
});

test("p50 and p99 are estimated from the buckets as Prometheus' histogram_quantile does", async () => {
  const bounds = durationBucketsMs;
  const at = (index: number, n: number) => Object.assign(new Array<number>(bounds.length + 1).fill(0), { [index]: n });
  // Ten invocations in (5, 10]: interpolated inside that bucket.
  assert.equal(bucketQuantile(bounds, at(3, 10), 0.5), 7.5);
  assert.equal(bucketQuantile(bounds, at(3, 10), 0.99), 9.95);
  // Half in [0, 1], half in (25, 50].
  const split = at(0, 50);
  split[5] = 50;
  assert.equal(bucketQuantile(bounds, split, 0.5), 1);
  assert.equal(bucketQuantile(bounds, split, 0.99), 49.5);
  // Above the last bound: that bound is all that can be said.
  assert.equal(bucketQuantile(bounds, at(bounds.length, 3), 0.5), bounds.at(-1));
  assert.equal(bucketQuantile(bounds, at(0, 0), 0.5), null);

  // The series answers the same from the stored rows, per step and in total.
  const s = setup();
  try {
    const rollups = s.recorder();
    rollups.count("acme", "api", counts({ latenciesMs: [6, 7, 8, 9, 10, 6, 7, 8, 9, 10], outcomes: { "2xx|": 10 } }));
    await rollups.close();
    const series = await readSeries(s.store, { range: "1h", tenant: "acme" }, s.clock.now);
    assert.equal(series.total.p50Ms, 7.5);
    assert.equal(series.total.p99Ms, 9.95);
    assert.equal(series.points.p50Ms.at(-1), 7.5);
    assert.equal(series.points.p50Ms.at(-2), null, "a step without invocations has no latency");
  } finally {
    s.cleanup();
  }
});

test("minute rows are pruned after a day and hour rows after 30 days", async () => {
  const s = setup();
  try {
    const rollups = s.recorder();
    const all = (resolution: "minute" | "hour") => s.store.readRollups({ resolution, sinceMs: 0, untilMs: Number.MAX_SAFE_INTEGER });
    const t0 = s.clock.now;
    rollups.count("acme", "api", counts({ latenciesMs: [5], outcomes: { "2xx|": 1 } }));
    await rollups.flush();
    s.clock.now = t0 + day - minute; // not a day old yet
    rollups.count("acme", "api", counts({ latenciesMs: [5], outcomes: { "2xx|": 1 } }));
    await rollups.flush();
    assert.equal((await all("minute")).length, 2);
    s.clock.now = t0 + day + 2 * minute; // the first minute is over a day old
    await rollups.flush();
    assert.deepEqual((await all("minute")).map((r) => r.startMs), [Math.floor((t0 + day - minute) / minute) * minute]);
    assert.equal((await all("hour")).reduce((n, r) => n + r.invocations, 0), 2, "hour rows stay");
    s.clock.now = t0 + 30 * day + 2 * hour; // the first hour is over 30 days old
    await rollups.flush();
    assert.deepEqual((await all("hour")).map((r) => r.invocations), [1]);
    assert.deepEqual(await all("minute"), []);
  } finally {
    s.cleanup();
  }
});
