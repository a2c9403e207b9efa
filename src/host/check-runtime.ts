/**
 * A worker host refuses to start on an unsafe isolated-vm or without the Node flag its
 * README requires: versions before 6.2.0 have a sandbox escape, and without
 * `--no-node-snapshot` isolates crash on Node ≥ 20.
 */
import { createRequire } from "node:module";

export const minimumIsolatedVm = [6, 2, 0] as const;

export function isolatedVmVersion(): string {
  const require = createRequire(import.meta.url);
  return (require("isolated-vm/package.json") as { version: string }).version;
}

export function versionAtLeast(version: string, min: readonly number[]): boolean {
  const parts = version.split(/[.+-]/).slice(0, 3).map(Number);
  for (let i = 0; i < min.length; i++) {
    const p = parts[i] ?? 0;
    if (p !== min[i]) return p > min[i]!;
  }
  return true;
}

/** Throws with what is wrong and how to fix it. */
export function checkRuntime(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env["NODE_OPTIONS"] ?? ""): void {
  const version = isolatedVmVersion();
  if (!versionAtLeast(version, minimumIsolatedVm)) {
    throw new Error(
      `isolated-vm ${version} is installed, but Flick needs ≥ ${minimumIsolatedVm.join(".")} (earlier versions have a sandbox escape). Run \`npm install isolated-vm@^6.2.0\`.`,
    );
  }
  const flag = "--no-node-snapshot";
  if (!execArgv.includes(flag) && !nodeOptions.split(/\s+/).includes(flag)) {
    throw new Error(`the worker host must run with \`node ${flag}\` (isolated-vm requires it on Node ≥ 20); start it through the supervisor or add the flag.`);
  }
}
