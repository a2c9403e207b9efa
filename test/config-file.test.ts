// flick.toml and flick init as a user meets them: `flick deploy` with no argument deploys
// the folder's config, flags override it, every mistake names the file, line and key, and
// `flick init` makes a project whose own test passes and which deploys as it is.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick, type CliResult } from "./support/cli.ts";
import { repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
const scratch: string[] = [];

before(async () => {
  node = await startTestNode({ hosts: 1 });
});
after(async () => {
  await node?.kill();
  for (const dir of [...scratch, node?.dataDir ?? ""]) if (dir !== "") rmSync(dir, { recursive: true, force: true });
});

function project(files: Record<string, string>): string {
  const dir = tempDir("flick-config-");
  scratch.push(dir);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

function cli(cwd: string, ...args: string[]): Promise<CliResult> {
  return flick([...args, "--data-dir", node.dataDir], {}, cwd);
}

async function ok(result: Promise<CliResult>): Promise<string> {
  const r = await result;
  assert.equal(r.code, 0, `exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

const module_ = `export default {
  fetch: (_r: Request, env: Record<string, unknown>) => Response.json({ GREETING: env.GREETING ?? null, LEVEL: env.LEVEL ?? null }),
  scheduled() {},
};\n`;

test("flick deploy with no argument deploys the folder's flick.toml; flags override it", async () => {
  const dir = project({
    "src/main.ts": module_,
    "flick.toml": `name = "configured"
entry = "src/main.ts"
memory = 64
timeout = "12s"
cpu_limit = "50ms"
retries = 1
max_event_age = "1h"

[env]
GREETING = "from the file"
LEVEL = 3

[cron]
schedules = ["0 9 * * MON-FRI"]
time_zone = "Europe/Paris"
missed = "skip"

[scale]
max_instances = 5
`,
  });
  const out = await ok(cli(dir, "deploy"));
  assert.match(out, /^configured: deployed$/m);
  assert.match(out, /scale\s+min 0, max 5/);
  const info = JSON.parse(await ok(cli(dir, "info", "configured", "--json")));
  assert.equal(info.settings.memoryMiB, 64);
  assert.equal(info.settings.timeoutMs, 12_000);
  assert.equal(info.settings.cpuLimitMs, 50);
  assert.equal(info.settings.retries, 1);
  assert.equal(info.settings.maxEventAgeMs, 3_600_000);
  assert.deepEqual(info.settings.env, { GREETING: "from the file", LEVEL: "3" });
  assert.deepEqual(info.settings.crons, ["0 9 * * MON-FRI"]);
  assert.equal(info.settings.timeZone, "Europe/Paris");
  assert.equal(info.settings.cronMissed, "skip");
  assert.equal(info.scale.maxInstances, 5);
  assert.equal(info.sources["memoryMiB"].from, "flick.toml");
  assert.equal(info.sources["env.LEVEL"].from, "flick.toml");

  // A flag wins over the file, and says so.
  await ok(cli(dir, "deploy", "--memory", "256", "--env", "GREETING=from a flag"));
  const after = JSON.parse(await ok(cli(dir, "info", "configured", "--json")));
  assert.equal(after.settings.memoryMiB, 256);
  assert.equal(after.sources["memoryMiB"].from, "--memory");
  assert.equal(after.sources["env.GREETING"].from, "--env");
  assert.equal(after.sources["env.LEVEL"].from, "flick.toml");
  assert.deepEqual(await (await fetch(`${node.url}/fn/configured`)).json(), { GREETING: "from a flag", LEVEL: "3" });

  // [env] in the file is the whole env: a name taken out of the file leaves the function.
  writeFileSync(path.join(dir, "flick.toml"), readFileSync(path.join(dir, "flick.toml"), "utf8").replace("LEVEL = 3\n", ""));
  await ok(cli(dir, "deploy"));
  assert.deepEqual(await (await fetch(`${node.url}/fn/configured`)).json(), { GREETING: "from the file", LEVEL: null });
});

test("config mistakes name the file, the line and the key, and say how to fix them", async () => {
  const cases: { toml: string; error: RegExp }[] = [
    { toml: `name = "x"\nentry = "a.ts"\nmemory = 4096\n`, error: /flick\.toml:3: memory = 4096: must be 16\.\.1024 MiB/ },
    { toml: `name = "x"\nentry = "a.ts"\nmemroy = 64\n`, error: /flick\.toml:3: memroy: unknown key; did you mean "memory"\?/ },
    { toml: `name = "x"\nentry = "a.ts"\n\n[env]\nGREETING = [1, 2]\n`, error: /flick\.toml:5: env\.GREETING: expected a string/ },
    { toml: `name = "x"\nentry = "a.ts"\n[cron]\nschedule = ["@daily"]\n`, error: /flick\.toml:4: cron\.schedule: unknown key; did you mean "schedules"\?/ },
    { toml: `name = "x"\nentry = "a.ts"\ntimeout = "forever"\n`, error: /flick\.toml:3: timeout = forever: expected a duration like 30s/ },
    { toml: `name = "x"\nentry = "a.ts"\n[secrets]\nAPI_KEY = "oops"\n`, error: /flick\.toml:3: secrets: secrets do not go in flick\.toml.*flick secret put NAME/ },
    { toml: `name = "Not A Name"\nentry = "a.ts"\n`, error: /flick\.toml:1: name: function names are 1-63 lowercase/ },
    { toml: `name = "x"\nentry = "a.ts"\nmemory = \n`, error: /flick\.toml:3:\d+: .*TOML syntax/ },
    { toml: `name = "x"\n`, error: /flick\.toml: no entry = "…"/ },
  ];
  for (const { toml, error } of cases) {
    const dir = project({ "flick.toml": toml, "a.ts": module_ });
    const result = await cli(dir, "deploy");
    assert.equal(result.code, 1, `${toml}\n${result.stdout}${result.stderr}`);
    assert.match(result.stderr, error, toml);
  }
  const none = await cli(project({}), "deploy");
  assert.equal(none.code, 1);
  assert.match(none.stderr, /no entry file given and no flick\.toml here .*flick init/);
});

test("flick init makes a project whose test passes and which deploys as it is; it never writes over files", async () => {
  const parent = project({});
  const created = await flick(["init", "hello-world"], {}, parent);
  assert.equal(created.code, 0, created.stderr);
  const dir = path.join(parent, "hello-world");
  for (const file of ["flick.toml", "src/index.ts", "test/index.test.ts", "package.json", ".gitignore"]) assert.ok(readFileSync(path.join(dir, file), "utf8").length > 0, file);
  assert.match(readFileSync(path.join(dir, ".gitignore"), "utf8"), /^\.dev\.secrets$/m);

  // Its own test, as its package.json runs it (npm test), with this Node.
  const script = (JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { scripts: { test: string } }).scripts.test;
  // Without NODE_TEST_CONTEXT, which would make the child report to this test runner instead of printing.
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env["PATH"]}` };
  delete env["NODE_TEST_CONTEXT"];
  const run = spawnSync("sh", ["-c", script], { cwd: dir, encoding: "utf8", env });
  assert.equal(run.status, 0, `${script}\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /pass 2\n/);

  await ok(cli(dir, "deploy"));
  assert.deepEqual(await (await fetch(`${node.url}/fn/hello-world?name=Ada`)).json(), { message: "Hello, Ada!" });

  const again = await flick(["init", "hello-world"], {}, parent);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already has flick\.toml, src\/index\.ts.*nothing was written/);
});

test("flick types writes Env from flick.toml and the local secrets; code using it typechecks, a wrong name does not", async () => {
  const dir = project({
    "flick.toml": `name = "typed"\nentry = "src/index.ts"\n[env]\nGREETING = "hi"\n[bindings.services]\nUSERS = "users"\n[bindings.queues]\nJOBS = "jobs"\n`,
    ".dev.secrets": "API_KEY=local\n",
    "src/index.ts": `export default {
  async fetch(_request: Request, env: Env, ctx: ExecutionContext): Promise<Response> {
    ctx.waitUntil(env.JOBS.send({ at: Date.now() }));
    const users = await env.USERS.fetch("http://users/list");
    return new Response(env.GREETING + env.API_KEY.length + users.status);
  },
  scheduled(controller: ScheduledController, env: Env) { console.log(controller.cron, env.GREETING); },
  queue(batch: MessageBatch<{ at: number }>) { for (const m of batch.messages) m.ack(); },
};\n`,
  });
  const made = await flick(["types"], {}, dir);
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /flick-env\.d\.ts: Env with 1 vars, 1 secrets, 2 bindings/);
  const declarations = readFileSync(path.join(dir, "flick-env.d.ts"), "utf8");
  assert.match(declarations, /^ {2}API_KEY: string;/m);
  assert.doesNotMatch(declarations, /local/, "a secret's value never reaches the file");
  const tsc = (file: string) =>
    spawnSync(path.join(repoRoot, "node_modules", ".bin", "tsc"), [
      "--ignoreConfig", "--noEmit", "--strict", "--target", "ES2023", "--lib", "ES2023,DOM", "--module", "NodeNext", "--moduleResolution", "NodeNext", file, "flick-env.d.ts",
    ], { cwd: dir, encoding: "utf8" });
  const good = tsc("src/index.ts");
  assert.equal(good.status, 0, good.stdout + good.stderr);
  writeFileSync(path.join(dir, "src", "wrong.ts"), "export const f = (env: Env) => env.NOPE;\n");
  const wrong = tsc("src/wrong.ts");
  assert.notEqual(wrong.status, 0, wrong.stdout + wrong.stderr);
  assert.match(wrong.stdout, /Property 'NOPE' does not exist on type 'Env'/);
});
