// Threat: a tenant fills the node's disk through SQL databases — 50 databases of 500 MiB
// each, or two written at once so that each sees room the other is taking. All of a
// tenant's databases share one quota on the node (flick up --tenant-sql-mib); a write that
// would pass it fails with the figures, nothing of it kept, and another tenant is untouched.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../../src/api/index.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const MiB = 1024 * 1024;
// Each database may hold 3 MiB, all of a tenant's together 4 MiB; two runners, so a call
// may take half of what its tenant has left.
const args = ["--db-max-mib", "3", "--tenant-sql-mib", "4", "--sql-runners", "2"];

// ?op=fill: inserts 100 kB blobs, one call each, until one fails; the rows kept, the error
// and SQLite's size of the database after the last call that succeeded (D1's size_after).
// ?op=one: one such insert. ?op=count: the rows.
const code = `
export default {
  async fetch(request, env) {
    const op = new URL(request.url).searchParams.get("op");
    await env.DB.exec("CREATE TABLE IF NOT EXISTS blobs (b BLOB)");
    const insert = () => env.DB.prepare("INSERT INTO blobs VALUES (?)").bind(new Uint8Array(100_000)).run();
    if (op === "fill") {
      let rows = 0, size = 0;
      for (;;) {
        try { size = (await insert()).meta.size_after; rows++; }
        catch (err) { return Response.json({ rows, size, error: err.message }); }
      }
    }
    if (op === "one") {
      try { await insert(); return Response.json({ ok: true }); } catch (err) { return Response.json({ error: err.message }); }
    }
    return Response.json({ rows: await env.DB.prepare("SELECT count(*) AS n FROM blobs").first("n") });
  },
};`;

interface Filled {
  rows: number;
  size: number;
  error: string;
}

let node: TestNode;
before(async () => {
  node = await startTestNode({ hosts: 2, args });
});
after(() => node?.kill("SIGKILL"));

async function call<T>(at: TestNode, fn: string, op: string): Promise<T> {
  const res = await fetch(`${at.url}/fn/${fn}?op=${op}`);
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as T;
}

async function tenantWithDatabases(at: TestNode, tenant: string, names: string[]): Promise<FlickClient> {
  const client = new FlickClient(at.url, (await at.admin.createTenant(tenant)).token);
  for (const name of names) {
    await client.sqlCreate(name);
    await client.deploy(`${tenant}-${name}`, { code, sqlBindings: { DB: name } });
  }
  return client;
}

const overQuota = (tenant: string) =>
  new RegExp(`^tenant "${tenant}"'s SQL databases hold [\\d.]+ MiB on this node, and its quota is 4\\.0 MiB: this write needed more room than was left for it .*nothing of it was kept\\. Delete rows .*flick up --tenant-sql-mib\\)$`);

test("a tenant's databases stop at its quota together: the write past it fails with the figures and keeps nothing; another tenant is untouched; removing a database makes room", async () => {
  const a = await tenantWithDatabases(node, "sq-a", ["one", "two", "three"]);
  await tenantWithDatabases(node, "sq-b", ["mine"]);

  // The first database meets its own limit (3 MiB) before the tenant's.
  const one = await call<Filled>(node, "sq-a-one", "fill");
  assert.match(one.error, /the database is at its size limit of 3 MiB/);
  assert.ok(one.size <= 3 * MiB && one.rows >= 25, `3 MiB holds about 30 rows of 100 kB: ${JSON.stringify({ ...one, error: undefined })}`);

  // The second meets the tenant's: the two together stay within 4 MiB.
  const two = await call<Filled>(node, "sq-a-two", "fill");
  assert.match(two.error, overQuota("sq-a"));
  assert.ok(one.size + two.size <= 4 * MiB, `${one.size} + ${two.size} bytes are within the 4 MiB quota`);
  const kept = await call<{ rows: number }>(node, "sq-a-two", "count");
  assert.equal(kept.rows, two.rows, "the refused insert kept nothing");
  // Every database of the tenant is held back now, whichever is written.
  assert.match((await call<{ error: string }>(node, "sq-a-three", "one")).error, overQuota("sq-a"));

  // Another tenant writes its own 3 MiB.
  const mine = await call<Filled>(node, "sq-b-mine", "fill");
  assert.match(mine.error, /the database is at its size limit of 3 MiB/);
  assert.ok(mine.rows >= 25);

  // The operator's or the tenant's own writes through `flick db query` count too.
  await assert.rejects(a.sqlQuery("three", "CREATE TABLE more (b BLOB); INSERT INTO more VALUES (zeroblob(500000))"), (err: Error) => {
    assert.match(err.message, overQuota("sq-a"));
    return true;
  });

  // Removing a database (once no function binds it) gives its bytes back.
  await a.removeFunction("sq-a-one");
  await a.sqlRemove("one");
  assert.deepEqual(await call(node, "sq-a-three", "one"), { ok: true });
});

test("two databases written at once cannot pass the quota between them", async () => {
  await tenantWithDatabases(node, "sq-c", ["left", "right"]);
  const [left, right] = await Promise.all([call<Filled>(node, "sq-c-left", "fill"), call<Filled>(node, "sq-c-right", "fill")]);
  assert.ok(left.size + right.size <= 4 * MiB, `${left.size} + ${right.size} bytes are within the 4 MiB quota`);
  assert.match(left.error, overQuota("sq-c"));
  assert.match(right.error, overQuota("sq-c"));
  assert.ok(left.size + right.size >= 3 * MiB, "and together they got most of it");
});

test("after a kill -9 the quota still holds: what the databases hold is counted again when the node starts", async () => {
  const first = await startTestNode({ hosts: 1, args });
  let again: TestNode | undefined;
  try {
    const token = (await first.admin.createTenant("sq-d")).token;
    const d = new FlickClient(first.url, token);
    for (const name of ["p", "q"]) {
      await d.sqlCreate(name);
      await d.deploy(`sq-d-${name}`, { code, sqlBindings: { DB: name } });
    }
    const p = await call<Filled>(first, "sq-d-p", "fill");
    const q = await call<Filled>(first, "sq-d-q", "fill");
    assert.match(q.error, overQuota("sq-d"));
    assert.ok(p.size + q.size <= 4 * MiB, `${p.size} + ${q.size} bytes are within the 4 MiB quota`);
    await first.kill("SIGKILL");
    again = await startTestNode({ hosts: 1, dataDir: first.dataDir, args });
    assert.match((await call<{ error: string }>(again, "sq-d-q", "one")).error, overQuota("sq-d"), `full before the restart (${p.size} + ${q.size} bytes), full after it`);
  } finally {
    await first.kill("SIGKILL").catch(() => {});
    await again?.kill("SIGKILL");
  }
});
