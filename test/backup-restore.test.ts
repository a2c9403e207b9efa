// Backup and restore as an operator does it (docs/operations.md): `flick backup` while the
// node serves, the node gone, `flick restore` into a new data dir, `flick up` on it — and
// everything the node had acknowledged is there: functions with their versions, split,
// env and secrets, tenants and their tokens, logs, and the async invocation still queued.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { flick } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

const scratch: string[] = [];
let running: TestNode | undefined;
after(async () => {
  await running?.kill();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

const reportsSecret = (tag: string) => `export default { fetch: (_r, env) => new Response(${JSON.stringify(tag)} + ":" + env.GREETING + ":" + env.API_KEY) };`;

// Waits below poll for what the node stores after answering; the timeout bounds a wait for
// something that never comes (a broken guard), it is not a speed target.
test("a backup taken while the node serves restores into a node with the same functions, secrets, tenants, logs and queue", { timeout: 120_000 }, async () => {
  const node = await startTestNode({ hosts: 1 });
  running = node;
  scratch.push(node.dataDir);
  const v1 = await deploySource(node.admin, "keeper", reportsSecret("one"), { env: { GREETING: "hi" }, secrets: { API_KEY: "k-123" } });
  const v2 = await deploySource(node.admin, "keeper", reportsSecret("two"), { canary: 20 });
  const acme = await node.admin.createTenant("acme");
  const acmeClient = new FlickClient(node.url, acme.token);
  await deploySource(acmeClient, "acme-fn", `export default { fetch: () => { console.log("acme was here"); return new Response("acme"); } };`);
  assert.equal(await (await fetch(`${node.url}/fn/acme-fn`)).text(), "acme");
  // An acknowledged async invocation that cannot run yet (the function is stopped).
  await deploySource(node.admin, "later", `export default { fetch: async (r) => new Response("done " + (await r.text())) };`);
  await node.admin.scale("later", { maxInstances: 0 });
  const queued = await node.admin.invokeAsync("later", { mode: "async", data: "payload" });

  // Traffic keeps flowing while the backup is taken.
  let serving = true;
  const traffic = (async () => {
    let n = 0;
    while (serving) {
      assert.equal((await fetch(`${node.url}/fn/acme-fn`)).status, 200);
      n++;
    }
    return n;
  })();
  const backupDir = path.join(tempDir("flick-backup-"), "snapshot");
  scratch.push(path.dirname(backupDir));
  const made = await flick(["backup", backupDir, "--data-dir", node.dataDir]);
  serving = false;
  assert.ok((await traffic) > 0);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /backed up .* flick\.db, queue\.db, \d+ bundles/);
  assert.equal(statSync(backupDir).mode & 0o777, 0o700);
  assert.equal(statSync(path.join(backupDir, "secret.key")).mode & 0o777, 0o600);
  const versionsBefore = await node.admin.listVersions("keeper");
  await node.kill();
  running = undefined;

  // Restore refuses a folder with something in it, then goes into a new one.
  const occupied = tempDir("flick-occupied-");
  scratch.push(occupied);
  writeFileSync(path.join(occupied, "something"), "x");
  const refused = await flick(["restore", backupDir, "--data-dir", occupied]);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /is not empty; restore into a new folder/);
  const target = path.join(tempDir("flick-restored-"), "data");
  scratch.push(path.dirname(target));
  mkdirSync(target);
  const restored = await flick(["restore", backupDir, "--data-dir", target]);
  assert.equal(restored.code, 0, restored.stderr);

  const again = await startTestNode({ hosts: 1, dataDir: target });
  running = again;
  assert.equal(readFileSync(path.join(target, "admin.token"), "utf8").trim(), node.adminToken, "the admin token is the same");
  const info = await again.admin.getFunction("keeper");
  assert.deepEqual(info.traffic, [{ version: v1.version, percent: 80 }, { version: v2.version, percent: 20 }]);
  assert.deepEqual((await again.admin.listVersions("keeper")).map((v) => v.id), versionsBefore.map((v) => v.id));
  const preview = await fetch(`${again.url}/fn/keeper@${v1.version}`, { headers: { authorization: `Bearer ${again.adminToken}` } });
  assert.equal(await preview.text(), "one:hi:k-123", "env and the sealed secret open with the restored key");
  const acmeAgain = new FlickClient(again.url, acme.token);
  assert.deepEqual((await acmeAgain.listFunctions()).map((f) => f.name), ["acme-fn"], "the tenant's token still acts for it");
  assert.ok((await acmeAgain.readLogs("acme-fn")).some((l) => l.message === "acme was here"));
  assert.equal((await again.admin.getInvocation(queued.id)).status, "queued");
  await again.admin.scale("later", { maxInstances: null });
  for (;;) {
    const inv = await again.admin.getInvocation(queued.id);
    if (inv.status === "completed") {
      assert.equal(inv.result?.body, "done payload");
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
});
