import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { checkRuntime, isolatedVmVersion, versionAtLeast } from "./check-runtime.ts";

test("version comparison", () => {
  assert.equal(versionAtLeast("6.2.0", [6, 2, 0]), true);
  assert.equal(versionAtLeast("6.10.1", [6, 2, 0]), true);
  assert.equal(versionAtLeast("7.0.0", [6, 2, 0]), true);
  assert.equal(versionAtLeast("6.1.9", [6, 2, 0]), false);
  assert.equal(versionAtLeast("5.0.4", [6, 2, 0]), false);
});

test("the installed isolated-vm is one without the known sandbox escape", () => {
  assert.equal(versionAtLeast(isolatedVmVersion(), [6, 2, 0]), true, isolatedVmVersion());
});

test("a worker host refuses to start without --no-node-snapshot", () => {
  assert.throws(() => checkRuntime([], ""), /--no-node-snapshot/);
  assert.doesNotThrow(() => checkRuntime(["--no-node-snapshot"], ""));
  assert.doesNotThrow(() => checkRuntime([], "--max-old-space-size=100 --no-node-snapshot"));
  const entry = fileURLToPath(new URL("./worker-main.ts", import.meta.url));
  const env = { ...process.env, NODE_OPTIONS: "" };
  const run = spawnSync(process.execPath, [entry], { encoding: "utf8", env, timeout: 20_000 });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /must run with `node --no-node-snapshot`/);
});
