// The `flick` CLI, run as a user runs it: a child process talking to a real node.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { commands } from "../src/cli/index.ts";
import { flick } from "./support/cli.ts";
import { flickBin, repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
/** The CLI as the user on the node's machine runs it: it finds the node through the data dir. */
const cli = (...args: string[]) => flick([...args, "--data-dir", node.dataDir]);

/** A function folder with its own package.json and node_modules, as a user's project. */
function project(files: Record<string, string>): string {
  const dir = tempDir("flick-cli-project-");
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text);
  }
  return dir;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function spawnCli(args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(process.execPath, [flickBin, ...args, "--data-dir", node.dataDir], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  return { child, output: () => output };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  await exited;
}

const text = async (url: string) => (await fetch(url)).text();

before(async () => {
  node = await startTestNode();
});
after(() => node.kill());

test("--help works for flick and every command, with usage and examples", async () => {
  const top = await flick(["--help"]);
  assert.equal(top.code, 0);
  for (const c of commands) assert.match(top.stdout, new RegExp(`\\n  ${c.name} `));
  for (const c of commands) {
    const help = await flick([c.name, "--help"]);
    assert.equal(help.code, 0, c.name);
    assert.match(help.stdout, new RegExp(`Usage: flick ${c.name}`));
    assert.match(help.stdout, /Examples:\n  flick /);
  }
});

test("unknown commands, bad flags and missing arguments exit 2 with a message", async () => {
  const unknown = await flick(["deploi"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown command "deploi"/);
  const badFlag = await flick(["ls", "--colour"]);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /Unknown option '--colour'/);
  const missing = await flick(["info"]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /expected 1 argument/);
});

test("config comes from the data dir, from FLICK_URL/FLICK_TOKEN, and a missing node says to run flick up", async () => {
  assert.equal((await cli("ls")).code, 0);
  const viaEnv = await flick(["ls", "--json"], { FLICK_URL: node.url, FLICK_TOKEN: node.adminToken }, tempDir());
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.ok(Array.isArray(JSON.parse(viaEnv.stdout)));
  const nowhere = await flick(["ls"], {}, tempDir());
  assert.equal(nowhere.code, 1);
  assert.match(nowhere.stderr, /flick up/);
  const badToken = await flick(["ls"], { FLICK_URL: node.url, FLICK_TOKEN: "flk_wrong" }, tempDir());
  assert.equal(badToken.code, 1);
  assert.match(badToken.stderr, /unknown token/);
});

test("deploy bundles a TypeScript entry with an npm package resolved from its own folder", async () => {
  const dir = project({
    "package.json": JSON.stringify({ name: "greeter", type: "module", dependencies: { "greeting-lib": "1.0.0" } }),
    "node_modules/greeting-lib/package.json": JSON.stringify({ name: "greeting-lib", version: "1.0.0", type: "module", exports: { ".": { workerd: "./worker.js", default: "./index.js" } } }),
    "node_modules/greeting-lib/worker.js": `export const greet = (name) => "Hello, " + name + " (worker build)";`,
    "node_modules/greeting-lib/index.js": `export const greet = (name) => "Hello, " + name;`,
    "src/greeter.ts": `import { greet } from "greeting-lib";\ninterface Env { WHO: string }\nexport default { fetch(_req: Request, env: Env): Response { return new Response(greet(env.WHO)); } };\n`,
  });
  const deployed = await cli("deploy", path.join(dir, "src/greeter.ts"), "--env", "WHO=Ada");
  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stdout, /greeter: deployed/);
  assert.match(deployed.stdout, /version {2}[0-9a-f]{16}/);
  assert.match(deployed.stdout, new RegExp(`url {6}${node.url}/fn/greeter`));
  assert.equal(await text(`${node.url}/fn/greeter`), "Hello, Ada (worker build)");
  const named = await cli("deploy", path.join(dir, "src/greeter.ts"), "--name", "greeter-two", "--env", "WHO=Bob");
  assert.equal(named.code, 0, named.stderr);
  assert.equal(await text(`${node.url}/fn/greeter-two`), "Hello, Bob (worker build)");
});

