// Settings stick and secrets live apart from deploys: a deploy changes what it names and
// keeps the rest, `flick secret put|ls|rm` each make a version, and `flick info` says where
// every setting came from. Real node, real CLI processes, real HTTP.
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick, type CliResult } from "./support/cli.ts";
import { deploySource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
const scratch: string[] = [];

before(async () => {
  node = await startTestNode({ hosts: 1 });
});
after(async () => {
  await node?.kill();
  for (const dir of [...scratch, node?.dataDir ?? ""]) if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

/** A folder with these files. */
function project(files: Record<string, string>): string {
  const dir = tempDir("flick-settings-");
  scratch.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

/** The CLI as the node's operator runs it, in `cwd`. */
function cli(cwd: string, args: string[], input?: string): Promise<CliResult> {
  return flick([...args, "--data-dir", node.dataDir], {}, cwd, input);
}

async function ok(result: Promise<CliResult>): Promise<string> {
  const r = await result;
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** What the function reports about its env (the module below answers with it as JSON). */
async function envSeen(name: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${node.url}/fn/${name}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as Record<string, unknown>;
}

const reportsEnv = (tag: string) =>
  `export default { fetch: (_r: Request, env: Record<string, unknown>) => Response.json({ tag: ${JSON.stringify(tag)}, GREETING: env.GREETING ?? null, API_KEY: env.API_KEY ?? null, MODE: env.MODE ?? null }) };\n`;

test("a redeploy keeps the env, secrets and limits it does not name; info says where each came from", async () => {
  const dir = project({ "sticky.ts": reportsEnv("v1") });
  await ok(cli(dir, ["deploy", "sticky.ts", "--env", "GREETING=hi", "--secret", "API_KEY=k1", "--timeout", "5s", "--memory", "64", "--private"]));
  writeFileSync(path.join(dir, "sticky.ts"), reportsEnv("v2"));
  await ok(cli(dir, ["deploy", "sticky.ts", "--env", "MODE=prod", "--public"]));
  assert.deepEqual(await envSeen("sticky"), { tag: "v2", GREETING: "hi", API_KEY: "k1", MODE: "prod" });
  const info = JSON.parse(await ok(cli(dir, ["info", "sticky", "--json"])));
  assert.equal(info.settings.timeoutMs, 5000);
  assert.equal(info.settings.memoryMiB, 64);
  assert.equal(info.settings.private, false);
  assert.equal(info.sources["timeoutMs"].from, "--timeout");
  assert.equal(info.sources["env.GREETING"].from, "--env");
  assert.equal(info.sources["secrets.API_KEY"].from, "--secret");
  assert.equal(info.sources["private"].from, "--public");
  // Kept settings point at the version that set them, not at the new one.
  assert.notEqual(info.sources["timeoutMs"].version, info.liveVersion);
  assert.equal(info.sources["env.MODE"].version, info.liveVersion);
  const text = await ok(cli(dir, ["info", "sticky"]));
  assert.match(text, /timeout\s+5s\s+--timeout, version [0-9a-f]{16}/);
  assert.match(text, /secret\.API_KEY\s+••••\s+--secret/);
  assert.doesNotMatch(text, /k1/, "a secret's value is never printed");
});

test("--unset returns settings to their defaults and removes map entries", async () => {
  const dir = project({ "unset-me.ts": reportsEnv("u").replace("export default {", "export default { scheduled() {},") });
  await ok(cli(dir, ["deploy", "unset-me.ts", "--env", "GREETING=hi", "--env", "MODE=x", "--secret", "API_KEY=k", "--memory", "256", "--cron", "@daily"]));
  await ok(cli(dir, ["deploy", "unset-me.ts", "--unset", "memory", "--unset", "env.MODE", "--unset", "secret.API_KEY", "--unset", "cron"]));
  assert.deepEqual(await envSeen("unset-me"), { tag: "u", GREETING: "hi", API_KEY: null, MODE: null });
  const info = JSON.parse(await ok(cli(dir, ["info", "unset-me", "--json"])));
  assert.equal(info.settings.memoryMiB, 128);
  assert.deepEqual(info.settings.crons, []);
  assert.equal(info.sources["memoryMiB"], undefined, "a setting back at its default has no source");
  const bad = await cli(dir, ["deploy", "unset-me.ts", "--unset", "memroy"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--unset memroy: expected memory, timeout/);
});

test("flick secret put / ls / rm: each change is a version, values come from stdin, and redeploys keep them", async () => {
  const dir = project({ "vault.ts": reportsEnv("v1"), "flick.toml": `name = "vault"\nentry = "vault.ts"\n[env]\nGREETING = "from toml"\n` });
  await ok(cli(dir, ["deploy"]));
  const put = await ok(cli(dir, ["secret", "put", "API_KEY"], "sk-live-123\n"));
  assert.match(put, /vault: secret API_KEY set; live version is now [0-9a-f]{16}/);
  assert.deepEqual(await envSeen("vault"), { tag: "v1", GREETING: "from toml", API_KEY: "sk-live-123", MODE: null });

  // A redeploy from the config (which never names secrets) keeps it.
  writeFileSync(path.join(dir, "vault.ts"), reportsEnv("v2"));
  await ok(cli(dir, ["deploy"]));
  assert.deepEqual(await envSeen("vault"), { tag: "v2", GREETING: "from toml", API_KEY: "sk-live-123", MODE: null });
  const listed = await ok(cli(dir, ["secret", "ls"]));
  assert.match(listed, /^API_KEY {2}\(flick secret put, version [0-9a-f]{16}\)$/m);
  assert.doesNotMatch(listed, /sk-live/);

  const versionsBefore = JSON.parse(await ok(cli(dir, ["versions", "vault", "--json"]))).length;
  await ok(cli(dir, ["secret", "rm", "API_KEY"]));
  assert.equal((await envSeen("vault"))["API_KEY"], null);
  assert.equal(JSON.parse(await ok(cli(dir, ["versions", "vault", "--json"]))).length, versionsBefore + 1);
  assert.match(await ok(cli(dir, ["secret", "rm", "API_KEY"])), /was already absent; nothing changed/);

  const empty = await cli(dir, ["secret", "put", "API_KEY"], "");
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no value for API_KEY on stdin/);
  const badName = await cli(dir, ["secret", "put", "1BAD"], "x");
  assert.equal(badName.code, 1);
  assert.match(badName.stderr, /secret names are letters, digits and _/);
});

test("secrets put at the same moment are all kept (deploys of one function merge one after another)", async () => {
  await deploySource(node.admin, "racing", reportsEnv("r"));
  const names = Array.from({ length: 8 }, (_, i) => `KEY_${i}`);
  await Promise.all(names.map((n) => node.admin.setSecret("racing", n, `value-${n}`)));
  const info = await node.admin.getFunction("racing");
  assert.deepEqual(info.settings.secretNames, names);
});

// Another tenant's secrets and odd deploy input: test/hostile/cross-tenant-controls.test.ts.
