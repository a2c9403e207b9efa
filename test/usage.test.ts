// Usage metering is exact: the sums `flick usage` and /api/v1/usage report equal what the
// test sent and got back — invocations, request and response bytes (streamed bodies
// included), memory × time — for requests, async invocations and every host; a tenant
// reads only its own; the rows survive a restart.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { flick } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;

// Loopback allowed, so a function can fetch the test's own server (egress metering).
const nodeArgs = ["--egress-allow", "127.0.0.1"];

before(async () => {
  node = await startTestNode({ hosts: 2, args: nodeArgs });
});
after(async () => {
  await node?.kill();
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

// Answers with as many bytes as ?n= says, after reading the whole request body.
const sized = `export default { async fetch(request) {
  await request.arrayBuffer();
  let x = 0;
  for (let i = 0; i < 20000; i++) x += i;
  return new Response("r".repeat(Number(new URL(request.url).searchParams.get("n") ?? "0") + (x < 0 ? 1 : 0)));
} };`;

// Waits below poll for what the node stores after answering; the timeout bounds a wait for
// something that never comes (a broken guard), it is not a speed target.
test("the usage of known invocations sums exactly, by function, hour and tenant", { timeout: 120_000 }, async () => {
  await deploySource(node.admin, "metered", sized, { memoryMiB: 64 });
  let requestBytes = 0;
  let responseBytes = 0;
  let calls = 0;
  for (let i = 0; i < 20; i++) {
    const body = "q".repeat(i * 37);
    const res = await fetch(`${node.url}/fn/metered?n=${i * 11}`, { method: "POST", body });
    assert.equal((await res.arrayBuffer()).byteLength, i * 11);
    requestBytes += i * 37;
    responseBytes += i * 11;
    calls++;
  }
  // A body big enough to stream into the function (over 256 KiB).
  const big = new Uint8Array(300 * 1024).fill(7);
  const res = await fetch(`${node.url}/fn/metered?n=5`, { method: "POST", body: big });
  assert.equal((await res.text()).length, 5);
  requestBytes += big.byteLength;
  responseBytes += 5;
  calls++;
  // Async invocations run from the primary on a host: metered the same way.
  for (let i = 0; i < 3; i++) {
    const { id } = await node.admin.invokeAsync("metered", { mode: "async", data: "abcd" });
    for (;;) {
      if ((await node.admin.getInvocation(id)).status === "completed") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    requestBytes += 4;
    calls++;
  }

  const answer = await node.admin.usage({ by: "function" });
  const line = answer.lines.find((l) => l.function === "metered")!;
  assert.equal(line.tenant, "default");
  assert.equal(line.invocations, calls);
  assert.equal(line.requestBytes, requestBytes);
  assert.equal(line.responseBytes, responseBytes);
  assert.ok(line.wallMs > 0 && line.cpuMs > 0, JSON.stringify(line));
  assert.ok(Math.abs(line.mibMs - 64 * line.wallMs) <= 1e-6 * line.mibMs, "memory × time is the 64 MiB limit × wall time");
  assert.ok(Math.abs(line.gbSeconds - line.mibMs / 1024 / 1000) < 1e-12);
  const byHour = await node.admin.usage({ by: "hour" });
  assert.equal(byHour.lines.reduce((n, l) => n + l.invocations, 0), byHour.total.invocations);
  assert.ok(byHour.lines.every((l) => l.hourMs !== undefined && l.hourMs % 3_600_000 === 0));

  const csv = await flick(["usage", "--csv", "--data-dir", node.dataDir]);
  assert.equal(csv.code, 0, csv.stderr);
  const [header, ...rows] = csv.stdout.trim().split("\n");
  assert.equal(header, "tenant,function,invocations,wallMs,cpuMs,mibMs,gbSeconds,requestBytes,responseBytes,egressBytes");
  const metered = rows.map((r) => r.split(",")).find((r) => r[1] === "metered")!;
  assert.deepEqual([metered[2], metered[7], metered[8]], [String(calls), String(requestBytes), String(responseBytes)]);

  // The rows are on disk: a restart reports the same.
  await node.kill();
  node = await startTestNode({ hosts: 2, dataDir: node.dataDir, args: nodeArgs });
  const again = (await node.admin.usage({ by: "function" })).lines.find((l) => l.function === "metered")!;
  assert.deepEqual([again.invocations, again.requestBytes, again.responseBytes], [calls, requestBytes, responseBytes]);
});

test("a tenant reads only its own usage", async () => {
  const created = await node.admin.createTenant("meter-acme");
  const acme = new FlickClient(node.url, created.token);
  await deploySource(acme, "acme-metered", sized);
  for (let i = 0; i < 3; i++) await (await fetch(`${node.url}/fn/acme-metered?n=2`)).text();
  const own = await acme.usage({ by: "function" });
  assert.deepEqual(own.lines.map((l) => [l.tenant, l.function, l.invocations]), [["meter-acme", "acme-metered", 3]]);
  await assert.rejects(acme.usage({ tenant: "default" }), (err: Error & { code?: string }) => err.code === "forbidden");
  const byTenant = await node.admin.usage({ by: "tenant" });
  assert.deepEqual(byTenant.lines.map((l) => l.tenant).sort(), ["default", "meter-acme"]);
});

test("outbound fetches are metered in bytes and counted by result in the metrics", async () => {
  const upstream = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.end("u".repeat(1234)));
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  const port = (upstream.address() as AddressInfo).port;
  try {
    await deploySource(node.admin, "egress-user", `export default { async fetch(request) {
      const to = new URL(request.url).searchParams.get("to");
      try {
        const res = await fetch(to, { method: "POST", body: "p".repeat(321) });
        return new Response(String((await res.text()).length));
      } catch (err) { return new Response("refused: " + err.message, { status: 500 }); }
    } };`);
    for (let i = 0; i < 3; i++) assert.equal(await (await fetch(`${node.url}/fn/egress-user?to=${encodeURIComponent(`http://127.0.0.1:${port}/`)}`)).text(), "1234");
    const denied = await fetch(`${node.url}/fn/egress-user?to=${encodeURIComponent("http://10.1.2.3/")}`);
    assert.match(await denied.text(), /refused: .*egress_denied|refused: .*private/);
    const line = (await node.admin.usage({ by: "function" })).lines.find((l) => l.function === "egress-user")!;
    assert.equal(line.egressBytes, 3 * (321 + 1234));
    const metrics = await (await fetch(`${node.url}/metrics`, { headers: { authorization: `Bearer ${node.adminToken}` } })).text();
    assert.match(metrics, /^flick_egress_requests_total\{tenant="default",function="egress-user",result="allowed"\} 3$/m);
    assert.match(metrics, /^flick_egress_requests_total\{tenant="default",function="egress-user",result="denied"\} 1$/m);
    assert.match(metrics, /^flick_invocation_cpu_seconds_count\{tenant="default",function="egress-user"\} 4$/m);
    assert.match(metrics, /^flick_queue_wait_seconds_count\{tenant="default",function="egress-user"\} 4$/m);
  } finally {
    upstream.close();
  }
});
