// Everything in the data dir is for the node's user only: files 0600, folders 0700 —
// the database and its -wal/-shm, bundles, script forms, code caches, wasm, secret.key,
// admin.token, node.json, the runtime snapshot — whatever the umask of whoever started it.
import assert from "node:assert/strict";
import { chmodSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, test } from "node:test";
import { bundleFunction } from "../src/build/index.ts";
import { bundleSource } from "./support/functions.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

// A hand-assembled module exporting add(i32, i32) -> i32 (as in wasm.test.ts).
const addWasm = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x07, 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x03, 0x02, 0x01, 0x00,
  0x07, 0x07, 0x01, 0x03, 0x61, 0x64, 0x64, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00, 0x20, 0x00, 0x20, 0x01, 0x6a, 0x0b,
]);

let node: TestNode | undefined;
after(() => node?.kill());

/** Every file and folder under `dir`, with its permission bits. */
function modes(dir: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync(dir)) {
    const file = path.join(dir, entry);
    const stat = statSync(file);
    // The primary's socket (hosts pass it the admin API) is marked "=": it must be the owner's alone.
    out.set(path.relative(dir, file) + (stat.isDirectory() ? "/" : stat.isSocket() ? "=" : ""), stat.mode & 0o777);
    if (stat.isDirectory()) for (const [f, m] of modes(file)) out.set(path.join(entry, f), m);
  }
  return out;
}

function assertPrivate(dataDir: string, expected: RegExp[]): void {
  assert.equal(statSync(dataDir).mode & 0o777, 0o700, "the data dir");
  const found = modes(dataDir);
  for (const pattern of expected) assert.ok([...found.keys()].some((f) => pattern.test(f)), `no ${pattern} in ${[...found.keys()].join(", ")}`);
  const loose = [...found]
    .filter(([f, m]) => (f.endsWith("=") ? (m & 0o077) !== 0 : m !== (f.endsWith("/") ? 0o700 : 0o600)))
    .map(([f, m]) => `${f} ${m.toString(8)}`);
  assert.deepEqual(loose, [], "every file 0600, every folder 0700, the socket its owner's alone");
}

test("a node's data dir, and every file and folder in it, is private to its user", { timeout: 120_000 }, async () => {
  const dataDir = tempDir();
  // An existing data dir open to everyone (an older version, a hand-made folder) is closed at start.
  chmodSync(dataDir, 0o755);
  // The umask most users have (files 0644, folders 0755 unless the node says otherwise); the node inherits it.
  process.umask(0o022);
  node = await startTestNode({ dataDir, hosts: 1 });

  const dir = tempDir("flick-fn-");
  writeFileSync(path.join(dir, "add.wasm"), addWasm);
  // Big enough (≥ 32 KiB) for a script form and its V8 code cache, with a wasm module beside it.
  writeFileSync(
    path.join(dir, "index.ts"),
    `// @ts-nocheck
     import addModule from "./add.wasm";
     const pad = "${"p".repeat(40_000)}";
     export default { fetch: () => new Response(String(new WebAssembly.Instance(addModule).exports.add(pad.length, 2))) };`,
  );
  const bundled = await bundleFunction(path.join(dir, "index.ts"));
  await node.admin.deploy("private-files", {
    code: bundled.code,
    secrets: { TOKEN: "s3cret" },
    wasm: Object.fromEntries(Object.entries(bundled.wasm).map(([hash, bytes]) => [hash, Buffer.from(bytes).toString("base64")])),
  });
  assert.equal(await (await fetch(`${node.url}/fn/private-files`)).text(), "40002");
  await node.admin.deploy("small", { code: await bundleSource(`export default { fetch: () => { console.log("hi"); return new Response("ok"); } };`) });
  assert.equal(await (await fetch(`${node.url}/fn/small`)).text(), "ok");
  await node.admin.invokeAsync("small", { mode: "async", data: "x" });

  assertPrivate(dataDir, [
    /^flick\.db$/, /^flick\.db-wal$/, /^flick\.db-shm$/, /^queue\.db$/, /^queue\.db-wal$/, /^secret\.key$/, /^admin\.token$/, /^node\.json$/,
    /^runtime\.snapshot$/, /^bundles\/$/, /^bundles\/[0-9a-f]{64}\.js$/, /^bundles\/[0-9a-f]{64}\.script\.js$/, /^bundles\/[0-9a-f]{64}\.script\.js\.v8cache$/,
    /^bundles\/[0-9a-f]{64}\.wasm$/,
  ]);
  await node.kill();

  // Without a snapshot, hosts keep the runtime's V8 code cache in the data dir instead.
  chmodSync(dataDir, 0o755);
  node = await startTestNode({ dataDir, hosts: 1, env: { FLICK_NO_SNAPSHOT: "1" } });
  assert.equal(await (await fetch(`${node.url}/fn/small`)).text(), "ok");
  assertPrivate(dataDir, [/^runtime\.v8cache$/, /^flick\.db-wal$/]);
});
