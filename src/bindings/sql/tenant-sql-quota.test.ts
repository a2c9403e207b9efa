import assert from "node:assert/strict";
import { test } from "node:test";
import { TenantSqlQuota } from "./tenant-sql-quota.ts";

const MiB = 1024 * 1024;

test("a lone call may grow its database to its own limit while the tenant is far from its quota", () => {
  const q = new TenantSqlQuota(100 * MiB, 10 * MiB, 2);
  q.record("t", "a", 1 * MiB);
  const g = q.grant("t", "a");
  assert.deepEqual([g.maxBytes, g.byTenant], [10 * MiB, false]);
  q.settle(g, 4 * MiB);
  assert.equal(q.usedBy("t"), 4 * MiB);
});

test("calls running at once get shares of what is left: together they can never pass the quota", () => {
  const q = new TenantSqlQuota(10 * MiB, 8 * MiB, 2);
  q.record("t", "a", 3 * MiB);
  q.record("t", "b", 3 * MiB);
  const a = q.grant("t", "a");
  const b = q.grant("t", "b");
  assert.equal(a.maxBytes, 5 * MiB, "half of the 4 MiB left");
  assert.equal(b.maxBytes, 4 * MiB, "half of the 2 MiB left after a's hold");
  assert.ok(a.byTenant && b.byTenant);
  assert.ok(a.maxBytes + b.maxBytes <= 10 * MiB);
  // Both grow as far as they were let: the quota holds, and a third call gets nothing.
  q.settle(a, a.maxBytes);
  q.settle(b, b.maxBytes);
  assert.equal(q.usedBy("t"), 9 * MiB);
  const c = q.grant("t", "a");
  assert.equal(c.maxBytes, 5.5 * MiB);
  q.settle(c, 5 * MiB);
  assert.equal(q.usedBy("t"), 9 * MiB, "a call that grew nothing leaves the count as it was");
});

test("tenants are counted apart; a removed database frees its bytes, even while a call on it runs", () => {
  const q = new TenantSqlQuota(4 * MiB, 4 * MiB, 1);
  q.record("t", "a", 4 * MiB);
  q.record("u", "x", 0);
  assert.equal(q.grant("t", "a").maxBytes, 4 * MiB, "t is at its quota: no growth");
  const x = q.grant("u", "x");
  assert.equal(x.maxBytes, 4 * MiB, "u has all of its own");
  q.settle(x, 0);
  const running = q.grant("u", "x");
  q.forget("x");
  q.settle(running, 2 * MiB);
  assert.equal(q.usedBy("u"), 0, "what a call on a removed database reports is not counted");
  q.forget("a");
  assert.equal(q.grant("t", "b").maxBytes, 4 * MiB);
});
