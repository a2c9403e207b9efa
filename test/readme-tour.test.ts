// The README cannot drift: its tour runs as one bash script, literally and in order,
// next to a fresh node started as `npm start` starts it (`flick up --examples`). The only
// change: the node listens on a free port, so `localhost:8080` is replaced by its address.
// HOME is a temp folder (the tour writes ~/fns/greet) and FLICK_DATA_DIR points the CLI at
// the node, as ./.flick does next to `npm start`. (test/package.test.ts runs the same tour
// with the installed package, from another folder.)
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { after, before, test } from "node:test";
import { repoRoot, startTestNode, tempDir, type TestNode } from "./support/node-process.ts";
import { assertTourShown, runTour, tourScript } from "./support/readme-tour.ts";

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

test("the README's tour runs literally, in order, on a fresh node", async () => {
  assert.ok(tourScript().split("\n").length > 30, "the tour has its commands");
  assertTourShown(await runTour({ cwd: repoRoot, home, nodeUrl: node.url, dataDir: node.dataDir }));
});
