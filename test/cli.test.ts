// The `flick` CLI exactly as a user runs it: `node bin/flick.ts …` in a child process,
// talking over real HTTP to one real node (`flick up`) shared by every test in this file.
// Each test deploys its own functions (distinct names), so tests do not depend on each other.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick, type CliResult } from "./support/cli.ts";
import { flickBin, repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/** Every command `flick --help` must list, in the order users see them. */
const allCommands = ["up", "init", "deploy", "dev", "types", "invoke", "invocation", "invocations", "dlq", "ls", "info", "versions", "rollback", "traffic", "promote", "secret", "kv", "db", "scale", "rm", "logs", "tail", "trace", "usage", "tenants", "nodes", "backup", "restore", "sim"];

let node: TestNode;
/** An empty working directory: no ./.flick here, so only flags and env can find the node. */
let elsewhere: string;
/** Long-running CLI processes (logs -f, dev) to clean up if a test fails midway. */
const running = new Set<ChildProcess>();
/** Temp folders this file made (projects, payloads, the cwd), removed at the end. */
const scratch: string[] = [];

function scratchDir(prefix: string): string {
  const dir = tempDir(prefix);
  scratch.push(dir);
  return dir;
}

/** The CLI as the operator on the node's machine runs it: the node is found through --data-dir. */
function cli(...args: string[]): Promise<CliResult> {
  return flick([...args, "--data-dir", node.dataDir], {}, elsewhere);
}

/** The CLI with FLICK_URL / FLICK_TOKEN set, as on another machine or as a tenant. */
function cliWithToken(token: string, ...args: string[]): Promise<CliResult> {
  return flick(args, { FLICK_URL: node.url, FLICK_TOKEN: token }, elsewhere);
}

/** Writes a function project (path → contents) into a fresh temp folder and returns the folder. */
function project(files: Record<string, string | Uint8Array>, folderName?: string): string {
  const root = folderName === undefined ? scratchDir("flick-cli-") : path.join(scratchDir("flick-cli-"), folderName);
  for (const [file, contents] of Object.entries(files)) {
    const full = path.join(root, file);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, contents);
  }
  return root;
}

/** A one-file function whose fetch returns `body` (a JS expression) as text. */
function answering(expression: string): string {
  return `export default { fetch: (request: Request, env: Record<string, string>) => new Response(${expression}) };\n`;
}

/** Runs `flick deploy`, asserts it worked, and returns what it printed: name, version and URL. */
async function deployOk(entry: string, ...flags: string[]): Promise<{ name: string; version: string; url: string; stdout: string }> {
  const result = await cli("deploy", entry, ...flags);
  assert.equal(result.code, 0, `flick deploy ${entry} failed:\n${result.stderr}`);
  const match = /^(\S+): deployed\n {2}version {2}([0-9a-f]{16}) \(.+ bundled\)\n {2}url {6}(\S+)$/m.exec(result.stdout);
  assert.ok(match, `unexpected deploy output:\n${result.stdout}`);
  return { name: match[1]!, version: match[2]!, url: match[3]!, stdout: result.stdout };
}

/** GET /fn/<name><rest> and the response body as text. */
async function call(name: string, rest = ""): Promise<{ status: number; body: string; invocationId: string | null }> {
  const res = await fetch(`${node.url}/fn/${name}${rest}`);
  return { status: res.status, body: await res.text(), invocationId: res.headers.get("x-flick-invocation-id") };
}

/** The rows of `flick versions <name>`: id, and whether it is marked live with `*`. */
async function versionRows(name: string): Promise<{ id: string; live: boolean }[]> {
  const result = await cli("versions", name);
  assert.equal(result.code, 0, result.stderr);
  const [header, ...rows] = result.stdout.trimEnd().split("\n");
  assert.match(header!, /VERSION/);
  return rows.map((row) => {
    const id = /\b[0-9a-f]{16}\b/.exec(row);
    assert.ok(id, `no version id in row ${JSON.stringify(row)}`);
    return { id: id[0], live: row.startsWith("*") };
  });
}

/** Polls `probe` until it returns something other than undefined (every 50 ms, at most `timeoutMs`). */
async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

interface LiveCli {
  stdout(): string;
  stderr(): string;
  /** Waits until stdout contains `text`. */
  printed(text: string): Promise<void>;
  /** Ctrl-C, as a user stops it; resolves with the exit code. */
  interrupt(): Promise<number | null>;
}

/** Starts a long-running CLI command (logs -f, dev) with child_process.spawn, reading its output as it comes. */
function spawnCli(...args: string[]): LiveCli {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["FLICK_URL"];
  delete env["FLICK_TOKEN"];
  delete env["FLICK_DATA_DIR"];
  const child = spawn(process.execPath, [flickBin, ...args, "--data-dir", node.dataDir], { cwd: elsewhere, env, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    running.delete(child);
    resolve(code);
  }));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    printed: (text) =>
      until(`flick ${args.join(" ")} to print ${JSON.stringify(text)} (stdout so far:\n${stdout}\nstderr:\n${stderr})`, () => {
        if (child.exitCode !== null) throw new Error(`flick ${args.join(" ")} exited ${child.exitCode}:\n${stdout}\n${stderr}`);
        return stdout.includes(text) ? true : undefined;
      }).then(() => undefined),
    interrupt: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}

/** Runs the CLI capturing stdout as raw bytes (for binary bodies printed by `flick invoke`). */
function cliBytes(...args: string[]): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env["FLICK_URL"];
  delete env["FLICK_TOKEN"];
  delete env["FLICK_DATA_DIR"];
  const child = spawn(process.execPath, [flickBin, ...args, "--data-dir", node.dataDir], { cwd: elsewhere, env, stdio: ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => out.push(d));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
  });
}

