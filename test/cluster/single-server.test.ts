// One NATS server, not a cluster (a laptop, a first try): it keeps one copy of a stream.
// A node started for three copies says what to do and exits at once; with
// `--cluster-replicas 1` two nodes form one platform on it, and a function pinned to one
// node's zone answers through the other.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { startSingleNats } from "../support/nats-cluster.ts";
import { flickBin, repoRoot, startTestNode, tempDir, type TestNode } from "../support/node-process.ts";

let nats: ChildProcess | undefined;
let url = "";
const dir = tempDir("flick-single-nats-");
const key = path.join(dir, "cluster.key");
const nodes: TestNode[] = [];

before(async () => {
  writeFileSync(key, randomBytes(32).toString("hex"), { mode: 0o600 });
  const started = await startSingleNats(dir);
  nats = started.process;
  url = started.url;
});
after(async () => {
  await Promise.all(nodes.map((n) => n.kill("SIGKILL")));
  nats?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

test("a node asking a single NATS server for three copies exits with what to do", { timeout: 60_000 }, async () => {
  const dataDir = tempDir();
  const child = spawn(process.execPath, ["--no-node-snapshot", flickBin, "up", "--port", "0", "--data-dir", dataDir, "--cluster", url, "--node-name", "n0", "--secret-key-file", key], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  rmSync(dataDir, { recursive: true, force: true });
  assert.equal(code, 1, output);
  assert.match(output, /single server, not a cluster.*--cluster-replicas 1/);
  assert.doesNotMatch(output, /at async|JetStreamApiError/, "a sentence, not a stack");
});

test("with --cluster-replicas 1, two nodes on one NATS server are one platform: a function pinned to node-b's zone answers through node-a", { timeout: 120_000 }, async (t) => {
  // node-b listens on every address: it advertises one the others can reach, not 0.0.0.0.
  for (const [name, zone, host] of [["node-a", "a", "127.0.0.1"], ["node-b", "b", "0.0.0.0"]] as const) {
    nodes.push(await startTestNode({ hosts: 1, args: ["--host", host, "--cluster", url, "--cluster-replicas", "1", "--node-name", name, "--labels", `zone=${zone}`, "--secret-key-file", key] }));
  }
  const [a] = nodes;
  while ((await a!.admin.listNodes()).length < 2 && !t.signal.aborted) await new Promise((resolve) => setTimeout(resolve, 50));
  const b = (await a!.admin.listNodes()).find((n) => n.name === "node-b")!;
  assert.doesNotMatch(b.url, /0\.0\.0\.0/, `node-b advertises ${b.url}`);
  await deploySource(a!.admin, "hello", `export default { fetch: () => new Response("hi") };`);
  await a!.admin.scale("hello", { pin: { zone: "b" } });
  for (;;) {
    const res = await fetch(`${a!.url}/fn/hello`);
    const text = await res.text();
    if (res.headers.get("x-flick-forwarded-to") === "node-b" || t.signal.aborted) {
      assert.deepEqual([res.status, text], [200, "hi"]);
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});

test("--advertise takes an origin, and says what to give otherwise", { timeout: 30_000 }, async () => {
  const child = spawn(process.execPath, ["--no-node-snapshot", flickBin, "up", "--port", "0", "--advertise", "10.0.0.5:8080"], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  assert.equal(await new Promise<number | null>((resolve) => child.once("exit", resolve)), 1, output);
  assert.match(output, /--advertise: "10\.0\.0\.5:8080" is not an origin; give where the other nodes reach this one, as http:\/\/10\.0\.0\.5:8080/);
});
