// The README cannot drift: its tour, every ```sh block from "A five-minute tour" to
// "More", runs as one bash script, literally and in order, next to a fresh node started as
// `npm start` starts it (`flick up --examples`). The only change: the node listens on a
// free port, so `localhost:8080` is replaced by its address. HOME is a temp folder (the
// tour writes ~/fns/greet) and FLICK_DATA_DIR points the CLI at the node, as ./.flick
// would next to `npm start`.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let home: string;

before(async () => {
  node = await startTestNode({ args: ["--examples"] });
  home = tempDir("flick-tour-home-");
});
after(async () => {
  await node?.kill();
  rmSync(home, { recursive: true, force: true });
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

/** The tour's shell blocks, in order. */
export function tourScript(readme: string): string {
  const start = readme.indexOf("## A five-minute tour");
  const end = readme.indexOf("## More", start);
  assert.ok(start >= 0 && end > start, "the README has its tour");
  return [...readme.slice(start, end).matchAll(/^```sh\n([^]*?)^```$/gm)].map((m) => m[1]!).join("\n");
}

test("the README's tour runs literally, in order, on a fresh node", async () => {
  const tour = tourScript(readFileSync(path.join(repoRoot, "README.md"), "utf8"));
  assert.ok(tour.split("\n").length > 30, "the tour has its commands");
  const address = new URL(node.url).host;
  const script = tour.replaceAll("localhost:8080", address);
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, FLICK_DATA_DIR: node.dataDir, PATH: `${path.dirname(process.execPath)}:${process.env["PATH"]}` };
  for (const name of ["FLICK_URL", "FLICK_TOKEN", "NODE_TEST_CONTEXT"]) delete env[name];
  const run = spawn("bash", ["-e", "-o", "pipefail", "-c", script], { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  run.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  run.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => run.once("exit", resolve));
  assert.equal(code, 0, `the tour stopped with exit ${code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  // What the tour says each step shows.
  for (const shown of [
    "Hello from Flick!",
    '{"id":"42"',
    '{"message":"Hello, Ada!"}',
    "greet: deployed",
    "secret API_KEY set",
    '{"hello":"Ada","queued":"resize"}',
    "x-flick-version:",
    "every request goes to",
  ]) {
    assert.ok(stdout.includes(shown), `the tour printed ${JSON.stringify(shown)}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`);
  }
  assert.doesNotMatch(stdout + stderr, /\[(unauthorized|forbidden|function_not_found|internal)\]|"error":/, "no step answered with an error");
});