/** A TCP port on 127.0.0.1 with nothing listening (bound, then released). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Every file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const full = path.join(dir, entry);
    const stat = statSync(full);
    // The primary's socket is a file name, not a file: nothing to read.
    return stat.isDirectory() ? filesUnder(full) : stat.isFile() ? [full] : [];
  });
}

/** Names of the functions `flick ls --json` shows for the given runner. */
async function listedNames(run: (...args: string[]) => Promise<CliResult> = cli): Promise<string[]> {
  const result = await run("ls", "--json");
  assert.equal(result.code, 0, result.stderr);
  return (JSON.parse(result.stdout) as { name: string }[]).map((f) => f.name);
}

// ---------------------------------------------------------------------------------------
// One node for the whole file
// ---------------------------------------------------------------------------------------

before(async () => {
  node = await startTestNode();
  elsewhere = scratchDir("flick-cli-cwd-");
});

after(async () => {
  for (const child of running) child.kill("SIGKILL");
  await node?.kill();
  if (node !== undefined) scratch.push(node.dataDir);
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------
// Help and usage errors
// ---------------------------------------------------------------------------------------

test("flick --help exits 0 and lists every command with usage and getting-started examples", async () => {
  for (const spelling of ["--help", "-h", "help"]) {
    const result = await flick([spelling], {}, elsewhere);
    assert.equal(result.code, 0, spelling);
    assert.match(result.stdout, /Usage: flick <command>/);
    assert.match(result.stdout, /Getting started:\n( {2}flick .+\n)+/);
    const listed = [...result.stdout.split("Commands:\n")[1]!.split("\n\n")[0]!.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]);
    assert.deepEqual(listed, allCommands);
  }
});

test("flick with no command prints the overview and exits 2", async () => {
  const result = await flick([], {}, elsewhere);
  assert.equal(result.code, 2);
  assert.match(result.stdout, /Usage: flick <command>/);
});

test("flick <command> --help exits 0 with usage, options and examples for every command", async () => {
  for (const name of allCommands) {
    for (const flag of ["--help", "-h"]) {
      const result = await flick([name, flag], {}, elsewhere);
      assert.equal(result.code, 0, `flick ${name} ${flag}: ${result.stderr}`);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, new RegExp(`^Usage: flick ${name}\\b`, "m"), name);
      assert.match(result.stdout, /^Options:\n/m, name);
      assert.match(result.stdout, /^Examples:\n( {2}.*\bflick \S+.*\n)+/m, name);
    }
  }
});

test("an unknown command exits 2 naming it, with the command meant when it is close", async () => {
  const typo = await flick(["deplyo", "app.ts"], {}, elsewhere);
  assert.equal(typo.code, 2);
  assert.equal(typo.stderr, 'flick: unknown command "deplyo"; did you mean "deploy"? (flick --help lists the commands)\n');
  assert.equal(typo.stdout, "");
  const far = await flick(["frobnicate"], {}, elsewhere);
  assert.equal(far.code, 2);
  assert.equal(far.stderr, 'flick: unknown command "frobnicate" (flick --help lists the commands)\n');
});

test("flick --help states the exit codes", async () => {
  const help = await flick(["--help"], {}, elsewhere);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Exit codes: 0 done; 1 failed .*\n.*; 2 wrong usage \(/m);
});

test("flick --version prints the version and the Node.js running it", async () => {
  const { version } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
  for (const flag of ["--version", "-v", "version"]) {
    const result = await flick([flag], {}, elsewhere);
    assert.equal(result.code, 0, flag);
    assert.equal(result.stdout, `flick ${version} (Node.js ${process.version})\n`, flag);
  }
});

test("an unknown flag, a flag without its value or a wrong argument count exits 2 with a message and the usage", async () => {
  const badFlag = await flick(["deploy", "app.ts", "--memroy", "256"], {}, elsewhere);
  assert.equal(badFlag.code, 2);
  assert.equal(badFlag.stderr, "flick deploy: unknown flag --memroy; did you mean --memory? (flick deploy --help for its usage)\n");

  const unlike = await flick(["ls", "--bogus"], {}, elsewhere);
  assert.equal(unlike.code, 2);
  assert.match(unlike.stderr, /^flick ls: unknown flag --bogus; its flags are --url, --token, --data-dir, --json /);

  const noValue = await flick(["logs", "app", "--since"], {}, elsewhere);
  assert.equal(noValue.code, 2);
  assert.match(noValue.stderr, /^flick logs: --since needs a value \(--since <value>\)/);

  const value = await flick(["ls", "--json=yes"], {}, elsewhere);
  assert.equal(value.code, 2);
  assert.match(value.stderr, /^flick ls: --json takes no value/);

  const missing = await flick(["info"], {}, elsewhere);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /flick info: expected 1 argument\(s\), got 0/);

  const extra = await flick(["ls", "surplus"], {}, elsewhere);
  assert.equal(extra.code, 2);
  assert.match(extra.stderr, /flick ls: expected 0 argument\(s\), got 1/);

  const badAction = await flick(["tenants", "frobnicate", "--data-dir", node.dataDir], {}, elsewhere);
  assert.equal(badAction.code, 2);
  assert.match(badAction.stderr, /usage: flick tenants create <name> \| flick tenants ls \| flick tenants storage \[<name>\] \| flick tenants set/);
});

// ---------------------------------------------------------------------------------------
// Where the CLI finds the node
// ---------------------------------------------------------------------------------------

