// The Azure Functions 2019 trace reader: on the shared 100-function sample, every per-minute
// count comes back, in time order, reproducibly; durations and memory are joined; and bad
// files are refused with the file, the line and what to change.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { readAzureTrace } from "./azure-trace.ts";
import { arrivalBatch, type Workload } from "./workload.ts";

const sample = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/traces/azure2019-sample-100");
const skip = existsSync(sample) ? false : `the shared sample is not at ${sample}`;

/** Every arrival, read in odd-sized batches (so batch edges fall mid-minute). */
function readAll(w: Workload) {
  const read = w.arrivals();
  const batch = arrivalBatch(997);
  const at: number[] = [];
  const fn: number[] = [];
  const dur: number[] = [];
  for (let k = read(batch); k > 0; k = read(batch)) {
    for (let i = 0; i < k; i++) {
      at.push(batch.atMs[i]!);
      fn.push(batch.fn[i]!);
      dur.push(batch.durationMs[i]!);
    }
  }
  assert.equal(read(batch), 0, "an ended reader stays ended");
  const hash = createHash("sha256").update(new Float64Array(at)).update(new Int32Array(fn)).update(new Float64Array(dur)).digest("hex");
  return { at, fn, dur, hash };
}

/** The sample's CSVs, parsed here independently of the reader. */
function csv(file: string): Record<string, string>[] {
  const [header, ...rows] = readFileSync(path.join(sample, file), "utf8").trim().split("\n");
  const names = header!.split(",");
  return rows.map((r) => Object.fromEntries(r.split(",").map((v, i) => [names[i]!, v])));
}

test("the sample: 100 functions, every per-minute count kept, in time order", { skip }, () => {
  const inv = csv("100_inv.csv");
  const w = readAzureTrace(sample, { spread: "even", seed: 1 });
  assert.equal(w.functions.length, 100);
  assert.equal(w.durationMs, 1440 * 60_000);
  const counts = inv.map((row) => Array.from({ length: 1440 }, (_, m) => Number(row[`minute_${m + 1}`])));
  const total = counts.flat().reduce((a, b) => a + b, 0);
  assert.equal(w.totalArrivals, total);
  assert.match(w.notes.join("\n"), new RegExp(`100 functions, 1440 of 1440 minutes, ${total} invocations`));

  const { at, fn } = readAll(w);
  assert.equal(at.length, total);
  const seen = Array.from({ length: 100 }, () => new Array<number>(1440).fill(0));
  for (let i = 0; i < at.length; i++) {
    if (i > 0) assert.ok(at[i]! > at[i - 1]! || (at[i] === at[i - 1] && fn[i]! > fn[i - 1]!), `arrival ${i} out of order`);
    seen[fn[i]!]![Math.floor(at[i]! / 60_000)]!++;
  }
  assert.deepEqual(seen, counts, "each function's count in each minute is the trace's");

  inv.forEach((row, i) => {
    const tenant = row.HashOwner!.slice(0, 12);
    assert.deepEqual(w.functions[i], { ...w.functions[i], tenant, fn: `${tenant}/${row.HashFunction!.slice(0, 16)}` });
  });
});

test("even spread: k arrivals at the middles of k equal slices of the minute", { skip }, () => {
  const w = readAzureTrace(sample, { spread: "even", seed: 1, minutes: 30 });
  const { at, fn } = readAll(w);
  const minute7 = new Map<number, number[]>();
  at.forEach((t, i) => {
    if (Math.floor(t / 60_000) !== 7) return;
    if (!minute7.has(fn[i]!)) minute7.set(fn[i]!, []);
    minute7.get(fn[i]!)!.push(t);
  });
  assert.ok(minute7.size > 5);
  for (const times of minute7.values()) {
    const k = times.length;
    assert.deepEqual(times, Array.from({ length: k }, (_, j) => 7 * 60_000 + ((j + 0.5) * 60_000) / k));
  }
});

test("both spreads replay exactly, per reader and per read; poisson differs from even", { skip }, () => {
  const even = readAzureTrace(sample, { spread: "even", seed: 1, minutes: 240 });
  const poisson = readAzureTrace(sample, { spread: "poisson", seed: 1, minutes: 240 });
  const e = readAll(even);
  const p = readAll(poisson);
  assert.equal(readAll(even).hash, e.hash, "a second reader of the same workload");
  assert.equal(readAll(readAzureTrace(sample, { spread: "even", seed: 1, minutes: 240 })).hash, e.hash);
  assert.equal(readAll(readAzureTrace(sample, { spread: "even", seed: 2, minutes: 240 })).at.join(), e.at.join(), "even times do not use the seed");
  assert.equal(readAll(poisson).hash, p.hash);
  assert.equal(readAll(readAzureTrace(sample, { spread: "poisson", seed: 1, minutes: 240 })).hash, p.hash);
  assert.notEqual(readAll(readAzureTrace(sample, { spread: "poisson", seed: 2, minutes: 240 })).hash, p.hash);
  assert.notDeepEqual(p.at, e.at);
  // Poisson keeps the per-minute counts too, and the order.
  assert.equal(p.at.length, e.at.length);
  for (let i = 1; i < p.at.length; i++) assert.ok(p.at[i]! > p.at[i - 1]! || (p.at[i] === p.at[i - 1] && p.fn[i]! >= p.fn[i - 1]!));
  assert.ok(p.at.every((t) => t >= 0 && t < 240 * 60_000));
  // Interleaved readers do not disturb each other.
  const r1 = poisson.arrivals();
  const r2 = poisson.arrivals();
  const b1 = arrivalBatch(100);
  const b2 = arrivalBatch(100);
  for (let round = 0; round < 50; round++) {
    const k1 = r1(b1);
    assert.equal(r2(b2), k1);
    assert.deepEqual([b1.atMs, b1.fn, b1.durationMs], [b2.atMs, b2.fn, b2.durationMs]);
  }
});

