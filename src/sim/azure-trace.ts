/**
 * Reads the Azure Functions 2019 public trace (Shahrad et al., "Serverless in the Wild",
 * USENIX ATC 2020) into a Workload: per-minute invocation counts per function, spread
 * within each minute; durations drawn from each function's percentiles; memory per app.
 *
 * The full day is ~46,000 functions × 1,440 minutes, mostly zeros, so only the non-zero
 * cells are kept (minute and count, function by function, in typed arrays), and the reader
 * makes one minute's arrivals at a time instead of the whole day.
 */

import { closeSync, openSync, readdirSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { Random } from "./random.ts";
import type { ArrivalBatch, SimFunction, Workload } from "./workload.ts";

export interface AzureTraceOptions {
  /** "even": a minute's k arrivals at equal gaps; "poisson": at k uniform random times. */
  spread: "even" | "poisson";
  seed: number;
  /** Keep only the first N minutes of the trace. */
  minutes?: number;
}

export type AzureWorkload = Workload & { notes: string[]; totalArrivals: number };

const MINUTE_MS = 60_000;
const DEFAULT_DURATION_MS = 1000;
const DEFAULT_MEMORY_MIB = 128;
/** The run file's percentile columns and the cumulative probability each one stands for. */
const PERCENTILES = [0, 1, 25, 50, 75, 99, 100];
const PROBS = PERCENTILES.map((p) => p / 100);

/** The public trace's file names, and the vHive sampler's (`100_inv.csv`, …). */
const FILES = {
  invocations: { patterns: [/_inv\.csv$/i, /^invocations_per_function.*\.csv$/i], shape: "*_inv.csv or invocations_per_function*.csv" },
  durations: { patterns: [/_run\.csv$/i, /^function_durations.*\.csv$/i], shape: "*_run.csv or function_durations*.csv" },
  memory: { patterns: [/_mem\.csv$/i, /^app_memory.*\.csv$/i], shape: "*_mem.csv or app_memory*.csv" },
};

function findFile(dir: string, entries: string[], kind: keyof typeof FILES): string | undefined {
  const { patterns, shape } = FILES[kind];
  const found = entries.filter((e) => patterns.some((p) => p.test(e)));
  if (found.length > 1) {
    throw new Error(`${dir}: ${found.length} ${kind} files (${found.join(", ")}); keep one ${shape} per directory (the public trace has one per day: point at a directory holding one day)`);
  }
  return found[0] === undefined ? undefined : join(dir, found[0]);
}

/** A CSV file line by line with its line number, read in 1 MiB chunks (files can be GBs). */
function* lines(path: string): Generator<[string, number]> {
  const fd = openSync(path, "r");
  try {
    const chunk = Buffer.alloc(1 << 20);
    const decoder = new StringDecoder("utf8");
    let rest = "";
    let lineNo = 0;
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      const text = n === 0 ? rest + decoder.end() : rest + decoder.write(chunk.subarray(0, n));
      let start = 0;
      for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
        const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl; // CRLF files
        yield [text.slice(start, end), ++lineNo];
        start = nl + 1;
      }
      rest = text.slice(start);
      if (n === 0) break;
    }
    if (rest !== "") yield [rest.endsWith("\r") ? rest.slice(0, -1) : rest, ++lineNo];
  } finally {
    closeSync(fd);
  }
}

/** A CSV's header and its data rows (blank lines skipped, field count checked). */
class Csv {
  readonly header: string[];
  private readonly rows: Generator<[string, number]>;
  readonly path: string;

  constructor(path: string, what: string) {
    this.path = path;
    this.rows = lines(path);
    const first = this.rows.next();
    if (first.done === true || first.value[0].trim() === "") throw new Error(`${path}:1: the file is empty; expected a header line naming the ${what} columns`);
    this.header = first.value[0].split(",").map((h) => h.trim().replace(/^"(.*)"$/, "$1"));
  }

  column(name: string, need: string): number {
    const i = this.header.indexOf(name);
    if (i < 0) throw new Error(`${this.path}:1: no column "${name}" in the header; ${need}`);
    return i;
  }

