// KV namespaces on a cluster: two Flick nodes on one real NATS server (`--cluster-replicas 1`)
// share them through JetStream (src/bindings/kv/jetstream-kv.ts). A namespace made through
// one node is bound, written and read through either; a value past NATS's 1 MiB message
// limit comes back whole; another tenant reaches none of it, through either node.
import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { FlickError } from "../../src/errors/index.ts";
import { startSingleNats } from "../support/nats-cluster.ts";
import { startTestNode, tempDir, type TestNode } from "../support/node-process.ts";

let nats: ChildProcess | undefined;
const dir = tempDir("flick-kv-cluster-");
let a: TestNode;
let b: TestNode;

before(async () => {
  const key = path.join(dir, "cluster.key");
  writeFileSync(key, randomBytes(32).toString("hex"), { mode: 0o600 });
  const started = await startSingleNats(dir);
  nats = started.process;
  const cluster = (name: string) => ["--cluster", started.url, "--cluster-replicas", "1", "--node-name", name, "--secret-key-file", key];
  [a, b] = await Promise.all([startTestNode({ hosts: 1, args: cluster("node-a") }), startTestNode({ hosts: 1, args: cluster("node-b") })]);
});
after(async () => {
  await Promise.all([a?.kill("SIGKILL"), b?.kill("SIGKILL")]);
  nats?.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** Runs one KV step on env.KV: put a text, put `n` patterned bytes, get a text, or the length and SHA-256 of a value. */
const driver = `
export default {
  async fetch(request, env) {
    const [op, key, arg] = await request.json();
    if (op === "put") return Response.json(await env.KV.put(key, arg) ?? null);
    if (op === "putPattern") {
      const bytes = new Uint8Array(arg);
      for (let i = 0; i < arg; i++) bytes[i] = (i * 7) % 251;
      return Response.json(await env.KV.put(key, bytes) ?? null);
    }
    if (op === "get") return Response.json(await env.KV.get(key));
    if (op === "digest") {
      const value = await env.KV.get(key, "arrayBuffer");
      if (value === null) return Response.json(null);
      const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", value));
      return Response.json({ bytes: value.byteLength, sha256: [...hash].map((x) => x.toString(16).padStart(2, "0")).join("") });
    }
    return new Response("unknown step", { status: 400 });
  },
};`;

const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) % 251);

/** One step through `node`'s /fn/<fn>, asked again until the function is live there (a deploy reaches the other node through the registry's watch; the test's timeout bounds it). */
async function step(signal: AbortSignal, node: TestNode, fn: string, ...args: unknown[]): Promise<unknown> {
  for (;;) {
    const res = await fetch(`${node.url}/fn/${fn}`, { method: "POST", body: JSON.stringify(args) });
    const text = await res.text();
    if (res.status === 200) return JSON.parse(text);
    if (res.status !== 404 || signal.aborted) assert.fail(`${fn} on ${node.url}: ${res.status} ${text}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test("a namespace made through node A is written through A and read through B, a 3 MiB value included", { timeout: 120_000 }, async (t) => {
  await a.admin.kvCreate("NS");
  await a.admin.deploy("kv-shared", { code: driver, kvBindings: { KV: "NS" } });
  assert.equal(await step(t.signal, a, "kv-shared", "put", "greeting", "hello from A"), null);
  assert.equal(await step(t.signal, b, "kv-shared", "get", "greeting"), "hello from A", "a put that resolved on A is read on B at once");

  const big = 3 * 1024 * 1024;
  assert.equal(await step(t.signal, a, "kv-shared", "putPattern", "big", big), null);
  const sha256 = createHash("sha256").update(pattern(big)).digest("hex");
  assert.deepEqual(await step(t.signal, b, "kv-shared", "digest", "big"), { bytes: big, sha256 });
  assert.deepEqual(Buffer.from((await b.admin.kvGet("NS", "big")).value).equals(pattern(big)), true, "the admin API on B reads the same bytes");

  // Both nodes see one namespace with both keys counted.
  const [listed] = (await b.admin.kvNamespaces()).filter((n) => n.name === "NS");
  assert.deepEqual([listed?.tenant, listed?.keys], ["default", 2]);
  assert.ok(listed!.bytes > big, `${listed!.bytes} bytes counted`);
  assert.deepEqual((await a.admin.kvKeys("NS")).keys.map((k) => k.name), ["big", "greeting"]);
});

test("another tenant cannot reach the namespace through either node: not by binding, not through the API", { timeout: 120_000 }, async (t) => {
  await a.admin.kvCreate("PRIVATE");
  await a.admin.kvPut("PRIVATE", "password", "hunter2");
  const other = new FlickClient(b.url, (await a.admin.createTenant("kv-other")).token);
  await assert.rejects(other.deploy("kv-other-fn", { code: driver, kvBindings: { KV: "PRIVATE" } }), /tenant "kv-other" has no KV namespace "PRIVATE"/);
  await assert.rejects(other.kvGet("PRIVATE", "password"), (err: FlickError) => err.code === "kv_namespace_not_found");
  await assert.rejects(other.kvGet("PRIVATE", "password", "default"), (err: FlickError) => err.code === "forbidden");
  assert.deepEqual((await other.kvNamespaces()).map((n) => n.name), []);
  // Its own PRIVATE, made through B, is another namespace.
  await other.kvCreate("PRIVATE");
  await other.deploy("kv-other-fn", { code: driver, kvBindings: { KV: "PRIVATE" } });
  assert.equal(await step(t.signal, a, "kv-other-fn", "get", "password"), null);
  assert.equal(await step(t.signal, b, "kv-other-fn", "put", "password", "mine"), null);
  assert.equal(Buffer.from((await a.admin.kvGet("PRIVATE", "password")).value).toString(), "hunter2", "the owner's value is whole");
});
