// Stack traces name the user's files: a deploy keeps the bundle's source map with the
// version, and the host rewrites the bundle's frames in the function's log lines — for a
// module and for the script form big bundles run as (its map chained through esbuild).
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick } from "./support/cli.ts";
import { bundleSource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
let dir: string;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  dir = tempDir("flick-maps-");
});
after(async () => {
  await node?.kill();
  rmSync(dir, { recursive: true, force: true });
  if (node !== undefined) rmSync(node.dataDir, { recursive: true, force: true });
});

function write(files: Record<string, string>): void {
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
}

const thrower = `// line 1
export function explode(what: string): never {
  throw new TypeError("boom: " + what); // line 3, column 9
}
`;

/** The error lines the function logged for one failed call. */
async function stackOf(name: string): Promise<string> {
  const res = await fetch(`${node.url}/fn/${name}`);
  assert.equal(res.status, 502);
  const id = res.headers.get("x-flick-invocation-id");
  const lines = (await node.admin.readLogs(name)).filter((l) => l.invocationId === id && l.level === "error");
  assert.ok(lines.length > 0, "the error is logged");
  return lines.map((l) => l.message).join("\n");
}

test("a thrown error's stack in the logs names the TypeScript file and line, not the bundle", async () => {
  write({
    "lib/thrower.ts": thrower,
    "mapped.ts": `import { explode } from "./lib/thrower.ts";\n\nexport default {\n  fetch(): Response {\n    return explode("in fetch"); // line 5\n  },\n};\n`,
  });
  const deployed = await flick(["deploy", "mapped.ts", "--data-dir", node.dataDir], {}, dir);
  assert.equal(deployed.code, 0, deployed.stderr);
  const stack = await stackOf("mapped");
  assert.match(stack, /TypeError: boom: in fetch/);
  assert.match(stack, /\(lib\/thrower\.ts:3:9\)/, stack);
  assert.match(stack, /\(mapped\.ts:5:12\)/, stack);
  assert.doesNotMatch(stack, /default\/mapped\.js:/, "no frame is left in the bundle");
});

test("big bundles run as scripts map through the chained map too", async () => {
  // Over 32 KiB of code: the version runs in its script form (build/script-form.ts).
  const filler = Array.from({ length: 1500 }, (_, i) => `export function f${i}(x: number): number { return x * ${i} + ${i % 7}; }`).join("\n");
  write({
    "lib/thrower.ts": thrower,
    "lib/filler.ts": filler,
    "big.ts": `import * as filler from "./lib/filler.ts";\nimport { explode } from "./lib/thrower.ts";\n\nexport default {\n  fetch(): Response {\n    if (Object.keys(filler).length > 0) explode("in a big one"); // line 6\n    return new Response("unreachable");\n  },\n};\n`,
  });
  const deployed = await flick(["deploy", "big.ts", "--data-dir", node.dataDir], {}, dir);
  assert.equal(deployed.code, 0, deployed.stderr);
  const info = await node.admin.getFunction("big");
  assert.ok(info.liveVersion.length === 16);
  const stack = await stackOf("big");
  assert.match(stack, /\(lib\/thrower\.ts:3:9\)/, stack);
  assert.match(stack, /big\.ts:6:\d+/, stack);
  assert.doesNotMatch(stack, /default\/big\.js:/);
});

test("without a map the frames stay in the bundle; a map that is not one is refused at deploy", async () => {
  const code = await bundleSource(`export default { fetch() { throw new Error("unmapped"); } };`);
  await node.admin.deploy("unmapped", { code });
  assert.match(await stackOf("unmapped"), /default\/unmapped\.js:\d+:\d+/);
  await assert.rejects(node.admin.deploy("unmapped", { code, sourceMap: "{\"version\":2}" }), /sourceMap: not a version 3 source map/);
  await assert.rejects(node.admin.deploy("unmapped", { sourceMap: "{}" }), /a source map goes with the code it maps/);
});