test("config: --data-dir alone gives the URL (node.json) and the admin token (admin.token)", async () => {
  const fn = await deployOk(path.join(project({ "config-probe.ts": answering(`"probe"`) }), "config-probe.ts"));
  const viaFlag = await flick(["ls", "--json", "--data-dir", node.dataDir], {}, elsewhere);
  assert.equal(viaFlag.code, 0, viaFlag.stderr);
  assert.ok((JSON.parse(viaFlag.stdout) as { name: string }[]).some((f) => f.name === fn.name));

  const viaEnv = await flick(["info", fn.name], { FLICK_DATA_DIR: node.dataDir }, elsewhere);
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.match(viaEnv.stdout, new RegExp(`^url +${node.url}/fn/${fn.name}$`, "m"));
});

test("config: FLICK_URL and FLICK_TOKEN work from any directory, and flags win over them", async () => {
  const viaEnv = await flick(["ls", "--json"], { FLICK_URL: node.url, FLICK_TOKEN: node.adminToken }, elsewhere);
  assert.equal(viaEnv.code, 0, viaEnv.stderr);
  assert.ok(Array.isArray(JSON.parse(viaEnv.stdout)));

  const dead = `http://127.0.0.1:${await closedPort()}`;
  const flagsWin = await flick(["ls", "--url", node.url, "--token", node.adminToken], { FLICK_URL: dead, FLICK_TOKEN: "flk_not-a-token" }, elsewhere);
  assert.equal(flagsWin.code, 0, flagsWin.stderr);
});

test("config: a wrong or missing token exits 1 saying what is wrong with it", async () => {
  const wrong = await flick(["ls"], { FLICK_URL: node.url, FLICK_TOKEN: "flk_not-a-token" }, elsewhere);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /unknown token.*\[unauthorized\]/);

  const none = await flick(["ls"], { FLICK_URL: node.url }, elsewhere);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /missing token.*\[unauthorized\]/);
});

test("config: with no node anywhere, a command exits 1 and says to run flick up", async () => {
  const nothing = await flick(["ls"], {}, elsewhere);
  assert.equal(nothing.code, 1);
  assert.match(nothing.stderr, /no Flick node found/);
  assert.match(nothing.stderr, /flick up/);
  assert.equal(nothing.stdout, "");

  const down = await flick(["ls"], { FLICK_URL: `http://127.0.0.1:${await closedPort()}`, FLICK_TOKEN: "flk_x" }, elsewhere);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot reach Flick at http:\/\/127\.0\.0\.1:\d+/);
  assert.match(down.stderr, /flick up/);
});

// ---------------------------------------------------------------------------------------
// Deploying
// ---------------------------------------------------------------------------------------

/**
 * A TypeScript function that imports `greeting-lib`, an ESM package installed only in the
 * function's own node_modules (built at test time: the repo's .gitignore drops node_modules/).
 * The package's "node" export condition must not be picked: functions run in an isolate.
 */
function npmProject(): string {
  return project(
    {
      "package.json": JSON.stringify({ name: "cli-npm", private: true, type: "module", dependencies: { "greeting-lib": "^1.0.0" } }),
      "node_modules/greeting-lib/package.json": JSON.stringify({
        name: "greeting-lib",
        version: "1.0.0",
        type: "module",
        exports: { ".": { node: "./node.js", default: "./index.js" } },
      }),
      "node_modules/greeting-lib/index.js": `export function greet(who) {\n  return \`Hello, \${who}!\`;\n}\n`,
      "node_modules/greeting-lib/node.js": `export function greet(who) {\n  return "wrong build (node) for " + who;\n}\n`,
      "index.ts": [
        `import { greet } from "greeting-lib";`,
        ``,
        `export default {`,
        `  fetch(request: Request): Response {`,
        `    const who: string = new URL(request.url).searchParams.get("who") ?? "world";`,
        `    return new Response(greet(who));`,
        `  },`,
        `};`,
        ``,
      ].join("\n"),
    },
    "cli-npm",
  );
}

test("deploy bundles a TypeScript entry with an npm package from its own folder; an index.ts is named after its folder", async () => {
  const dir = npmProject();
  const deployed = await deployOk(path.join(dir, "index.ts"));
  assert.equal(deployed.name, "cli-npm");
  assert.equal(deployed.url, `${node.url}/fn/cli-npm`);
  const res = await fetch(`${deployed.url}?who=Ada`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "Hello, Ada!");
});

test("deploy --name chooses the function's name", async () => {
  const dir = npmProject();
  const deployed = await deployOk(path.join(dir, "index.ts"), "--name", "greeter-named");
  assert.equal(deployed.name, "greeter-named");
  assert.equal(deployed.url, `${node.url}/fn/greeter-named`);
  assert.equal((await call("greeter-named", "?who=Bob")).body, "Hello, Bob!");
});

test("deploy names a function after its file: 'My Handler.ts' becomes my-handler", async () => {
  const dir = project({ "My Handler.ts": answering(`"handled"`) });
  const deployed = await deployOk(path.join(dir, "My Handler.ts"));
  assert.equal(deployed.name, "my-handler");
  assert.equal((await call("my-handler")).body, "handled");
});

// Regression: an entry given without a folder part (`flick deploy index.ts` or `./index.ts`
// run inside the project) used to be named "index-ts" / "fn" instead of after the folder.
test("deploy index.ts run inside the function's folder names it after the folder", async () => {
  const dir = npmProject();
  for (const entry of ["index.ts", "./index.ts"]) {
    const result = await flick(["deploy", entry, "--data-dir", node.dataDir], {}, dir);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /^cli-npm: (deployed|unchanged)/m, `flick deploy ${entry} inside cli-npm/ printed:\n${result.stdout}`);
  }
});

test("redeploying identical code prints unchanged and keeps a single version", async () => {
  const entry = path.join(project({ "same-code.ts": answering(`"same"`) }), "same-code.ts");
  const first = await deployOk(entry);
  const again = await cli("deploy", entry);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /^same-code: unchanged/m);
  assert.match(again.stdout, new RegExp(`version {2}${first.version}`));
  assert.deepEqual(await versionRows("same-code"), [{ id: first.version, live: true }]);
});

