// KV namespaces on a real node: Workers KV's API on env.NAME, `flick kv` and the admin API,
// the limits with their errors, a kill -9 in the middle, and what another tenant can reach.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { FlickError } from "../src/errors/index.ts";
import { flick } from "./support/cli.ts";
import { startTestNode, tempDir, type TestNode } from "./support/node-process.ts";

let node: TestNode;
before(async () => {
  // A small quota, so a test can reach it without writing a gigabyte.
  node = await startTestNode({ hosts: 2, args: ["--tenant-kv-mib", "40"] });
});
after(() => node?.kill("SIGKILL"));

/** A function that runs the JSON-described KV calls of its request body on env.KV and answers what each gave. */
const driver = `
export default {
  async fetch(request, env) {
    const steps = await request.json();
    const out = [];
    for (const [method, ...args] of steps) {
      try {
        let value = await env.KV[method](...args.map((a) => (a && a.$bytes ? new Uint8Array(a.$bytes) : a && a.$big ? "x".repeat(a.$big) : a)));
        if (value instanceof ArrayBuffer) value = { $bytes: [...new Uint8Array(value)] };
        else if (value instanceof ReadableStream) value = { $stream: await new Response(value).text() };
        else if (value instanceof Map) value = { $map: [...value] };
        out.push(value === undefined ? null : value);
      } catch (err) {
        out.push({ $error: err.name + ": " + err.message });
      }
    }
    return Response.json(out);
  },
};`;

async function run(fn: string, steps: unknown[][]): Promise<unknown[]> {
  const res = await fetch(`${node.url}/fn/${fn}`, { method: "POST", body: JSON.stringify(steps) });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as unknown[];
}

test("env.NAME has Workers KV's API: get as text, json, arrayBuffer, stream; metadata; expiration; delete; several keys at once", async () => {
  await node.admin.kvCreate("STORE");
  await node.admin.deploy("kv-api", { code: driver, kvBindings: { KV: "STORE" } });
  const soon = Math.floor(Date.now() / 1000) + 3600;
  const out = await run("kv-api", [
    ["put", "greeting", "héllo"],
    ["get", "greeting"],
    ["get", "missing"],
    ["put", "doc", '{"a":[1,2]}', { metadata: { owner: "ada" }, expiration: soon }],
    ["get", "doc", "json"],
    ["get", "doc", { type: "json" }],
    ["getWithMetadata", "doc", "json"],
    ["getWithMetadata", "missing"],
    ["put", "bin", { $bytes: [0, 255, 7] }],
    ["get", "bin", "arrayBuffer"],
    ["get", "greeting", "stream"],
    ["put", "ttl", "t", { expirationTtl: 120 }],
    ["get", ["greeting", "doc", "missing"]],
    ["get", ["doc"], "json"],
    ["delete", "greeting"],
    ["get", "greeting"],
    ["delete", "never-there"],
  ]);
  assert.deepEqual(out, [
    null, "héllo", null,
    null, { a: [1, 2] }, { a: [1, 2] },
    { value: { a: [1, 2] }, metadata: { owner: "ada" }, cacheStatus: null },
    { value: null, metadata: null, cacheStatus: null },
    null, { $bytes: [0, 255, 7] },
    { $stream: "héllo" },
    null,
    { $map: [["greeting", "héllo"], ["doc", '{"a":[1,2]}'], ["missing", null]] },
    { $map: [["doc", { a: [1, 2] }]] },
    null, null, null,
  ]);
  const listed = (await run("kv-api", [["list"]]))[0] as { keys: { name: string; expiration?: number; metadata?: unknown }[] };
  const doc = listed.keys.find((k) => k.name === "doc");
  assert.deepEqual(doc, { name: "doc", expiration: soon, metadata: { owner: "ada" } });
  const ttl = listed.keys.find((k) => k.name === "ttl")!;
  assert.ok(ttl.expiration! >= Math.floor(Date.now() / 1000) + 60 && ttl.expiration! <= Math.floor(Date.now() / 1000) + 121, `ttl expiration ${ttl.expiration}`);
});

