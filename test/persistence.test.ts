// SIGKILL the node and start it again on the same data dir: everything it acknowledged is there.
import assert from "node:assert/strict";
import { test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { bundleSource } from "./support/functions.ts";
import { bindingSettings } from "../src/bindings/index.ts";
import { startTestNode } from "./support/node-process.ts";

test("functions, versions, settings, secrets, tokens and log lines survive SIGKILL, and traffic works at once", async () => {
  const first = await startTestNode();
  const dataDir = first.dataDir;
  const acmeToken = (await first.admin.createTenant("acme")).token;
  const acme = new FlickClient(first.url, acmeToken);
  const v1 = await acme.deploy("keeper", {
    code: await bundleSource(`export default { fetch: (req, env) => { console.log("v1 served"); return new Response("v1 " + env.MODE + " " + env.TOKEN); } };`),
    env: { MODE: "prod" },
    secrets: { TOKEN: "s3cret" },
    memoryMiB: 64,
    timeoutMs: 2000,
  });
  const v2 = await acme.deploy("keeper", {
    code: await bundleSource(`export default { fetch: (req, env) => { console.log("v2 served"); return new Response("v2 " + env.MODE + " " + env.TOKEN); } };`),
    env: { MODE: "prod" },
    secrets: { TOKEN: "s3cret" },
    memoryMiB: 64,
    timeoutMs: 2000,
  });
  await acme.rollback("keeper", v1.version);
  const served = await fetch(`${first.url}/fn/keeper`);
  assert.equal(await served.text(), "v1 prod s3cret");
  const invocation = served.headers.get("x-flick-invocation-id");
  await first.kill("SIGKILL");

  const second = await startTestNode({ dataDir });
  try {
    const res = await fetch(`${second.url}/fn/keeper`);
    assert.equal(await res.text(), "v1 prod s3cret", "traffic works at once, on the version that was live");
    const again = new FlickClient(second.url, acmeToken);
    const info = await again.getFunction("keeper");
    assert.equal(info.liveVersion, v1.version);
    assert.deepEqual(info.settings, { memoryMiB: 64, timeoutMs: 2000, cpuLimitMs: null, env: { MODE: "prod" }, secretNames: ["TOKEN"], private: false, retries: 2, maxEventAgeMs: 21_600_000, crons: [], timeZone: "UTC", cronMissed: "once", handlers: ["fetch"], ...Object.fromEntries(bindingSettings.map((k) => [k.apiKey, {}])) });
    assert.deepEqual((await again.listVersions("keeper")).map((v) => v.id).sort(), [v1.version, v2.version].sort());
    const lines = await again.readLogs("keeper");
    assert.ok(lines.some((l) => l.invocationId === invocation && l.message === "v1 served"), "the acknowledged log line is kept");
    assert.equal(second.adminToken, first.adminToken, "the admin token is the same");
  } finally {
    await second.kill();
  }
});
