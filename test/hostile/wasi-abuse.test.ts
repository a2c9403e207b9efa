// A WASI program that tries to take more than its share through WASI calls (src/wasi/):
// stdout without end, files opened without end, a write a terabyte into a file. Each gets
// an errno it can handle, or a clean 502, and the node keeps serving.
import assert from "node:assert/strict";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick } from "../support/cli.ts";
import { repoRoot, startTestNode, tempDir, type TestNode } from "../support/node-process.ts";
import { buildC } from "../support/wasi-build.ts";

let node: TestNode;

before(async () => {
  const prog = buildC(path.join(repoRoot, "test", "hostile", "wasi", "hostile.c"));
  node = await startTestNode({ hosts: 1 });
  const deployed = await flick(["deploy", prog, "--name", "hostile", "--dir", `${tempDir("flick-wasi-tmp-")}:/tmp`, "--memory", "128", "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
});
after(() => node?.kill());

async function stillServes(): Promise<void> {
  const res = await fetch(`${node.url}/fn/hostile/nope`);
  assert.equal(res.status, 404);
  assert.equal(await res.text(), "no such path: /nope\n");
}

test("stdout without end: past 32 MiB a write fails with EFBIG, the program's exit is a 502 quoting stderr", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/hostile/stdout-flood`);
  const body = (await res.json()) as { error: { code: string; stderr?: string } };
  assert.equal(res.status, 502, JSON.stringify(body));
  assert.equal(res.headers.get("x-flick-exit-code"), "3");
  assert.match(body.error.stderr ?? "", /^write failed after (\d+) MiB: errno 22\n$/);
  assert.ok(Number(/after (\d+)/.exec(body.error.stderr!)![1]) <= 32);
  await stillServes();
});

test("files opened without end: past 1,024 descriptors an open fails with EMFILE", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/hostile/fd-flood`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.match(text, /^open failed after 1020 files: errno 33\n$/);
  await stillServes();
});

test("a write or size a terabyte into a file is EFBIG, not an allocation", { timeout: 60_000 }, async () => {
  const res = await fetch(`${node.url}/fn/hostile/pwrite-far`);
  const text = await res.text();
  assert.equal(res.status, 200, text);
  assert.equal(text, "pwrite returned -1, errno 22\npwrite returned -1, errno 22\nftruncate returned -1, errno 22\n");
  await stillServes();
});
