// Hostile storage: a tenant filling the disk through durable objects stops at its quota
// (flick up --tenant-do-mib). A put, a transaction or a new alarm that would pass it
// rejects with the figures and writes nothing; many objects writing at once cannot pass it
// together; another tenant is untouched; deletes make room; the count survives kill -9;
// removing the function frees what its objects stored, on a node that was down too.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { SqliteStore } from "../../src/store/index.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const MiB = 1024 * 1024;
/** Each value: 72 KiB of bytes, about 96 KiB as stored (its structured-clone encoding). */
const code = `
export class Box {
  constructor(state) { this.storage = state.storage; }
  async fetch(request) {
    const url = new URL(request.url);
    const op = url.searchParams.get("op");
    const value = () => new Uint8Array(72 * 1024).fill(7);
    const out = [];
    const tryIt = async (f) => { try { out.push(await f()); } catch (err) { out.push("error: " + err.message); } };
    if (op === "fill") {
      const from = Number(url.searchParams.get("from") ?? 0);
      for (let i = from; i < from + Number(url.searchParams.get("n")); i++) await tryIt(() => this.storage.put("k" + i, value()).then(() => "ok"));
    } else if (op === "many") {
      // One put of 128 keys: refused whole, or stored whole.
      const entries = {};
      for (let i = 0; i < 128; i++) entries["m" + i] = value();
      await tryIt(() => this.storage.put(entries).then(() => "ok"));
    } else if (op === "txn") {
      await tryIt(() => this.storage.transaction(async (txn) => { txn.put("t1", value()); txn.put("t2", value()); }).then(() => "ok"));
    } else if (op === "delete") {
      await tryIt(() => this.storage.delete(url.searchParams.get("key")));
    } else if (op === "grow") {
      // A key read first (so the instance knows its value), then a bigger value put, then read again.
      const key = url.searchParams.get("key");
      out.push((await this.storage.get(key))?.length ?? null);
      await tryIt(() => this.storage.put(key, new Uint8Array(Number(url.searchParams.get("size")))).then(() => "ok"));
      out.push((await this.storage.get(key))?.length ?? null);
    } else if (op === "overwrite") {
      await tryIt(() => this.storage.put(url.searchParams.get("key"), value()).then(() => "ok"));
    } else if (op === "pad") {
      // Fills what is left, in smaller and smaller values, until not even one byte fits.
      let i = 0;
      for (const size of [65536, 16384, 4096, 1024, 256, 64, 16, 4, 1]) {
        for (;;) {
          try { await this.storage.put("p" + i++, new Uint8Array(size)); } catch (err) { if (!/quota/.test(err.message)) throw err; break; }
        }
      }
      out.push("padded");
    } else if (op === "alarm") {
      await tryIt(() => this.storage.setAlarm(Date.now() + 3_600_000).then(() => "ok"));
    } else if (op === "unalarm") {
      await tryIt(() => this.storage.deleteAlarm().then(() => "ok"));
    } else if (op === "keys") {
      out.push([...(await this.storage.list()).keys()].sort());
    }
    return Response.json(out);
  }
}
export default { fetch: (request, env) => env.BOX.getByName(new URL(request.url).searchParams.get("name") ?? "main").fetch(request) };`;

let node: TestNode;
let a: FlickClient;
let b: FlickClient;
before(async () => {
  node = await startTestNode({ hosts: 1, args: ["--tenant-do-mib", "1"] });
  a = new FlickClient(node.url, (await node.admin.createTenant("do-a")).token);
  b = new FlickClient(node.url, (await node.admin.createTenant("do-b")).token);
});
after(() => node?.kill("SIGKILL"));

