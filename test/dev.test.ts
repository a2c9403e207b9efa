// `flick dev` never touches a live function: run where the function's flick.toml is, with
// FLICK_URL and FLICK_TOKEN pointing at a live node that serves the same function, it runs
// its own node, with the file's settings and the local secrets, reloads on save, fires the
// scheduled and queue handlers on request — and the live version, env and secrets stay.
import assert from "node:assert/strict";
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick } from "./support/cli.ts";
import { spawnLive, type LiveCli } from "./support/live-cli.ts";
import { repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";
import { buildC } from "./support/wasi-build.ts";

let live: TestNode;
let dir: string;
const running: LiveCli[] = [];

const source = (tag: string) => `export default {
  fetch: (_r: Request, env: Record<string, unknown>) => Response.json({ tag: ${JSON.stringify(tag)}, GREETING: env.GREETING, API_KEY: env.API_KEY ?? null }),
  scheduled(controller: { cron: string }) { console.log("scheduled ran: " + controller.cron); },
  queue(batch: { messages: { body: unknown }[] }) { for (const m of batch.messages) console.log("queue got: " + String(m.body)); },
};\n`;

before(async () => {
  live = await startTestNode({ hosts: 1 });
  dir = tempDir("flick-dev-");
  mkdirSync(path.join(dir, "src"));
  writeFileSync(path.join(dir, "src", "index.ts"), source("live"));
  writeFileSync(path.join(dir, "flick.toml"), `name = "shop"\nentry = "src/index.ts"\n\n[env]\nGREETING = "hello from the file"\n`);
  writeFileSync(path.join(dir, ".dev.secrets"), "# local only\nAPI_KEY=\"dev-key\"\n");
});
after(async () => {
  for (const cli of running) cli.kill();
  await live?.kill();
  rmSync(dir, { recursive: true, force: true });
  if (live !== undefined) rmSync(live.dataDir, { recursive: true, force: true });
});

test("flick dev runs on its own node, reloads on save, fires scheduled and queue handlers, and leaves the live function as it was", async () => {
  const liveEnv = { FLICK_URL: live.url, FLICK_TOKEN: live.adminToken };
  // The live function, with its own env, a secret and a timeout.
  const deployed = await flick(["deploy", "--env", "GREETING=live greeting", "--secret", "API_KEY=live-key", "--timeout", "7s"], liveEnv, dir);
  assert.equal(deployed.code, 0, deployed.stderr);
  const before = await live.admin.getFunction("shop");

  const dev = spawnLive(["dev", "--port", "0"], { cwd: dir, env: liveEnv });
  running.push(dev);
  const [, url] = await dev.printed(/url\s+(http:\/\/127\.0\.0\.1:\d+\/fn\/shop)\n/);
  await dev.printed(/shop: deployed version [0-9a-f]{16}/);
  assert.notEqual(new URL(url!).port, new URL(live.url).port);
  assert.deepEqual(await (await fetch(url!)).json(), { tag: "live", GREETING: "hello from the file", API_KEY: "dev-key" });

  // Saving a file redeploys the dev function.
  writeFileSync(path.join(dir, "src", "index.ts"), source("edited"));
  await dev.printed(/shop: deployed version [0-9a-f]{16}[^]*shop: deployed version [0-9a-f]{16}/);
  assert.equal(((await (await fetch(url!)).json()) as { tag: string }).tag, "edited");

  dev.type("s");
  await dev.printed("scheduled ran: manual");
  dev.type("q hello queue");
  await dev.printed("queue got: hello queue");
  assert.equal(await dev.interrupt(), 0, dev.stderr());

  // The live node never heard of any of it.
  const after = await live.admin.getFunction("shop");
  assert.equal(after.liveVersion, before.liveVersion);
  assert.deepEqual(after.settings.env, { GREETING: "live greeting" });
  assert.deepEqual(after.settings.secretNames, ["API_KEY"]);
  assert.equal(after.settings.timeoutMs, 7000);
  assert.equal((await live.admin.listVersions("shop")).length, 1);
  assert.deepEqual(await (await fetch(`${live.url}/fn/shop`)).json(), { tag: "live", GREETING: "live greeting", API_KEY: "live-key" });
});

test("flick dev says what is wrong with the local secrets file, by line", async () => {
  const bad = tempDir("flick-dev-bad-");
  try {
    writeFileSync(path.join(bad, "app.ts"), source("x"));
    writeFileSync(path.join(bad, ".dev.secrets"), "API_KEY=ok\nthis line is wrong\n");
    const dev = spawnLive(["dev", "app.ts", "--port", "0"], { cwd: bad });
    running.push(dev);
    await dev.printed(/\.dev\.secrets:2: expected NAME=value/, "stderr");
    await dev.printed("watching");
    assert.equal(await dev.interrupt(), 0);
  } finally {
    rmSync(bad, { recursive: true, force: true });
  }
});

test("flick dev serves a .wasm program with its --arg and --dir, and a rebuild of the file is deployed again", { timeout: 120_000 }, async () => {
  const wasm = tempDir("flick-dev-wasm-");
  try {
    const hello = buildC(path.join(repoRoot, "bench", "wasi", "hello.c"));
    const prog = buildC(path.join(repoRoot, "test", "wasi", "prog.c"));
    mkdirSync(path.join(wasm, "data"));
    writeFileSync(path.join(wasm, "data", "greeting.txt"), "from dev\n");
    copyFileSync(hello, path.join(wasm, "app.wasm"));
    const dev = spawnLive(["dev", "app.wasm", "--port", "0", "--arg", "from-dev", "--dir", "data:/data"], { cwd: wasm });
    running.push(dev);
    const [, url] = await dev.printed(/url\s+(http:\/\/127\.0\.0\.1:\d+\/fn\/app)\n/);
    await dev.printed(/app: deployed version [0-9a-f]{16}/);
    assert.equal(await (await fetch(`${url}/hello`)).text(), "Hello from WASI!\n");

    // The program is rebuilt (here: another build copied over it): the next request runs it.
    copyFileSync(prog, path.join(wasm, "app.wasm"));
    await dev.printed(/app: deployed version [0-9a-f]{16}[^]*app: deployed version [0-9a-f]{16}/);
    assert.equal(await (await fetch(`${url}/hello`)).text(), "hello from C\n");
    const cgi = (await (await fetch(`${url}/cgi`)).json()) as { argc: number; argv1: string };
    assert.deepEqual([cgi.argc, cgi.argv1], [2, "from-dev"]);
    assert.match(await (await fetch(`${url}/files`)).text(), /^read: from dev\n/);
    assert.equal(await dev.interrupt(), 0, dev.stderr());
  } finally {
    rmSync(wasm, { recursive: true, force: true });
  }
});
