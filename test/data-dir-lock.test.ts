// One node per data dir: a second `flick up` on a data dir in use is refused with a message
// naming the node that has it, and leaves that node (its socket, its node.json) alone. A
// node that dies, even by SIGKILL, leaves no lock behind.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { flickBin, repoRoot, startTestNode, tempDir } from "./support/node-process.ts";

function secondUp(dataDir: string): { status: number | null; output: string } {
  const result = spawnSync(process.execPath, [flickBin, "up", "--port", "0", "--hosts", "1", "--data-dir", dataDir], { cwd: repoRoot, encoding: "utf8", timeout: 60_000 });
  return { status: result.status, output: result.stdout + result.stderr };
}

test("a second node on a data dir in use is refused and the first keeps serving", { timeout: 120_000 }, async () => {
  const first = await startTestNode({ hosts: 1 });
  try {
    const info = readFileSync(path.join(first.dataDir, "node.json"), "utf8");
    const second = secondUp(first.dataDir);
    assert.equal(second.status, 1, second.output);
    assert.match(second.output, new RegExp(`data dir ${first.dataDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} is in use by another Flick node \\(pid ${first.process.pid}, ${first.url.replace(/[.]/g, "\\.")}\\)`));
    assert.match(second.output, /--data-dir/);
    assert.doesNotMatch(second.output, /Flick is up/);
    // The first node is untouched: its node.json, its API, its socket to its hosts (a deploy goes through them).
    assert.equal(readFileSync(path.join(first.dataDir, "node.json"), "utf8"), info);
    await first.admin.deploy("hello", { code: `export default { fetch: () => new Response("still here") };` });
    assert.equal(await (await fetch(`${first.url}/fn/hello`)).text(), "still here");
  } finally {
    await first.kill();
  }
});

test("a node stopped gently or killed leaves the data dir free for the next", { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  const gentle = await startTestNode({ dataDir, hosts: 1 });
  await gentle.kill("SIGTERM");
  const killed = await startTestNode({ dataDir, hosts: 1 });
  await killed.kill("SIGKILL");
  const next = await startTestNode({ dataDir, hosts: 1 });
  await next.kill();
});