test("a changed deploy adds a second version, serves it, and flick versions marks it live with *", async () => {
  const dir = project({ "two-versions.ts": answering(`"one"`) });
  const entry = path.join(dir, "two-versions.ts");
  const v1 = await deployOk(entry);
  assert.equal((await call("two-versions")).body, "one");
  writeFileSync(entry, answering(`"two"`));
  const v2 = await deployOk(entry);
  assert.notEqual(v2.version, v1.version);
  assert.equal((await call("two-versions")).body, "two");
  assert.deepEqual(await versionRows("two-versions"), [
    { id: v2.version, live: true },
    { id: v1.version, live: false },
  ]);
});

test("flick rollback makes the previous version live, --to picks any version, and an unknown id fails", async () => {
  const entry = path.join(project({ "rolling.ts": answering(`"old"`) }), "rolling.ts");
  const old = await deployOk(entry);
  writeFileSync(entry, answering(`"new"`));
  const latest = await deployOk(entry);
  assert.equal((await call("rolling")).body, "new");

  const back = await cli("rollback", "rolling");
  assert.equal(back.code, 0, back.stderr);
  assert.equal(back.stdout, `rolling: live version is now ${old.version}\n`);
  assert.equal((await call("rolling")).body, "old");
  assert.deepEqual((await versionRows("rolling")).map((v) => v.live), [false, true]);

  const forward = await cli("rollback", "rolling", "--to", latest.version);
  assert.equal(forward.code, 0, forward.stderr);
  assert.match(forward.stdout, new RegExp(`live version is now ${latest.version}`));
  assert.equal((await call("rolling")).body, "new");

  const unknown = await cli("rollback", "rolling", "--to", "0123456789abcdef");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /0123456789abcdef/);
  assert.equal((await call("rolling")).body, "new");
});

test("flick rm removes the function: /fn/<name> answers 404 and info and versions exit 1", async () => {
  const fn = await deployOk(path.join(project({ "doomed.ts": answering(`"alive"`) }), "doomed.ts"));
  assert.equal((await call(fn.name)).body, "alive");
  const removed = await cli("rm", fn.name);
  assert.equal(removed.code, 0, removed.stderr);
  assert.equal(removed.stdout, "doomed: removed\n");
  assert.equal((await call(fn.name)).status, 404);
  const info = await cli("info", fn.name);
  assert.equal(info.code, 1);
  assert.match(info.stderr, /no function named "doomed"/);
  assert.equal((await cli("versions", fn.name)).code, 1);
  assert.ok(!(await listedNames()).includes(fn.name));
});

// ---------------------------------------------------------------------------------------
// Settings and secrets
// ---------------------------------------------------------------------------------------

const secretValue = "s3cr3t-value";
let vault: Promise<{ name: string; version: string; stdout: string }> | undefined;

/** Deploys `vault` once: --memory 256 --timeout 5s --env A=1 --secret API_KEY=…; it answers env.API_KEY and env.A. */
function deployVault(): Promise<{ name: string; version: string; stdout: string }> {
  vault ??= deployOk(
    path.join(project({ "vault.ts": answering(`"key=" + env.API_KEY + " a=" + env.A`) }), "vault.ts"),
    "--memory", "256", "--timeout", "5s", "--env", "A=1", "--secret", `API_KEY=${secretValue}`,
  );
  return vault;
}

test("flick ls lists each function with tenant, live version, limits and URL", async () => {
  const fn = await deployVault();
  const result = await cli("ls");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^NAME +TENANT +VERSION +LIMITS +UPDATED +URL$/m);
  assert.match(result.stdout, new RegExp(`^vault +default +${fn.version} +256 MiB, 5s +\\S+ \\S+ +${node.url}/fn/vault$`, "m"));
  const json = JSON.parse((await cli("ls", "--json")).stdout) as { name: string; liveVersion: string; settings: { memoryMiB: number } }[];
  const entry = json.find((f) => f.name === "vault");
  assert.equal(entry?.liveVersion, fn.version);
  assert.equal(entry?.settings.memoryMiB, 256);
});

test("--memory 256 --timeout 5s --env A=1 are shown by flick info, with secret names only", async () => {
  await deployVault();
  const result = await cli("info", "vault");
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /^memory +256 MiB$/m);
  assert.match(result.stdout, /^timeout +5s$/m);
  assert.match(result.stdout, /^env +A=1$/m);
  assert.match(result.stdout, /^secrets +API_KEY=••••$/m);
  const json = JSON.parse((await cli("info", "vault", "--json")).stdout) as { settings: { memoryMiB: number; timeoutMs: number; env: object; secretNames: string[] } };
  assert.deepEqual(
    { memoryMiB: json.settings.memoryMiB, timeoutMs: json.settings.timeoutMs, env: json.settings.env, secretNames: json.settings.secretNames },
    { memoryMiB: 256, timeoutMs: 5000, env: { A: "1" }, secretNames: ["API_KEY"] },
  );
});

test("the function sees its secret as env.API_KEY", async () => {
  await deployVault();
  assert.equal((await call("vault")).body, `key=${secretValue} a=1`);
});

