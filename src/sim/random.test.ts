// The simulator's seeded generator: reproducible, forkable, and drawing the distributions it
// says. Seeds are fixed, so the statistical checks give the same numbers on every run.
import assert from "node:assert/strict";
import { test } from "node:test";
import { normalQuantiles, Random } from "./random.ts";

const draws = (r: Random, k: number) => Array.from({ length: k }, () => r.next());
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test("the same seed gives the same sequence; other seeds give others", () => {
  assert.deepEqual(draws(new Random(42), 1000), draws(new Random(42), 1000));
  const a = draws(new Random(1), 100);
  for (const seed of [2, 0, -1, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER]) assert.notDeepEqual(draws(new Random(seed), 100), a, `seed ${seed}`);
  // Seeds that differ only in the high word are different seeds.
  assert.notDeepEqual(draws(new Random(5), 10), draws(new Random(5 + 2 ** 32), 10));
  // Pinned values: a seed's sequence must not change between runs, machines or releases.
  assert.deepEqual(draws(new Random(42), 3).map((u) => u * 2 ** 32), [392327168, 2537667479, 3161833212]);
  assert.equal(new Random(42).fork(7).next() * 2 ** 32, 1828298324);
  assert.throws(() => new Random(0.5), /seed must be a safe integer/);
  assert.throws(() => new Random(NaN), /seed must be a safe integer/);
});

test("next is in [0, 1) and int(n) in [0, n), covering the range", () => {
  const r = new Random(7);
  const seen = new Set<number>();
  for (let i = 0; i < 100_000; i++) {
    const u = r.next();
    assert.ok(u >= 0 && u < 1);
    const k = r.int(10);
    assert.ok(Number.isInteger(k) && k >= 0 && k < 10);
    seen.add(k);
  }
  assert.equal(seen.size, 10);
});

test("a fork depends on the parent's key and the salt, not on what the parent has drawn", () => {
  const parent = new Random(9);
  const before = draws(parent.fork(3), 50);
  draws(parent, 1234);
  assert.deepEqual(draws(parent.fork(3), 50), before, "drawing from the parent does not move its forks");
  assert.notDeepEqual(draws(parent.fork(4), 50), before);
  assert.notDeepEqual(draws(new Random(10).fork(3), 50), before, "another parent, another child");
  assert.notDeepEqual(draws(parent.fork(3).fork(3), 50), before);
  // Neighbouring forks are uncorrelated, and unlike their parent.
  const a = draws(parent.fork(100), 20_000);
  const b = draws(parent.fork(101), 20_000);
  const p = draws(new Random(9), 20_000);
  const corr = (x: number[], y: number[]) => {
    const mx = mean(x);
    const my = mean(y);
    let sxy = 0;
    let sxx = 0;
    let syy = 0;
    for (let i = 0; i < x.length; i++) {
      sxy += (x[i]! - mx) * (y[i]! - my);
      sxx += (x[i]! - mx) ** 2;
      syy += (y[i]! - my) ** 2;
    }
    return sxy / Math.sqrt(sxx * syy);
  };
  assert.ok(Math.abs(corr(a, b)) < 0.03, `fork 100 vs 101: ${corr(a, b)}`);
  assert.ok(Math.abs(corr(a, p)) < 0.03, `fork vs parent: ${corr(a, p)}`);
  // A million sibling forks have a million different first draws (no shared streams).
  const firsts = new Set<number>();
  for (let i = 0; i < 1_000_000; i++) firsts.add(parent.fork(i).next());
  assert.ok(firsts.size > 999_000, `${firsts.size} distinct first draws`);
});

test("a stream parked in a typed array resumes where it stopped", () => {
  const r = new Random(11);
  draws(r, 7);
  const parked = new Int32Array(8);
  r.saveState(parked, 1);
  const next = draws(r, 20);
  const other = new Random(12);
  other.loadState(parked, 1);
  assert.deepEqual(draws(other, 20), next);
});

test("exponential, normal, lognormal, poisson and geometric have the means they should", () => {
  const r = new Random(2024);
  const k = 200_000;
  const exp = Array.from({ length: k }, () => r.exponential(5));
  assert.ok(Math.abs(mean(exp) - 5) < 0.05, `exponential mean ${mean(exp)}`);
  assert.ok(exp.every((x) => x >= 0 && Number.isFinite(x)));

  const z = Array.from({ length: k }, () => r.normal());
  const zm = mean(z);
  const sd = Math.sqrt(mean(z.map((x) => (x - zm) ** 2)));
  assert.ok(Math.abs(zm) < 0.01, `normal mean ${zm}`);
  assert.ok(Math.abs(sd - 1) < 0.01, `normal sd ${sd}`);

  const ln = Array.from({ length: k }, () => r.lognormal(700, 0.6)).sort((a, b) => a - b);
  const median = ln[k / 2]!;
  assert.ok(Math.abs(median / 700 - 1) < 0.02, `lognormal median ${median}`);
  // 10^(0.6·1.2816) ≈ 5.87: the 90th percentile is ~5.9× the median.
  const p90 = ln[Math.floor(k * 0.9)]! / median;
  assert.ok(Math.abs(p90 / 5.87 - 1) < 0.03, `p90 / median ${p90}`);

  for (const lambda of [0.5, 3, 40, 200, 5000]) {
    const xs = Array.from({ length: 50_000 }, () => r.poisson(lambda));
    const m = mean(xs);
    const v = mean(xs.map((x) => (x - m) ** 2));
    assert.ok(xs.every((x) => Number.isInteger(x) && x >= 0));
    assert.ok(Math.abs(m / lambda - 1) < 0.02, `poisson(${lambda}) mean ${m}`);
    assert.ok(Math.abs(v / lambda - 1) < 0.06, `poisson(${lambda}) variance ${v}`);
  }
  assert.equal(r.poisson(0), 0);

  const g = Array.from({ length: k }, () => r.geometric(10));
  assert.ok(g.every((x) => Number.isInteger(x) && x >= 1));
  assert.ok(Math.abs(mean(g) / 10 - 1) < 0.02, `geometric mean ${mean(g)}`);
  assert.equal(r.geometric(1), 1);
});

test("normal quantiles: symmetric, centred, and at the textbook values", () => {
  const q = normalQuantiles(4000);
  assert.equal(q.length, 4000);
  for (let j = 1; j < q.length; j++) assert.ok(q[j]! > q[j - 1]!);
  for (let j = 0; j < q.length; j++) assert.ok(Math.abs(q[j]! + q[q.length - 1 - j]!) < 1e-5);
  // (j + 0.5)/4000 = 0.975 at j = 3899.5: between the two neighbours sits 1.95996.
  assert.ok(Math.abs((q[3899]! + q[3900]!) / 2 - 1.95996) < 1e-3);
  assert.ok(Math.abs((q[1999]! + q[2000]!) / 2) < 1e-6);
});
