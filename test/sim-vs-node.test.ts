// `flick sim` against a real node: the same short trace — three functions, about 40
// seconds — replayed as real requests to a node and through the simulator gives the same
// cold starts per function. The trace's gaps are either well under the keep-alive or well
// over it, so a replay that runs a few hundred milliseconds late on a loaded machine still
// means the same thing; the assertion compares counts, never times.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { simulate } from "../src/sim/index.ts";
import type { SimFunction, Workload } from "../src/sim/index.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

const ttlMs = 6000;
const names = ["steady", "gappy", "late"];

/** Arrivals, ms from the start: gaps of 0.5–2 s stay warm; gaps of 12 s or more find the instance gone. */
const trace: [number, number][] = [];
for (let t = 0; t <= 8000; t += 1000) trace.push([t, 0]); // steady: every second, then…
for (let t = 24_000; t <= 30_000; t += 2000) trace.push([t, 0]); // …a 16 s gap, then every 2 s
for (const t of [500, 13_500, 14_000, 27_000, 39_000]) trace.push([t, 1]); // gappy: 13 s, 0.5 s, 13 s, 12 s
for (const t of [20_000, 20_500, 21_000, 35_000]) trace.push([t, 2]); // late: appears at 20 s
trace.sort((a, b) => a[0] - b[0] || a[1] - b[1]);

function workloadOf(functions: SimFunction[]): Workload {
  return {
    name: "sim-vs-node",
    functions,
    durationMs: 45_000,
    arrivals() {
      let done = false;
      return (batch) => {
        if (done) return 0;
        done = true;
        trace.forEach(([at, fn], i) => {
          batch.atMs[i] = at;
          batch.fn[i] = fn;
          batch.durationMs[i] = 5;
        });
        return trace.length;
      };
    },
  };
}

let node: TestNode;
before(async () => {
  node = await startTestNode({ hosts: 1, args: ["--idle-ttl", `${ttlMs / 1000}s`] });
});
after(() => node.kill());

test("a short trace gives the same cold starts per function on a real node as in flick sim", async () => {
  const code = `export default { fetch() { return new Response("ok"); } };`;
  for (const name of names) await node.admin.deploy(name, { code });
  // Deploying starts nothing; the first request of each is its first cold start, as in the simulator.
  const sim = simulate(workloadOf(names.map((n) => ({ fn: `default/${n}`, tenant: "default", memoryMiB: 128 }))), {
    hosts: 1,
    hostMemoryMiB: 1 << 20,
    hostSlots: 10_000,
    concurrency: 64,
    placement: "best-fit",
    keepAlive: { policy: "fixed", ttlMs },
  });

  const cold = [0, 0, 0];
  const start = performance.now();
  for (const [at, fn] of trace) {
    const wait = at - (performance.now() - start);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const res = await fetch(`${node.url}/fn/${names[fn]}`);
    assert.equal(res.status, 200, await res.text());
    if (res.headers.get("x-flick-cold-start") === "1") cold[fn]!++;
  }
  const expected = names.map((_, f) => sim.detail.colds[f]);
  assert.deepEqual(cold, expected, `node ${cold.join("/")} vs sim ${expected.join("/")} cold starts (steady/gappy/late)`);
  assert.deepEqual(expected, [2, 4, 2], "the trace is built to give these; a change in either side shows here");
});