test("list walks keys in UTF-8 byte order with prefix, limit and cursor", async () => {
  await node.admin.kvCreate("LISTING");
  await node.admin.deploy("kv-list", { code: driver, kvBindings: { KV: "LISTING" } });
  const keys = ["a", "a/1", "a/2", "a/10", "b", "é", "z", "\u{1F600}", "a0"];
  await run("kv-list", keys.map((k) => ["put", k, "v"]));
  const sorted = [...keys].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  const all = (await run("kv-list", [["list"]]))[0] as { keys: { name: string }[]; list_complete: boolean; cursor?: string };
  assert.deepEqual(all.keys.map((k) => k.name), sorted);
  assert.equal(all.list_complete, true);
  assert.equal(all.cursor, undefined);
  const prefixed = (await run("kv-list", [["list", { prefix: "a/" }]]))[0] as { keys: { name: string }[] };
  assert.deepEqual(prefixed.keys.map((k) => k.name), ["a/1", "a/10", "a/2"]);
  // Pages of 2, following the cursor, give every key once.
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10; i++) {
    const page = (await run("kv-list", [["list", { limit: 2, ...(cursor === undefined ? {} : { cursor }) }]]))[0] as { keys: { name: string }[]; list_complete: boolean; cursor?: string };
    seen.push(...page.keys.map((k) => k.name));
    if (page.list_complete) break;
    cursor = page.cursor;
  }
  assert.deepEqual(seen, sorted);
});

test("the limits give their errors where the call is made: key 512 bytes, value 25 MiB, metadata 1 KiB, TTL ≥ 60 s, list ≤ 1000", async () => {
  await node.admin.kvCreate("LIMITS");
  await node.admin.deploy("kv-limits", { code: driver, kvBindings: { KV: "LIMITS" } });
  const out = (await run("kv-limits", [
    ["put", "k".repeat(512), "fits"],
    ["put", "k".repeat(513), "v"],
    ["get", "é".repeat(257)],
    ["put", "", "v"],
    ["put", "big", { $big: 25 * 1024 * 1024 + 1 }],
    ["put", "meta", "v", { metadata: { x: "m".repeat(1100) } }],
    ["put", "short", "v", { expirationTtl: 30 }],
    ["put", "past", "v", { expiration: 1000 }],
    ["list", { limit: 1001 }],
    ["get", "k", "yaml"],
    ["put", "obj", { not: "a value" }],
    ["get", 42],
  ])) as ({ $error: string } | null)[];
  assert.equal(out[0], null);
  const errors = out.slice(1).map((o) => (o as { $error: string }).$error);
  assert.match(errors[0]!, /^TypeError: .*the key is 513 bytes \(UTF-8\), over the 512-byte limit/);
  assert.match(errors[1]!, /^TypeError: .*the key is 514 bytes/);
  assert.match(errors[2]!, /^TypeError: .*a key cannot be empty/);
  assert.match(errors[3]!, /^RangeError: .*the value is 26214401 bytes, over the 26214400-byte \(25 MiB\) limit/);
  assert.match(errors[4]!, /^RangeError: .*the metadata is \d+ bytes as JSON, over the 1024-byte limit/);
  assert.match(errors[5]!, /^TypeError: .*expirationTtl 30 is under the minimum of 60 seconds/);
  assert.match(errors[6]!, /^TypeError: .*expiration 1000 is less than 60 seconds from now/);
  assert.match(errors[7]!, /^RangeError: .*limit must be a whole number from 1 to 1000/);
  assert.match(errors[8]!, /^TypeError: .*type must be "text", "json", "arrayBuffer" or "stream"/);
  assert.match(errors[9]!, /^TypeError: .*a value is a string, an ArrayBuffer, a typed array or a ReadableStream/);
  assert.match(errors[10]!, /^TypeError: .*a key is a string, got number/);
});

test("a request makes at most 1,000 KV operations; the next one fails and says so", async () => {
  await node.admin.kvCreate("OPS");
  await node.admin.deploy("kv-ops", {
    code: `export default { async fetch(request, env) {
      let n = 0;
      try { for (;;) { await env.KV.get("k"); n++; } } catch (err) { return new Response(n + " " + err.message); }
    } };`,
    kvBindings: { KV: "OPS" },
  });
  const text = await (await fetch(`${node.url}/fn/kv-ops`)).text();
  assert.match(text, /^1000 env\.KV\.get\(\): too many KV operations: one request may make at most 1000$/);
});

test("a tenant's KV stops at its quota: the put that would pass it fails with the figures, and deletes make room", async () => {
  await node.admin.kvCreate("QUOTA");
  await node.admin.deploy("kv-quota", { code: driver, kvBindings: { KV: "QUOTA" } });
  // 40 MiB for the tenant (--tenant-kv-mib 40); other tests' keys are small.
  const big = 20 * 1024 * 1024;
  const out = (await run("kv-quota", [["put", "one", { $big: big }], ["put", "two", { $big: big }], ["delete", "one"], ["put", "two", { $big: big }]])) as unknown[];
  assert.equal(out[0], null);
  assert.match((out[1] as { $error: string }).$error, /^Error: tenant "default" stores \d+ bytes in KV; \d+ more is over its quota of 41943040 bytes/);
  assert.equal(out[2], null);
  assert.equal(out[3], null, "after the delete the second value fits");
  const listed = await node.admin.kvNamespaces();
  const quota = listed.find((n) => n.name === "QUOTA")!;
  assert.equal(quota.keys, 1);
  assert.equal(quota.bytes, big + 3);
});

