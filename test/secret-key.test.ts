// The key that seals secrets, given by the operator (`flick up --secret-key-file`): what a
// cluster's nodes share. A node on a store sealed with one key refuses to start with
// another, or with none, saying which key it needs; with the right one, secrets open.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, test } from "node:test";
import { flick } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

const scratch: string[] = [];
let running: TestNode | undefined;
after(async () => {
  await running?.kill();
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

const reportsSecret = `export default { fetch: (_r, env) => new Response(env.API_KEY) };`;

test("secrets sealed under an operator's key open only with it: another key or none is refused with the fingerprint to use", { timeout: 120_000 }, async () => {
  const keys = tempDir("flick-keys-");
  const dataDir = tempDir();
  scratch.push(keys, dataDir);
  const key = path.join(keys, "flick.key");
  const other = path.join(keys, "other.key");
  writeFileSync(key, `${randomBytes(32).toString("hex")}\n`, { mode: 0o600 });
  writeFileSync(other, randomBytes(32), { mode: 0o600 });

  running = await startTestNode({ dataDir, hosts: 1, args: ["--secret-key-file", key, "--node-name", "alpha-1"] });
  await deploySource(running.admin, "sealed", reportsSecret, { secrets: { API_KEY: "k-123" } });
  assert.equal(await (await fetch(`${running.url}/fn/sealed`)).text(), "k-123");
  await running.kill();
  running = undefined;
  assert.equal(existsSync(path.join(dataDir, "secret.key")), false, "the operator's key stays the operator's: no copy in the data dir");

  const refused = await flick(["up", "--port", "0", "--data-dir", dataDir, "--hosts", "1", "--secret-key-file", other]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /the secrets this node stores were sealed with key ([0-9a-f]{16}), and --secret-key-file .*other\.key is key [0-9a-f]{16}: it could open none of them\. Start it with the key that sealed them/);
  const sealedWith = /sealed with key ([0-9a-f]{16})/.exec(refused.stderr)![1];
  const keyless = await flick(["up", "--port", "0", "--data-dir", dataDir, "--hosts", "1"]);
  assert.notEqual(keyless.code, 0);
  assert.match(keyless.stderr, new RegExp(`sealed with key ${sealedWith}, and the data dir has no secret\\.key: start it with that key \\(--secret-key-file`));
  assert.equal(existsSync(path.join(dataDir, "secret.key")), false, "a refused start makes no key of its own");

  running = await startTestNode({ dataDir, hosts: 1, args: ["--secret-key-file", key] });
  assert.equal(await (await fetch(`${running.url}/fn/sealed`)).text(), "k-123", "the same key opens what it sealed, after a restart");
  await running.kill();
  running = undefined;
});

test("a data dir with its own secret.key keeps it; --secret-key-file with another key is refused", { timeout: 120_000 }, async () => {
  const keys = tempDir("flick-keys-");
  const dataDir = tempDir();
  scratch.push(keys, dataDir);
  running = await startTestNode({ dataDir, hosts: 1 });
  await deploySource(running.admin, "sealed", reportsSecret, { secrets: { API_KEY: "own" } });
  await running.kill();
  running = undefined;
  const other = path.join(keys, "other.key");
  writeFileSync(other, randomBytes(32).toString("base64"), { mode: 0o600 });
  const refused = await flick(["up", "--port", "0", "--data-dir", dataDir, "--hosts", "1", "--secret-key-file", other]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /sealed with key [0-9a-f]{16}, and --secret-key-file .* is key [0-9a-f]{16}: .* or without --secret-key-file to use the data dir's own secret\.key/);
  // The data dir's key, given as a file, is the same key.
  running = await startTestNode({ dataDir, hosts: 1, args: ["--secret-key-file", path.join(dataDir, "secret.key")] });
  assert.equal(await (await fetch(`${running.url}/fn/sealed`)).text(), "own");
});

test("bad --node-name and --secret-key-file values are refused with how to fix them", async () => {
  const dataDir = tempDir();
  scratch.push(dataDir);
  const name = await flick(["up", "--port", "0", "--data-dir", dataDir, "--node-name", "no spaces/here"]);
  assert.notEqual(name.code, 0);
  assert.match(name.stderr, /--node-name: "no spaces\/here" is not a name; use 1 to 63 letters, digits/);
  const missing = await flick(["up", "--port", "0", "--data-dir", dataDir, "--secret-key-file", path.join(dataDir, "nope.key")]);
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /--secret-key-file .*nope\.key: no such file; make one with `openssl rand -hex 32/);
});
