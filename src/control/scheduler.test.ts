// The scheduler's policies with a virtual clock: placement, constraints, limits, keep-alive,
// pre-warm and reclamation. Every `now` below is a number of milliseconds we choose.
import assert from "node:assert/strict";
import { test } from "node:test";
import { IdleTimeHistogram, keepAliveWindows } from "./keep-alive.ts";
import type { HostSpec, PlacementPolicy } from "./placement.ts";
import { Scheduler, type FunctionPolicy, type SchedulerOptions } from "./scheduler.ts";

const MIN = 60_000;

function host(memoryMiB = 1024, slots = 100, labels: Record<string, string> = {}): HostSpec {
  return { memoryMiB, slots, labels };
}

function scheduler(over: Partial<SchedulerOptions> = {}): Scheduler {
  return new Scheduler({
    hosts: [host(), host()],
    concurrency: 2,
    placement: "best-fit",
    keepAlive: { policy: "fixed", ttlMs: 1000 },
    tenantAntiAffinity: false,
    ...over,
  });
}

function fn(name: string, over: Partial<FunctionPolicy> = {}): FunctionPolicy {
  const [tenant] = name.split("/");
  return { fn: name, tenant: tenant!, key: `${name}@v1`, ...over };
}

function ok(r: ReturnType<Scheduler["acquire"]>) {
  if (r.ok !== true) assert.fail(`expected a slot, got ${r.ok === "relay" ? "relay" : `${r.reason}: ${r.message}`}`);
  return r;
}

/** The reason of a throttle (or what came instead). */
function reasonOf(r: ReturnType<Scheduler["acquire"]>): string {
  return r.ok === true ? "placed" : r.ok === "relay" ? "relay" : r.reason;
}

test("reuses a warm instance until its slots are full, then starts another", () => {
  const s = scheduler();
  s.configure(fn("t/f"));
  const a = ok(s.acquire("t/f", "t/f@v1", 0));
  assert.equal(a.cold, true);
  const b = ok(s.acquire("t/f", "t/f@v1", 1));
  assert.deepEqual([b.cold, b.instance], [false, a.instance]);
  const c = ok(s.acquire("t/f", "t/f@v1", 2));
  assert.equal(c.cold, true);
  assert.notEqual(c.instance, a.instance);
  s.release(a.instance, 3);
  assert.equal(ok(s.acquire("t/f", "t/f@v1", 4)).instance, a.instance, "the freed slot is used before a new instance");
});

test("sole: a key whose requests must reach one instance (a durable object's) keeps its instance when it looks full, and gets one when it has none", () => {
  const s = scheduler();
  s.configure(fn("t/f"));
  const key = "t/f@v1#Room:1";
  const a = ok(s.acquire("t/f", key, 0, { sole: true }));
  assert.equal(a.cold, true);
  // Its slots (2) look taken — releases that have not arrived yet — and it still takes the request.
  ok(s.acquire("t/f", key, 1, { sole: true }));
  const c = ok(s.acquire("t/f", key, 2, { sole: true }));
  assert.deepEqual([c.cold, c.instance], [false, a.instance]);
  const other = ok(s.acquire("t/f", key, 3));
  assert.notEqual(other.instance, a.instance, "without sole, a full instance is passed over");
  s.forget(a.instance);
  s.forget(other.instance);
  const d = ok(s.acquire("t/f", key, 4, { sole: true }));
  assert.equal(d.cold, true, "its instance gone, the next request places one");
});

test("versions and tenants never share an instance", () => {
  const s = scheduler();
  s.configure(fn("t/f"));
  s.configure(fn("u/f"));
  const v1 = ok(s.acquire("t/f", "t/f@v1", 0)).instance;
  assert.notEqual(ok(s.acquire("t/f", "t/f@v2", 0)).instance, v1);
  assert.notEqual(ok(s.acquire("u/f", "u/f@v1", 0)).instance, v1);
});

function placeMany(policy: PlacementPolicy, count: number): number[] {
  const s = scheduler({ placement: policy, hosts: [host(), host(), host()], concurrency: 1 });
  s.configure(fn("t/f", { expectedMiB: 10 }));
  const hosts: number[] = [];
  for (let i = 0; i < count; i++) hosts.push(ok(s.acquire("t/f", "t/f@v1", i)).host);
  return hosts;
}

