// A tenant's budget of requests in flight, split into tokens among holders: never more
// out than the limit, chunks for hosts, exact grants for the primary, and what a gone
// holder had comes back.
import assert from "node:assert/strict";
import { test } from "node:test";
import { TenantBudget } from "./tenant-budget.ts";

test("tokens out never exceed the limit, however holders ask", () => {
  const b = new TenantBudget(10, () => 2);
  let out = 0;
  for (let i = 0; i < 50; i++) out += b.grant(i % 3 === 2 ? "primary" : i % 3, "t", 1 + (i % 4), i % 3 === 2);
  assert.equal(out, 10);
  assert.equal(b.free("t"), 0);
  assert.equal(b.grant(0, "t"), 0, "nothing left");
});

test("hosts get a chunk (a quarter of an even share); the primary exactly what it asks", () => {
  const b = new TenantBudget(1000, () => 2);
  assert.equal(b.chunk("t"), 125);
  assert.equal(b.grant(0, "t", 1), 125);
  assert.equal(b.grant("primary", "t", 1, true), 1);
  assert.equal(b.inUse("t"), 126);
  const small = new TenantBudget(3, () => 2);
  assert.equal(small.chunk("t"), 1, "at least one");
});

test("released and dropped tokens are free again; a holder cannot give back more than it has", () => {
  const b = new TenantBudget(4, () => 2);
  assert.equal(b.grant(0, "t", 4), 4);
  b.release(0, "t", 10);
  assert.equal(b.free("t"), 4);
  assert.equal(b.grant(1, "t", 3), 3);
  b.dropHolder(1);
  assert.equal(b.free("t"), 4);
  assert.deepEqual(b.holdersOf("t"), []);
});

test("a lowered limit hands out nothing until use falls under it", () => {
  const b = new TenantBudget(10, () => 1);
  assert.equal(b.grant(0, "t", 8), 8);
  b.setLimit("t", 5);
  assert.equal(b.free("t"), 0);
  assert.equal(b.grant(1, "t"), 0);
  b.release(0, "t", 6);
  assert.equal(b.grant(1, "t", 1), 1, "a chunk of one");
  assert.equal(b.grant(1, "t", 5), 2, "and what is left of 5, no more");
  assert.deepEqual(b.holdersOf("t", 0), [1]);
});

test("tenants have budgets of their own", () => {
  const b = new TenantBudget(2, () => 1);
  assert.equal(b.grant(0, "a", 2), 2);
  assert.equal(b.grant(0, "b", 2), 2);
  b.setLimit("a", 5);
  assert.equal(b.limitOf("a"), 5);
  assert.equal(b.limitOf("b"), 2);
});
