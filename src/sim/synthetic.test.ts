// The seeded workload generator at 20,000 functions: reproducible, in order, and shaped as
// it claims (heavy tail, periodic timers, bursts, a daily cycle, late deployments).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { syntheticWorkload, type SyntheticWorkload } from "./synthetic.ts";
import { arrivalBatch } from "./workload.ts";

const N = 20_000;
const DAY = 86_400_000;

/** Every arrival in typed arrays, and a hash of them. */
function readAll(w: SyntheticWorkload, batchSize = 4096) {
  const read = w.arrivals();
  const batch = arrivalBatch(batchSize);
  let at = new Float64Array(1 << 20);
  let fn = new Int32Array(1 << 20);
  let dur = new Float64Array(1 << 20);
  let n = 0;
  for (let k = read(batch); k > 0; k = read(batch)) {
    if (n + k > at.length) {
      const grow = <T extends Float64Array | Int32Array>(a: T, make: (size: number) => T) => {
        const b = make(a.length * 2);
        b.set(a);
        return b;
      };
      at = grow(at, (s) => new Float64Array(s));
      fn = grow(fn, (s) => new Int32Array(s));
      dur = grow(dur, (s) => new Float64Array(s));
    }
    at.set(batch.atMs.subarray(0, k), n);
    fn.set(batch.fn.subarray(0, k), n);
    dur.set(batch.durationMs.subarray(0, k), n);
    n += k;
  }
  const result = { n, at: at.subarray(0, n), fn: fn.subarray(0, n), dur: dur.subarray(0, n) };
  return { ...result, hash: createHash("sha256").update(result.at).update(result.fn).update(result.dur).digest("hex") };
}

const started = performance.now();
const workload = syntheticWorkload({ functions: N, seed: 1 });
const day = readAll(workload);
const generatedMs = performance.now() - started;

/** Each function's arrival times, in order. */
const timesOf = (() => {
  const lists = Array.from({ length: N }, () => [] as number[]);
  for (let i = 0; i < day.n; i++) lists[day.fn[i]!]!.push(day.at[i]!);
  return lists;
})();

test("the same seed replays bit for bit, whatever the batch size and however readers interleave", (t) => {
  t.diagnostic(`${N} functions: ${day.n} arrivals in ${generatedMs.toFixed(0)} ms`);
  assert.equal(readAll(workload, 777).hash, day.hash, "a second reader, other batch edges");
  assert.equal(readAll(syntheticWorkload({ functions: N, seed: 1 })).hash, day.hash, "a new workload, same seed");
  assert.notEqual(readAll(syntheticWorkload({ functions: N, seed: 2 })).hash, day.hash);
  const a = workload.arrivals();
  const b = workload.arrivals();
  const ba = arrivalBatch(1000);
  const bb = arrivalBatch(1000);
  for (let round = 0; round < 200; round++) {
    assert.equal(a(ba), b(bb));
    assert.deepEqual([ba.atMs, ba.fn, ba.durationMs], [bb.atMs, bb.fn, bb.durationMs]);
  }
  assert.deepEqual(syntheticWorkload({ functions: N, seed: 1 }).functions, workload.functions);
});

test("arrivals ascend in time, ties in function order, within the day; durations and memory in bounds", () => {
  for (let i = 1; i < day.n; i++) {
    if (day.at[i]! > day.at[i - 1]! || (day.at[i] === day.at[i - 1] && day.fn[i]! >= day.fn[i - 1]!)) continue;
    assert.fail(`arrival ${i} out of order: ${day.at[i - 1]}/${day.fn[i - 1]} then ${day.at[i]}/${day.fn[i]}`);
  }
  assert.ok(day.at[0]! >= 0 && day.at[day.n - 1]! < DAY);
  assert.ok(day.fn.every((f) => f >= 0 && f < N));
  assert.ok(day.dur.every((d) => d >= 1 && d <= 600_000));
  assert.ok(workload.functions.every((f) => f.memoryMiB >= 16 && f.memoryMiB <= 1536 && Number.isInteger(f.memoryMiB)));
  const medianOf = (xs: number[]) => xs.slice().sort((a, b) => a - b)[xs.length >> 1]!;
  const memory = medianOf(workload.functions.map((f) => f.memoryMiB));
  assert.ok(memory > 120 && memory < 180, `median memory ${memory} MiB`);
  const duration = medianOf(Array.from({ length: N }, (_, i) => workload.profile(i).medianDurationMs));
  assert.ok(duration > 550 && duration < 900, `median of the functions' median durations ${duration} ms`);
  // Each call spreads around its function's median (σ 0.3 decades: half within ×/÷ 1.6).
  const busiest = timesOf.reduce((best, ts, i) => (ts.length > timesOf[best]!.length ? i : best), 0);
  const own = Array.from(day.dur).filter((_, i) => day.fn[i] === busiest);
  const ratio = medianOf(own) / workload.profile(busiest).medianDurationMs;
  assert.ok(Math.abs(ratio - 1) < 0.05, `busiest function's median call / its median: ${ratio}`);
});

