/**
 * A WASI hello world (bench/wasi/hello.c, built here with clang for wasm32-wasi) as a
 * Flick function, next to the same program under Node's own `node:wasi` behind
 * `node:http` (issue 15):
 *   - cold start at the client: Flick, the first request to each of `functions` fresh
 *     deploys; Node, a new process per function (start, compile, first answer), which is
 *     what a process-per-function platform pays;
 *   - warm requests/s: wrk against both, in interleaved rounds;
 *   - memory per idle instance: Flick, the worker hosts' resident memory over that many
 *     warm idle instances; Node, one idle process's.
 * Each Node request runs the program in a fresh instance, as Flick does (CGI): stdout goes
 * to a file the server reads back.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { bundleWasi } from "../src/wasi/index.ts";
import { buildC } from "../test/support/wasi-build.ts";
import { spawnChild, stopChild } from "./children.ts";
import { hostsRssMiB } from "./density.ts";
import { repoRoot, startFlick, stopTarget, waitForOutput } from "./targets.ts";
import { spread, type Spread } from "./warm.ts";
import { loadTest, type LoadOptions } from "./wrk.ts";

export interface WasiHello {
  functions: number;
  moduleBytes: number;
  coldMs: { flick: { p50: number; p99: number }; node: { p50: number; p99: number; starts: number } };
  requestsPerSec: { flick: number[]; node: number[] };
  /** Non-2xx answers and socket errors under load, over all rounds. */
  errors: { flick: number; node: number };
  /** Flick / node:wasi, per round. */
  ratio: Spread;
  idleMiB: { flickPerInstance: number; nodeProcess: number };
}

const body = "Hello from WASI!\n";

/** bench/wasi/hello.c as a .wasm (built as the WASI tests build theirs), or why it cannot be built here. */
export function buildHello(): string | { missing: string } {
  try {
    return buildC(path.join(repoRoot, "bench", "wasi", "hello.c"));
  } catch (err) {
    return { missing: (err as Error).message.split("\n")[0]! };
  }
}

const nodeServer = `
const http = require("node:http"), fs = require("node:fs"), os = require("node:os"), path = require("node:path");
const { WASI } = require("node:wasi");
const module = new WebAssembly.Module(fs.readFileSync(process.argv[1]));
const out = path.join(os.tmpdir(), "flick-bench-wasi-" + process.pid);
http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const fd = fs.openSync(out, "w+");
    const wasi = new WASI({ version: "preview1", args: ["hello.wasm"], env: { REQUEST_METHOD: req.method, PATH_INFO: req.url }, stdout: fd, returnOnExit: true });
    const code = wasi.start(new WebAssembly.Instance(module, wasi.getImportObject()));
    fs.closeSync(fd);
    res.writeHead(code === 0 ? 200 : 502, { "content-type": "text/plain; charset=utf-8" });
    res.end(fs.readFileSync(out));
  });
}).listen(0, "127.0.0.1", function () { console.log("port " + this.address().port); });`;

function rssMiB(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

/** Starts the node:wasi server; resolves with its URL and the ms from spawn to the first answer. */
async function startNodeWasi(wasm: string): Promise<{ url: string; child: ReturnType<typeof spawnChild>; coldMs: number }> {
  const started = performance.now();
  const child = spawnChild(process.execPath, ["--no-warnings", "-e", nodeServer, wasm]);
  const port = await waitForOutput(child, /port (\d+)/, "node:wasi server");
  const url = `http://127.0.0.1:${port}/`;
  const res = await fetch(url);
  const text = await res.text();
  const coldMs = performance.now() - started;
  if (text !== body) throw new Error(`node:wasi answered ${JSON.stringify(text)}`);
  return { url, child, coldMs };
}

export async function measureWasiHello(load: LoadOptions, rounds: number, functions = 50): Promise<WasiHello | { missing: string }> {
  const wasm = buildHello();
  if (typeof wasm !== "string") return wasm;
  const bundle = await bundleWasi(wasm);
  const wasmB64 = Object.fromEntries(Object.entries(bundle.wasm).map(([h, b]) => [h, Buffer.from(b).toString("base64")]));
  // The node's defaults, as for the JavaScript functions.
  const flick = await startFlick();
  let node: Awaited<ReturnType<typeof startNodeWasi>> | undefined;
  try {
    for (let i = 0; i < functions; i++) await flick.client.deploy(`wasi-${i}`, { code: bundle.code, wasm: wasmB64 });
    await new Promise((r) => setTimeout(r, 500));
    const before = hostsRssMiB(flick.child.pid!);
    const flickCold: number[] = [];
    for (let i = 0; i < functions; i++) {
      const t = performance.now();
      const text = await (await fetch(`${flick.baseUrl}/fn/wasi-${i}`)).text();
      flickCold.push(performance.now() - t);
      if (text !== body) throw new Error(`flick answered ${JSON.stringify(text)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    // Node: a process per function; ten of them are enough for a median. The first one stays for the load.
    const nodeCold: number[] = [];
    for (let i = 0; i < 10; i++) {
      const started = await startNodeWasi(wasm);
      nodeCold.push(started.coldMs);
      if (node === undefined) node = started;
      else await stopChild(started.child);
    }
    if (node === undefined) throw new Error("no node:wasi server started");
    for (let i = 0; i < 20; i++) await (await fetch(node.url)).arrayBuffer();
    const flickUrl = `${flick.baseUrl}/fn/wasi-0`;
    await loadTest(flickUrl, { ...load, durationS: 2 });
    await loadTest(node.url, { ...load, durationS: 2 });
    const rps = { flick: [] as number[], node: [] as number[] };
    const errors = { flick: 0, node: 0 };
    for (let r = 0; r < rounds; r++) {
      const order: ["flick" | "node", string][] = [["flick", flickUrl], ["node", node.url]];
      if (r % 2 === 1) order.reverse();
      for (const [which, url] of order) {
        const result = await loadTest(url, load);
        errors[which] += result.errors;
        rps[which].push(result.requestsPerSec);
        console.error(`wasi round ${r + 1}: ${which} ${result.requestsPerSec.toFixed(0)} req/s`);
      }
    }
    // Idle: hosts collect an instance's garbage once it has waited 10 s (instance.ts).
    await new Promise((r) => setTimeout(r, 12_000));
    const after = hostsRssMiB(flick.child.pid!);
    return {
      functions,
      moduleBytes: readFileSync(wasm).length,
      coldMs: { flick: { p50: percentile(flickCold, 0.5), p99: percentile(flickCold, 0.99) }, node: { p50: percentile(nodeCold, 0.5), p99: percentile(nodeCold, 0.99), starts: nodeCold.length } },
      requestsPerSec: rps,
      errors,
      ratio: spread(rps.flick.map((f, i) => f / rps.node[i]!)),
      idleMiB: { flickPerInstance: (after - before) / functions, nodeProcess: rssMiB(node.child.pid!) },
    };
  } finally {
    if (node !== undefined) await stopChild(node.child);
    await stopTarget(flick);
  }
}