test("a secret value never appears in CLI output, node output or the data dir", async () => {
  const deployed = await deployVault();
  assert.ok(!deployed.stdout.includes(secretValue), "flick deploy printed the secret");
  const outputs = await Promise.all([
    cli("info", "vault"), cli("info", "vault", "--json"),
    cli("ls"), cli("ls", "--json"),
    cli("versions", "vault"), cli("versions", "vault", "--json"),
    cli("logs", "vault"),
  ]);
  for (const out of outputs) {
    assert.equal(out.code, 0, out.stderr);
    assert.ok(!out.stdout.includes(secretValue) && !out.stderr.includes(secretValue), `a secret value was printed:\n${out.stdout}`);
  }
  assert.ok(!node.output().includes(secretValue), "the node printed the secret");
  for (const file of filesUnder(node.dataDir)) {
    assert.ok(!readFileSync(file).includes(secretValue), `${file} holds the secret in plain text`);
  }
});

// ---------------------------------------------------------------------------------------
// Deploys that must fail (exit 1, a precise message, nothing stored)
// ---------------------------------------------------------------------------------------

test("deploy --memory 5000 (and other values out of range) exits 1 naming the flag and its range", async () => {
  const entry = path.join(project({ "too-big.ts": answering(`"x"`) }), "too-big.ts");
  const result = await cli("deploy", entry, "--memory", "5000");
  assert.equal(result.code, 1);
  assert.equal(result.stderr, "error: --memory 5000: must be 16..1024 MiB [bad_request]\n");
  assert.ok(!(await listedNames()).includes("too-big"));
  for (const [flag, value, range] of [["--timeout", "20m", "100ms..15m"], ["--cpu-limit", "0ms", "1ms..15m"], ["--retries", "11", "0..10"], ["--max-event-age", "7h", "1s..6h"]] as const) {
    const out = await cli("deploy", entry, flag, value);
    assert.equal(out.code, 1, flag);
    assert.equal(out.stderr, `error: ${flag} ${value}: must be ${range} [bad_request]\n`, flag);
  }
});

test("deploy --timeout with a value that is not a duration exits 1 showing the expected form", async () => {
  const entry = path.join(project({ "slow.ts": answering(`"x"`) }), "slow.ts");
  const result = await cli("deploy", entry, "--timeout", "soon");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /--timeout soon: expected a duration like 30s/);
});

test("deploy --env without = exits 1 asking for NAME=value", async () => {
  const entry = path.join(project({ "env-typo.ts": answering(`"x"`) }), "env-typo.ts");
  const result = await cli("deploy", entry, "--env", "MODE");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /--env MODE: expected NAME=value/);
});

test("deploy --name Bad_Name exits 1 stating the naming rule", async () => {
  const entry = path.join(project({ "ok.ts": answering(`"ok"`) }), "ok.ts");
  const result = await cli("deploy", entry, "--name", "Bad_Name");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /invalid function name "Bad_Name"/);
  assert.match(result.stderr, /lowercase letters, digits and dashes/);
});

test("deploying a file with a syntax error exits 1 with file:line:col", async () => {
  const dir = project({ "broken.ts": `export default {\n  fetch() {\n    return new Response("x";\n  },\n};\n` });
  const result = await cli("deploy", path.join(dir, "broken.ts"));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /broken\.ts:3:\d+: Expected "\)" but found ";"/);
  assert.match(result.stderr, /\[invalid_bundle\]/);
  assert.ok(!(await listedNames()).includes("broken"));
});

// Regression: esbuild reports locations relative to the entry's folder; they used to be read
// as relative to the CLI's cwd, so `flick deploy src/index.ts` from the project root
// reported "index.ts:3:…", a path that does not exist from where the user stands.
test("a syntax error's location is a path relative to the directory flick deploy ran in", async () => {
  const dir = project({ "src/index.ts": `export default {\n  fetch() {\n    return new Response("x";\n  },\n};\n` }, "syntax-project");
  const result = await flick(["deploy", "src/index.ts", "--data-dir", node.dataDir], {}, dir);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^src\/index\.ts:3:\d+: /m, result.stderr);
});

test("deploying a file that imports node:fs exits 1 explaining Node built-ins are not available", async () => {
  const dir = project({ "uses-fs.ts": `import { readFileSync } from "node:fs";\nexport default { fetch: () => new Response(readFileSync("/etc/hostname")) };\n` });
  const result = await cli("deploy", path.join(dir, "uses-fs.ts"));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /uses-fs\.ts:1:\d+: "node:fs" is a Node\.js built-in module/);
  assert.ok(!(await listedNames()).includes("uses-fs"));
});

test("deploying a module without a default fetch exits 1 with missing_fetch_handler", async () => {
  const dir = project({ "no-fetch.ts": `export default { hello() { return "hi"; } };\n` });
  const result = await cli("deploy", path.join(dir, "no-fetch.ts"));
  assert.equal(result.code, 1);
  assert.match(result.stderr, /no fetch method/);
  assert.match(result.stderr, /\[missing_fetch_handler\]/);
  assert.ok(!(await listedNames()).includes("no-fetch"));
});

// ---------------------------------------------------------------------------------------
// flick invoke
// ---------------------------------------------------------------------------------------

/** `mirror`: /echo returns the body as sent; /status/N answers N; anything else describes the request as JSON. */
const mirrorSource = `
export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const body = new Uint8Array(await request.arrayBuffer());
    if (url.pathname === "/echo") {
      return new Response(body, { headers: { "content-type": "application/octet-stream", "x-method": request.method } });
    }
    if (url.pathname.startsWith("/status/")) return new Response("own answer", { status: Number(url.pathname.slice(8)) });
    return Response.json(
      { method: request.method, path: url.pathname, query: url.search, header: request.headers.get("x-a"), body: new TextDecoder().decode(body) },
      { headers: { "x-mirror": "yes" } },
    );
  },
};
`;
let mirror: Promise<unknown> | undefined;
const deployMirror = () => (mirror ??= deployOk(path.join(project({ "mirror.ts": mirrorSource }), "mirror.ts")));