test("flick kv: create, put (argument, file, stdin, TTL, metadata), get, ls with prefix and cursor, bulk load and delete, rm", async () => {
  const env = { FLICK_URL: node.url, FLICK_TOKEN: node.adminToken };
  const dir = tempDir("flick-kv-cli-");
  const ok = async (args: string[], input?: string) => {
    const r = await flick(args, env, dir, input);
    assert.equal(r.code, 0, `flick ${args.join(" ")}: ${r.stderr}`);
    return r;
  };
  assert.match((await ok(["kv", "create", "CLI"])).stdout, /KV namespace CLI created for tenant default; bind it with --kv-binding NAME=CLI/);
  await ok(["kv", "put", "CLI", "user:1", '{"name":"Ada"}', "--ttl", "3600", "--metadata", '{"v":1}']);
  writeFileSync(path.join(dir, "blob.bin"), Buffer.from([1, 2, 3, 250]));
  await ok(["kv", "put", "CLI", "blob", "--file", "blob.bin"]);
  await ok(["kv", "put", "CLI", "user:2", "--tenant", "default"], "from stdin");
  assert.equal((await ok(["kv", "get", "CLI", "user:1"])).stdout, '{"name":"Ada"}');
  assert.equal((await ok(["kv", "get", "CLI", "user:2"])).stdout, "from stdin");
  const blob = JSON.parse((await ok(["kv", "get", "CLI", "blob", "--json"])).stdout) as { value: string; base64: boolean };
  assert.deepEqual([...Buffer.from(blob.value, "base64")], [1, 2, 3, 250]);
  assert.equal(blob.base64, true);
  const meta = JSON.parse((await ok(["kv", "get", "CLI", "user:1", "--json"])).stdout) as { metadata: unknown; expiration: number };
  assert.deepEqual(meta.metadata, { v: 1 });
  assert.ok(meta.expiration > Date.now() / 1000 + 3500);
  writeFileSync(path.join(dir, "seed.json"), JSON.stringify([
    { key: "user:3", value: "three" },
    { key: "user:4", value: Buffer.from("four").toString("base64"), base64: true, metadata: { n: 4 } },
  ]));
  assert.match((await ok(["kv", "bulk", "CLI", "seed.json"])).stderr, /CLI: 2 keys written/);
  assert.equal((await ok(["kv", "get", "CLI", "user:4"])).stdout, "four");
  const listed = (await ok(["kv", "ls", "CLI", "--prefix", "user:", "--limit", "2"]));
  assert.deepEqual(listed.stdout.trim().split("\n").map((l) => l.split("  ")[0]), ["user:1", "user:2"]);
  const cursor = /--cursor (\S+)/.exec(listed.stderr)![1]!;
  const rest = await ok(["kv", "ls", "CLI", "--prefix", "user:", "--cursor", cursor]);
  assert.deepEqual(rest.stdout.trim().split("\n").map((l) => l.split("  ")[0]), ["user:3", "user:4"]);
  assert.match(rest.stdout, /user:4 {2}\(metadata \{"n":4\}\)/);
  writeFileSync(path.join(dir, "gone.json"), JSON.stringify(["user:3", "user:4", "never"]));
  await ok(["kv", "bulk-delete", "CLI", "gone.json"]);
  await ok(["kv", "rm", "CLI", "user:2"]);
  const missing = await flick(["kv", "get", "CLI", "user:2"], env, dir);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no key "user:2" in KV namespace "CLI"/);
  const namespaces = (await ok(["kv", "ls"])).stdout;
  assert.match(namespaces, /^CLI\s+default\s+2\s/m);
  // Bad input says what to do.
  const badName = await flick(["kv", "create", "no spaces"], env, dir);
  assert.match(badName.stderr, /KV namespace names are 1-64 letters, digits/);
  const badTtl = await flick(["kv", "put", "CLI", "k", "v", "--ttl", "5"], env, dir);
  assert.match(badTtl.stderr, /expirationTtl 5 is under the minimum of 60 seconds/);
  const twice = await flick(["kv", "create", "CLI"], env, dir);
  assert.match(twice.stderr, /has a KV namespace "CLI" already/);
  await ok(["kv", "rm", "CLI"]);
  assert.doesNotMatch((await ok(["kv", "ls"])).stdout, /^CLI\s/m);
});