test("durations lie within each function's percentiles; memory comes from its app", { skip }, () => {
  const run = new Map(csv("100_run.csv").map((r) => [r.HashFunction!, r]));
  const mem = new Map(csv("100_mem.csv").map((r) => [r.HashApp!, Number(r.AverageAllocatedMb)]));
  const inv = csv("100_inv.csv");
  const w = readAzureTrace(sample, { spread: "poisson", seed: 3 });
  const { fn, dur } = readAll(w);
  const perFn = inv.map(() => [] as number[]);
  fn.forEach((f, i) => perFn[f]!.push(dur[i]!));
  inv.forEach((row, i) => {
    const r = run.get(row.HashFunction!)!;
    const lo = Math.max(1, Number(r.percentile_Average_0));
    const hi = Math.max(1, Number(r.percentile_Average_100));
    for (const d of perFn[i]!) assert.ok(d >= lo && d <= hi, `${w.functions[i]!.fn}: ${d} outside [${lo}, ${hi}]`);
    assert.equal(w.functions[i]!.memoryMiB, mem.get(row.HashApp!));
  });
  // The busiest function's median draw sits near its p50.
  const busiest = perFn.reduce((a, b, i) => (b.length > perFn[a]!.length ? i : a), 0);
  const sorted = perFn[busiest]!.slice().sort((a, b) => a - b);
  const p50 = Number(run.get(inv[busiest]!.HashFunction!)!.percentile_Average_50);
  assert.ok(Math.abs(sorted[sorted.length >> 1]! / p50 - 1) < 0.05, `median ${sorted[sorted.length >> 1]} vs p50 ${p50}`);
  assert.match(w.notes.join("\n"), /durations for 100 of 100 functions/);
  assert.match(w.notes.join("\n"), /memory for 100 of 100 functions/);
});

test("minutes keeps the start of the trace", { skip }, () => {
  const inv = csv("100_inv.csv");
  const w = readAzureTrace(sample, { spread: "poisson", seed: 1, minutes: 60 });
  assert.equal(w.durationMs, 3_600_000);
  const total = inv.reduce((sum, row) => sum + Array.from({ length: 60 }, (_, m) => Number(row[`minute_${m + 1}`])).reduce((a, b) => a + b, 0), 0);
  assert.equal(w.totalArrivals, total);
  const { at } = readAll(w);
  assert.equal(at.length, total);
  assert.ok(at.every((t) => t < 3_600_000));
  assert.throws(() => readAzureTrace(sample, { spread: "even", seed: 1, minutes: 1441 }), /minutes must be a whole number from 1 to 1440/);
  assert.throws(() => readAzureTrace(sample, { spread: "even", seed: 1, minutes: 0 }), /minutes must be/);
});

// --- Small files written for the occasion.
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function traceDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-azure-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}
const HEAD = "HashFunction,HashOwner,HashApp,minute_1,minute_2,minute_3\n";

