// WASI 0.2 HTTP components as functions (src/wasi/bundle-component.ts): a JavaScript
// fetch handler (test/wasi/component/handler.js) built into a wasi:http/proxy component
// with componentize-js, deployed through the CLI (jco transpiles it at deploy) to a real
// node, then called over HTTP.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick } from "./support/cli.ts";
import { parse } from "@bytecodealliance/jco-transpile/wasm-tools";
import { repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";
import { buildComponent } from "./support/wasi-build.ts";

let node: TestNode;
let component: string;

before(async () => {
  component = buildComponent(path.join(repoRoot, "test", "wasi", "component", "handler.js"));
  node = await startTestNode({ hosts: 1, args: ["--egress-allow", "127.0.0.1"] });
  const deployed = await flick(["deploy", component, "--name", "comp", "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
}, { timeout: 300_000 });
after(() => node?.kill());

test("method, path, query, headers and body reach the handler; status, headers and body come back", { timeout: 60_000 }, async () => {
  const body = new Uint8Array(300_000).map((_, i) => (i * 31) % 256);
  let sum = 0;
  for (const b of body) sum = (sum + b) % 65521;
  const res = await fetch(`${node.url}/fn/comp/echo?a=1&b=two`, { method: "PUT", headers: { "x-test": "a header" }, body });
  assert.equal(res.status, 201, await res.clone().text());
  assert.equal(res.headers.get("x-component"), "js");
  assert.deepEqual(await res.json(), { method: "PUT", path: "/echo", query: "?a=1&b=two", header: "a header", length: body.length, sum });
});

test("a large response body written in many chunks arrives whole", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/comp/big?kib=2048`);
  assert.equal(res.status, 200);
  const got = new Uint8Array(await res.arrayBuffer());
  assert.equal(got.length, 2048 * 1024);
  assert.ok(got.every((b, i) => b === (i % 1024) % 251), "the bytes differ");
});

test("clocks come from the guest clock and a timer moves them without waiting; random bytes differ per request", { timeout: 60_000 }, async () => {
  const runs: { now: number; slept: number; random: number[] }[] = [];
  for (let i = 0; i < 2; i++) {
    const started = Date.now();
    const res = await fetch(`${node.url}/fn/comp/time`);
    assert.equal(res.status, 200, await res.clone().text());
    const run = (await res.json()) as { now: number; slept: number; random: number[] };
    assert.ok(Math.abs(run.now - started) < 60_000, `the wall clock is now (${run.now} against ${started})`);
    assert.ok(run.slept >= 1500, `a 1.5 s timer moved the clock by ${run.slept} ms`);
    runs.push(run);
  }
  assert.equal(runs[0]!.random.length, 16);
  assert.notDeepEqual(runs[0]!.random, runs[1]!.random);
});

test("console output goes to the function's logs", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/comp/log`);
  assert.equal(await res.text(), "logged\n");
  const logs = await flick(["logs", "comp", "--data-dir", node.dataDir]);
  assert.match(logs.stdout, /a line to stdout/);
  assert.match(logs.stdout, /a line to stderr/);
});

test("an outgoing request goes out through Flick's fetch: method, headers and body reach the server, its answer comes back, and it is logged", { timeout: 60_000 }, async (t) => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c));
    req.on("end", () => {
      seen.push(`${req.method} ${req.url} ${req.headers["x-from"]} ${body}`);
      res.writeHead(200, { "x-server": "test" }).end(`you sent ${body.length} bytes`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?q=1`;
  const res = await fetch(`${node.url}/fn/comp/fetch?${new URLSearchParams({ url: target, body: "ping!" })}`);
  assert.equal(await res.text(), "fetched 200 test you sent 5 bytes");
  assert.deepEqual(seen, ["POST /hook?q=1 component ping!"]);
  const logs = await flick(["logs", "comp", "--data-dir", node.dataDir]);
  assert.match(logs.stdout, /fetch POST http:\/\/127\.0\.0\.1:\d+\/hook\?q=1 → 200/);
});

test("a request waiting for its outgoing request does not hold up the instance: another request is answered meanwhile", { timeout: 60_000 }, async (t) => {
  let release: () => void = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived: () => void = () => {};
  const arrival = new Promise<void>((resolve) => (arrived = resolve));
  const server = createServer((req, res) => {
    arrived();
    void released.then(() => res.writeHead(200, { "x-server": "slow" }).end("late"));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => server.close());
  const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const order: string[] = [];
  const waiting = fetch(`${node.url}/fn/comp/fetch?${new URLSearchParams({ url: target })}`).then(async (res) => {
    order.push(`waiting: ${await res.text()}`);
  });
  await arrival; // the first request is now parked on its outgoing request
  const other = await fetch(`${node.url}/fn/comp/echo?other=1`, { method: "POST", body: "x" });
  order.push(`other: ${other.status}`);
  await other.arrayBuffer();
  release();
  await waiting;
  assert.deepEqual(order, ["other: 201", "waiting: fetched 200 slow late"]);
});

test("the egress policy applies to a component's outgoing requests: a private address is refused, the handler sees fetch fail", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/comp/fetch?${new URLSearchParams({ url: "http://10.255.255.1/" })}`);
  assert.equal(res.status, 503);
  assert.match(await res.text(), /^fetch failed: /);
  const logs = await flick(["logs", "comp", "--data-dir", node.dataDir]);
  assert.match(logs.stdout, /10\.255\.255\.1.*(egress_denied|denied)/);
});

