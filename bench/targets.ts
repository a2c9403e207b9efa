/**
 * The systems the benchmark compares, each started as its own process on 127.0.0.1 and
 * serving the same handler (examples/hello.ts): Flick as a user starts it, workerd from
 * its npm package, and a bare node:http server as the floor of what Node can do.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FlickClient } from "../src/api/index.ts";
import { bundleFunction } from "../src/build/index.ts";

export const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const helloEntry = path.join(repoRoot, "examples", "hello.ts");

export interface Target {
  name: string;
  url: string;
  version: string;
  child: ChildProcess;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function waitFor(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = pattern.exec(output);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1] ?? output);
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => reject(new Error(`${what} exited (${code}):\n${output}`)));
  });
}

async function waitForHttp(url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {}
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startFlick(): Promise<Target & { client: FlickClient }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "flick-bench-"));
  const child = spawn(process.execPath, [path.join(repoRoot, "bin", "flick.ts"), "up", "--port", "0", "--data-dir", dataDir], {
    cwd: repoRoot,
    stdio: ["ignore", "pipe", "pipe"],
  });
  await waitFor(child, /Press Ctrl-C to stop\./, "flick up");
  const { url } = JSON.parse(readFileSync(path.join(dataDir, "node.json"), "utf8")) as { url: string };
  const client = new FlickClient(url, readFileSync(path.join(dataDir, "admin.token"), "utf8").trim());
  await client.deploy("hello", { code: (await bundleFunction(helloEntry)).code });
  await waitForHttp(`${url}/fn/hello`);
  return { name: "flick", url: `${url}/fn/hello`, version: JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")).version, child, client };
}

/**
 * workerd from the npm registry, installed on first use into bench/.tools (gitignored)
 * rather than as a devDependency: its package lists binaries for every platform, and a
 * registry mirror without the other platforms' packages makes the lock file unusable
 * for `npm ci`.
 */
export const workerdVersion = "1.20261117.1";

async function workerdBinary(): Promise<string> {
  const prefix = path.join(repoRoot, "bench", ".tools");
  const bin = path.join(prefix, "node_modules", ".bin", "workerd");
  if (existsSync(bin)) return bin;
  console.error(`installing workerd@${workerdVersion} into ${path.relative(repoRoot, prefix)} (first run only)`);
  await new Promise<void>((resolve, reject) => {
    const npm = spawn("npm", ["install", "--prefix", prefix, "--no-save", "--no-audit", "--no-fund", `workerd@${workerdVersion}`], { stdio: "inherit" });
    npm.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`npm install workerd failed (exit ${code})`))));
    npm.once("error", reject);
  });
  return bin;
}

export async function startWorkerd(): Promise<Target> {
  const dir = mkdtempSync(path.join(tmpdir(), "flick-bench-workerd-"));
  writeFileSync(path.join(dir, "hello.js"), (await bundleFunction(helloEntry)).code);
  const port = await freePort();
  writeFileSync(
    path.join(dir, "config.capnp"),
    [
      `using Workerd = import "/workerd/workerd.capnp";`,
      `const config :Workerd.Config = (`,
      `  services = [ (name = "main", worker = .hello) ],`,
      `  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],`,
      `);`,
      `const hello :Workerd.Worker = (`,
      `  modules = [ (name = "hello.js", esModule = embed "hello.js") ],`,
      `  compatibilityDate = "2024-09-23",`,
      `);`,
      ``,
    ].join("\n"),
  );
  const bin = await workerdBinary();
  const version = await new Promise<string>((resolve) => {
    const v = spawn(bin, ["--version"], { stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    v.stdout.on("data", (d: Buffer) => (out += d.toString()));
    v.once("exit", () => resolve(out.trim()));
    v.once("error", () => resolve("not installed"));
  });
  const child = spawn(bin, ["serve", path.join(dir, "config.capnp")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  const url = `http://127.0.0.1:${port}/`;
  await waitForHttp(url);
  return { name: "workerd", url, version, child };
}

export async function startNodeHttp(): Promise<Target> {
  const source = `
    const http = require("node:http");
    http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
      res.end("Hello from Flick!\\n");
    }).listen(0, "127.0.0.1", function () { console.log("port " + this.address().port); });`;
  const child = spawn(process.execPath, ["-e", source], { stdio: ["ignore", "pipe", "pipe"] });
  const port = await waitFor(child, /port (\d+)/, "node:http");
  return { name: "node:http", url: `http://127.0.0.1:${port}/`, version: process.version, child };
}

export async function stopTarget(target: Target | undefined): Promise<void> {
  const child = target?.child;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
  await exited;
  clearTimeout(timer);
}
