import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import type { VersionRecord } from "../model/index.ts";
import { SqliteStore, type CodeKind } from "../store/index.ts";
import { CodeFiles } from "./code-files.ts";

const dir = (prefix: string) => mkdtempSync(path.join(tmpdir(), prefix));
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const bytes = (text: string) => new TextEncoder().encode(text);

function versionOf(bundleHash: string, wasm: string[]): VersionRecord {
  return {
    function: "f", id: "v1", bundleHash, bundleBytes: 1, createdAtMs: 1, sealedSecrets: null, wasm, sources: {},
    settings: { memoryMiB: 128, timeoutMs: 1000, env: {}, secretNames: [], private: false },
  };
}

test("from a store without local files, a version's code is fetched once into the node's code folder, named as hosts read it", async () => {
  const store = new SqliteStore(dir("flick-code-store-"));
  const bundle = bytes("export default { fetch: () => new Response('hi') };");
  const map = bytes('{"version":3}');
  const wasm = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 0xff]);
  const hash = sha256(bundle);
  await store.putCode("bundle", hash, bundle);
  await store.putCode("bundle-map", hash, map);
  await store.putCode("wasm", sha256(wasm), wasm);
  // The same store seen from another machine: bytes only, no files to point at.
  const asked: string[] = [];
  const remote = { getCode: (kind: CodeKind, h: string) => (asked.push(kind), store.getCode(kind, h)) };
  const dataDir = dir("flick-code-node-");
  const files = new CodeFiles(remote, dataDir);
  const version = versionOf(hash, [sha256(wasm)]);

  const got = await files.of(version);
  assert.equal(got.bundlePath, path.join(dataDir, "code", `${hash}.js`));
  assert.deepEqual(readFileSync(got.bundlePath), Buffer.from(bundle));
  assert.deepEqual(readFileSync(`${got.bundlePath}.map`), Buffer.from(map), "the map beside the module, where hosts look");
  assert.equal(got.scriptPath, undefined, "no script form stored: none to run");
  assert.deepEqual(readFileSync(got.wasm[sha256(wasm)]!), Buffer.from(wasm));
  assert.equal(statSync(got.bundlePath).mode & 0o777, 0o600);
  assert.equal(statSync(path.join(dataDir, "code")).mode & 0o777, 0o700);

  const before = asked.length;
  const again = await files.of(version);
  assert.deepEqual(again, got);
  assert.deepEqual(asked.slice(before).sort(), ["script", "script-map"], "what is here is not fetched again; only what the store did not have is asked for");

  await assert.rejects(files.of(versionOf("a".repeat(64), [])), /the store has no bundle a{64}, which a stored version names/);
  await store.close();
});

test("from the embedded store, hosts read the store's own files: nothing is copied", async () => {
  const storeDir = dir("flick-code-store-");
  const store = new SqliteStore(storeDir);
  const bundle = bytes("export default {};");
  const hash = sha256(bundle);
  await store.putCode("bundle", hash, bundle);
  await store.putCode("script", hash, bytes("(function(){})"));
  const files = new CodeFiles(store, storeDir);
  const got = await files.of(versionOf(hash, []));
  assert.equal(got.bundlePath, store.localCodePath("bundle", hash));
  assert.equal(got.scriptPath, store.localCodePath("script", hash));
  assert.equal(files.pathOf("script", hash), got.scriptPath);
  await store.close();
});