test("a bound namespace cannot be removed; a binding to a namespace that does not exist is refused at deploy", async () => {
  await node.admin.kvCreate("BOUND");
  await node.admin.deploy("kv-bound", { code: driver, kvBindings: { KV: "BOUND" } });
  await assert.rejects(node.admin.kvRemove("BOUND"), (err: FlickError) => /KV namespace "BOUND" is bound by "kv-bound"/.test(err.message));
  await assert.rejects(
    node.admin.deploy("kv-nothing", { code: driver, kvBindings: { KV: "NOPE" } }),
    (err: FlickError) => err.code === "validation_failed" && /tenant "default" has no KV namespace "NOPE"; create it with `flick kv create NOPE`/.test(err.message),
  );
  await node.admin.deploy("kv-bound", { unset: ["kvBindings.KV"] });
  await node.admin.kvRemove("BOUND");
});

test("tenants never reach each other's namespaces: not by binding, not through the API, not with a cursor", async () => {
  const a = await node.admin.createTenant("kv-a");
  const b = await node.admin.createTenant("kv-b");
  const ta = new FlickClient(node.url, a.token);
  const tb = new FlickClient(node.url, b.token);
  await ta.kvCreate("SECRET");
  await ta.kvPut("SECRET", "password", "hunter2");
  await ta.deploy("kva-fn", { code: driver, kvBindings: { KV: "SECRET" } });
  // B has no SECRET: its binding is refused, and its own SECRET is a different namespace.
  await assert.rejects(tb.deploy("kvb-fn", { code: driver, kvBindings: { KV: "SECRET" } }), /tenant "kv-b" has no KV namespace "SECRET"/);
  await assert.rejects(tb.kvGet("SECRET", "password"), (err: FlickError) => err.code === "kv_namespace_not_found");
  await assert.rejects(tb.kvGet("SECRET", "password", "kv-a"), (err: FlickError) => err.code === "forbidden");
  await assert.rejects(tb.kvKeys("SECRET", { tenant: "kv-a" }), (err: FlickError) => err.code === "forbidden");
  await assert.rejects(tb.kvRemove("SECRET", "kv-a"), (err: FlickError) => err.code === "forbidden");
  assert.deepEqual((await tb.kvNamespaces()).map((n) => n.name), []);
  await tb.kvCreate("SECRET");
  await tb.deploy("kvb-fn", { code: driver, kvBindings: { KV: "SECRET" } });
  const res = await fetch(`${node.url}/fn/kvb-fn`, { method: "POST", body: JSON.stringify([["get", "password"], ["list"]]) });
  const [value, listing] = (await res.json()) as [unknown, { keys: unknown[] }];
  assert.equal(value, null);
  assert.deepEqual(listing.keys, []);
  // A cursor is a position in the caller's own namespace, whatever it says.
  const cursor = Buffer.from("password").toString("base64url");
  const paged = await tb.kvKeys("SECRET", { cursor });
  assert.deepEqual(paged.keys, []);
  // A's data is whole.
  assert.equal(Buffer.from((await ta.kvGet("SECRET", "password")).value).toString(), "hunter2");
  // The admin lists both, each under its tenant.
  const all = (await node.admin.kvNamespaces()).filter((n) => n.name === "SECRET").map((n) => n.tenant).sort();
  assert.deepEqual(all, ["kv-a", "kv-b"]);
});

test("writes a function saw succeed survive kill -9 of the node", async () => {
  const solo = await startTestNode({ hosts: 1 });
  try {
    await solo.admin.kvCreate("DURABLE");
    await solo.admin.deploy("kv-durable", {
      code: `export default { async fetch(request, env) {
        const n = Number(new URL(request.url).searchParams.get("n"));
        await Promise.all(Array.from({ length: n }, (_, i) => env.KV.put("k" + i, "v" + i)));
        return new Response("wrote " + n);
      } };`,
      kvBindings: { KV: "DURABLE" },
    });
    assert.equal(await (await fetch(`${solo.url}/fn/kv-durable?n=200`)).text(), "wrote 200");
    await solo.kill("SIGKILL");
    const again = await startTestNode({ hosts: 1, dataDir: solo.dataDir });
    try {
      const page = await again.admin.kvKeys("DURABLE");
      assert.equal(page.keys.length, 200);
      assert.equal(Buffer.from((await again.admin.kvGet("DURABLE", "k199")).value).toString(), "v199");
    } finally {
      await again.kill("SIGKILL");
    }
  } finally {
    await solo.kill("SIGKILL").catch(() => {});
  }
});
