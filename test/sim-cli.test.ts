// `flick sim` as a user runs it: a trace replayed with two policies, its JSON and chart;
// and a bad trace directory refused in one line with what to give instead.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { flick } from "./support/cli.ts";
import { repoRoot, tempDir } from "./support/node-process.ts";

const sample = path.resolve(repoRoot, "../shared/traces/azure2019-sample-100");

test("flick sim replays a trace under two policies and writes the table, JSON and an SVG chart", { skip: existsSync(sample) ? false : `no trace at ${sample}` }, async () => {
  const dir = tempDir();
  const json = path.join(dir, "sim.json");
  const chart = path.join(dir, "sim.svg");
  const r = await flick(["sim", sample, "--minutes", "120", "--compare", "fixed:10m,hybrid", "--json", json, "--chart", chart]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^fixed 10m\s+\d+\.\d{3} %/m);
  assert.match(r.stdout, /^hybrid\s+\d+\.\d{3} %/m);
  const out = JSON.parse(readFileSync(json, "utf8")) as { results: { policy: string; invocations: number; coldStarts: number }[] };
  assert.deepEqual(out.results.map((x) => x.policy), ["fixed 10m", "hybrid"]);
  assert.equal(out.results[0]!.invocations, out.results[1]!.invocations);
  assert.ok(out.results[0]!.coldStarts > 0);
  assert.match(readFileSync(chart, "utf8"), /^<svg [^]*<\/svg>$/);
});

test("flick sim with a directory that holds no trace says so in one line, and with neither a trace nor --synthetic what to give", async () => {
  const missing = await flick(["sim", tempDir()]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no .*_inv\.csv|Azure Functions 2019 trace/);
  assert.doesNotMatch(missing.stderr, /\n\s+at /, "no stack trace");
  const none = await flick(["sim"]);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /give a trace directory or --synthetic N/);
});

test("flick sim --shards 2 prints the same figures as one scheduler, and says it ran in parallel", async () => {
  const dir = tempDir();
  const runs = [];
  for (const shards of ["1", "2"]) {
    const json = path.join(dir, `shards-${shards}.json`);
    const r = await flick(["sim", "--synthetic", "2000", "--minutes", "90", "--hosts", "20", "--shards", shards, "--json", json]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(readFileSync(json, "utf8")) as { shards: number; results: { coldStarts: number; invocations: number; idleInstanceMinutes: number; instanceStarts: number }[] };
    assert.equal(out.shards, Number(shards));
    runs.push({ stdout: r.stdout.split("\n").slice(1).join("\n"), stderr: r.stderr, result: out.results[0]! });
  }
  assert.match(runs[1]!.stderr, /2 shards in parallel/);
  assert.ok(runs[0]!.result.coldStarts > 0);
  assert.equal(runs[1]!.result.coldStarts, runs[0]!.result.coldStarts);
  assert.equal(runs[1]!.result.instanceStarts, runs[0]!.result.instanceStarts);
  assert.ok(Math.abs(runs[1]!.result.idleInstanceMinutes - runs[0]!.result.idleInstanceMinutes) < 1e-6);
  assert.equal(runs[1]!.stdout, runs[0]!.stdout, "the same table");
  const bad = await flick(["sim", "--synthetic", "100", "--hosts", "2", "--shards", "3"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--shards/);
});
