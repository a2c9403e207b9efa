/**
 * A long-running `flick` command (dev, logs -f) in a child process: tests wait for what it
 * prints (on each output event, not by polling), write to its stdin, and stop it with Ctrl-C.
 */
import { spawn } from "node:child_process";
import { flickBin } from "./node-process.ts";

export interface LiveCli {
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `pattern` in stdout (or stderr) once it appears (fails if the command exits first). */
  printed(pattern: string | RegExp, stream?: "stdout" | "stderr"): Promise<RegExpMatchArray>;
  /** Writes a line to its stdin. */
  type(line: string): void;
  /** Ctrl-C, as a user stops it; resolves with the exit code. */
  interrupt(): Promise<number | null>;
  kill(): void;
}

export function spawnLive(args: string[], options: { cwd: string; env?: Record<string, string | undefined> }): LiveCli {
  const env = { ...process.env, FLICK_URL: undefined, FLICK_TOKEN: undefined, FLICK_DATA_DIR: undefined, ...options.env } as NodeJS.ProcessEnv;
  const child = spawn(process.execPath, [flickBin, ...args], { cwd: options.cwd, env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  const watchers = new Set<() => void>();
  const changed = () => {
    for (const w of [...watchers]) w();
  };
  child.stdout!.on("data", (d: Buffer) => {
    stdout += d.toString();
    changed();
  });
  child.stderr!.on("data", (d: Buffer) => {
    stderr += d.toString();
    changed();
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    changed();
    resolve(code);
  }));
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    printed: (pattern, stream = "stdout") =>
      new Promise((resolve, reject) => {
        const check = () => {
          const text = stream === "stdout" ? stdout : stderr;
          const match = typeof pattern === "string" ? (text.includes(pattern) ? ([pattern] as RegExpMatchArray) : null) : pattern.exec(text);
          if (match !== null) {
            watchers.delete(check);
            resolve(match);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            watchers.delete(check);
            reject(new Error(`flick ${args.join(" ")} exited (${child.exitCode ?? child.signalCode}) before printing ${String(pattern)}:\n${stdout}\n${stderr}`));
          }
        };
        watchers.add(check);
        check();
      }),
    type: (line) => void child.stdin!.write(`${line}\n`),
    interrupt: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      return exited;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