/** Splits `flick invoke` output into status line, header lines and body. */
function invokeOutput(stdout: string): { status: string; headers: Map<string, string>; body: string } {
  const gap = stdout.indexOf("\n\n");
  assert.ok(gap > 0, `no blank line between headers and body:\n${stdout}`);
  const [status, ...headerLines] = stdout.slice(0, gap).split("\n");
  const headers = new Map(headerLines.map((l) => [l.slice(0, l.indexOf(":")), l.slice(l.indexOf(":") + 2)] as const));
  return { status: status!, headers, body: stdout.slice(gap + 2) };
}

test("flick invoke passes method, path, query, headers and body, and prints status, headers and body", async () => {
  await deployMirror();
  const result = await cli("invoke", "mirror", "--method", "PUT", "--path", "/x/y?z=1", "--header", "x-a: b", "--data", "hello");
  assert.equal(result.code, 0, result.stderr);
  const out = invokeOutput(result.stdout);
  assert.equal(out.status, "HTTP 200 OK");
  assert.equal(out.headers.get("x-mirror"), "yes");
  assert.equal(out.headers.get("content-type"), "application/json");
  assert.match(out.headers.get("x-flick-invocation-id") ?? "", /^[0-9a-f-]{36}$/);
  assert.deepEqual(JSON.parse(out.body), { method: "PUT", path: "/x/y", query: "?z=1", header: "b", body: "hello" });
  assert.ok(out.body.endsWith("\n"), "the body is followed by a newline");
});

test("flick invoke without --data sends a GET with no body", async () => {
  await deployMirror();
  const result = await cli("invoke", "mirror", "--header", "x-a:tight");
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(JSON.parse(invokeOutput(result.stdout).body), { method: "GET", path: "/", query: "", header: "tight", body: "" });
});

test("flick invoke --data @file POSTs the file's bytes unchanged and prints binary answers as-is", async () => {
  await deployMirror();
  const bytes = randomBytes(20_000);
  bytes[bytes.length - 1] = 0xff; // not a newline, so invoke adds one after the body
  const file = path.join(scratchDir("flick-cli-data-"), "payload.bin");
  writeFileSync(file, bytes);
  const result = await cliBytes("invoke", "mirror", "--path", "/echo", "--data", `@${file}`);
  assert.equal(result.code, 0, result.stderr);
  const gap = result.stdout.indexOf("\n\n");
  const head = result.stdout.subarray(0, gap).toString();
  assert.match(head, /^HTTP 200 OK\n/);
  assert.match(head, /^x-method: POST$/m);
  assert.match(head, new RegExp(`^content-length: ${bytes.length}$`, "m"));
  const body = result.stdout.subarray(gap + 2);
  assert.equal(body.length, bytes.length + 1);
  assert.ok(body.subarray(0, bytes.length).equals(bytes), "the echoed bytes differ from the file");
  assert.equal(body[bytes.length], 0x0a);
});

test("flick invoke exits 0 on the function's own error status and 1 on a platform error", async () => {
  await deployMirror();
  const own = await cli("invoke", "mirror", "--path", "/status/418");
  assert.equal(own.code, 0, own.stderr);
  assert.match(own.stdout, /^HTTP 418 /);
  assert.match(own.stdout, /\n\nown answer\n$/);

  const platform = await cli("invoke", "no-such-function");
  assert.equal(platform.code, 1);
  assert.match(platform.stdout, /^HTTP 404 Not Found\n/);
  assert.match(platform.stdout, /^x-flick-error: function_not_found$/m);
});

// Regression: a missing @file used to escape as a raw ENOENT stack trace.
test("flick invoke --data @missing-file exits 1 with a message, not a stack trace", async () => {
  await deployMirror();
  const missing = path.join(elsewhere, "does-not-exist.bin");
  const result = await cli("invoke", "mirror", "--data", `@${missing}`);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: .*does-not-exist\.bin/m);
  assert.doesNotMatch(result.stderr, /\n {4}at /, "printed a stack trace");
});

// ---------------------------------------------------------------------------------------
// flick logs
// ---------------------------------------------------------------------------------------

/** `chatty` logs one line per console level, tagged with ?n=. */
const chattySource = `
export default {
  fetch(request: Request): Response {
    const n = new URL(request.url).searchParams.get("n");
    console.log("info line", n);
    console.warn("warn line", n);
    console.error("error line", n);
    return new Response("logged " + n);
  },
};
`;
let chatty: Promise<unknown> | undefined;
const deployChatty = () => (chatty ??= deployOk(path.join(project({ "chatty.ts": chattySource }), "chatty.ts")));

/**
 * Parses `flick logs` console lines: "<ISO time>  <level>  <id8>    <message>", indented
 * under their invocation's request line ("…  <id8>  ▸ GET / → 200 (…)"), which is left out.
 */
function logLines(stdout: string): { time: string; level: string; id: string; message: string }[] {
  return stdout.split("\n").filter((l) => l !== "" && !/ {2}[0-9a-f]{8} {2}▸ /.test(l)).map((line) => {
    const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) {2}(log|info|debug|warn|error) *  ([0-9a-f]{8}) {4}(.*)$/.exec(line);
    assert.ok(m, `unexpected log line ${JSON.stringify(line)}`);
    return { time: m[1]!, level: m[2]!, id: m[3]!, message: m[4]! };
  });
}

test("flick logs shows console.log/warn/error lines with time, level and the invocation id", async () => {
  await deployChatty();
  const hit = await call("chatty", "?n=first");
  assert.equal(hit.body, "logged first");
  const id8 = hit.invocationId!.slice(0, 8);
  const result = await cli("logs", "chatty");
  assert.equal(result.code, 0, result.stderr);
  const mine = logLines(result.stdout).filter((l) => l.id === id8);
  assert.deepEqual(mine.map((l) => [l.level, l.message]), [
    ["log", "info line first"],
    ["warn", "warn line first"],
    ["error", "error line first"],
  ]);
  for (const line of mine) assert.ok(Math.abs(Date.parse(line.time) - Date.now()) < 60_000, `odd time ${line.time}`);
});

