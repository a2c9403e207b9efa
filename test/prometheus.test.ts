// A real Prometheus (Debian's `prometheus`) scrapes a real node: the invocation counts it
// stores equal the requests the test sent, by status and error code; /metrics on the
// node's own port is for the admin token only.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let prometheus: ChildProcess | undefined;
let promUrl: string;
let dir: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Asks Prometheus for `query` until `accept` takes the answer (each scrape is a second apart). */
async function queryUntil<T>(query: string, accept: (result: { metric: Record<string, string>; value: [number, string] }[]) => T | undefined): Promise<T> {
  for (;;) {
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(query)}`);
    const body = (await res.json()) as { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
    assert.equal(body.status, "success", JSON.stringify(body));
    const accepted = accept(body.data.result);
    if (accepted !== undefined) return accepted;
    await new Promise((r) => setTimeout(r, 250));
  }
}

before(async () => {
  const found = spawnSync("prometheus", ["--version"], { encoding: "utf8" });
  assert.equal(found.status, 0, "this test needs Prometheus: apt-get install prometheus (.ci/run installs it)");
  dir = tempDir("flick-prometheus-");
  const metricsPort = await freePort();
  node = await startTestNode({ args: ["--metrics-listen", `127.0.0.1:${metricsPort}`] });
  const config = path.join(dir, "prometheus.yml");
  writeFileSync(config, `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: flick\n    static_configs:\n      - targets: ["127.0.0.1:${metricsPort}"]\n`);
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  prometheus = spawn("prometheus", [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, "data")}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  prometheus.stderr!.on("data", (d: Buffer) => (log += d.toString()));
  await new Promise<void>((resolve, reject) => {
    prometheus!.stderr!.on("data", () => {
      if (log.includes("Server is ready to receive web requests")) resolve();
    });
    prometheus!.once("exit", (code) => reject(new Error(`prometheus exited ${code}:\n${log}`)));
  });
});
after(async () => {
  if (prometheus !== undefined && prometheus.exitCode === null) {
    const exited = new Promise((r) => prometheus!.once("exit", r));
    prometheus.kill("SIGTERM");
    await exited;
  }
  await node?.kill();
  rmSync(dir, { recursive: true, force: true });
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

// A bound for a broken count (the queries would wait for it forever), not a speed target.
test("Prometheus stores invocation counts equal to the requests sent, by status and error code", { timeout: 120_000 }, async () => {
  await deploySource(node.admin, "counted", `export default { fetch: (r) => new Response("ok", { status: new URL(r.url).searchParams.has("missing") ? 404 : 200 }) };`);
  await deploySource(node.admin, "thrower", `export default { fetch() { throw new Error("no"); } };`);
  for (let i = 0; i < 37; i++) assert.equal((await fetch(`${node.url}/fn/counted`)).status, 200);
  for (let i = 0; i < 4; i++) assert.equal((await fetch(`${node.url}/fn/counted?missing`)).status, 404);
  for (let i = 0; i < 5; i++) assert.equal((await fetch(`${node.url}/fn/thrower`)).status, 502);

  const counted = await queryUntil('sum by (status, code) (flick_invocations_total{function="counted"})', (r) => {
    const byStatus = Object.fromEntries(r.map((s) => [`${s.metric["status"]}|${s.metric["code"] ?? ""}`, Number(s.value[1])]));
    return byStatus["2xx|"] === 37 && byStatus["4xx|"] === 4 ? byStatus : undefined;
  });
  assert.deepEqual(counted, { "2xx|": 37, "4xx|": 4 });
  const thrown = await queryUntil('sum by (code) (flick_invocations_total{function="thrower"})', (r) => (r.length > 0 && Number(r[0]!.value[1]) === 5 ? r : undefined));
  assert.deepEqual(thrown.map((s) => s.metric["code"]), ["function_error"]);
  const durations = await queryUntil('flick_invocation_duration_seconds_count{function="counted"}', (r) => (Number(r[0]?.value[1]) === 41 ? r : undefined));
  assert.equal(durations.length, 1);
  await queryUntil('sum(flick_cold_starts_total{function="counted"})', (r) => (Number(r[0]?.value[1]) >= 1 ? true : undefined));
  await queryUntil('flick_instances{function="counted",state="warm"}', (r) => (Number(r[0]?.value[1]) >= 1 ? true : undefined));
  await queryUntil('flick_host_memory_bytes{kind="capacity"}', (r) => (r.length === 2 ? true : undefined));
});

test("/metrics on the node's port needs the admin token; a tenant's token is refused", async () => {
  const anonymous = await fetch(`${node.url}/metrics`);
  assert.equal(anonymous.status, 401);
  const tenant = await node.admin.createTenant("peeker");
  const peeker = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${tenant.token}` } });
  assert.equal(peeker.status, 403);
  const admin = await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } });
  assert.equal(admin.status, 200);
  assert.match(admin.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  assert.match(await admin.text(), /^# TYPE flick_invocations_total counter$/m);
});