test("best-fit packs functions onto the fullest host that has room, and spreads one function's instances", () => {
  const s = scheduler({ hosts: [host(), host(), host()], concurrency: 1 });
  const hostsOf = (name: string, n: number) => {
    s.configure(fn(name, { expectedMiB: 10 }));
    return Array.from({ length: n }, (_, i) => ok(s.acquire(name, `${name}@v1`, i)).host);
  };
  assert.deepEqual([...hostsOf("t/a", 1), ...hostsOf("t/b", 1), ...hostsOf("t/c", 1)], [0, 0, 0], "three functions packed on one host");
  assert.deepEqual(hostsOf("t/d", 4), [0, 1, 2, 0], "one function's instances on hosts that have none of it first");
});

test("spread puts each new instance on the host with the fewest", () => {
  assert.deepEqual(placeMany("spread", 4), [0, 1, 2, 0]);
});

test("load-aware follows requests in flight, memory and instances per slot", () => {
  const s = scheduler({ placement: "load-aware", hosts: [host(), host()], concurrency: 100 });
  s.configure(fn("t/busy", { expectedMiB: 10 }));
  s.configure(fn("t/next", { expectedMiB: 10 }));
  const busy = ok(s.acquire("t/busy", "t/busy@v1", 0));
  for (let i = 0; i < 50; i++) ok(s.acquire("t/busy", "t/busy@v1", 0));
  assert.notEqual(ok(s.acquire("t/next", "t/next@v1", 1)).host, busy.host, "the host with 51 requests in flight is avoided");
});

test("best-fit respects memory and slot capacity", () => {
  const s = scheduler({ hosts: [host(100, 2), host(100, 2)], concurrency: 1 });
  const hosts = ["t/a", "t/b", "t/c", "t/d"].map((name, i) => {
    s.configure(fn(name, { expectedMiB: 40 }));
    return ok(s.acquire(name, `${name}@v1`, i)).host;
  });
  assert.deepEqual(hosts, [0, 0, 1, 1], "two 40 MiB instances fill a 100 MiB, 2-slot host");
  s.configure(fn("t/e", { expectedMiB: 40 }));
  assert.deepEqual(s.acquire("t/e", "t/e@v1", 5).ok, false, "full: no_capacity (all busy)");
});

test("labels pin or keep a function away; an impossible constraint is no_capacity", () => {
  const s = scheduler({ hosts: [host(1024, 100, { zone: "a" }), host(1024, 100, { zone: "b" })], concurrency: 1 });
  s.configure(fn("t/pinned", { pin: { zone: "b" } }));
  s.configure(fn("t/avoider", { avoid: { zone: "a" } }));
  s.configure(fn("t/nowhere", { pin: { zone: "c" } }));
  assert.equal(ok(s.acquire("t/pinned", "t/pinned@v1", 0)).host, 1);
  assert.equal(ok(s.acquire("t/avoider", "t/avoider@v1", 0)).host, 1);
  const r = s.acquire("t/nowhere", "t/nowhere@v1", 0);
  assert.equal(r.ok, false);
  assert.equal(reasonOf(r), "no_capacity");
});

test("tenant anti-affinity: a host serves one tenant at a time", () => {
  const s = scheduler({ tenantAntiAffinity: true, concurrency: 1 });
  s.configure(fn("a/f"));
  s.configure(fn("b/f"));
  s.configure(fn("c/f"));
  const a = ok(s.acquire("a/f", "a/f@v1", 0));
  const b = ok(s.acquire("b/f", "b/f@v1", 0));
  assert.notEqual(a.host, b.host);
  assert.equal(ok(s.acquire("a/f", "a/f@v1", 0)).host, a.host, "a tenant's own instances share its host");
  const c = s.acquire("c/f", "c/f@v1", 0);
  assert.deepEqual(reasonOf(c), "no_capacity", "a third tenant has no host of its own");
});

test("throttling: max instances, with its reason and a Retry-After", () => {
  const s = scheduler({ concurrency: 1 });
  s.configure(fn("t/capped", { maxInstances: 2 }));
  ok(s.acquire("t/capped", "t/capped@v1", 0));
  ok(s.acquire("t/capped", "t/capped@v1", 0));
  const capped = s.acquire("t/capped", "t/capped@v1", 0);
  assert.deepEqual(capped.ok === false ? [capped.reason, capped.retryAfterMs > 0] : "", ["function_limit", true]);
});