test("flick logs --since 1s leaves out lines older than a second", async () => {
  await deployChatty();
  await call("chatty", "?n=older");
  await new Promise((r) => setTimeout(r, 1500));
  await call("chatty", "?n=newer");
  const recent = await cli("logs", "chatty", "--since", "1s");
  assert.equal(recent.code, 0, recent.stderr);
  const messages = logLines(recent.stdout).map((l) => l.message);
  assert.deepEqual(messages, ["info line newer", "warn line newer", "error line newer"]);
  const all = logLines((await cli("logs", "chatty")).stdout).map((l) => l.message);
  assert.ok(all.includes("info line older") && all.includes("info line newer"));
});

test("flick logs -f prints lines logged after it started, and stops on Ctrl-C", async () => {
  await deployChatty();
  await call("chatty", "?n=before-follow");
  const follow = spawnCli("logs", "chatty", "-f");
  try {
    await follow.printed("error line before-follow"); // the stream is open
    const hit = await call("chatty", "?n=while-following");
    await follow.printed("error line while-following");
    const live = logLines(follow.stdout()).filter((l) => l.message.endsWith("while-following"));
    assert.deepEqual(live.map((l) => l.level), ["log", "warn", "error"]);
    assert.ok(live.every((l) => l.id === hit.invocationId!.slice(0, 8)));
  } finally {
    assert.equal(await follow.interrupt(), 0, follow.stderr());
  }
});

test("every command that prints and ends takes --json (up and dev run until stopped)", async () => {
  const { commands } = await import("../src/cli/main.ts");
  const without = commands.filter((c) => c.options["json"] === undefined).map((c) => c.name);
  assert.deepEqual(without, ["up", "dev"]);
  for (const c of commands) if (c.options["json"] !== undefined) assert.ok(c.optionHelp.some((l) => l.startsWith("--json")), `flick ${c.name} --help mentions --json`);
});

test("--json on every command that prints: what it prints parses, with the API's fields", async () => {
  const json = async (...args: string[]) => {
    const result = await cli(...args, "--json");
    assert.equal(result.code, 0, `flick ${args.join(" ")} --json: ${result.stderr}`);
    return JSON.parse(result.stdout) as Record<string, any>;
  };
  const entry = path.join(project({ "json-fn.ts": answering(`"j " + (env.V ?? "")`) }), "json-fn.ts");
  const first = await json("deploy", entry);
  assert.equal(first["function"].name, "json-fn");
  assert.equal(first["changed"], true);
  const second = await json("deploy", entry, "--env", "V=2");
  assert.notEqual(second["version"], first["version"]);
  const answer = await json("invoke", "json-fn");
  assert.deepEqual([answer["status"], answer["body"], typeof answer["headers"]["x-flick-invocation-id"]], [200, "j 2", "string"]);
  assert.match(String((await json("invoke", "json-fn", "--async"))["id"]), /^[0-9a-f-]{36}$/);
  assert.equal((await json("scale", "json-fn", "--max-instances", "5"))["scale"].maxInstances, 5);
  assert.equal((await json("rollback", "json-fn"))["liveVersion"], first["version"]);
  assert.deepEqual(await json("dlq", "ls", "json-fn"), []);
  assert.ok(Array.isArray(await json("tenants", "ls")));
  const logs = await cli("logs", "json-fn", "--json");
  for (const line of logs.stdout.split("\n").filter((l) => l !== "")) assert.equal(typeof JSON.parse(line).message, "string");
  assert.deepEqual((await json("traffic", "json-fn"))["traffic"], [{ version: first["version"], percent: 100 }]);
  assert.equal((await json("promote", "json-fn", first["version"].slice(0, 8)))["liveVersion"], first["version"]);
  assert.deepEqual(await json("secret", "ls", "--name", "json-fn"), []);
  assert.deepEqual(await json("rm", "json-fn"), { removed: "json-fn" });
  const made = await flick(["init", "json-init", "--json"], {}, elsewhere);
  assert.equal(made.code, 0, made.stderr);
  assert.equal(JSON.parse(made.stdout).name, "json-init");
  const typed = await flick(["types", "--json"], {}, path.join(elsewhere, "json-init"));
  assert.equal(typed.code, 0, typed.stderr);
  assert.deepEqual(JSON.parse(typed.stdout).vars, ["GREETING"]);
});

// ---------------------------------------------------------------------------------------
// Tenants
// ---------------------------------------------------------------------------------------

let acmeToken: Promise<string> | undefined;

/** `flick tenants create acme` once; returns the token it printed. */
function createAcme(): Promise<string> {
  acmeToken ??= (async () => {
    const created = await cli("tenants", "create", "acme");
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /tenant acme created/);
    const token = /^(flk_[A-Za-z0-9_-]+)$/m.exec(created.stdout);
    assert.ok(token, `no token in:\n${created.stdout}`);
    return token[1]!;
  })();
  return acmeToken;
}

test("flick tenants create prints a flk_ token, and flick tenants ls lists the tenant", async () => {
  const token = await createAcme();
  assert.match(token, /^flk_/);
  const list = await cli("tenants", "ls");
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^acme +default +\d{4}-/m);
  const again = await cli("tenants", "create", "acme");
  assert.equal(again.code, 1);
  assert.match(again.stderr, /already exists/);
});

