import assert from "node:assert/strict";
import { test } from "node:test";
import { Scheduler } from "./scheduler.ts";

const options = { hosts: 2, concurrency: 2, idleTtlMs: 1000 };

test("reuses a warm instance until its slots are full, then places another on the emptier host", () => {
  const s = new Scheduler(options);
  const a = s.acquire("t/f@1", 0);
  assert.equal(a.cold, true);
  const b = s.acquire("t/f@1", 1);
  assert.deepEqual([b.cold, b.instance], [false, a.instance]);
  const c = s.acquire("t/f@1", 2);
  assert.equal(c.cold, true);
  assert.notEqual(c.host, a.host);
  s.release(a.instance, 3);
  assert.equal(s.acquire("t/f@1", 4).instance, a.instance);
});

test("versions never share an instance", () => {
  const s = new Scheduler(options);
  assert.notEqual(s.acquire("t/f@1", 0).instance, s.acquire("t/f@2", 0).instance);
  assert.notEqual(s.acquire("a/f@1", 0).instance, s.acquire("b/f@1", 0).instance);
});

test("idle instances expire after the TTL, busy ones never", () => {
  const s = new Scheduler(options);
  const idle = s.acquire("t/idle@1", 0);
  const busy = s.acquire("t/busy@1", 0);
  s.release(idle.instance, 100);
  assert.deepEqual(s.tick(1099), []);
  assert.deepEqual(s.tick(1100), [{ instance: idle.instance, host: idle.host }]);
  assert.deepEqual(s.tick(10_000), []);
  assert.equal(s.instancesOf("t/busy@1")[0]?.instance, busy.instance);
  assert.equal(s.acquire("t/idle@1", 2000).cold, true);
});

test("a dead host's instances are placed again on the next request", () => {
  const s = new Scheduler(options);
  const a = s.acquire("t/f@1", 0);
  s.hostDown(a.host);
  const again = s.acquire("t/f@1", 1);
  assert.equal(again.cold, true);
  assert.notEqual(again.instance, a.instance);
});

test("evictVersions drops every instance of a function", () => {
  const s = new Scheduler(options);
  s.acquire("t/f@1", 0);
  s.acquire("t/f@2", 0);
  s.acquire("t/g@1", 0);
  assert.equal(s.evictVersions("t/f@").length, 2);
  assert.equal(s.instancesOf("t/g@1").length, 1);
});
