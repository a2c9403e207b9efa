// The hybrid keep-alive on crafted arrival patterns, through the Scheduler on a virtual
// clock ticked every second as the node ticks it: bursts, a timer, long gaps, a function
// that appears at midday, and a pre-warmed instance that is still needed.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Scheduler } from "./scheduler.ts";
import { IdleTimeHistogram } from "./keep-alive.ts";

const SEC = 1000;
const MIN = 60 * SEC;

/** A scheduler with one hybrid function, and what happened to it. */
function harness(fallbackTtlMs = 5 * MIN) {
  const s = new Scheduler({
    hosts: [{ memoryMiB: 1 << 20, slots: 1000, labels: {} }],
    concurrency: 16,
    placement: "best-fit",
    keepAlive: { policy: "hybrid", fallbackTtlMs },
    tenantAntiAffinity: false,
  });
  s.configure({ fn: "t/f", tenant: "t", key: "t/f@v1" });
  let now = 0;
  let loaded = 0;
  let idleMs = 0;
  let busy = 0;
  const counts = { requests: 0, cold: 0, starts: 0, prewarms: 0 };
  /** Moves the clock to `t`, ticking every second and counting idle instance time. */
  const until = (t: number) => {
    while (now < t) {
      const next = Math.min(t, Math.floor(now / SEC) * SEC + SEC);
      idleMs += (loaded - Math.min(busy, loaded)) * (next - now);
      now = next;
      if (now % SEC === 0) {
        const { stop, warm } = s.tick(now);
        loaded += warm.length - stop.length;
        counts.starts += warm.length;
        counts.prewarms += warm.length;
      }
    }
  };
  /** One request at `t` that runs `ms`. */
  const request = (t: number, ms = 100) => {
    until(t);
    const r = s.acquire("t/f", "t/f@v1", t);
    if (r.ok !== true) assert.fail("no slot");
    counts.requests++;
    if (r.cold) {
      counts.cold++;
      counts.starts++;
      loaded++;
    }
    busy++;
    until(t + ms);
    s.release(r.instance, t + ms);
    busy--;
  };
  return { s, request, until, counts, idleMinutes: () => idleMs / MIN, keepAlive: () => s.keepAliveOf("t/f")! };
}

test("bursts: the gaps inside a burst are not idle periods, so the 30-minute gaps between bursts are learned and pre-warmed", () => {
  const h = harness();
  for (let b = 0; b < 20; b++) for (let i = 0; i < 200; i++) h.request(b * 30 * MIN + i * 150, 100);
  const k = h.keepAlive();
  assert.equal(k.samples, 19, "one idle period per gap between bursts, none for the 50 ms gaps inside them");
  assert.equal(k.basis, "histogram");
  assert.ok(k.prewarmMs > 25 * MIN && k.prewarmMs < 30 * MIN, `pre-warm at ${k.prewarmMs / MIN} min`);
  // The first bursts are cold (nothing learned yet, then the fallback); after that, pre-warmed.
  assert.ok(h.counts.cold <= 6, `${h.counts.cold} of 20 bursts began cold`);
  assert.ok(h.idleMinutes() < 20 * 5, `idle ${h.idleMinutes().toFixed(0)} min: not kept through the gaps`);
});

test("a timer every 5 minutes: unloaded between calls and pre-warmed just before each", () => {
  const h = harness();
  for (let i = 0; i < 100; i++) h.request(i * 5 * MIN, 200);
  const k = h.keepAlive();
  assert.equal(k.basis, "histogram");
  // Idle periods of 4:59.8 fall in the [4, 5) min bin: the pre-warm comes at its start, less 5 %.
  assert.ok(k.prewarmMs > 3.5 * MIN && k.prewarmMs < 5 * MIN, `pre-warm at ${k.prewarmMs / SEC} s`);
  assert.ok(h.counts.cold <= 6, `${h.counts.cold} of 100 calls cold`);
  // Kept the whole time, a timer every 5 minutes would be ~500 idle minutes; pre-warmed, a fraction.
  assert.ok(h.idleMinutes() < 150, `idle ${h.idleMinutes().toFixed(0)} min`);
});