test("a handler that throws answers 500 and the next request is served by a fresh instance", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/comp/throw`);
  assert.ok(res.status >= 500, `status ${res.status}`);
  await res.arrayBuffer();
  const again = await fetch(`${node.url}/fn/comp/echo`, { method: "POST", body: "x" });
  assert.equal(again.status, 201);
  await again.arrayBuffer();
});

test("a burst of 24 requests on one instance all answer: each runs a new instance of the component on kept memory", { timeout: 120_000 }, async () => {
  const answers = await Promise.all(Array.from({ length: 24 }, async (_, i) => {
    const res = await fetch(`${node.url}/fn/comp/echo?n=${i}`, { method: "POST", body: String(i) });
    return `${res.status} ${((await res.json()) as { query: string }).query}`;
  }));
  assert.deepEqual(answers, Array.from({ length: 24 }, (_, i) => `201 ?n=${i}`));
});

test("--arg and --dir are for WASI programs: a component deployed with them is refused, saying so", { timeout: 60_000 }, async () => {
  const res = await flick(["deploy", component, "--name", "comp2", "--arg", "x", "--data-dir", node.dataDir]);
  assert.notEqual(res.code, 0);
  assert.match(res.stderr, /is a WebAssembly component: --arg and --dir .* are for WASI preview 1 programs/);
});

test("deploying a component Flick cannot serve says why: an interface it does not provide, or no wasi:http handler", { timeout: 60_000 }, async () => {
  const dir = tempDir("flick-component-bad-");
  const sockets = path.join(dir, "sockets.wasm");
  writeFileSync(sockets, await parse(`(component
    (import "wasi:sockets/tcp@0.2.0" (instance $tcp (export "connect" (func))))
    (core func $connect (canon lower (func $tcp "connect")))
    (core module $m (import "tcp" "connect" (func)))
    (core instance (instantiate $m (with "tcp" (instance (export "connect" (func $connect))))))
  )`));
  const refused = await flick(["deploy", sockets, "--name", "sockets", "--data-dir", node.dataDir]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /sockets\.wasm imports wasi:sockets\/tcp, which Flick does not provide to components \(it provides wasi:io\/error, /);
  const library = path.join(dir, "library.wasm");
  writeFileSync(library, await parse(`(component
    (core module $m (func (export "f") (result i32) i32.const 7))
    (core instance $i (instantiate $m))
    (func $f (result u32) (canon lift (core func $i "f")))
    (export "hello" (func $f))
  )`));
  const notHttp = await flick(["deploy", library, "--name", "library", "--data-dir", node.dataDir]);
  assert.notEqual(notHttp.code, 0);
  assert.match(notHttp.stderr, /library\.wasm is a component that exports hello, not wasi:http\/incoming-handler/);
});

test("a hostile component that loops is stopped at its timeout, one that holds memory without end meets its memory limit inside its engine; the function serves again", { timeout: 120_000 }, async () => {
  const deployed = await flick(["deploy", component, "--name", "comp-hostile", "--timeout", "2s", "--memory", "64", "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
  const loop = await fetch(`${node.url}/fn/comp-hostile/loop`);
  assert.equal(loop.status, 504, await loop.clone().text());
  assert.equal(((await loop.json()) as { error: { code: string } }).error.code, "timeout");
  // Its memory cannot grow past the function's limit (memory.grow answers -1 inside it): the
  // component's own engine runs out and answers 500 itself; nothing outside it is touched.
  const grow = await fetch(`${node.url}/fn/comp-hostile/grow`);
  assert.equal(grow.status, 500, await grow.clone().text());
  await grow.arrayBuffer();
  const again = await fetch(`${node.url}/fn/comp-hostile/echo`, { method: "POST", body: "x" });
  assert.equal(again.status, 201);
  await again.arrayBuffer();
});
