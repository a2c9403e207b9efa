// WebAssembly modules shipped with the deploy work (`import add from "./add.wasm"`, as in
// Workers); compiling bytes made at run time stays refused.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { flick } from "./support/cli.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

// A hand-assembled module exporting add(i32, i32) -> i32.
const addWasm = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
  0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f,
  0x03, 0x02, 0x01, 0x00,
  0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00,
  0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
]);

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
});
after(() => node.kill());

test("a module imported from a .wasm file is shipped with the deploy and instantiates", async () => {
  const dir = tempDir("flick-wasm-");
  writeFileSync(path.join(dir, "add.wasm"), addWasm);
  writeFileSync(
    path.join(dir, "index.ts"),
    `// @ts-nocheck
     import addModule from "./add.wasm";
     export default { async fetch(request) {
       const q = new URL(request.url).searchParams;
       const viaConstructor = new WebAssembly.Instance(addModule).exports.add(Number(q.get("a")), Number(q.get("b")));
       const viaInstantiate = (await WebAssembly.instantiate(addModule)).exports.add(2, 3);
       let runtimeBytes;
       try { await WebAssembly.instantiate(new Uint8Array(${JSON.stringify([...addWasm])})); runtimeBytes = "ALLOWED"; } catch (e) { runtimeBytes = e.name; }
       const exported = WebAssembly.Module.exports(addModule).map((e) => e.name + ":" + e.kind).join(",");
       return Response.json({ viaConstructor, viaInstantiate, isModule: addModule instanceof WebAssembly.Module, runtimeBytes, exported });
     } };`,
  );
  const deployed = await flick(["deploy", path.join(dir, "index.ts"), "--name", "adder", "--data-dir", node.dataDir]);
  assert.equal(deployed.code, 0, deployed.stderr);
  const res = await fetch(`${node.url}/fn/adder?a=40&b=2`);
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { viaConstructor: 42, viaInstantiate: 5, isModule: true, runtimeBytes: "CompileError", exported: "add:function" });
});

test("a deploy whose wasm bytes do not match their hash is refused", async () => {
  const code = `export default { fetch: () => new Response("x") };`;
  await assert.rejects(node.admin.deploy("liar", { code, wasm: { ["0".repeat(64)]: Buffer.from(addWasm).toString("base64") } }), /do not hash to their key/);
});

test("the module survives a restart (stored beside the bundle)", async () => {
  await node.kill("SIGKILL");
  node = await startTestNode({ hosts: 1, dataDir: node.dataDir });
  const res = await fetch(`${node.url}/fn/adder?a=1&b=1`);
  assert.equal(((await res.json()) as { viaConstructor: number }).viaConstructor, 2);
});

test("a function that makes a Wasm memory in every request keeps working: hosts collect before refusing address space", async () => {
  // Each memory reserves 8 GiB of address space and an instance may hold 8; the host's
  // isolates get V8's gc (hosts run with --expose-gc) so dropped ones are collected.
  await node.admin.deploy("memories", {
    code: `export default { fetch() { return new Response(String(new WebAssembly.Memory({ initial: 1 }).buffer.byteLength)); } };`,
  });
  for (let i = 0; i < 30; i++) {
    const res = await fetch(`${node.url}/fn/memories`);
    assert.deepEqual([res.status, await res.text()], [200, "65536"], `request ${i}`);
  }
});
