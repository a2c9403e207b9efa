// `flick logs -f` across a node restart: it says the node went away (no stack trace, no
// exit), reconnects when a node serves that data dir again, and carries on from the last
// line it printed — nothing twice, nothing skipped.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { test } from "node:test";
import { deploySource } from "./support/functions.ts";
import { flickBin, repoRoot, startTestNode } from "./support/node-process.ts";

/** Resolves when `read()` includes `text`, checked each time `stream` has more; fails if the process ends first. */
async function seen(stream: NodeJS.ReadableStream, read: () => string, text: string, ended: Promise<unknown>): Promise<void> {
  while (!read().includes(text)) {
    const more = await Promise.race([once(stream, "data").then(() => true), ended.then(() => false)]);
    if (!more && !read().includes(text)) throw new Error(`flick logs -f ended before printing ${JSON.stringify(text)}`);
  }
}

test("flick logs -f says the node went away, follows it again when it is back, and loses no line", { timeout: 120_000 }, async () => {
  const first = await startTestNode({ hosts: 1 });
  await deploySource(first.admin, "chatty", `export default { fetch(request) { console.log("line", new URL(request.url).searchParams.get("n")); return new Response("ok"); } };`);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["FLICK_URL"];
  delete env["FLICK_TOKEN"];
  const child = spawn(process.execPath, [flickBin, "logs", "chatty", "-f", "--data-dir", first.dataDir], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const exited = once(child, "exit");
  let second: Awaited<ReturnType<typeof startTestNode>> | undefined;
  try {
    await (await fetch(`${first.url}/fn/chatty?n=one`)).text();
    await seen(child.stdout, () => stdout, "line one", exited);

    await first.kill();
    await seen(child.stderr, () => stderr, "went away; reconnecting when it is back", exited);
    assert.equal(child.exitCode, null, "still running");

    second = await startTestNode({ dataDir: first.dataDir, hosts: 1 });
    await seen(child.stderr, () => stderr, "is back; following chatty again", exited);
    await (await fetch(`${second.url}/fn/chatty?n=two`)).text();
    await seen(child.stdout, () => stdout, "line two", exited);

    assert.equal(stdout.split("line one").length - 1, 1, `"line one" printed once:\n${stdout}`);
    assert.doesNotMatch(stderr, /\n\s+at /, "no stack trace");
  } finally {
    child.kill("SIGINT");
    const [code] = await exited;
    assert.equal(code, 0, stderr);
    await second?.kill();
    await first.kill();
  }
});