test("a host's miss places a new instance on that host, so its next requests stay local", () => {
  const s = scheduler({ concurrency: 4 });
  s.configure(fn("t/f"));
  const first = ok(s.acquire("t/f", "t/f@v1", 0, { origin: 1 }));
  assert.deepEqual([first.host, first.cold], [1, true]);
  // The other host's instance has free slots by the reports, but host 1 says its own are full: another one there.
  const second = ok(s.acquire("t/f", "t/f@v1", 1, { origin: 1 }));
  assert.equal(second.host, 1);
  assert.notEqual(second.instance, first.instance);
});

test("a miss where the function may not grow is relayed to a host with a free slot, else refused", () => {
  const s = scheduler({ concurrency: 2 });
  s.configure(fn("t/one", { maxInstances: 1 }));
  const only = ok(s.acquire("t/one", "t/one@v1", 0, { origin: 0 }));
  assert.equal(only.host, 0);
  assert.equal(reasonOf(s.acquire("t/one", "t/one@v1", 1, { origin: 1 })), "relay", "host 1 sends it to host 0's instance");
  // Host 0 reports both slots taken by its own requests: nowhere to go.
  s.report(only.instance, 2, 2, 2);
  assert.equal(reasonOf(s.acquire("t/one", "t/one@v1", 3, { origin: 1 })), "function_limit");
  // A pinned function misses on a host it may not use: relayed to one it may.
  const pinned = scheduler({ hosts: [host(1024, 100, { zone: "a" }), host(1024, 100, { zone: "b" })] });
  pinned.configure(fn("t/pinned", { pin: { zone: "b" } }));
  assert.equal(reasonOf(pinned.acquire("t/pinned", "t/pinned@v1", 0, { origin: 0 })), "relay");
  assert.equal(ok(pinned.acquire("t/pinned", "t/pinned@v1", 0, { exclude: 0 })).host, 1);
});

test("what hosts report keeps idle instances idle and busy ones alive", () => {
  const s = scheduler({ keepAlive: { policy: "fixed", ttlMs: 1000 } });
  s.configure(fn("t/f"));
  const inst = ok(s.acquire("t/f", "t/f@v1", 0, { origin: 0 }));
  s.report(inst.instance, 3, 500, 600);
  assert.deepEqual(s.tick(5000).stop, [], "busy by its host's report: kept");
  s.report(inst.instance, 0, 5200, 5300);
  assert.deepEqual(s.tick(6000).stop, [], "idle since 5200: within the TTL");
  assert.deepEqual(s.tick(6300).stop.map((r) => r.instance), [inst.instance], "idle past the TTL: stopped");
});

test("the kill switch (max instances 0) stops every instance, busy ones too, and refuses requests", () => {
  const s = scheduler();
  s.configure(fn("t/f"));
  const a = ok(s.acquire("t/f", "t/f@v1", 0));
  const stopped = s.configure(fn("t/f", { maxInstances: 0 }));
  assert.deepEqual(stopped.map((r) => r.instance), [a.instance]);
  const r = s.acquire("t/f", "t/f@v1", 1);
  assert.deepEqual(reasonOf(r), "function_limit");
  s.configure(fn("t/f"));
  ok(s.acquire("t/f", "t/f@v1", 2));
});

test("fixed TTL: idle instances stop after it, busy ones never", () => {
  const s = scheduler();
  s.configure(fn("t/idle"));
  s.configure(fn("t/busy"));
  const idle = ok(s.acquire("t/idle", "t/idle@v1", 0));
  ok(s.acquire("t/busy", "t/busy@v1", 0));
  s.release(idle.instance, 100);
  assert.deepEqual(s.tick(1099).stop, []);
  assert.deepEqual(s.tick(1100).stop.map((r) => r.instance), [idle.instance]);
  assert.deepEqual(s.tick(100_000).stop, [], "the busy one stays");
  assert.equal(ok(s.acquire("t/idle", "t/idle@v1", 100_001)).cold, true, "scaled to zero: the next request is cold");
});