test("bad input names the file and line, what is wrong and what to do", () => {
  const read = (files: Record<string, string>) => () => readAzureTrace(traceDir(files), { spread: "even", seed: 1 });
  assert.throws(read({ "x_inv.csv": "HashFunction,HashApp,minute_1\nf1,a1,3\n" }), /x_inv\.csv:1: no column "HashOwner" in the header; the invocation file needs HashFunction, HashOwner/);
  assert.throws(read({ "x_inv.csv": `${HEAD}f1,o1,a1,1,2,3\nf2,o2,a2,1,2.5,0\n` }), /x_inv\.csv:3: minute_2 is "2\.5", not a whole number of invocations; fix the count or remove the row/);
  assert.throws(read({ "x_inv.csv": `${HEAD}f1,o1,a1,1,-2,3\n` }), /x_inv\.csv:2: minute_2 is "-2"/);
  assert.throws(read({ "x_inv.csv": `${HEAD}f1,o1,a1,1,2,3\n\nf2,o2,a2,1,2\n` }), /x_inv\.csv:4: too few fields \(5, the header has 6\)/);
  assert.throws(read({ "x_inv.csv": "HashFunction,HashOwner,HashApp,minute_1,minute_3\nf1,o1,a1,1,2\n" }), /x_inv\.csv:1: no column minute_2/);
  assert.throws(read({ "x_inv.csv": "" }), /x_inv\.csv:1: the file is empty/);
  assert.throws(read({ "x_run.csv": "a,b\n" }), /no invocation file; expected a file named \*_inv\.csv or invocations_per_function\*\.csv/);
  assert.throws(read({ "a_inv.csv": HEAD, "b_inv.csv": HEAD }), /2 invocations files \(a_inv\.csv, b_inv\.csv\)/);
  assert.throws(() => readAzureTrace(path.join(tmpdir(), "flick-no-such-trace"), { spread: "even", seed: 1 }), /flick-no-such-trace: cannot read the trace directory/);
  const inv = `${HEAD}f1,o1,a1,1,0,0\n`;
  assert.throws(read({ "x_inv.csv": inv, "x_run.csv": "HashOwner,HashApp,HashFunction,percentile_Average_0\no1,a1,f1,3\n" }), /x_run\.csv:1: no column "percentile_Average_1"/);
  const runHead = "HashOwner,HashApp,HashFunction,Average,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100\n";
  assert.throws(read({ "x_inv.csv": inv, "x_run.csv": `${runHead}o1,a1,f1,5,1,2,3,x,5,6,7\n` }), /x_run\.csv:2: percentile_Average_50 is "x", not a non-negative number/);
  assert.throws(read({ "x_inv.csv": inv, "x_mem.csv": "HashOwner,HashApp,AverageAllocatedMb\no1,a1,lots\n" }), /x_mem\.csv:2: AverageAllocatedMb is "lots"/);
});

test("missing duration and memory rows fall back to 1000 ms and 128 MiB, and are counted", () => {
  const dir = traceDir({
    "day_inv.csv": `${HEAD}f1,o1,a1,2,0,1\nf2,o2,a2,0,1,0\nf3,o3,a3,0,0,0\n`,
    // f2 has no row of its own but its app has one; f3 has neither.
    "day_run.csv": "HashOwner,HashApp,HashFunction,percentile_Average_0,percentile_Average_1,percentile_Average_25,percentile_Average_50,percentile_Average_75,percentile_Average_99,percentile_Average_100\no1,a1,f1,10,10,10,10,10,10,10\no2,a2,other,20,20,20,20,20,20,20\n",
    "day_mem.csv": "HashOwner,HashApp,AverageAllocatedMb\no1,a1,300\no2,elsewhere,200\n",
  });
  const w = readAzureTrace(dir, { spread: "even", seed: 1 });
  assert.deepEqual(w.functions, [
    { fn: "o1/f1", tenant: "o1", memoryMiB: 300 },
    { fn: "o2/f2", tenant: "o2", memoryMiB: 200 }, // joined on the owner
    { fn: "o3/f3", tenant: "o3", memoryMiB: 128 },
  ]);
  const { at, fn, dur } = readAll(w);
  assert.deepEqual(at, [15_000, 45_000, 90_000, 150_000]);
  assert.deepEqual(fn, [0, 0, 1, 0]);
  assert.deepEqual(dur, [10, 10, 20, 10]);
  const notes = w.notes.join("\n");
  assert.match(notes, /durations for 2 of 3 functions; 1 without a row run 1000 ms/);
  assert.match(notes, /memory for 2 of 3 functions; 1 without a row hold 128 MiB/);
  assert.match(notes, /1 functions have no invocation/);

  const bare = readAzureTrace(traceDir({ "day_inv.csv": `${HEAD}f1,o1,a1,1,0,0\n` }), { spread: "poisson", seed: 1 });
  assert.deepEqual(readAll(bare).dur, [1000]);
  assert.match(bare.notes.join("\n"), /no duration file .*every invocation runs 1000 ms/);
  assert.match(bare.notes.join("\n"), /no memory file .*128 MiB/);
});

test("the public trace's layout is read too: minute columns named 1…N, extra columns, CRLF; colliding names grow", () => {
  const owner = "0123456789abcdefowner";
  const shared = "aaaaaaaaaaaaaaaa"; // the first 16 characters of two functions
  const dir = traceDir({
    "invocations_per_function_md.anon.d01.csv": `HashOwner,HashApp,HashFunction,Trigger,1,2\r\n${owner},app,${shared}1111,http,1,0\r\n${owner},app,${shared}2222,timer,0,1\r\n${owner},app,${shared}2222,queue,1,1\r\n`,
  });
  const w = readAzureTrace(dir, { spread: "even", seed: 1 });
  assert.deepEqual(
    w.functions.map((f) => f.fn),
    [`0123456789ab/${shared}1111`, `0123456789ab/${shared}2222`, `0123456789ab/${shared}2222~2`],
  );
  assert.equal(w.totalArrivals, 4);
  assert.deepEqual(readAll(w).fn, [0, 2, 1, 2]);
});
