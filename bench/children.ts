/**
 * Child processes the benchmark starts, each in its own process group so that stopping
 * one also reaches what it spawned (Flick's worker hosts), and none outlives the run:
 * not on an error, not on Ctrl-C, not when the bench process exits some other way.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";

const live = new Set<ChildProcess>();
const outputs = new WeakMap<ChildProcess, string>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {} // ESRCH: the whole group is gone already
}

/** Spawns a child as the leader of a new process group (detached), tracked until stopped. */
export function spawnChild(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...options, detached: true });
  live.add(child);
  child.once("exit", () => live.delete(child));
  child.once("error", () => live.delete(child)); // e.g. ENOENT: it never ran
  // Always drain both pipes (a full pipe would stall the child), keeping the tail for errors.
  outputs.set(child, "");
  const keep = (d: Buffer) => outputs.set(child, (outputs.get(child)! + d.toString()).slice(-8192));
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  return child;
}

/** The last 8 KiB the child printed, stdout and stderr interleaved. */
export function outputOf(child: ChildProcess): string {
  return outputs.get(child) ?? "";
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/**
 * SIGTERM to the leader first, so Flick shuts its hosts down the way it does for a user;
 * SIGKILL to the group after 5 s, or right away for anything the leader left behind.
 */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.pid === undefined) return void live.delete(child); // never started
  if (!exited(child)) {
    const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5000);
    await gone;
    clearTimeout(timer);
  }
  killGroup(child, "SIGKILL");
  live.delete(child);
}

export async function stopAllChildren(): Promise<void> {
  await Promise.all([...live].map(stopChild));
}

// Detached children do not get the terminal's Ctrl-C, so pass it on; and if the process
// exits without the finally blocks having run, take every group down synchronously.
for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping ${live.size} child process(es)`);
    void stopAllChildren().finally(() => process.exit(code));
  });
}
process.once("exit", () => {
  for (const child of live) killGroup(child, "SIGKILL");
});