test("provisioned concurrency: K instances warm always, spill-over on demand", () => {
  const s = scheduler({ concurrency: 1 });
  s.configure(fn("t/f", { minInstances: 2 }));
  const first = s.tick(0);
  assert.equal(first.warm.length, 2);
  assert.deepEqual(s.tick(10 * MIN).stop, [], "provisioned instances never expire");
  const a = ok(s.acquire("t/f", "t/f@v1", 10 * MIN));
  const b = ok(s.acquire("t/f", "t/f@v1", 10 * MIN));
  assert.deepEqual([a.cold, b.cold], [false, false]);
  const spill = ok(s.acquire("t/f", "t/f@v1", 10 * MIN));
  assert.equal(spill.cold, true);
  for (const r of [a, b, spill]) s.release(r.instance, 10 * MIN);
  const later = s.tick(20 * MIN);
  assert.deepEqual(later.stop.map((r) => r.instance), [spill.instance], "only the on-demand one expires");
});

test("a new version's deploy stops the old version's idle instances; busy ones finish first", () => {
  const s = scheduler();
  s.configure(fn("t/f"));
  const old = ok(s.acquire("t/f", "t/f@v1", 0));
  assert.deepEqual(s.configure(fn("t/f", { key: "t/f@v2" })), [], "busy: kept until it finishes");
  s.release(old.instance, 1);
  assert.deepEqual(s.tick(2).stop.map((r) => r.instance), [old.instance]);
});

test("in a traffic split every version's instances keep the keep-alive; a preview's go once idle", () => {
  const s = scheduler();
  s.configure(fn("t/f", { key: "t/f@v1", alsoServing: ["t/f@v2"] }));
  const live = ok(s.acquire("t/f", "t/f@v1", 0));
  const canary = ok(s.acquire("t/f", "t/f@v2", 0));
  const preview = ok(s.acquire("t/f", "t/f@v0", 0));
  for (const r of [live, canary, preview]) s.release(r.instance, 10);
  assert.deepEqual(s.tick(20).stop.map((r) => r.instance), [preview.instance], "the preview's version serves no traffic");
  assert.deepEqual(s.tick(1009).stop, []);
  assert.deepEqual(s.tick(1010).stop.map((r) => r.instance).sort(), [live.instance, canary.instance].sort());
  // Promoting the canary (v2 alone) lets the old live version's idle instances go at once.
  const again = ok(s.acquire("t/f", "t/f@v1", 2000));
  s.release(again.instance, 2001);
  assert.deepEqual(s.configure(fn("t/f", { key: "t/f@v2" })).map((r) => r.instance), [again.instance]);
});

test("a durable object's instance (its version's key and #object) keeps the keep-alive; an old version's object goes once idle", () => {
  const s = scheduler();
  s.configure(fn("t/f", { key: "t/f@v1" }));
  const object = ok(s.acquire("t/f", "t/f@v1#Room:ab", 0));
  const stale = ok(s.acquire("t/f", "t/f@v0#Room:ab", 0));
  for (const r of [object, stale]) s.release(r.instance, 10);
  assert.deepEqual(s.tick(20).stop.map((r) => r.instance), [stale.instance], "an object of a version no longer live has no traffic");
  assert.deepEqual(s.tick(1009).stop, []);
  assert.deepEqual(s.tick(1010).stop.map((r) => r.instance), [object.instance]);
});

test("reclamation: a host over its memory capacity loses idle instances, least recently used first", () => {
  const s = scheduler({ hosts: [host(100)], concurrency: 1, keepAlive: { policy: "fixed", ttlMs: 10 * MIN } });
  for (const name of ["t/a", "t/b", "t/c"]) s.configure(fn(name, { expectedMiB: 10 }));
  const a = ok(s.acquire("t/a", "t/a@v1", 0));
  const b = ok(s.acquire("t/b", "t/b@v1", 0));
  const c = ok(s.acquire("t/c", "t/c@v1", 0));
  s.release(b.instance, 5);
  s.release(a.instance, 10);
  // The host measures real use: c grew; now 110 MiB on a 100 MiB host.
  s.reportMemory(c.instance, 90);
  const { stop } = s.tick(20);
  assert.deepEqual(stop.map((r) => r.instance), [b.instance], "b was idle longest; c is busy");
});