test("redeploy of the same code is a no-op; versions, rollback and rm work as a user expects", async () => {
  const dir = project({ "app.ts": `export default { fetch: () => new Response("v1") };` });
  const entry = path.join(dir, "app.ts");
  const first = await cli("deploy", entry);
  assert.equal(first.code, 0, first.stderr);
  const v1 = /version {2}([0-9a-f]{16})/.exec(first.stdout)![1]!;
  const again = await cli("deploy", entry);
  assert.match(again.stdout, /app: unchanged/);
  assert.equal((await cli("versions", "app")).stdout.trim().split("\n").length, 2, "header + one version");

  writeFileSync(entry, `export default { fetch: () => new Response("v2") };`);
  const second = await cli("deploy", entry);
  const v2 = /version {2}([0-9a-f]{16})/.exec(second.stdout)![1]!;
  assert.notEqual(v2, v1);
  assert.equal(await text(`${node.url}/fn/app`), "v2");
  const versions = (await cli("versions", "app")).stdout;
  assert.match(versions, new RegExp(`^\\*\\s+${v2}`, "m"));
  assert.match(versions, new RegExp(`^\\s+${v1}`, "m"));

  const back = await cli("rollback", "app");
  assert.equal(back.code, 0, back.stderr);
  assert.match(back.stdout, new RegExp(`live version is now ${v1}`));
  assert.equal(await text(`${node.url}/fn/app`), "v1");
  assert.equal((await cli("rollback", "app", "--to", v2)).code, 0);
  assert.equal(await text(`${node.url}/fn/app`), "v2");
  const unknown = await cli("rollback", "app", "--to", "0123456789abcdef");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no version 0123456789abcdef/);

  assert.equal((await cli("rm", "app")).code, 0);
  assert.equal((await fetch(`${node.url}/fn/app`)).status, 404);
  const gone = await cli("info", "app");
  assert.equal(gone.code, 1);
  assert.match(gone.stderr, /no function named "app"/);
});

test("ls and info show settings and secret names, never secret values; the function sees the secret", async () => {
  const dir = project({ "vault.ts": `export default { fetch: (_r: Request, env: { API_KEY: string; MODE: string }) => new Response(env.API_KEY + "/" + env.MODE) };` });
  const deployed = await cli("deploy", path.join(dir, "vault.ts"), "--memory", "256", "--timeout", "5s", "--env", "MODE=prod", "--secret", "API_KEY=s3cr3t-value");
  assert.equal(deployed.code, 0, deployed.stderr);
  assert.equal(await text(`${node.url}/fn/vault`), "s3cr3t-value/prod");
  const outputs = await Promise.all([cli("info", "vault"), cli("info", "vault", "--json"), cli("ls"), cli("ls", "--json"), cli("versions", "vault", "--json")]);
  for (const out of outputs) {
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.includes("s3cr3t-value"), false, "a secret value was printed");
  }
  const info = outputs[0]!.stdout;
  assert.match(info, /memory {5}256 MiB/);
  assert.match(info, /timeout {4}5s/);
  assert.match(info, /env {8}MODE=prod/);
  assert.match(info, /secrets {4}API_KEY=••••/);
  assert.match(outputs[2]!.stdout, /^vault\s+default\s+[0-9a-f]{16}\s+256 MiB, 5s/m);
});

test("bad deploys exit 1 naming the field, the rule or file:line, and store nothing", async () => {
  const dir = project({
    "ok.ts": `export default { fetch: () => new Response("ok") };`,
    "broken.ts": `export default {\n  fetch() {\n    return new Response("x";\n  },\n};\n`,
    "uses-fs.ts": `import { readFileSync } from "node:fs";\nexport default { fetch: () => new Response(readFileSync("/etc/passwd")) };\n`,
    "no-fetch.ts": `export default { hello() {} };`,
  });
  const memory = await cli("deploy", path.join(dir, "ok.ts"), "--memory", "5000");
  assert.equal(memory.code, 1);
  assert.match(memory.stderr, /memoryMiB/);
  const name = await cli("deploy", path.join(dir, "ok.ts"), "--name", "Bad_Name");
  assert.equal(name.code, 1);
  assert.match(name.stderr, /lowercase letters, digits and dashes/);
  const timeout = await cli("deploy", path.join(dir, "ok.ts"), "--timeout", "soon");
  assert.equal(timeout.code, 1);
  assert.match(timeout.stderr, /--timeout soon: expected a duration/);
  const syntax = await cli("deploy", path.join(dir, "broken.ts"));
  assert.equal(syntax.code, 1);
  assert.match(syntax.stderr, /broken\.ts:3:\d+: /);
  const fs = await cli("deploy", path.join(dir, "uses-fs.ts"));
  assert.equal(fs.code, 1);
  assert.match(fs.stderr, /uses-fs\.ts:1:\d+: "node:fs" is a Node\.js built-in module/);
  const noFetch = await cli("deploy", path.join(dir, "no-fetch.ts"));
  assert.equal(noFetch.code, 1);
  assert.match(noFetch.stderr, /no fetch method.*\[missing_fetch_handler\]/s);
  const missing = await cli("deploy", path.join(dir, "not-there.ts"));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /not-there\.ts does not exist/);
  const listed = JSON.parse((await cli("ls", "--json")).stdout) as { name: string }[];
  assert.deepEqual(listed.filter((f) => ["ok", "broken", "uses-fs", "no-fetch"].includes(f.name)), []);
});

