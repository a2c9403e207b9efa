/**
 * CLI start-up: wall time of `flick --help`, `flick ls` and `flick invoke` (the last two
 * against a running node) next to `node -e 0`, in interleaved rounds, medians.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { bundleFunction } from "../src/build/index.ts";
import { repoRoot, startFlick, stopTarget } from "./targets.ts";

export interface CliStartup {
  runs: number;
  /** Median wall ms per command. */
  nodeMs: number;
  helpMs: number;
  lsMs: number;
  invokeMs: number;
}

function median(values: number[]): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function measureCliStartup(runs = 20): Promise<CliStartup> {
  const flick = await startFlick();
  try {
    await flick.client.deploy("cli-hello", { code: (await bundleFunction(path.join(repoRoot, "examples", "hello.ts"))).code });
    // As on a developer's machine: the CLI finds the node and its token in the data dir.
    const env: NodeJS.ProcessEnv = { ...process.env, FLICK_DATA_DIR: flick.dir };
    delete env["FLICK_URL"];
    delete env["FLICK_TOKEN"];
    const flickJs = path.join(repoRoot, "bin", "flick.js");
    const commands: Record<"node" | "help" | "ls" | "invoke", string[]> = {
      node: ["-e", "0"],
      help: [flickJs, "--help"],
      ls: [flickJs, "ls"],
      invoke: [flickJs, "invoke", "cli-hello"],
    };
    const times: Record<keyof typeof commands, number[]> = { node: [], help: [], ls: [], invoke: [] };
    for (let round = 0; round < runs + 2; round++) {
      for (const name of Object.keys(commands) as (keyof typeof commands)[]) {
        const started = performance.now();
        const result = spawnSync(process.execPath, commands[name], { cwd: repoRoot, env, encoding: "utf8" });
        const ms = performance.now() - started;
        if (result.status !== 0) throw new Error(`${commands[name].join(" ")} exited ${result.status}: ${result.stderr}`);
        if (round >= 2) times[name].push(ms); // two warm-up rounds (file cache)
      }
    }
    return { runs, nodeMs: median(times.node), helpMs: median(times.help), lsMs: median(times.ls), invokeMs: median(times.invoke) };
  } finally {
    await stopTarget(flick);
  }
}
