/**
 * Starts a real Flick node the way a user does — `node bin/flick.ts up` in its own
 * process, on 127.0.0.1 with an ephemeral port and a fresh data dir — and gives tests its
 * URL, admin token and a way to kill it (gently or with SIGKILL).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { FlickClient } from "../../src/api/index.ts";

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
export const flickBin = path.join(repoRoot, "bin", "flick.ts");

export interface TestNode {
  url: string;
  dataDir: string;
  adminToken: string;
  admin: FlickClient;
  process: ChildProcess;
  output(): string;
  /** SIGTERM and wait (or SIGKILL with `kill("SIGKILL")`). */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function tempDir(prefix = "flick-test-"): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface TestNodeOptions {
  dataDir?: string;
  args?: string[];
  hosts?: number;
  env?: Record<string, string>;
  /**
   * Runs the node (and the worker hosts it forks) under this file size limit (RLIMIT_FSIZE,
   * a multiple of 512): a write past it fails with EFBIG, as on a full disk, for real and
   * without root. Set by `sh -c 'ulimit -f'`, which counts 512-byte blocks.
   */
  fileSizeLimitBytes?: number;
  /**
   * How long start-up may take before the test gives up (default 30 s): a bound on a wait
   * that would otherwise never end, not a speed target. A cluster node started while a
   * NATS server is down waits up to a minute for the streams to answer.
   */
  startWithinMs?: number;
}

export async function startTestNode(options: TestNodeOptions = {}): Promise<TestNode> {
  const dataDir = options.dataDir ?? tempDir();
  const info = path.join(dataDir, "node.json");
  rmSync(info, { force: true });
  const argv = [flickBin, "up", "--port", "0", "--data-dir", dataDir, "--hosts", String(options.hosts ?? 2), ...(options.args ?? [])];
  const limit = options.fileSizeLimitBytes;
  if (limit !== undefined && limit % 512 !== 0) throw new Error("fileSizeLimitBytes must be a multiple of 512");
  // SIGXFSZ would kill the process at the limit; ignored (Node ignores it too), the write fails with EFBIG.
  const [command, args] = limit === undefined
    ? [process.execPath, argv]
    : ["sh", ["-c", 'trap "" XFSZ; ulimit -f "$0" && exec "$@"', String(limit / 512), process.execPath, ...argv]];
  const child = spawn(command, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...options.env } });
  let output = "";
  child.stdout!.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const startWithinMs = options.startWithinMs ?? 30_000;
  const deadline = Date.now() + startWithinMs;
  while (!output.includes("Press Ctrl-C to stop.")) {
    if (child.exitCode !== null) throw new Error(`flick up exited (${child.exitCode}):\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`flick up did not start within ${startWithinMs / 1000} s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!existsSync(info)) throw new Error(`flick up started but wrote no ${info}`);
  const url = (JSON.parse(readFileSync(info, "utf8")) as { url: string }).url;
  const adminToken = readFileSync(path.join(dataDir, "admin.token"), "utf8").trim();
  return {
    url,
    dataDir,
    adminToken,
    admin: new FlickClient(url, adminToken),
    process: child,
    output: () => output,
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
