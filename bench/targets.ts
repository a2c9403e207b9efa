/**
 * The systems the benchmark compares, each started as its own process on 127.0.0.1 and
 * answering with the same body: Flick as a user starts it, workerd (from the npm registry)
 * running the same bundled examples/hello.ts, and a bare node:http server as the floor
 * of what Node itself can do on this machine.
 */
import { execFileSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FlickClient } from "../src/api/index.ts";
import { bundleFunction } from "../src/build/index.ts";
import { exited, outputOf, spawnChild, stopChild } from "./children.ts";

export const repoRoot = fileURLToPath(new URL("../", import.meta.url));
const helloEntry = path.join(repoRoot, "examples", "hello.ts");
/** What examples/hello.ts answers; every target must answer exactly this. */
export const helloBody = "Hello from Flick!\n";

export interface Target {
  name: string;
  url: string;
  version: string;
  child: ChildProcess;
  /** A temp dir of its own (data dir, config), removed when it stops. */
  dir?: string;
}

export async function stopTarget(target: Pick<Target, "child" | "dir">): Promise<void> {
  await stopChild(target.child);
  if (target.dir !== undefined) rmSync(target.dir, { recursive: true, force: true });
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

/** Resolves with the first capture group of `pattern` once the child prints it. */
export async function waitForOutput(child: ChildProcess, pattern: RegExp, what: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(outputOf(child));
    if (m !== null) return m[1] ?? m[0];
    if (exited(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${outputOf(child)}`);
    if (Date.now() > deadline) throw new Error(`${what} did not start within ${timeoutMs} ms:\n${outputOf(child)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Waits until the URL answers 200, checks the body is the hello text (so every system is
 * measured doing the same thing), then sends a few more requests to warm it.
 */
async function waitUntilServing(child: ChildProcess, what: string, url: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(url).catch(() => undefined); // not listening yet
    const body = await res?.text();
    if (res?.ok === true) {
      if (body !== helloBody) throw new Error(`${what} answered ${JSON.stringify(body)}, expected ${JSON.stringify(helloBody)}`);
      break;
    }
    if (exited(child)) throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}):\n${outputOf(child)}`);
    if (Date.now() > deadline) throw new Error(`${what}: ${url} did not answer 200 within ${timeoutMs} ms:\n${outputOf(child)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  for (let i = 0; i < 20; i++) await (await fetch(url)).arrayBuffer();
}

/** Runs the rest of a start-up; if it fails, the already spawned child is stopped. */
async function startedOrStopped<T>(spawned: Pick<Target, "child" | "dir">, rest: () => Promise<T>): Promise<T> {
  try {
    return await rest();
  } catch (err) {
    await stopTarget(spawned);
    throw err;
  }
}

/**
 * A Flick node serving hello world. `args`: more `flick up` flags (the telemetry overhead
 * bench starts nodes with tracing settings); with `cpus`, it and every process it starts
 * run only on those CPUs (`taskset -c`).
 */
export async function startFlick(args: string[] = [], cpus?: string): Promise<Target & { client: FlickClient; baseUrl: string }> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "flick-bench-"));
  const command = [process.execPath, path.join(repoRoot, "bin", "flick.ts"), "up", "--port", "0", "--data-dir", dataDir, ...args];
  const child = cpus === undefined ? spawnChild(command[0]!, command.slice(1), { cwd: repoRoot }) : spawnChild("taskset", ["-c", cpus, ...command], { cwd: repoRoot });
  return startedOrStopped({ child, dir: dataDir }, async () => {
    await waitForOutput(child, /Press Ctrl-C to stop\./, "flick up");
    const { url } = JSON.parse(readFileSync(path.join(dataDir, "node.json"), "utf8")) as { url: string };
    const client = new FlickClient(url, readFileSync(path.join(dataDir, "admin.token"), "utf8").trim());
    const { code } = await bundleFunction(helloEntry);
    await client.deploy("hello", { code });
    await waitUntilServing(child, "flick", `${url}/fn/hello`);
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    return { name: "flick", url: `${url}/fn/hello`, baseUrl: url, version, child, dir: dataDir, client };
  });
}

/**
 * workerd from the npm registry, installed by the bench on first use into bench/.tools
 * (gitignored) instead of as a devDependency: it is 138 MB that `npm install` would give
 * every user and every CI run for a tool only the benchmark needs. Pinned: the registry
 * here lacks some platforms' builds of newer releases.
 */
const workerdPackage = "workerd@1.20261023.1";
const toolsDir = path.join(repoRoot, "bench", ".tools");
const workerdBin = path.join(toolsDir, "node_modules", ".bin", "workerd");

/** `workerd --version`, installing workerd first if needed. */
export function workerdVersion(): string {
  if (!existsSync(workerdBin)) {
    console.error(`installing ${workerdPackage} into ${path.relative(repoRoot, toolsDir)} (first run only)`);
    try {
      execFileSync("npm", ["install", "--prefix", toolsDir, "--no-save", "--no-audit", "--no-fund", workerdPackage], { stdio: "inherit" });
    } catch (err) {
      throw new Error(`could not install ${workerdPackage} from the npm registry (${(err as Error).message})`);
    }
  }
  return execFileSync(workerdBin, ["--version"], { encoding: "utf8" }).trim();
}

export async function startWorkerd(): Promise<Target> {
  const version = workerdVersion();
  const dir = mkdtempSync(path.join(tmpdir(), "flick-bench-workerd-"));
  // The same esbuild output Flick deploys: an ES module with `export default { fetch }`.
  writeFileSync(path.join(dir, "hello.js"), (await bundleFunction(helloEntry)).code);
  const port = await freePort();
  writeFileSync(
    path.join(dir, "config.capnp"),
    `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .hello) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const hello :Workerd.Worker = (
  modules = [ (name = "hello.js", esModule = embed "hello.js") ],
  compatibilityDate = "2024-09-23",
);
`,
  );
  const child = spawnChild(workerdBin, ["serve", path.join(dir, "config.capnp")], { cwd: dir });
  const url = `http://127.0.0.1:${port}/`;
  return startedOrStopped({ child, dir }, async () => {
    // workerd prints nothing when it is ready: poll it.
    await waitUntilServing(child, "workerd", url);
    return { name: "workerd", url, version, child, dir };
  });
}

export async function startNodeHttp(): Promise<Target> {
  const source = `
    const http = require("node:http");
    http.createServer((req, res) => {
      res.writeHead(200, { "content-type": "text/plain;charset=UTF-8" });
      res.end(${JSON.stringify(helloBody)});
    }).listen(0, "127.0.0.1", function () { console.log("port " + this.address().port); });`;
  const child = spawnChild(process.execPath, ["-e", source]);
  return startedOrStopped({ child }, async () => {
    const port = await waitForOutput(child, /port (\d+)/, "node:http");
    const url = `http://127.0.0.1:${port}/`;
    await waitUntilServing(child, "node:http", url);
    return { name: "node:http", url, version: process.version, child };
  });
}