test("gaps longer than the histogram: predicted from the last of them, not kept for hours", () => {
  const h = harness();
  for (let i = 0; i < 8; i++) h.request(i * 6 * 60 * MIN, 100);
  const k = h.keepAlive();
  assert.equal(k.basis, "out-of-range");
  assert.ok(k.prewarmMs > 5 * 60 * MIN && k.prewarmMs < 6 * 60 * MIN, `pre-warm at ${k.prewarmMs / MIN} min`);
  assert.ok(h.counts.cold <= 5, `${h.counts.cold} of 8 calls cold: after four gaps the next ones are pre-warmed`);
  assert.ok(h.idleMinutes() < 8 * 30, `idle ${h.idleMinutes().toFixed(0)} min over 48 h`);
});

test("a function that appears at midday has no state before its first request, then the fallback, then learns", () => {
  const h = harness();
  h.until(12 * 60 * MIN);
  assert.deepEqual(h.keepAlive(), { prewarmMs: 0, keepAliveMs: 5 * MIN, basis: "few-samples", samples: 0 }, "nothing learned, nothing made");
  for (let i = 0; i < 40; i++) h.request(12 * 60 * MIN + i * 10 * MIN, 100);
  const k = h.keepAlive();
  assert.equal(k.basis, "histogram");
  assert.ok(k.histogram !== undefined && k.histogram.p50Ms >= 9 * MIN && k.histogram.p50Ms <= 10 * MIN, JSON.stringify(k.histogram));
});

test("a pre-warmed instance that is used is not unloaded while requests still follow it", () => {
  const h = harness();
  // A timer every 10 minutes, each call followed by two more 3 and 6 seconds later.
  for (let i = 0; i < 40; i++) {
    const t = i * 10 * MIN;
    h.request(t, 100);
    h.request(t + 3 * SEC, 100);
    h.request(t + 6 * SEC, 100);
  }
  // Each follow-up finds the instance the first call used: starts are about one per period, not three.
  assert.ok(h.counts.starts <= 45, `${h.counts.starts} instance starts for 40 periods`);
  assert.ok(h.counts.cold <= 6, `${h.counts.cold} of 120 requests cold`);
});

test("a pre-warm nobody uses is stopped at the end of its window", () => {
  const h = harness();
  for (let i = 0; i < 12; i++) h.request(i * 20 * MIN, 100);
  const k = h.keepAlive();
  assert.ok(k.prewarmMs > 15 * MIN, `pre-warm at ${k.prewarmMs / MIN} min`);
  const last = 11 * 20 * MIN + 100;
  // The calls stop. The pre-warm comes once more, and then the function scales to zero.
  h.until(last + k.prewarmMs + k.keepAliveMs + 2 * SEC);
  assert.equal(h.s.instanceCount, 0, "the unused pre-warmed instance was stopped");
  assert.ok(h.counts.prewarms >= 1);
});

test("the sparse histogram keeps its bins in order, and halves every count when one would pass 16 bits", () => {
  const h = new IdleTimeHistogram();
  const cells = () => h.cells.map((_, k) => [h.binAt(k), h.countAt(k)]);
  // Bins out of order, one twice, one out of range.
  for (const ms of [30 * 60_000, 7_000, 30 * 60_000, 3 * 60_000, 5 * 3_600_000]) h.record(ms);
  assert.deepEqual(cells(), [[h.binOf(7_000), 1], [h.binOf(3 * 60_000), 1], [h.binOf(30 * 60_000), 2]]);
  assert.equal(h.samples, 5);
  assert.equal(h.outOfBounds, 1);
  assert.equal(h.record(7_000), false, "a bin already held");
  assert.equal(h.record(40 * 60_000), true, "a new bin");
  // Fill the 7 s bin to 65,535: the next idle time there halves every count first.
  while (h.countAt(0) < 0xffff) h.record(7_000);
  const before = cells();
  h.record(7_000);
  assert.deepEqual(cells(), before.map(([bin, count], k) => [bin, (count! >>> 1) + (k === 0 ? 1 : 0)]).filter(([, count]) => count! > 0), "halved, the 1s dropped, then the new one counted");
  assert.equal(h.samples, cells().reduce((a, [, c]) => a + c!, 0) + h.outOfBounds);
  assert.equal(h.outOfBounds, 0, "the out-of-range count is halved with the rest");
  // The spread kept as it goes equals the spread of the counts as they stand.
  const counts = cells().map(([, c]) => c!);
  const sum = counts.reduce((a, c) => a + c, 0);
  const mean = sum / 251;
  const cv = Math.sqrt(counts.reduce((a, c) => a + c * c, 0) / 251 - mean * mean) / mean;
  assert.ok(Math.abs(h.cv() - cv) < 1e-9, `cv ${h.cv()} against ${cv}`);
});
