// Threat: compiled code smuggled in as V8 code cache. Cache bytes come only from the
// platform (no API takes them) and are authenticated (HMAC under a node key) before V8
// sees them; a planted or altered cache file is refused, reported and rebuilt.
//
// The cache on disk is the runtime's, used when hosts run without a startup snapshot
// (FLICK_NO_SNAPSHOT=1 here). V8 accepts a script's cache for any source of the same
// length, so a planted cache could replace the runtime every function runs on.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, test } from "node:test";
import ivm from "isolated-vm";
import { bundleRuntime } from "../../src/build/index.ts";
import { CodeCache } from "../../src/host/code-cache.ts";
import { startTestNode, tempDir, type TestNode } from "../support/node-process.ts";

const noSnapshot = { FLICK_NO_SNAPSHOT: "1" };
const probe = `export default { fetch: () => new Response(navigator.userAgent) };`;

let node: TestNode | undefined;
after(() => node?.kill());

async function waitFor<T>(get: () => T | undefined | Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await get();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function readIfThere(file: string): Buffer | undefined {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

/** The node warned about the planted file, replaced it with one it sealed (`magic`), and is stopped. */
async function refusedAndRebuilt(file: string, planted: Buffer, magic: string): Promise<void> {
  await waitFor(() => (node!.output().includes("failed authentication") ? true : undefined), "the warning about the refused file");
  const rebuilt = await waitFor(() => {
    const now = readIfThere(file);
    return now === undefined || now.equals(planted) ? undefined : now;
  }, "the file to be made again");
  assert.equal(rebuilt.subarray(0, magic.length).toString(), magic);
  await node!.kill();
  node = undefined;
}

test("the deploy API takes no code cache from a user", async () => {
  node = await startTestNode({ hosts: 1 });
  const res = await fetch(`${node.url}/api/v1/functions/f`, {
    method: "PUT",
    headers: { authorization: `Bearer ${node.adminToken}`, "content-type": "application/json" },
    body: JSON.stringify({ code: probe, codeCache: "AAAA" }),
  });
  assert.equal(res.status, 400);
  assert.match(await res.text(), /codeCache/);
  await node.kill();
  node = undefined;
});

test("a planted runtime code cache (V8 bytes for other code, forged MAC) is refused, reported and rebuilt", async () => {
  const dataDir = tempDir();
  const cacheFile = path.join(dataDir, "runtime.v8cache");
  node = await startTestNode({ dataDir, hosts: 1, env: noSnapshot });
  await node.admin.deploy("probe", { code: probe });
  const genuine = await (await fetch(`${node.url}/fn/probe`)).text();
  const made = await waitFor(() => readIfThere(cacheFile), "the platform's runtime code cache");
  assert.equal(made.subarray(0, 6).toString(), "FLKCC2", "the platform sealed the cache it wrote");
  await node.kill();

  // The attacker's runtime: the real one with the user agent changed, same length, and
  // V8's code cache for it under the real header and a MAC made without the node's key.
  const source = await bundleRuntime();
  const evilSource = source.replace(genuine, "X".repeat(genuine.length));
  assert.notEqual(evilSource, source);
  const isolate = new ivm.Isolate();
  const script = isolate.compileScriptSync(evilSource, { filename: "flick:runtime.js", produceCachedData: true }) as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> };
  const evilBytes = Buffer.from(script.cachedData!.copy());
  isolate.dispose();
  const planted = Buffer.concat([made.subarray(0, 40), Buffer.alloc(32, 0x41), evilBytes]);
  writeFileSync(cacheFile, planted);

  node = await startTestNode({ dataDir, hosts: 1, env: noSnapshot });
  assert.equal(await (await fetch(`${node.url}/fn/probe`)).text(), genuine, "the functions run on the genuine runtime");
  await refusedAndRebuilt(cacheFile, planted, "FLKCC2");
});

test("CodeCache accepts only what it sealed, for exactly that source", () => {
  const dir = tempDir();
  const file = path.join(dir, "code");
  const source = "globalThis.who = 'legit!';";
  const key = Buffer.alloc(32, 7);
  const isolate = new ivm.Isolate();
  const script = isolate.compileScriptSync(source, { produceCachedData: true }) as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> };
  new CodeCache(key).store(file, source, script.cachedData!);
  isolate.dispose();

  assert.ok(new CodeCache(key).load(file, source) !== undefined, "its own seal opens");
  const otherSource = new CodeCache(key);
  assert.equal(otherSource.load(file, "globalThis.who = 'other!';"), undefined, "a cache for other source is not used (stale, rebuilt quietly)");
  assert.equal(otherSource.rejected, 0);
  const otherKey = new CodeCache(Buffer.alloc(32, 8));
  assert.equal(otherKey.load(file, source), undefined, "another node's key does not open it");
  assert.equal(otherKey.rejected, 1);
  const flipped = readFileSync(`${file}.v8cache`);
  flipped[flipped.length - 1] = flipped[flipped.length - 1]! ^ 1;
  writeFileSync(`${file}.v8cache`, flipped);
  const tampered = new CodeCache(key);
  assert.equal(tampered.load(file, source), undefined, "one flipped bit is refused");
  assert.equal(tampered.rejected, 1);
});

