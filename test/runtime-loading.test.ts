// The fallback way into an isolate — runtime compiled with a code cache instead of a
// startup snapshot — gives functions the same platform and the same lockdown.
import assert from "node:assert/strict";
import { test } from "node:test";
import { startTestNode } from "./support/node-process.ts";

test("without the startup snapshot, functions get the same runtime and lockdown", async () => {
  const node = await startTestNode({ hosts: 1, env: { FLICK_NO_SNAPSHOT: "1" } });
  try {
    await node.admin.deploy("probe", {
      code: `export default { async fetch() {
        let evalResult; try { eval("1"); evalResult = "ALLOWED"; } catch (e) { evalResult = e.name; }
        return Response.json({ evalResult, sab: typeof SharedArrayBuffer, wasmCompile: await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])).then(() => "ALLOWED", (e) => e.name), url: new URL("https://bücher.example/").hostname });
      } };`,
    });
    const res = await fetch(`${node.url}/fn/probe`);
    assert.deepEqual(await res.json(), { evalResult: "EvalError", sab: "undefined", wasmCompile: "CompileError", url: "xn--bcher-kva.example" });
  } finally {
    await node.kill();
  }
});
