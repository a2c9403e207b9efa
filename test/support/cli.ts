/** Runs the `flick` CLI as a user would, in a child process, and captures what it prints. */
import { spawn } from "node:child_process";
import { flickBin, repoRoot } from "./node-process.ts";

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `input`, when given, is written to the CLI's stdin (then closed); else stdin is empty. */
export function flick(args: string[], env: Record<string, string | undefined> = {}, cwd = repoRoot, input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [flickBin, ...args], {
      cwd,
      env: { ...process.env, FLICK_URL: undefined, FLICK_TOKEN: undefined, FLICK_DATA_DIR: undefined, ...env } as NodeJS.ProcessEnv,
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    if (input !== undefined) child.stdin!.end(input);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
