// The CLI as people install it: `npm pack` makes a tarball (compiled to JavaScript by the
// prepack step), `npm install -g` puts it under a temporary prefix, and from a folder that
// is not the checkout `flick` starts a node, scaffolds a function, deploys it, stores a
// secret and answers — all on the compiled code, none of it type-stripped.
// The pack runs in a copy of the checkout: `prepack` writes dist/, which the checkout's own
// bin/flick.js would pick up while other test files run the CLI.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { repoRoot, tempDir } from "./support/node-process.ts";
import { assertTourShown, runTour } from "./support/readme-tour.ts";
import { buildC } from "./support/wasi-build.ts";

let work: string;
let prefix: string;
let flickBin: string;
const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}:${process.env["PATH"]}` };
delete env["FLICK_URL"];
delete env["FLICK_TOKEN"];
delete env["FLICK_DATA_DIR"];
delete env["NODE_TEST_CONTEXT"];

function run(command: string, args: string[], cwd: string, input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(command, args, { cwd, env, encoding: "utf8", ...(input === undefined ? {} : { input }) });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ok(command: string, args: string[], cwd: string, input?: string): string {
  const r = run(command, args, cwd, input);
  assert.equal(r.status, 0, `${command} ${args.join(" ")} in ${cwd}: exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** npm as this run has it: the one `npm test` runs under, else the one on PATH. */
function npm(args: string[], cwd: string): string {
  const cli = process.env["npm_execpath"];
  return cli !== undefined && cli.endsWith(".js") ? ok(process.execPath, [cli, ...args], cwd) : ok("npm", args, cwd);
}

before(() => {
  work = tempDir("flick-pack-");
  const copy = path.join(work, "checkout");
  mkdirSync(copy);
  for (const entry of ["package.json", "tsconfig.json", "tsconfig.dist.json", "bin", "scripts", "src", "examples", "docs", "README.md"]) {
    cpSync(path.join(repoRoot, entry), path.join(copy, entry), { recursive: true });
  }
  symlinkSync(path.join(repoRoot, "node_modules"), path.join(copy, "node_modules"));
  npm(["pack", "--pack-destination", work, "--loglevel", "error"], copy);
  prefix = path.join(work, "prefix");
  const tarball = readdirSync(work).find((f) => f.endsWith(".tgz"))!;
  // Dependencies come from npm's cache when they are there (npm ci filled it), else the registry.
  npm(["install", "-g", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", "--loglevel", "error", path.join(work, tarball)], work);
  flickBin = path.join(prefix, "bin", "flick");
});
after(() => rmSync(work, { recursive: true, force: true }));

/** Runs `work` next to `flick up` of the installed package, started in `cwd`, then stops it with Ctrl-C. */
async function withInstalledNode(cwd: string, args: string[], work: (url: string) => Promise<void>): Promise<void> {
  const up = spawn(flickBin, ["up", "--port", "0", "--hosts", "1", ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  try {
    let output = "";
    await new Promise<void>((resolve, reject) => {
      up.stdout.on("data", (d: Buffer) => {
        output += d.toString();
        if (output.includes("Press Ctrl-C to stop.")) resolve();
      });
      up.stderr.on("data", (d: Buffer) => (output += d.toString()));
      up.once("exit", (code) => reject(new Error(`flick up exited ${code}:\n${output}`)));
    });
    await work(/Flick is up at (http:\/\/\S+)/.exec(output)![1]!);
  } finally {
    const exited = new Promise((resolve) => up.once("exit", resolve));
    up.kill("SIGINT");
    await exited;
  }
}


test("the package holds compiled JavaScript, and packing leaves no dist/ behind", () => {
  const installed = path.join(prefix, "lib", "node_modules", "flick");
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === "node_modules" ? [] : files(path.join(dir, e.name))) : [path.join(dir, e.name)]));
  const shipped = files(installed).map((f) => path.relative(installed, f));
  assert.deepEqual(shipped.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), [], "no TypeScript to strip under node_modules");
  assert.ok(shipped.includes(path.join("dist", "src", "host", "worker-main.js")));
  assert.ok(shipped.includes(path.join("dist", "src", "dashboard", "static", "index.html")), "the dashboard's files are copied beside its handler");
  assert.ok(shipped.includes(path.join("dist", "src", "host", "encoding-indexes.bin")), "the TextDecoder's CJK indexes are copied beside their reader");
  assert.ok(!shipped.some((f) => f.includes(".test.")), "no tests in the package");
  assert.equal(existsSync(path.join(work, "checkout", "dist")), false, "postpack removed dist/");
  assert.equal(existsSync(path.join(repoRoot, "dist")), false);
});

test("installed with npm install -g, flick works from any folder: up, init, deploy, secret, call", async () => {
  const elsewhere = path.join(work, "elsewhere");
  mkdirSync(elsewhere);
  const version = (JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string }).version;
  assert.equal(ok(flickBin, ["--version"], elsewhere), `flick ${version} (Node.js ${process.version})\n`);

  await withInstalledNode(elsewhere, [], async (url) => {
    ok(flickBin, ["init", "shop"], elsewhere);
    const project = path.join(elsewhere, "shop");
    ok(flickBin, ["deploy", "--data-dir", "../.flick"], project);
    ok(flickBin, ["secret", "put", "API_KEY", "--data-dir", "../.flick"], project, "k");
    const res = await fetch(`${url}/fn/shop?name=Ada`);
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { message: "Hello, Ada!" });
    assert.match(ok(flickBin, ["info", "shop", "--data-dir", "../.flick"], project), /secret\.API_KEY\s+••••\s+flick secret put/);
    // The dashboard: its own files, and uPlot from the installed dependency.
    for (const p of ["/dashboard/", "/dashboard/app.js", "/dashboard/uplot.js"]) assert.equal((await fetch(`${url}${p}`)).status, 200, p);
    // A WASI program: its runner is bundled from the compiled files beside the CLI.
    const wasm = path.join(elsewhere, "hello.wasm");
    cpSync(buildC(path.join(repoRoot, "bench", "wasi", "hello.c")), wasm);
    ok(flickBin, ["deploy", wasm, "--data-dir", ".flick"], elsewhere);
    assert.equal(await (await fetch(`${url}/fn/hello`)).text(), "Hello from WASI!\n");
  });
});

test("the README's tour runs with the installed package, from a folder that has only the examples", async () => {
  const folder = path.join(work, "tour");
  mkdirSync(folder);
  cpSync(path.join(repoRoot, "examples"), path.join(folder, "examples"), { recursive: true });
  const home = path.join(work, "tour-home");
  mkdirSync(home);
  await withInstalledNode(folder, ["--examples"], async (url) => {
    // `npx flick` in the checkout is the installed `flick` here.
    const run = await runTour({ cwd: folder, home, nodeUrl: url, dataDir: path.join(folder, ".flick"), pathFirst: path.join(prefix, "bin"), prelude: 'npx() { "$@"; }' });
    assertTourShown(run);
  });
});