async function call(at: TestNode, fn: string, query: string): Promise<unknown[]> {
  const res = await fetch(`${at.url}/fn/${fn}?${query}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as unknown[];
}

/**
 * A node of its own with a 1 MiB quota and a new tenant: `before` runs on it, then the node is
 * killed with -9, `meanwhile` runs on its data dir, and `after` runs on a node started again
 * there. Each gets a client with the tenant's token and the node.
 */
async function acrossRestart(
  tenant: string,
  before: (t: FlickClient, at: TestNode) => Promise<void>,
  meanwhile: (dataDir: string) => Promise<void>,
  after: (t: FlickClient, at: TestNode) => Promise<void>,
): Promise<void> {
  const args = ["--tenant-do-mib", "1"];
  const first = await startTestNode({ hosts: 1, args });
  let again: TestNode | undefined;
  try {
    const token = (await first.admin.createTenant(tenant)).token;
    await before(new FlickClient(first.url, token), first);
    await first.kill("SIGKILL");
    await meanwhile(first.dataDir);
    again = await startTestNode({ hosts: 1, dataDir: first.dataDir, args });
    await after(new FlickClient(again.url, token), again);
  } finally {
    await first.kill("SIGKILL").catch(() => {});
    await again?.kill("SIGKILL");
  }
}

const over = (tenant: string) => new RegExp(`^error: tenant "${tenant}" stores \\d+ bytes in durable objects; \\d+ more is over its quota of ${MiB} bytes\\. Delete keys`);

test("a tenant's objects stop at its quota: the put that would pass it fails with the figures and writes nothing; other objects of the tenant too; another tenant is untouched", async () => {
  await a.deploy("boxes-a", { code, durableObjectBindings: { BOX: "Box" } });
  await b.deploy("boxes-b", { code, durableObjectBindings: { BOX: "Box" } });
  // 1 MiB holds ten such values and their keys, not eleven.
  const filled = await call(node, "boxes-a", "op=fill&n=11");
  assert.deepEqual(filled.slice(0, 10), Array(10).fill("ok"));
  assert.match(String(filled[10]), over("do-a"));
  assert.deepEqual(await call(node, "boxes-a", "op=keys"), [Array.from({ length: 10 }, (_, i) => `k${i}`).sort()], "the refused key was not stored");
  // The quota is the tenant's, whichever object writes.
  assert.match(String((await call(node, "boxes-a", "name=other&op=fill&n=1"))[0]), over("do-a"));
  assert.match(String((await call(node, "boxes-a", "name=other&op=many"))[0]), over("do-a"));
  assert.match(String((await call(node, "boxes-a", "name=other&op=txn"))[0]), over("do-a"));
  assert.deepEqual(await call(node, "boxes-a", "name=other&op=keys"), [[]], "nothing of the refused put or transaction");
  // Another tenant has its own quota.
  assert.deepEqual(await call(node, "boxes-b", "op=fill&n=10"), Array(10).fill("ok"));
  // Writing a key again with a value of the same size takes nothing more; a delete makes room.
  assert.deepEqual(await call(node, "boxes-a", "op=overwrite&key=k3"), ["ok"]);
  assert.deepEqual(await call(node, "boxes-a", "op=delete&key=k3"), [true]);
  assert.deepEqual(await call(node, "boxes-a", "name=other&op=fill&n=1"), ["ok"]);
  assert.match(String((await call(node, "boxes-a", "name=other&op=fill&from=1&n=1"))[0]), over("do-a"));
});

test("the count survives kill -9, and removing a function frees what its objects stored", async () => {
  await acrossRestart(
    "do-c",
    async (t, at) => {
      await t.deploy("boxes", { code, durableObjectBindings: { BOX: "Box" } });
      assert.deepEqual(await call(at, "boxes", "op=fill&n=10"), Array(10).fill("ok"));
    },
    async () => {},
    async (t, at) => {
      assert.match(String((await call(at, "boxes", "name=new&op=fill&n=1"))[0]), over("do-c"), "the tenant's bytes were counted before the kill");
      await t.deploy("boxes2", { code, durableObjectBindings: { BOX: "Box" } });
      assert.match(String((await call(at, "boxes2", "op=fill&n=1"))[0]), over("do-c"));
      await t.removeFunction("boxes");
      assert.deepEqual(await call(at, "boxes2", "op=fill&n=10"), Array(10).fill("ok"), "the removed function's objects no longer count");
      // A function deployed again under the removed one's name starts with no objects.
      await t.deploy("boxes", { code, durableObjectBindings: { BOX: "Box" } });
      assert.deepEqual(await call(at, "boxes", "op=keys"), [[]]);
    },
  );
});

test("writers in many objects at once cannot pass the quota together: writes answered but not yet committed count", async () => {
  const d = new FlickClient(node.url, (await node.admin.createTenant("do-d")).token);
  await d.deploy("boxes-d", { code, durableObjectBindings: { BOX: "Box" } });
  // 30 objects, two puts each, all at once: ten fit.
  const answers = (await Promise.all(Array.from({ length: 30 }, (_, i) => call(node, "boxes-d", `name=o${i}&op=fill&n=2`)))).flat();
  assert.equal(answers.filter((x) => x === "ok").length, 10, answers.filter((x) => x !== "ok").slice(0, 1).join());
  assert.ok(answers.filter((x) => x !== "ok").every((x) => over("do-d").test(String(x))));
});

test("an alarm counts on the quota too: a new one is refused when the tenant is full; setting one again takes nothing; deleting one makes room", async () => {
  const e = new FlickClient(node.url, (await node.admin.createTenant("do-e")).token);
  await e.deploy("boxes-e", { code, durableObjectBindings: { BOX: "Box" } });
  assert.deepEqual(await call(node, "boxes-e", "name=first&op=alarm"), ["ok"]);
  assert.deepEqual(await call(node, "boxes-e", "op=pad"), ["padded"]);
  // A refused put leaves the value the object reads as it was (its instance keeps what it knows only of writes that succeeded).
  const grown = await call(node, "boxes-e", "op=grow&key=p0&size=70000");
  assert.deepEqual([grown[0], grown[2]], [65536, 65536]);
  assert.match(String(grown[1]), over("do-e"));
  assert.match(String((await call(node, "boxes-e", "name=second&op=alarm"))[0]), over("do-e"));
  assert.deepEqual(await call(node, "boxes-e", "name=first&op=alarm"), ["ok"], "an object's alarm set again");
  assert.deepEqual(await call(node, "boxes-e", "name=first&op=unalarm"), ["ok"]);
  assert.deepEqual(await call(node, "boxes-e", "name=second&op=alarm"), ["ok"], "the deleted alarm's room");
});

test("a function removed while the node was down: its objects go when the node starts again, other functions' stay", async () => {
  await acrossRestart(
    "do-f",
    async (t, at) => {
      await t.deploy("gone", { code, durableObjectBindings: { BOX: "Box" } });
      await t.deploy("kept", { code, durableObjectBindings: { BOX: "Box" } });
      assert.deepEqual(await call(at, "kept", "op=fill&n=1"), ["ok"]);
      assert.deepEqual(await call(at, "gone", "op=fill&from=1&n=9"), Array(9).fill("ok"));
      assert.deepEqual(await call(at, "gone", "name=other&op=alarm"), ["ok"]);
    },
    async (dataDir) => {
      // What another node of a cluster would do meanwhile: the registry loses the function.
      const store = new SqliteStore(dataDir);
      assert.equal(await store.removeFunction("gone", "do-f"), true);
      await store.close();
    },
    async (t, at) => {
      await t.deploy("gone", { code, durableObjectBindings: { BOX: "Box" } });
      assert.deepEqual(await call(at, "gone", "op=keys"), [[]], "the removed function's objects are gone");
      assert.deepEqual(await call(at, "kept", "op=keys"), [["k0"]], "another function's stay");
      assert.deepEqual(await call(at, "gone", "op=fill&from=1&n=9"), Array(9).fill("ok"), "and their bytes are free");
    },
  );
});