test("with a tenant's token, flick deploy works and flick ls shows only that tenant's functions", async () => {
  const token = await createAcme();
  await deployOk(path.join(project({ "admin-only.ts": answering(`"admin"`) }), "admin-only.ts"));
  const entry = path.join(project({ "acme-app.ts": answering(`"acme here"`) }), "acme-app.ts");
  const deployed = await cliWithToken(token, "deploy", entry);
  assert.equal(deployed.code, 0, deployed.stderr);
  assert.match(deployed.stdout, /^acme-app: deployed$/m);
  assert.equal((await call("acme-app")).body, "acme here");

  const asAcme = (...args: string[]) => cliWithToken(token, ...args);
  const json = JSON.parse((await asAcme("ls", "--json")).stdout) as { name: string; tenant: string }[];
  assert.deepEqual(json.map((f) => [f.name, f.tenant]), [["acme-app", "acme"]]);
  const table = await asAcme("ls");
  assert.equal(table.code, 0, table.stderr);
  assert.deepEqual(table.stdout.trimEnd().split("\n").slice(1).map((row) => row.split(/ +/).slice(0, 2)), [["acme-app", "acme"]]);

  const adminView = await listedNames();
  assert.ok(adminView.includes("acme-app") && adminView.includes("admin-only"), "the admin sees every tenant's functions");
  const notTheirs = await asAcme("info", "admin-only");
  assert.equal(notTheirs.code, 1);
});

test("flick tenants ls with a tenant's token exits 1 forbidden", async () => {
  const token = await createAcme();
  const result = await cliWithToken(token, "tenants", "ls");
  assert.equal(result.code, 1);
  assert.match(result.stderr, /\[forbidden\]/);
  assert.equal(result.stdout, "");
});

test("flick scale sets provisioned and maximum instances and keep-alive; flick info shows them with traffic stats", async () => {
  const { name } = await deployOk(path.join(project({ "scaled.ts": answering('"scaled"') }), "scaled.ts"));
  const set = await cli("scale", name, "--min-instances", "1", "--max-instances", "3", "--keep-alive", "fixed:5m", "--pin", "zone=a");
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /min 1, max 3, pin zone=a, keep-alive fixed 5m/);
  const back = await cli("scale", name, "--min-instances", "0", "--max-instances", "none", "--pin", "", "--keep-alive", "node");
  assert.match(back.stdout, /min 0, max none, keep-alive node/);
  await call(name);
  const info = await cli("info", name);
  assert.match(info.stdout, /scale {6}min 0, max none, keep-alive node/);
  assert.match(info.stdout, /traffic {4}1 invocations, 1 cold starts, 0 throttled/);
  assert.match(info.stdout, /latency {4}p50 [\d.]+ ms, p99 [\d.]+ ms/);
  const bad = await cli("scale", name, "--keep-alive", "sometimes");
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--keep-alive sometimes: expected fixed:<duration>/);
  const negative = await cli("scale", name, "--max-instances=-1");
  assert.equal(negative.code, 1);
  assert.match(negative.stderr, /maxInstances/);
});

test("flick tenants set <name> --concurrency sets a tenant's limit; ls shows it; default restores the node's", async () => {
  await cli("tenants", "create", "limited");
  const set = await cli("tenants", "set", "limited", "--concurrency", "5");
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /tenant limited: concurrency 5/);
  assert.match((await cli("tenants", "ls")).stdout, /limited\s+5/);
  assert.match((await cli("tenants", "set", "limited", "--concurrency", "default")).stdout, /concurrency default/);
  const unknown = await cli("tenants", "set", "nobody", "--concurrency", "5");
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /tenant "nobody" does not exist/);
});

test("flick invoke --async prints the id; flick invocation shows how it went; flick dlq ls and replay", async () => {
  const source = `export default { async fetch(request: Request) { const body = await request.text(); if (body === "fail") throw new Error("no thanks"); return new Response("took " + body); } };\n`;
  const { name } = await deployOk(path.join(project({ "jobs.ts": source }), "jobs.ts"), "--retries", "0");
  const ok = await cli("invoke", name, "--async", "--data", "parcel");
  assert.equal(ok.code, 0, ok.stderr);
  const id = ok.stdout.trim();
  assert.match(id, /^[0-9a-f-]{36}$/);
  const until = async (invocation: string, status: RegExp): Promise<string> => {
    for (let i = 0; i < 200; i++) {
      const shown = await cli("invocation", invocation);
      if (status.test(shown.stdout)) return shown.stdout;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`invocation ${invocation} never matched ${status}`);
  };
  const done = await until(id, /status {11}completed/);
  assert.match(done, /attempts {9}1 \(0 failed\)/);
  assert.match(done, /result {11}200 took parcel/);

  const failing = (await cli("invoke", name, "--async", "--data", "fail")).stdout.trim();
  const dead = await until(failing, /status {11}dead \(retries_exhausted\)/);
  assert.match(dead, /last error {7}function_error: .*no thanks/);
  const listed = await cli("dlq", "ls", name);
  assert.match(listed.stdout, new RegExp(`${failing}\\s+retries_exhausted\\s+1`));
  const replayed = await cli("dlq", "replay", name, failing, "not-an-id");
  assert.equal(replayed.code, 1);
  assert.match(replayed.stdout, /1 invocation\(s\) queued again/);
  assert.match(replayed.stderr, /not in .*dead-letter list.*not-an-id/);
  const twice = await cli("invoke", name, "--async", "--data", "x", "--idempotency-key", "k-1");
  const again = await cli("invoke", name, "--async", "--data", "x", "--idempotency-key", "k-1");
  assert.equal(again.stdout, twice.stdout);
  assert.match(again.stderr, /used before/);
  const misuse = await cli("invoke", name, "--async", "--method", "PUT");
  assert.equal(misuse.code, 1);
  assert.match(misuse.stderr, /--method does not apply to --async/);
});
