// Threat: compiled code smuggled in as V8 code cache. Cache bytes come only from the
// platform (no API takes them) and are authenticated (HMAC under a node key) before V8
// sees them; a planted or altered cache file is refused, reported and rebuilt.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, test } from "node:test";
import ivm from "isolated-vm";
import { CodeCache } from "../../src/host/code-cache.ts";
import { startTestNode, tempDir, type TestNode } from "../support/node-process.ts";

const legit = "globalThis.who = 'legit!'; export default { fetch: () => new Response(globalThis.who) };";
const evil = "globalThis.who = 'pwned!'; export default { fetch: () => new Response(globalThis.who) };";

let node: TestNode | undefined;
after(() => node?.kill());

function cacheFiles(dataDir: string): string[] {
  const dir = path.join(dataDir, "bundles");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".v8cache"))
    .map((f) => path.join(dir, f));
}

async function waitFor<T>(get: () => T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test("the deploy API takes no code cache from a user", async () => {
  node = await startTestNode({ hosts: 1 });
  const res = await fetch(`${node.url}/api/v1/functions/f`, {
    method: "PUT",
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ code: legit, codeCache: "AAAA" }),
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /codeCache/);
  await node.kill();
  node = undefined;
});

test("a planted code cache file (V8 bytes for other code, forged MAC) is refused, reported and rebuilt", async () => {
  const dataDir = tempDir();
  node = await startTestNode({ dataDir, hosts: 1 });
  await node.admin.deploy("who", { code: legit });
  assert.equal(await (await fetch(`${node.url}/fn/who`)).text(), "legit!");
  const file = await waitFor(() => cacheFiles(dataDir)[0], "the platform's code cache file");
  const made = readFileSync(file);
  assert.equal(made.subarray(0, 6).toString(), "FLKCC1", "the platform wrote a sealed cache beside the bundle");
  await node.kill();

  // The attacker: real V8 cache data for a same-length module that says something else,
  // under the right magic and a MAC made without the node's key.
  const isolate = new ivm.Isolate();
  const compiled = isolate.compileModuleSync(evil, { filename: "default/who.js", produceCachedData: true }) as ivm.Module & { cachedData?: ivm.ExternalCopy<ArrayBuffer> };
  const evilBytes = Buffer.from(compiled.cachedData!.copy());
  isolate.dispose();
  const planted = Buffer.concat([made.subarray(0, 8), Buffer.alloc(32, 0x41), evilBytes]);
  writeFileSync(file, planted);

  node = await startTestNode({ dataDir, hosts: 1 });
  assert.equal(await (await fetch(`${node.url}/fn/who`)).text(), "legit!");
  await waitFor(() => (node!.output().includes("failed authentication") ? true : undefined), "the warning about the refused cache");
  const rebuilt = await waitFor(() => {
    const now = readFileSync(file);
    return now.equals(planted) ? undefined : now;
  }, "the cache to be rebuilt");
  assert.equal(rebuilt.subarray(0, 6).toString(), "FLKCC1");
});

test("CodeCache accepts only what it sealed, for exactly that source", () => {
  const dir = tempDir();
  const bundle = path.join(dir, "b.js");
  writeFileSync(bundle, legit);
  const key = Buffer.alloc(32, 7);
  const isolate = new ivm.Isolate();
  const compiled = isolate.compileModuleSync(legit, { produceCachedData: true }) as ivm.Module & { cachedData?: ivm.ExternalCopy<ArrayBuffer> };
  new CodeCache(key).store(bundle, legit, compiled.cachedData!);
  isolate.dispose();

  assert.ok(new CodeCache(key).load(bundle, legit) !== undefined, "its own seal opens");
  const otherSource = new CodeCache(key);
  assert.equal(otherSource.load(bundle, evil), undefined, "the same file does not vouch for other code");
  assert.equal(otherSource.rejected, 1);
  const otherKey = new CodeCache(Buffer.alloc(32, 8));
  assert.equal(otherKey.load(bundle, legit), undefined, "another node's key does not open it");
  const flipped = readFileSync(`${bundle}.v8cache`);
  flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
  writeFileSync(`${bundle}.v8cache`, flipped);
  assert.equal(new CodeCache(key).load(bundle, legit), undefined, "one flipped bit is refused");
});