// Function versions run as their script form (src/build/script-form.ts) from a V8 code cache
// the platform makes at deploy: the same seal guards it.
test("a version's code cache is made at deploy, sealed, and a planted one is refused and rebuilt", async () => {
  const dataDir = tempDir();
  // Big enough for a script form (scriptFormMinBytes): a long literal the handler uses.
  const code = `const pad = "${"p".repeat(40_000)}";\nexport default { fetch: () => new Response(pad.length > 0 ? "genuine!" : "") };`;
  node = await startTestNode({ dataDir, hosts: 2 });
  await node.admin.deploy("probe", { code });
  const hash = createHash("sha256").update(code).digest("hex");
  const scriptFile = path.join(dataDir, "bundles", `${hash}.script.js`);
  const cacheFile = `${scriptFile}.v8cache`;
  const made = readIfThere(cacheFile);
  assert.ok(made !== undefined, "the deploy made the version's code cache");
  assert.equal(made.subarray(0, 6).toString(), "FLKCC2");
  assert.equal(await (await fetch(`${node.url}/fn/probe`)).text(), "genuine!");
  await node.kill();

  // The attacker's cache: V8's compile of an altered script of the same length, under the
  // real header and a MAC made without the node's key.
  const script = readFileSync(scriptFile, "utf8");
  const evil = script.replace("genuine!", "pwned!!!");
  const isolate = new ivm.Isolate();
  const compiled = isolate.compileScriptSync(evil, { filename: "default/probe.js", produceCachedData: true }) as ivm.Script & { cachedData?: ivm.ExternalCopy<ArrayBuffer> };
  const planted = Buffer.concat([made.subarray(0, 40), Buffer.alloc(32, 0x41), Buffer.from(compiled.cachedData!.copy())]);
  isolate.dispose();
  writeFileSync(cacheFile, planted);

  node = await startTestNode({ dataDir, hosts: 2 });
  assert.equal(await (await fetch(`${node.url}/fn/probe`)).text(), "genuine!", "the version runs its own code");
  await refusedAndRebuilt(cacheFile, planted, "FLKCC2");
});

test("a module a script cannot express (top-level await) deploys and runs as a module", async () => {
  node = await startTestNode({ hosts: 1 });
  const code = `const pad = "${"p".repeat(40_000)}";\nconst word = await Promise.resolve("awaited" + pad.slice(0, 0)); export default { fetch: () => new Response(word) };`;
  await node.admin.deploy("tla", { code });
  const hash = createHash("sha256").update(code).digest("hex");
  assert.equal(readIfThere(path.join(node.dataDir, "bundles", `${hash}.script.js`)), undefined, "no script form");
  assert.equal(await (await fetch(`${node.url}/fn/tla`)).text(), "awaited");
  await node.kill();
  node = undefined;
});

test("every host, and the next start, compiles a version from the code cache made at deploy (one shared runtime snapshot)", async () => {
  const dataDir = tempDir();
  const code = `const pad = "${"q".repeat(40_000)}";\nexport default { fetch: () => new Response(String(pad.length)) };`;
  node = await startTestNode({ dataDir, hosts: 2 });
  await node.admin.deploy("big", { code });
  await node.admin.scale("big", { minInstances: 2 }); // one warm instance per host (instances of a function spread)
  const deadline = Date.now() + 10_000;
  while ((await node.admin.getFunction("big")).stats.warm < 2) {
    if (Date.now() > deadline) throw new Error("two provisioned instances never came up");
    await new Promise((r) => setTimeout(r, 50));
  }
  await node.admin.scale("big", { minInstances: 0 });
  assert.equal(await (await fetch(`${node.url}/fn/big`)).text(), "40000");
  await node.kill();

  node = await startTestNode({ dataDir, hosts: 2 });
  assert.equal(await (await fetch(`${node.url}/fn/big`)).text(), "40000");
  // Hosts report what they ran a few times a second: wait for the report.
  const stats = await waitFor(async () => {
    const s = (await node!.admin.getFunction("big")).stats;
    return s.coldStarts > 0 ? s : undefined;
  }, "the host's report of the cold start");
  assert.deepEqual([stats.coldStarts, stats.codeCache], [1, { hits: 1, misses: 0 }], "after a restart, the new hosts take the cache made before it");
  assert.doesNotMatch(node.output(), /failed authentication/);
  await node.kill();
  node = undefined;
});

test("a planted runtime snapshot (a real V8 snapshot of other code, forged MAC) is refused, reported and made again", async () => {
  const dataDir = tempDir();
  const snapshotFile = path.join(dataDir, "runtime.snapshot");
  node = await startTestNode({ dataDir, hosts: 1 });
  await node.admin.deploy("probe", { code: probe });
  const genuine = await (await fetch(`${node.url}/fn/probe`)).text();
  const made = readIfThere(snapshotFile);
  assert.ok(made !== undefined && made.subarray(0, 6).toString() === "FLKSS1", "the node sealed the snapshot it shares");
  await node.kill();

  // The attacker's snapshot: the real runtime with the user agent changed, under the real
  // header (same source hash) and a MAC made without the node's key.
  const source = await bundleRuntime();
  const evil = ivm.Isolate.createSnapshot([{ code: source.replace(genuine, "X".repeat(genuine.length)), filename: "flick:runtime.js" }]);
  const planted = Buffer.concat([made.subarray(0, 40), Buffer.alloc(32, 0x41), Buffer.from(evil.copy())]);
  writeFileSync(snapshotFile, planted);

  node = await startTestNode({ dataDir, hosts: 1 });
  assert.equal(await (await fetch(`${node.url}/fn/probe`)).text(), genuine, "the functions run on the genuine runtime");
  await refusedAndRebuilt(snapshotFile, planted, "FLKSS1");
});