  *records(): Generator<[string[], number]> {
    for (const [line, lineNo] of this.rows) {
      if (line.trim() === "") continue;
      const fields = line.split(",");
      if (fields.length !== this.header.length) {
        const problem = fields.length < this.header.length ? "too few" : "too many";
        throw new Error(`${this.path}:${lineNo}: ${problem} fields (${fields.length}, the header has ${this.header.length}); the row is cut short or has extra commas: fix or remove it`);
      }
      yield [fields, lineNo];
    }
  }
}

/** A whole, non-negative count below 2^32, or -1 (a hand-rolled parse: there are ~66 M of them a day). */
function parseCount(s: string): number {
  if (s.length === 0 || s.length > 10) return -1;
  let v = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v <= 0xffffffff ? v : -1;
}

function parseAmount(csv: Csv, s: string, lineNo: number, column: string): number {
  const v = s.trim() === "" ? NaN : Number(s);
  if (!Number.isFinite(v) || v < 0) throw new Error(`${csv.path}:${lineNo}: ${column} is "${s}", not a non-negative number; fix the value or remove the row`);
  return v;
}

/**
 * A copy of a field that does not hold on to its line: V8 cuts fields out of the line as
 * slices of it, and keeping 46,000 hashes would keep 46,000 lines of ~6 kB.
 */
function own(field: string): string {
  return Buffer.from(field, "utf8").toString("utf8");
}

/** A growing Uint32Array, for the trace's non-zero cells whose number is known only at the end. */
class U32List {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new Uint32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
}

/** `<tenant>/<first 16 of HashFunction>`; prefixes grow where two names would collide, and exact duplicates get `~2`, `~3`. */
function functionNames(tenants: string[], hashes: string[]): { names: string[]; extended: number } {
  const lengths = hashes.map(() => 16);
  let extended = 0;
  for (;;) {
    const groups = new Map<string, number[]>();
    hashes.forEach((h, i) => {
      const name = `${tenants[i]}/${h.slice(0, lengths[i])}`;
      const group = groups.get(name);
      if (group === undefined) groups.set(name, [i]);
      else group.push(i);
    });
    let grew = false;
    for (const group of groups.values()) {
      if (group.length < 2) continue;
      for (const i of group) {
        if (lengths[i]! < hashes[i]!.length) {
          if (lengths[i] === 16) extended++;
          lengths[i] = Math.min(hashes[i]!.length, lengths[i]! + 4);
          grew = true;
        }
      }
    }
    if (grew) continue;
    const names: string[] = [];
    const seen = new Map<string, number>();
    hashes.forEach((h, i) => {
      const name = `${tenants[i]}/${h.slice(0, lengths[i])}`;
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      names.push(n === 1 ? name : `${name}~${n}`);
    });
    return { names, extended };
  }
}

