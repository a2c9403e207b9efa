/**
 * The README's tour as a script: every ```sh block from "A five-minute tour" to "More",
 * in order (test/readme-tour.test.ts runs it in the checkout, test/package.test.ts with
 * the installed package), and a runner that gives it a home, a node and a port.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { repoRoot } from "./node-process.ts";

export function tourScript(): string {
  const readme = readFileSync(path.join(repoRoot, "README.md"), "utf8");
  const start = readme.indexOf("## A five-minute tour");
  const end = readme.indexOf("## More", start);
  assert.ok(start >= 0 && end > start, "the README has its tour");
  return [...readme.slice(start, end).matchAll(/^```sh\n([^]*?)^```$/gm)].map((m) => m[1]!).join("\n");
}

export interface TourRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `prelude` then the tour with bash -e -o pipefail in `cwd`, next to the node at
 * `nodeUrl` whose data dir is `dataDir`; `localhost:8080` becomes the node's address.
 */
export async function runTour(options: { cwd: string; home: string; nodeUrl: string; dataDir: string; pathFirst?: string; prelude?: string }): Promise<TourRun> {
  const script = `${options.prelude ?? ""}\n${tourScript().replaceAll("localhost:8080", new URL(options.nodeUrl).host)}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: options.home,
    FLICK_DATA_DIR: options.dataDir,
    PATH: [options.pathFirst, path.dirname(process.execPath), process.env["PATH"]].filter((p) => p !== undefined).join(":"),
  };
  for (const name of ["FLICK_URL", "FLICK_TOKEN", "NODE_TEST_CONTEXT"]) delete env[name];
  const run = spawn("bash", ["-e", "-o", "pipefail", "-c", script], { cwd: options.cwd, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  run.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  run.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => run.once("exit", resolve));
  return { code, stdout, stderr };
}

/** What the tour says each step shows; fails naming the first that is missing. */
export function assertTourShown(run: TourRun): void {
  assert.equal(run.code, 0, `the tour stopped with exit ${run.code}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  for (const shown of [
    "Hello from Flick!",
    '{"id":"42"',
    '{"message":"Hello, Ada!"}',
    "greet: deployed",
    "secret API_KEY set",
    '{"hello":"Ada","queued":"resize"}',
    "x-flick-version:",
    "every request goes to",
    '{"page":"/home","visits":1}',
    '"visits":42}',
    '[{"id":1,"text":"buy milk"}]',
    '{"room":"lobby","visits":1,"sinceStart":1}',
  ]) {
    assert.ok(run.stdout.includes(shown), `the tour printed ${JSON.stringify(shown)}\n--- stdout\n${run.stdout}\n--- stderr\n${run.stderr}`);
  }
  assert.doesNotMatch(run.stdout + run.stderr, /\[(unauthorized|forbidden|function_not_found|internal)\]|"error":/, "no step answered with an error");
}