test("popularity is heavy-tailed, as the notes say", (t) => {
  const counts = timesOf.map((ts) => ts.length).sort((a, b) => b - a);
  const top = counts.slice(0, N / 5).reduce((a, b) => a + b, 0);
  const share = top / day.n;
  const hourly = counts.filter((c) => c <= 24).length / N;
  const minutely = counts.filter((c) => c <= 1440).length / N;
  t.diagnostic(`busiest 20 %: ${(100 * share).toFixed(1)} % of arrivals; ≤ 24/day: ${(100 * hourly).toFixed(1)} %; ≤ 1440/day: ${(100 * minutely).toFixed(1)} %; busiest ${counts[0]}/day`);
  // > 80 %, not the paper's > 90 %: with 45–55 % of functions at ≤ 1/h, a 1/s cap and
  // ~125 arrivals per function a day, the ones between 1/h and the top 20 % weigh too much.
  assert.ok(share > 0.8, `top 20 % hold ${share}`);
  assert.ok(hourly > 0.45 && hourly < 0.62, `≤ 1/h: ${hourly}`);
  assert.ok(minutely > 0.95, `≤ 1/min: ${minutely}`);
  assert.ok(counts[N - 1]! <= 2, "some functions hardly run at all");
  assert.ok(counts[0]! > 20_000 && counts[0]! <= 100_000, `busiest ${counts[0]}`);
  // The notes' expected total is what came out.
  const expected = Number(/expected arrivals (\d+)/.exec(workload.notes.join("\n"))![1]);
  assert.ok(Math.abs(day.n / expected - 1) < 0.03, `${day.n} arrivals, ${expected} expected`);
  assert.ok(day.n / N > 100 && day.n / N < 150, `${day.n / N} per function`);
});

test("a timer fires once per period, give or take its jitter; about 30 % of functions are timers", () => {
  let timers = 0;
  for (let i = 0; i < N; i++) {
    const p = workload.profile(i);
    if (p.kind !== "timer") continue;
    timers++;
    const ts = timesOf[i]!;
    const period = p.periodMs!;
    const expected = (DAY - p.startMs) / period;
    assert.ok(Math.abs(ts.length - expected) <= 1, `timer ${i}: ${ts.length} ticks, ~${expected} expected`);
    for (let j = 1; j < ts.length; j++) {
      const gap = ts[j]! - ts[j - 1]!;
      assert.ok(Math.abs(gap - period) <= 3000, `timer ${i} (every ${period / 60_000} min): a gap of ${gap} ms`);
    }
  }
  assert.ok(Math.abs(timers / N - 0.3) < 0.02, `${timers} timers`);
});

test("bursty functions come in sub-second runs; Poisson ones of the same rate do not", () => {
  const subSecond = (ts: number[]) => ts.slice(1).filter((t, j) => t - ts[j]! < 1000).length / (ts.length - 1);
  const shares = { bursty: [] as number[], poisson: [] as number[] };
  for (let i = 0; i < N; i++) {
    const p = workload.profile(i);
    if (p.kind === "timer" || p.ratePerDay < 200 || p.ratePerDay > 2000 || timesOf[i]!.length < 100) continue;
    shares[p.kind].push(subSecond(timesOf[i]!));
  }
  assert.ok(shares.bursty.length > 50 && shares.poisson.length > 100);
  // A burst of G arrivals (mean 10) has G − 1 gaps of ~200 ms: ~90 % of a bursty function's gaps.
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(mean(shares.bursty) > 0.8, `bursty: ${mean(shares.bursty)} of gaps under 1 s`);
  assert.ok(mean(shares.poisson) < 0.05, `Poisson: ${mean(shares.poisson)} of gaps under 1 s`);
});