export function readAzureTrace(dir: string, options: AzureTraceOptions): AzureWorkload {
  if (options.spread !== "even" && options.spread !== "poisson") throw new RangeError(`spread must be "even" or "poisson", got ${String(options.spread)}`);
  let entries: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error("not a directory");
    entries = readdirSync(dir).sort();
  } catch (err) {
    throw new Error(`${dir}: cannot read the trace directory (${(err as Error).message}); give a directory holding an Azure Functions 2019 trace (${FILES.invocations.shape})`);
  }
  const invPath = findFile(dir, entries, "invocations");
  if (invPath === undefined) {
    throw new Error(`${dir}: no invocation file; expected a file named ${FILES.invocations.shape} (per-function, per-minute counts: HashFunction,HashOwner,HashApp,minute_1,…)`);
  }
  const runPath = findFile(dir, entries, "durations");
  const memPath = findFile(dir, entries, "memory");
  const notes: string[] = [];

  // --- Invocations: header by name; minute columns are `minute_<k>` (vHive sample) or `<k>` (public trace).
  const inv = new Csv(invPath, "invocation");
  const need = "the invocation file needs HashFunction, HashOwner, HashApp and minute_1…minute_N";
  const colFunction = inv.column("HashFunction", need);
  const colOwner = inv.column("HashOwner", need);
  const colApp = inv.column("HashApp", need);
  const minuteCols: number[] = [];
  inv.header.forEach((h, i) => {
    const m = /^(?:minute_)?(\d+)$/.exec(h);
    if (m !== null) minuteCols[Number(m[1]) - 1] = i;
  });
  const traceMinutes = minuteCols.length;
  for (let m = 0; m < traceMinutes; m++) {
    if (minuteCols[m] === undefined) throw new Error(`${invPath}:1: no column minute_${m + 1}, though the header goes to minute_${traceMinutes}; the minute columns must run from minute_1 without gaps`);
  }
  if (traceMinutes === 0) throw new Error(`${invPath}:1: no minute columns (minute_1, minute_2, …) in the header; ${need}`);
  const minutes = options.minutes ?? traceMinutes;
  if (!Number.isInteger(minutes) || minutes < 1 || minutes > traceMinutes) {
    throw new RangeError(`minutes must be a whole number from 1 to ${traceMinutes} (the trace's length), got ${options.minutes}`);
  }

  const hashes: string[] = [];
  const owners: string[] = [];
  const apps: string[] = [];
  const cellMinute = new U32List(); // the non-zero cells, function by function
  const cellCount = new U32List();
  const ends: number[] = []; // where each function's cells end
  const perMinute = new Float64Array(minutes); // arrivals in each minute, to size the reader's buffers
  let totalArrivals = 0;
  for (const [f, lineNo] of inv.records()) {
    const hash = f[colFunction]!.trim();
    const owner = f[colOwner]!.trim();
    if (hash === "" || owner === "") throw new Error(`${invPath}:${lineNo}: empty ${hash === "" ? "HashFunction" : "HashOwner"}; every row needs the function's and owner's hashes`);
    hashes.push(own(hash));
    owners.push(own(owner));
    apps.push(own(f[colApp]!.trim()));
    for (let m = 0; m < minutes; m++) {
      const raw = f[minuteCols[m]!]!;
      const k = parseCount(raw);
      if (k < 0) throw new Error(`${invPath}:${lineNo}: ${inv.header[minuteCols[m]!]} is "${raw}", not a whole number of invocations; fix the count or remove the row`);
      if (k === 0) continue;
      cellMinute.push(m);
      cellCount.push(k);
      perMinute[m]! += k;
      totalArrivals += k;
    }
    ends.push(cellMinute.length);
  }
  const n = hashes.length;
  if (n === 0) throw new Error(`${invPath}:2: no rows after the header; the trace has no functions`);
  const cellEnd = Uint32Array.from(ends);
  const minuteOf = cellMinute.data.slice(0, cellMinute.length); // trimmed: the lists grew by doubling
  const countOf = cellCount.data.slice(0, cellCount.length);
  const busiestMinute = perMinute.reduce((a, b) => Math.max(a, b), 0);
  notes.push(`${invPath}: ${n} functions, ${minutes} of ${traceMinutes} minutes, ${totalArrivals} invocations`);
  const idle = cellEnd.filter((end, i) => end === (i === 0 ? 0 : cellEnd[i - 1])).length;
  if (idle > 0) notes.push(`${idle} functions have no invocation in those minutes`);

  // --- Durations: 7 percentile points per function, NaN where the run file has no row.
  const quantiles = new Float64Array(n * 7).fill(NaN);
  if (runPath === undefined) {
    notes.push(`no duration file (${FILES.durations.shape}): every invocation runs ${DEFAULT_DURATION_MS} ms`);
  } else {
    const run = new Csv(runPath, "duration");
    const needRun = "the duration file needs HashOwner, HashApp, HashFunction and percentile_Average_{0,1,25,50,75,99,100}";
    const cols = PERCENTILES.map((p) => run.column(`percentile_Average_${p}`, needRun));
    const [rFunction, rOwner, rApp] = ["HashFunction", "HashOwner", "HashApp"].map((c) => run.column(c, needRun)) as [number, number, number];
    const byFunction = new Map<string, Float64Array>();
    const byApp = new Map<string, Float64Array>();
    let reordered = 0;
    for (const [f, lineNo] of run.records()) {
      const q = new Float64Array(7);
      let prev = 0;
      cols.forEach((c, j) => {
        const v = parseAmount(run, f[c]!, lineNo, run.header[c]!);
        if (v < prev && j > 0) reordered++;
        prev = q[j] = Math.max(v, prev); // percentiles must not fall: keep the running maximum
      });
      const fnKey = own(f[rFunction]!.trim());
      const appKey = `${f[rOwner]!.trim()}/${f[rApp]!.trim()}`;
      if (!byFunction.has(fnKey)) byFunction.set(fnKey, q);
      if (!byApp.has(appKey)) byApp.set(appKey, q);
    }
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const q = byFunction.get(hashes[i]!) ?? byApp.get(`${owners[i]}/${apps[i]}`);
      if (q === undefined) missing++;
      else quantiles.set(q, i * 7);
    }
    notes.push(`${runPath}: durations for ${n - missing} of ${n} functions` + (missing > 0 ? `; ${missing} without a row run ${DEFAULT_DURATION_MS} ms` : ""));
    if (reordered > 0) notes.push(`${reordered} percentile values were below the one before and were raised to it`);
  }

  // --- Memory: per app, then per owner.
  const memory = new Float64Array(n).fill(DEFAULT_MEMORY_MIB);
  if (memPath === undefined) {
    notes.push(`no memory file (${FILES.memory.shape}): every function holds ${DEFAULT_MEMORY_MIB} MiB`);
  } else {
    const mem = new Csv(memPath, "memory");
    const needMem = "the memory file needs HashOwner, HashApp and AverageAllocatedMb";
    const [mOwner, mApp, mAvg] = ["HashOwner", "HashApp", "AverageAllocatedMb"].map((c) => mem.column(c, needMem)) as [number, number, number];
    const byApp = new Map<string, number>();
    const byOwner = new Map<string, number>();
    for (const [f, lineNo] of mem.records()) {
      const mb = parseAmount(mem, f[mAvg]!, lineNo, "AverageAllocatedMb");
      if (mb <= 0) continue; // an app that held nothing tells nothing: the default is better
      const app = own(f[mApp]!.trim());
      const owner = own(f[mOwner]!.trim());
      if (!byApp.has(app)) byApp.set(app, mb);
      if (!byOwner.has(owner)) byOwner.set(owner, mb);
    }
    let missing = 0;
    for (let i = 0; i < n; i++) {
      const mb = byApp.get(apps[i]!) ?? byOwner.get(owners[i]!);
      if (mb === undefined) missing++;
      else memory[i] = mb;
    }
    notes.push(`${memPath}: memory for ${n - missing} of ${n} functions` + (missing > 0 ? `; ${missing} without a row hold ${DEFAULT_MEMORY_MIB} MiB` : ""));
  }

  const tenants = owners.map((o) => o.slice(0, 12));
  const { names, extended } = functionNames(tenants, hashes);
  if (extended > 0) notes.push(`${extended} function names take more than 16 hash characters, to stay distinct`);
  const functions: SimFunction[] = names.map((fn, i) => ({ fn, tenant: tenants[i]!, memoryMiB: memory[i]! }));
  notes.push(`spread within a minute: ${options.spread}, seed ${options.seed}`);

  const root = new Random(options.seed);

  /** One duration by inverse CDF: linear between the function's percentile points. */
  function duration(rng: Random, i: number): number {
    const base = i * 7;
    if (Number.isNaN(quantiles[base])) return DEFAULT_DURATION_MS;
    const u = rng.next();
    let j = 1;
    while (j < 6 && u >= PROBS[j]!) j++;
    const p0 = PROBS[j - 1]!;
    const v0 = quantiles[base + j - 1]!;
    const v = v0 + ((quantiles[base + j]! - v0) * (u - p0)) / (PROBS[j]! - p0);
    return Math.max(1, v);
  }

  function arrivals(): (batch: ArrivalBatch) => number {
    // A stream per function: its draws do not depend on the other functions.
    const rngs = Array.from({ length: n }, (_, i) => root.fork(i));
    // Each function's next cell: a minute's cells are found by one pass over the functions,
    // which also puts them in function order.
    const cursor = new Uint32Array(n);
    cursor.set(cellEnd.subarray(0, n - 1), 1);
    // One minute of arrivals, in generation order, and the order to emit them in.
    const at = new Float64Array(busiestMinute);
    const fnOf = new Int32Array(busiestMinute);
    const dur = new Float64Array(busiestMinute);
    const order = new Uint32Array(busiestMinute);
    const perMs = new Uint32Array(MINUTE_MS + 1);
    let len = 0;
    let pos = 0;
    let minute = 0;

    function makeMinute(m: number): void {
      const base = m * MINUTE_MS;
      let w = 0;
      let runs = 0;
      for (let i = 0; i < n; i++) {
        const c = cursor[i]!;
        if (c === cellEnd[i] || minuteOf[c] !== m) continue;
        cursor[i] = c + 1;
        runs++;
        const k = countOf[c]!;
        const rng = rngs[i]!;
        if (options.spread === "even") {
          for (let j = 0; j < k; j++) at[w + j] = base + ((j + 0.5) * MINUTE_MS) / k;
        } else {
          for (let j = 0; j < k; j++) at[w + j] = base + rng.next() * MINUTE_MS;
          at.subarray(w, w + k).sort();
        }
        for (let j = 0; j < k; j++) {
          fnOf[w + j] = i;
          dur[w + j] = duration(rng, i);
        }
        w += k;
      }
      len = w;
      pos = 0;
      for (let j = 0; j < len; j++) order[j] = j; // one function's times already ascend
      if (runs > 1 && len <= 4096) order.subarray(0, len).sort(byTime);
      else if (runs > 1) sortMinute(base);
    }

    /** By time, then generation order, which is function order (and a function's own times in order). */
    const byTime = (a: number, b: number) => at[a]! - at[b]! || a - b;

    /**
     * Orders the minute by time, then function: a counting sort on the millisecond, then a
     * stable sort by time within each millisecond. Generation order is function order, so
     * stability settles ties. For a busy minute: there a comparator sort of the whole
     * minute took 90 % of the time (its fixed cost, 60,000 counters, is too much for a quiet one).
     */
    function sortMinute(base: number): void {
      perMs.fill(0);
      for (let j = 0; j < len; j++) perMs[Math.min(MINUTE_MS - 1, Math.floor(at[j]! - base)) + 1]!++;
      for (let ms = 1; ms <= MINUTE_MS; ms++) perMs[ms]! += perMs[ms - 1]!;
      for (let j = 0; j < len; j++) order[perMs[Math.min(MINUTE_MS - 1, Math.floor(at[j]! - base))]!++] = j;
      // perMs[ms] is now where millisecond ms ends (and ms + 1 starts).
      for (let ms = 0, from = 0; ms < MINUTE_MS; from = perMs[ms++]!) {
        const to = perMs[ms]!;
        if (to - from > 32) {
          order.subarray(from, to).sort(byTime);
          continue;
        }
        for (let k = from + 1; k < to; k++) {
          const o = order[k]!;
          let j = k - 1;
          for (; j >= from && at[order[j]!]! > at[o]!; j--) order[j + 1] = order[j]!;
          order[j + 1] = o;
        }
      }
    }

    return (batch) => {
      const cap = batch.atMs.length;
      let written = 0;
      while (written < cap) {
        if (pos === len) {
          if (minute >= minutes) break;
          makeMinute(minute++);
          continue;
        }
        const take = Math.min(cap - written, len - pos);
        for (let j = 0; j < take; j++) {
          const o = order[pos + j]!;
          batch.atMs[written + j] = at[o]!;
          batch.fn[written + j] = fnOf[o]!;
          batch.durationMs[written + j] = dur[o]!;
        }
        written += take;
        pos += take;
      }
      return written;
    };
  }

  return {
    name: `azure2019 ${dir} (${options.spread} spread, seed ${options.seed}${options.minutes === undefined ? "" : `, ${minutes} minutes`})`,
    functions,
    durationMs: minutes * MINUTE_MS,
    arrivals,
    notes,
    totalArrivals,
  };
}