test("placement evicts idle instances LRU when no host has room", () => {
  const s = scheduler({ hosts: [host(1024, 2)], concurrency: 1, keepAlive: { policy: "fixed", ttlMs: 10 * MIN } });
  for (const name of ["t/a", "t/b", "t/c"]) s.configure(fn(name));
  const a = ok(s.acquire("t/a", "t/a@v1", 0));
  const b = ok(s.acquire("t/b", "t/b@v1", 1));
  s.release(a.instance, 2);
  s.release(b.instance, 3);
  const c = ok(s.acquire("t/c", "t/c@v1", 4));
  assert.deepEqual(c.evicted.map((r) => r.instance), [a.instance]);
});

test("a host that dies loses its instances; they are placed again on the next request", () => {
  const s = scheduler({ placement: "spread" });
  s.configure(fn("t/f"));
  const a = ok(s.acquire("t/f", "t/f@v1", 0));
  s.hostDown(a.host);
  const b = ok(s.acquire("t/f", "t/f@v1", 1));
  assert.equal(b.cold, true);
  assert.notEqual(b.host, a.host);
  s.hostUp(a.host);
});

test("hybrid: a function called every 30 minutes is unloaded after each call and pre-warmed before the next", () => {
  const s = scheduler({ keepAlive: { policy: "hybrid", fallbackTtlMs: 10 * MIN } });
  s.configure(fn("t/cron"));
  let now = 0;
  let cold = 0;
  for (let i = 0; i < 30; i++) {
    const r = ok(s.acquire("t/cron", "t/cron@v1", now));
    if (r.cold) cold++;
    s.release(r.instance, now + 100);
    // The platform ticks every second; jump in minutes to the next call.
    for (let t = now + 1000; t < now + 30 * MIN; t += MIN) s.tick(t);
    now += 30 * MIN;
  }
  const windows = s.keepAliveOf("t/cron")!;
  assert.ok(windows.prewarmMs >= 20 * MIN && windows.prewarmMs < 30 * MIN, `pre-warm window ${windows.prewarmMs / MIN} min`);
  assert.ok(cold <= 11, `${cold} of 30 calls were cold: after the first ten (the fallback TTL learns nothing), pre-warming catches them`);
});

test("hybrid with too few samples falls back to the fixed TTL; idle times mostly beyond 4 h are predicted from the last of them", () => {
  const h = new IdleTimeHistogram();
  for (let i = 0; i < 3; i++) h.record(30 * MIN);
  assert.deepEqual(keepAliveWindows({ policy: "hybrid", fallbackTtlMs: 7 }, h), { prewarmMs: 0, keepAliveMs: 7, basis: "few-samples" });
  const mostlyLong = new IdleTimeHistogram();
  for (let i = 0; i < 20; i++) mostlyLong.record(i < 15 ? 6 * 60 * MIN : MIN);
  const w = keepAliveWindows({ policy: "hybrid", fallbackTtlMs: 7 }, mostlyLong);
  assert.equal(w.basis, "out-of-range");
  assert.equal(w.prewarmMs, Math.floor(6 * 60 * MIN * 0.95), "pre-warmed a little before the 6 h seen");
  assert.equal(w.prewarmMs + w.keepAliveMs, Math.ceil(6 * 60 * MIN * 1.05), "kept a little past it");
});

test("hybrid-paper windows come from the head and tail percentiles with a 10% margin", () => {
  const h = new IdleTimeHistogram();
  for (let i = 0; i < 100; i++) h.record((10 + (i % 5)) * MIN + 1000); // 10–14 minutes
  const w = keepAliveWindows({ policy: "hybrid", fallbackTtlMs: 0, tuning: { choose: "percentile", margin: 0.1 } }, h);
  assert.equal(w.prewarmMs, 9 * MIN, "5th percentile bin (10 min) less 10%");
  assert.equal(w.prewarmMs + w.keepAliveMs, Math.ceil(15 * MIN * 1.1), "99th percentile bin end (15 min) plus 10%");
});