test("invoke passes method, path, query, headers and body, and prints status, headers and body", async () => {
  const dir = project({
    "mirror.ts": `export default { async fetch(req: Request) {
      const url = new URL(req.url);
      const body = new Uint8Array(await req.arrayBuffer());
      let sum = 0; for (const b of body) sum += b;
      return new Response(body.length > 100 ? "bytes=" + body.length + " sum=" + sum : req.method + " " + url.pathname + url.search + " " + req.headers.get("x-a") + " " + new TextDecoder().decode(body), { status: 201, headers: { "x-mirror": "1" } });
    } };`,
  });
  assert.equal((await cli("deploy", path.join(dir, "mirror.ts"))).code, 0);
  const out = await cli("invoke", "mirror", "--method", "PUT", "--path", "/x/y?z=1", "--header", "x-a: b", "--data", "hello");
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^HTTP 201 Created\n/);
  assert.match(out.stdout, /^x-mirror: 1$/m);
  assert.match(out.stdout, /^x-flick-invocation-id: [0-9a-f-]{36}$/m);
  assert.match(out.stdout, /\n\nPUT \/x\/y\?z=1 b hello\n$/);
  const unknown = await cli("invoke", "no-such-function");
  assert.equal(unknown.code, 1, "a platform error fails the command");
  assert.match(unknown.stdout, /^HTTP 404/);
  const bytes = randomBytes(4096);
  const file = path.join(dir, "payload.bin");
  writeFileSync(file, bytes);
  const binary = await cli("invoke", "mirror", "--data", `@${file}`);
  assert.match(binary.stdout, new RegExp(`bytes=4096 sum=${bytes.reduce((a, b) => a + b, 0)}`));
});

test("logs print console lines with time, level and invocation id; --since filters; -f follows", async () => {
  const dir = project({ "chatty.ts": `export default { fetch(req: Request) { const n = new URL(req.url).searchParams.get("n"); console.log("log", n); console.warn("warn", n); console.error("error", n); return new Response("ok"); } };` });
  assert.equal((await cli("deploy", path.join(dir, "chatty.ts"))).code, 0);
  const res = await fetch(`${node.url}/fn/chatty?n=1`);
  const id = res.headers.get("x-flick-invocation-id")!;
  await res.text();
  const logs = await cli("logs", "chatty");
  assert.equal(logs.code, 0, logs.stderr);
  const lines = logs.stdout.trim().split("\n");
  assert.equal(lines.length, 3);
  for (const [i, level] of ["log", "warn", "error"].entries()) {
    assert.match(lines[i]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  ${level}\\s+${id.slice(0, 8)}  ${level} 1$`));
  }
  await new Promise((r) => setTimeout(r, 1500));
  await (await fetch(`${node.url}/fn/chatty?n=2`)).text();
  const recent = await cli("logs", "chatty", "--since", "1s");
  assert.deepEqual(recent.stdout.trim().split("\n").map((l) => l.split("  ").at(-1)), ["log 2", "warn 2", "error 2"]);

  const follower = spawnCli(["logs", "chatty", "-f", "--since", "1s"]);
  try {
    await until("the follower to print old lines", () => (follower.output().includes("error 2") ? true : undefined));
    await (await fetch(`${node.url}/fn/chatty?n=3`)).text();
    await until("a live line", () => (follower.output().includes("error 3") ? true : undefined));
  } finally {
    await stop(follower.child);
  }
});

test("dev deploys, redeploys on save and prints the function's logs", async () => {
  const dir = project({ "live.ts": `export default { fetch() { console.log("served v1"); return new Response("v1"); } };` });
  const entry = path.join(dir, "live.ts");
  const dev = spawnCli(["dev", entry]);
  try {
    await until("dev to deploy", () => (dev.output().includes(`${node.url}/fn/live`) && dev.output().includes("watching") ? true : undefined));
    assert.equal(await text(`${node.url}/fn/live`), "v1");
    await until("the log line in dev's output", () => (dev.output().includes("served v1") ? true : undefined));
    writeFileSync(entry, `export default { fetch() { console.log("served v2"); return new Response("v2"); } };`);
    await until("the redeploy", async () => ((await text(`${node.url}/fn/live`)) === "v2" ? true : undefined));
    await until("the new log line", () => (dev.output().includes("served v2") ? true : undefined));
  } finally {
    await stop(dev.child);
  }
});

test("tenants create prints a token that deploys and lists only that tenant's functions", async () => {
  const created = await cli("tenants", "create", "acme");
  assert.equal(created.code, 0, created.stderr);
  const token = /^(flk_\S+)$/m.exec(created.stdout)![1]!;
  const dir = project({ "acme-app.ts": `export default { fetch: () => new Response("acme") };` });
  const asAcme = (...args: string[]) => flick(args, { FLICK_URL: node.url, FLICK_TOKEN: token }, tempDir());
  const deployed = await asAcme("deploy", path.join(dir, "acme-app.ts"));
  assert.equal(deployed.code, 0, deployed.stderr);
  const listed = JSON.parse((await asAcme("ls", "--json")).stdout) as { name: string; tenant: string }[];
  assert.deepEqual(listed.map((f) => [f.name, f.tenant]), [["acme-app", "acme"]]);
  const forbidden = await asAcme("tenants", "ls");
  assert.equal(forbidden.code, 1);
  assert.match(forbidden.stderr, /only the node's admin token/);
  const tenants = await cli("tenants", "ls");
  assert.match(tenants.stdout, /^acme\s/m);
});