test("the day has a cycle: the busiest hour sees > 1.5× the quietest", (t) => {
  const perHour = new Array<number>(24).fill(0);
  for (let i = 0; i < day.n; i++) perHour[Math.floor(day.at[i]! / 3_600_000)]!++;
  const ratio = Math.max(...perHour) / Math.min(...perHour);
  t.diagnostic(`arrivals per hour: ${perHour.join(" ")} (max/min ${ratio.toFixed(2)})`);
  assert.ok(ratio > 1.5, `max/min ${ratio}`);
});

test("about 5 % of functions are deployed during the day, and nothing arrives before", () => {
  let late = 0;
  for (let i = 0; i < N; i++) {
    const { startMs } = workload.profile(i);
    if (startMs === 0) continue;
    late++;
    assert.ok(timesOf[i]!.every((t) => t >= startMs), `function ${i} starts at ${startMs}`);
  }
  assert.ok(late > 0.04 * N && late < 0.06 * N, `${late} late`);
  assert.match(workload.notes.join("\n"), new RegExp(`${late} deployed during the run`));
});

test("tenants: functions/20 of them by default, a few much bigger than the rest", () => {
  const sizes = new Map<string, number>();
  for (const f of workload.functions) {
    assert.match(f.fn, /^t\d+\/f\d+$/);
    assert.ok(f.fn.startsWith(`${f.tenant}/`));
    sizes.set(f.tenant, (sizes.get(f.tenant) ?? 0) + 1);
  }
  assert.equal(new Set(workload.functions.map((f) => f.fn)).size, N);
  assert.ok(sizes.size > 700 && sizes.size <= 1000, `${sizes.size} tenants in use`);
  assert.ok(Math.max(...sizes.values()) > 10 * (N / sizes.size), `the biggest tenant has ${Math.max(...sizes.values())} functions`);
  const few = syntheticWorkload({ functions: 100, seed: 1, tenants: 3 });
  assert.ok(few.functions.every((f) => ["t0", "t1", "t2"].includes(f.tenant)));
});

test("a shorter run keeps its arrivals inside it; bad options are refused", () => {
  const w = syntheticWorkload({ functions: 500, seed: 4, durationMs: 2 * 3_600_000 });
  assert.equal(w.durationMs, 7_200_000);
  const { at } = readAll(w);
  assert.ok(at.length > 0 && at.every((t) => t < 7_200_000));
  assert.throws(() => syntheticWorkload({ functions: 0, seed: 1 }), /functions must be a whole number/);
  assert.throws(() => syntheticWorkload({ functions: 10, seed: 1, durationMs: -1 }), /durationMs must be a positive number/);
  assert.throws(() => syntheticWorkload({ functions: 10, seed: 1, tenants: 0 }), /tenants must be a whole number/);
  assert.throws(() => syntheticWorkload({ functions: 10, seed: 1.5 }), /seed must be a safe integer/);
});

test("a shard's reader gives exactly its functions' arrivals, as the whole reader gives them", () => {
  const w = syntheticWorkload({ functions: 500, seed: 9, durationMs: 2 * 3_600_000 });
  const all = drain(w.arrivals()).filter((a) => a.fn % 3 === 1);
  const shard = drain(w.arrivals({ index: 1, count: 3 }));
  assert.ok(shard.length > 1000, `${shard.length} arrivals`);
  assert.deepEqual(shard, all);
});

function drain(read: (b: ReturnType<typeof arrivalBatch>) => number): { at: number; fn: number; ms: number }[] {
  const out = [];
  const b = arrivalBatch(4096);
  for (let n = read(b); n > 0; n = read(b)) for (let i = 0; i < n; i++) out.push({ at: b.atMs[i]!, fn: b.fn[i]!, ms: b.durationMs[i]! });
  return out;
}
