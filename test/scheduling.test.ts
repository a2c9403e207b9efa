// The scheduler on a real node: limits answered 429 with a reason and Retry-After, the kill
// switch, provisioned instances, scale to zero, eviction under memory pressure, queue wait.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startTestNode, type TestNode } from "./support/node-process.ts";

// A function whose /hold requests take 1.5 s, long enough to find its instance busy.
const gated = `
export default { async fetch(request) {
  if (new URL(request.url).pathname === "/hold") await new Promise((r) => setTimeout(r, 1500));
  return new Response("ok");
} };`;

let node: TestNode;
before(async () => {
  node = await startTestNode({ hosts: 1, args: ["--concurrency", "1", "--idle-ttl", "1s"] });
});
after(() => node.kill());

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function expect429(res: Response, reason: string): Promise<void> {
  assert.equal(res.status, 429, await res.clone().text());
  assert.equal(res.headers.get("x-flick-error"), reason);
  assert.ok(Number(res.headers.get("retry-after")) >= 1, "Retry-After in seconds");
  assert.equal(((await res.json()) as { error: { code: string } }).error.code, reason);
}

test("max instances: beyond them a request is 429 function_limit with Retry-After, never a hang", async () => {
  await node.admin.deploy("capped", { code: gated });
  await node.admin.scale("capped", { maxInstances: 1 });
  const held = fetch(`${node.url}/fn/capped/hold`);
  await waitFor(async () => (await node.admin.getFunction("capped")).stats.busy === 1, "the first request to hold its instance");
  await expect429(await fetch(`${node.url}/fn/capped/hold`), "function_limit");
  assert.equal((await held).status, 200);
  assert.equal((await fetch(`${node.url}/fn/capped`)).status, 200, "the slot is free again");
  assert.equal((await node.admin.getFunction("capped")).stats.throttled, 1);
});

test("tenant concurrency: the tenant's requests in flight beyond its limit are 429 tenant_limit", async () => {
  await node.admin.createTenant("small");
  await node.admin.setTenantConcurrency("small", 1);
  await node.admin.deploy("small-fn", { code: gated, tenant: "small" });
  const held = fetch(`${node.url}/fn/small-fn/hold`);
  await waitFor(async () => (await node.admin.getFunction("small-fn")).stats.busy === 1, "the first request to run");
  await expect429(await fetch(`${node.url}/fn/small-fn/hold`), "tenant_limit");
  assert.equal((await held).status, 200);
  await node.admin.setTenantConcurrency("small", null);
  assert.equal((await node.admin.listTenants()).find((t) => t.name === "small")?.concurrency, null);
});

test("a label constraint no host meets is 429 no_capacity", async () => {
  await node.admin.deploy("pinned", { code: gated });
  await node.admin.scale("pinned", { pin: { zone: "mars" } });
  await expect429(await fetch(`${node.url}/fn/pinned`), "no_capacity");
  await node.admin.scale("pinned", { pin: {} });
  assert.equal((await fetch(`${node.url}/fn/pinned`)).status, 200);
});

test("the kill switch: max instances 0 stops every instance at once, busy ones too, and refuses requests", async () => {
  await node.admin.deploy("kill", { code: gated });
  const held = fetch(`${node.url}/fn/kill/hold`);
  await waitFor(async () => (await node.admin.getFunction("kill")).stats.busy === 1, "the request to run");
  const info = await node.admin.scale("kill", { maxInstances: 0 });
  assert.equal(info.stats.warm, 0);
  const cut = await held;
  assert.equal(cut.status, 502, "the busy request was stopped with its instance");
  await expect429(await fetch(`${node.url}/fn/kill`), "function_limit");
  await node.admin.scale("kill", { maxInstances: null });
  assert.equal((await fetch(`${node.url}/fn/kill`)).status, 200);
});

test("provisioned instances are warm before any request and stay past the idle TTL", async () => {
  await node.admin.deploy("provisioned", { code: gated });
  await node.admin.scale("provisioned", { minInstances: 2 });
  await waitFor(async () => (await node.admin.getFunction("provisioned")).stats.provisioned === 2, "two provisioned instances");
  await new Promise((r) => setTimeout(r, 2500)); // past the 1 s idle TTL
  const info = await node.admin.getFunction("provisioned");
  assert.equal(info.stats.warm, 2);
  const res = await fetch(`${node.url}/fn/provisioned`);
  assert.equal(res.headers.get("x-flick-cold-start"), "0", "served by a provisioned instance");
});