test("eviction takes the least recently used idle instance, even when a host reports that use after newer instances were placed", () => {
  // Room for three instances of 10 MiB; each placed for a host's miss and reported later.
  const s = scheduler({ hosts: [host(30, 100)], concurrency: 1 });
  for (const name of ["t/a", "t/b", "t/c", "t/d"]) s.configure(fn(name, { expectedMiB: 10 }));
  const a = ok(s.acquire("t/a", "t/a@v1", 1000, { origin: 0 })).instance;
  const b = ok(s.acquire("t/b", "t/b@v1", 2000, { origin: 0 })).instance;
  const c = ok(s.acquire("t/c", "t/c@v1", 3000, { origin: 0 })).instance;
  // The host's reports come after all three were placed: a was used at 1100, b at 2100, c at 3100.
  s.report(c, 0, 3100, 3200);
  s.report(b, 0, 2100, 3200);
  s.report(a, 0, 1100, 3200);
  const d = s.acquire("t/d", "t/d@v1", 4000, { origin: 0 });
  assert.equal(d.ok, true);
  assert.deepEqual(d.evicted.map((e) => e.instance), [a], "a was used longest ago");
  assert.deepEqual(s.instancesOf("t/b").map((i) => i.instance), [b]);
});

test("a pre-warm that evicts an instance pre-warmed earlier in the same tick reports neither: the caller never starts what is already gone", () => {
  // One host with room for one instance of 10 MiB; two hybrid functions called together every 30 minutes.
  const s = scheduler({ hosts: [host(10, 100)], concurrency: 1, keepAlive: { policy: "hybrid", fallbackTtlMs: 10 * MIN } });
  for (const name of ["t/a", "t/b"]) s.configure(fn(name, { expectedMiB: 10 }));
  const started = new Set<string>();
  let now = 0;
  let prewarms = 0;
  for (let i = 0; i < 12; i++) {
    for (const name of ["t/a", "t/b"]) {
      const r = s.acquire(name, `${name}@v1`, now);
      for (const e of r.evicted) started.delete(e.instance);
      if (r.ok !== true) continue;
      started.add(r.instance);
      s.release(r.instance, now + 100);
    }
    for (let t = now + 1000; t < now + 30 * MIN; t += 1000) {
      const { stop, warm } = s.tick(t);
      for (const ref of stop) assert.ok(started.delete(ref.instance), `told to stop ${ref.instance}, which was never started`);
      for (const w of warm) started.add(w.instance);
      prewarms += warm.length;
    }
    now += 30 * MIN;
  }
  // Both functions' pre-warms come due in the same tick; the host holds one: b's evicts a's.
  assert.ok(prewarms >= 5, `${prewarms} pre-warms`);
  assert.equal(s.instancesOf("t/a").length, 0);
  assert.deepEqual([...started].sort(), s.instancesOf("t/a").concat(s.instancesOf("t/b")).map((i) => i.instance).sort(), "what the caller started is what the scheduler runs");
});

test("a function handle acquires as its name does, and is refused once the function is removed", () => {
  const s = scheduler();
  s.configure(fn("t/h"));
  const handle = s.handleOf("t/h")!;
  const a = ok(s.acquire(handle, "t/h@v1", 0));
  const b = ok(s.acquire("t/h", "t/h@v1", 0));
  assert.equal(a.instance, b.instance, "the same warm instance either way (concurrency 2)");
  s.remove("t/h");
  assert.throws(() => s.acquire(handle, "t/h@v1", 1), /t\/h is not configured/);
  s.configure(fn("t/h"));
  assert.notEqual(s.handleOf("t/h"), handle, "configured again, it has a new handle");
  assert.equal(s.handleOf("t/nope"), undefined);
});

test("release by a ref whose slot now holds another instance releases by id, never the other instance", () => {
  const s = scheduler({ concurrency: 1 });
  s.configure(fn("t/a"));
  s.configure(fn("t/b"));
  const a = ok(s.acquire("t/a", "t/a@v1", 0));
  s.release(a, 10);
  s.tick(10 + 1000); // the fixed TTL (1 s) stops a; its slot is free
  assert.equal(s.instancesOf("t/a").length, 0);
  const b = ok(s.acquire("t/b", "t/b@v1", 2000));
  assert.equal(b.slot, a.slot, "b took a's slot");
  s.release(a, 2100); // a stale ref: a is gone
  assert.equal(s.instancesOf("t/b")[0]!.inFlight, 1, "b's request is still in flight");
  s.release(b, 2200);
  assert.equal(s.instancesOf("t/b")[0]!.inFlight, 0);
});