test("scale to zero: an instance idle past the TTL stops; the next request is a cold start", async () => {
  await node.admin.deploy("ephemeral", { code: gated });
  assert.equal((await fetch(`${node.url}/fn/ephemeral`)).headers.get("x-flick-cold-start"), "1");
  assert.equal((await fetch(`${node.url}/fn/ephemeral`)).headers.get("x-flick-cold-start"), "0");
  await waitFor(async () => (await node.admin.getFunction("ephemeral")).stats.warm === 0, "scale to zero");
  assert.equal((await fetch(`${node.url}/fn/ephemeral`)).headers.get("x-flick-cold-start"), "1");
  const info = await node.admin.getFunction("ephemeral");
  assert.equal(info.stats.coldStarts, 2);
  assert.equal(info.stats.invocations, 3);
  assert.ok(info.stats.p50Ms !== null && info.stats.p99Ms !== null);
});

test("memory pressure: on a host with room for a few instances, new ones evict the least recently used idle one", async () => {
  // 8 MiB: a new instance counts 4 MiB until its host reports what it holds (≈2.6 MiB).
  const small = await startTestNode({ hosts: 1, args: ["--host-memory", "8", "--idle-ttl", "10m"] });
  try {
    for (const name of ["m1", "m2", "m3", "m4"]) await small.admin.deploy(name, { code: gated });
    // Each request's instance is idle again (the host's release reached the scheduler, which
    // can come after the response) before the next: only an idle instance can be evicted.
    for (const name of ["m1", "m2", "m3", "m4"]) {
      const res = await fetch(`${small.url}/fn/${name}`);
      assert.deepEqual([res.status, await res.text()], [200, "ok"]);
      await waitFor(async () => (await small.admin.getFunction(name)).stats.busy === 0, `${name}'s instance to be idle`);
    }
    assert.equal((await small.admin.getFunction("m1")).stats.warm, 0, "m1 was idle longest: evicted first");
    assert.equal((await small.admin.getFunction("m4")).stats.warm, 1);
    let warm = 0;
    for (const name of ["m1", "m2", "m3", "m4"]) warm += (await small.admin.getFunction(name)).stats.warm;
    assert.ok(warm < 4, `${warm} instances warm on an 8 MiB host`);
    assert.equal((await fetch(`${small.url}/fn/m1`)).headers.get("x-flick-cold-start"), "1");
  } finally {
    await small.kill();
  }
});

test("queue wait: a request over a limit waits for a slot (up to --queue-wait) instead of a 429", async () => {
  const queued = await startTestNode({ hosts: 1, args: ["--concurrency", "1", "--queue-wait", "5s"] });
  try {
    await queued.admin.deploy("one", { code: `export default { async fetch() { await new Promise((r) => setTimeout(r, 300)); return new Response("done"); } };` });
    await queued.admin.scale("one", { maxInstances: 1 });
    const [a, b] = await Promise.all([fetch(`${queued.url}/fn/one`), fetch(`${queued.url}/fn/one`)]);
    assert.deepEqual([a.status, b.status], [200, 200]);
  } finally {
    await queued.kill();
  }
});

test("scale settings and tenant limits survive a SIGKILL; provisioned instances come back warm", async () => {
  const { tempDir } = await import("./support/node-process.ts");
  const dataDir = tempDir();
  const first = await startTestNode({ dataDir, hosts: 1 });
  await first.admin.deploy("kept", { code: gated });
  await first.admin.scale("kept", { minInstances: 1, maxInstances: 4, keepAlive: { policy: "hybrid" } });
  await first.admin.setTenantConcurrency("default", 77);
  await first.kill("SIGKILL");
  const again = await startTestNode({ dataDir, hosts: 1 });
  try {
    const info = await again.admin.getFunction("kept");
    assert.deepEqual(info.scale, { minInstances: 1, maxInstances: 4, pin: {}, avoid: {}, keepAlive: { policy: "hybrid" } });
    assert.equal((await again.admin.listTenants()).find((t) => t.name === "default")?.concurrency, 77);
    await waitFor(async () => (await again.admin.getFunction("kept")).stats.provisioned === 1, "the provisioned instance after restart");
  } finally {
    await again.kill();
  }
});

test("a redeploy keeps the function's scale settings: provisioned instances of the new version, the cap still applies", async () => {
  await node.admin.deploy("redeployed", { code: gated });
  await node.admin.scale("redeployed", { minInstances: 1, maxInstances: 1 });
  await node.admin.deploy("redeployed", { code: `${gated}\n// v2\n` });
  const info = await node.admin.getFunction("redeployed");
  assert.deepEqual([info.scale.minInstances, info.scale.maxInstances], [1, 1]);
  await waitFor(async () => {
    const now = await node.admin.getFunction("redeployed");
    return now.stats.provisioned === 1 && now.stats.warm === 1;
  }, "one provisioned instance of the new version");
  const held = fetch(`${node.url}/fn/redeployed/hold`);
  await waitFor(async () => (await node.admin.getFunction("redeployed")).stats.busy === 1, "the request to hold the instance");
  await expect429(await fetch(`${node.url}/fn/redeployed/hold`), "function_limit");
  assert.equal((await held).status, 200);
});
