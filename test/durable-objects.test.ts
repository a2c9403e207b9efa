// Durable objects on a real node: one live instance per id with its requests one at a time,
// transactional storage that survives kill -9, alarms (after a restart too), and no way to
// reach another function's or another tenant's objects.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { FlickClient } from "../src/api/index.ts";
import { FlickError } from "../src/errors/index.ts";
import { startTestNode, type TestNode } from "./support/node-process.ts";

let node: TestNode;
before(async () => {
  node = await startTestNode({ hosts: 2 });
});
after(() => node?.kill("SIGKILL"));

/** A counter object, and a front function that sends ?name=…&op=… to it. */
const counter = `
export class Counter {
  constructor(state, env) {
    this.state = state;
    this.instance = crypto.randomUUID();
    this.inMemory = 0;
  }
  async fetch(request) {
    const url = new URL(request.url);
    const op = url.searchParams.get("op") ?? "inc";
    if (op === "inc") {
      const stored = (await this.state.storage.get("count")) ?? 0;
      // A yield between the read and the write: requests run one at a time, so none interleaves here.
      await new Promise((r) => setTimeout(r, 1));
      await this.state.storage.put("count", stored + 1);
      this.inMemory++;
      return Response.json({ count: stored + 1, inMemory: this.inMemory, instance: this.instance, id: this.state.id.toString(), name: this.state.id.name });
    }
    if (op === "get") return Response.json({ count: (await this.state.storage.get("count")) ?? 0, inMemory: this.inMemory, instance: this.instance });
    return new Response("unknown op", { status: 400 });
  }
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const id = url.searchParams.has("id") ? env.COUNTER.idFromString(url.searchParams.get("id")) : env.COUNTER.idFromName(url.searchParams.get("name") ?? "main");
    return env.COUNTER.get(id).fetch("https://counter/?op=" + (url.searchParams.get("op") ?? "inc"));
  },
};`;

test("a counter hit by 200 concurrent requests ends at exactly 200, all served by one instance of the object", async () => {
  await node.admin.deploy("counter", { code: counter, durableObjectBindings: { COUNTER: "Counter" } });
  const answers = await Promise.all(Array.from({ length: 200 }, async () => {
    const res = await fetch(`${node.url}/fn/counter?name=hits`);
    assert.equal(res.status, 200, await res.clone().text());
    return (await res.json()) as { count: number; inMemory: number; instance: string; id: string; name: string };
  }));
  assert.deepEqual(answers.map((a) => a.count).sort((x, y) => x - y), Array.from({ length: 200 }, (_, i) => i + 1), "each increment saw the one before it");
  assert.equal(new Set(answers.map((a) => a.instance)).size, 1, "one live instance");
  assert.equal(new Set(answers.map((a) => a.id)).size, 1);
  assert.equal(answers[0]!.name, "hits");
  const final = (await (await fetch(`${node.url}/fn/counter?name=hits&op=get`)).json()) as { count: number; inMemory: number };
  assert.deepEqual(final, { count: 200, inMemory: 200, instance: answers[0]!.instance });
  // Another name is another object; the same name from idFromString of its id is the same.
  const other = (await (await fetch(`${node.url}/fn/counter?name=other`)).json()) as { count: number; instance: string };
  assert.equal(other.count, 1);
  assert.notEqual(other.instance, answers[0]!.instance);
  const again = (await (await fetch(`${node.url}/fn/counter?id=${answers[0]!.id}&op=get`)).json()) as { count: number };
  assert.equal(again.count, 200);
});

test("one instance per object even when an instance takes one request at a time (--concurrency 1): the next request waits for it, no second instance starts", async () => {
  // The object's turn ends when its answer is in; the host frees the instance's slot a
  // moment later. A request sent in between found the instance "full" and got a new one,
  // whose in-memory state was another object's (3 instances for 4,000 requests, before).
  const one = await startTestNode({ hosts: 2, args: ["--concurrency", "1"] });
  try {
    await one.admin.deploy("counter", { code: counter, durableObjectBindings: { COUNTER: "Counter" } });
    const answers: { count: number; inMemory: number; instance: string }[] = [];
    let sent = 0;
    await Promise.all(Array.from({ length: 32 }, async () => {
      while (sent < 1000) {
        sent++;
        const res = await fetch(`${one.url}/fn/counter?name=solo`);
        assert.equal(res.status, 200, await res.clone().text());
        answers.push((await res.json()) as { count: number; inMemory: number; instance: string });
      }
    }));
    assert.deepEqual([...new Set(answers.map((a) => a.instance))].length, 1, "one live instance");
    assert.ok(answers.every((a) => a.inMemory === a.count), "its memory saw every request");
  } finally {
    await one.kill("SIGKILL");
  }
});

test("storage: get and put of one or many keys, structured values, delete, list with prefix, range, reverse and limit, transactions, deleteAll", async () => {
  await node.admin.deploy("store", {
    durableObjectBindings: { OBJ: "Box" },
    code: `
export class Box {
  constructor(state) { this.storage = state.storage; }
  async fetch() {
    const s = this.storage;
    const out = {};
    await s.put("a", { when: new Date(0), tags: new Set(["x"]), map: new Map([[1, "one"]]), big: 2n ** 70n, bytes: new Uint8Array([1, 2]), nested: [undefined, NaN, -0] });
    const a = await s.get("a");
    out.a = [a.when instanceof Date, a.when.getTime(), [...a.tags], [...a.map], a.big === 2n ** 70n, [...a.bytes], a.nested.length, a.nested[0] === undefined, Number.isNaN(a.nested[1]), Object.is(a.nested[2], -0)];
    await s.put({ "k/1": 1, "k/2": 2, "k/3": 3, "z": 26 });
    out.many = [...(await s.get(["k/1", "k/3", "nope"]))];
    out.prefix = [...(await s.list({ prefix: "k/" })).keys()];
    out.range = [...(await s.list({ start: "k/2", end: "z" })).keys()];
    out.reverse = [...(await s.list({ reverse: true, limit: 2 })).keys()];
    out.deleted = [await s.delete("k/1"), await s.delete("k/1"), await s.delete(["k/2", "k/3", "nope"])];
    out.committed = await s.transaction(async (txn) => { await txn.put("t", 1); const seen = await txn.get("t"); await txn.delete("z"); return seen; });
    out.afterCommit = [await s.get("t"), await s.get("z")];
    await s.transaction(async (txn) => { await txn.put("t", 2); txn.rollback(); });
    out.afterRollback = await s.get("t");
    try { await s.transaction(async (txn) => { await txn.put("t", 3); throw new Error("boom"); }); } catch (err) { out.thrown = err.message; }
    out.afterThrow = await s.get("t");
    try { await s.put("f", () => 1); } catch (err) { out.function = err.name; }
    try { await s.put("big", "x".repeat(200_000)); } catch (err) { out.big = err.name + ": " + err.message; }
    try { await s.get("k".repeat(2049)); } catch (err) { out.longKey = err.name + ": " + err.message; }
    await s.deleteAll();
    out.empty = (await s.list()).size;
    return Response.json(out);
  }
}
export default { fetch: (request, env) => env.OBJ.getByName("one").fetch(request) };`,
  });
  const out = await (await fetch(`${node.url}/fn/store`)).json();
  assert.deepEqual(out, {
    a: [true, 0, ["x"], [[1, "one"]], true, [1, 2], 3, true, true, true],
    many: [["k/1", 1], ["k/3", 3]],
    prefix: ["k/1", "k/2", "k/3"],
    range: ["k/2", "k/3"],
    reverse: ["z", "k/3"],
    deleted: [true, false, 2],
    committed: 1,
    afterCommit: [1, null],
    afterRollback: 1,
    thrown: "boom",
    afterThrow: 1,
    function: "DataCloneError",
    big: "RangeError: storage: a value is 200002 bytes stored, over the 131072-byte limit",
    longKey: "RangeError: storage: a key is at most 2048 bytes",
    empty: 0,
  });
});

test("an instance remembers what its object stores: a key read or written before is read without a round trip, each read a copy; reads and writes in flight together, deletes and deleteAll stay right", async () => {
  await node.admin.deploy("memo", {
    durableObjectBindings: { OBJ: "Memo" },
    code: `
export class Memo {
  constructor(state) { this.s = state.storage; }
  async fetch(request) {
    const s = this.s;
    const out = {};
    if (new URL(request.url).searchParams.has("after")) {
      out.k = (await s.get("k")) ?? null;
      return Response.json(out);
    }
    await s.put("k", { n: 1 });
    // A request may make 10,000 storage calls; these reads are not calls: the instance knows "k".
    let sum = 0;
    for (let i = 0; i < 20000; i++) sum += (await s.get("k")).n;
    out.reads = sum;
    const a = await s.get("k");
    a.n = 99;
    out.copy = (await s.get("k")).n;
    const before = s.get("k");
    const write = s.put("k", { n: 2 });
    const during = s.get("k");
    out.inFlight = [(await before).n, (await during).n];
    await write;
    out.after = (await s.get("k")).n;
    out.absent = [(await s.get("nope")) ?? null, (await s.get(["nope", "k"])).size];
    await s.put("d", 1);
    await s.delete("d");
    out.deleted = (await s.get("d")) ?? null;
    await s.put("e", 1);
    await s.deleteAll();
    out.cleared = [(await s.get("k")) ?? null, (await s.get("e")) ?? null];
    await s.put("k", { n: 3 });
    return Response.json(out);
  }
}
export default { fetch: (request, env) => env.OBJ.getByName("m").fetch(request) };`,
  });
  assert.deepEqual(await (await fetch(`${node.url}/fn/memo`)).json(), {
    reads: 20000,
    copy: 1,
    inFlight: [1, 2],
    after: 2,
    absent: [null, 1],
    deleted: null,
    cleared: [null, null],
  });
  assert.deepEqual(await (await fetch(`${node.url}/fn/memo?after`)).json(), { k: { n: 3 } }, "the next request reads what the last one wrote");
});

const alarmed = `
export class Timer {
  constructor(state) { this.state = state; }
  async fetch(request) {
    const url = new URL(request.url);
    if (url.searchParams.has("in")) {
      await this.state.storage.setAlarm(Date.now() + Number(url.searchParams.get("in")));
      return Response.json({ set: await this.state.storage.getAlarm() });
    }
    return Response.json({ fired: (await this.state.storage.get("fired")) ?? 0, alarm: await this.state.storage.getAlarm() });
  }
  async alarm() {
    const tries = ((await this.state.storage.get("tries")) ?? 0) + 1;
    await this.state.storage.put("tries", tries);
    if (tries === 1 && (await this.state.storage.get("flaky"))) throw new Error("first try fails");
    await this.state.storage.put("fired", ((await this.state.storage.get("fired")) ?? 0) + 1);
  }
}
export default { fetch: (request, env) => env.TIMER.getByName(new URL(request.url).searchParams.get("name") ?? "t").fetch(request) };`;

/** Asks until the object says its alarm fired (an event the test waits for; each answer is a real request). */
async function untilFired(on: TestNode, name: string): Promise<{ fired: number; alarm: number | null }> {
  for (;;) {
    const state = (await (await fetch(`${on.url}/fn/timer?name=${name}`)).json()) as { fired: number; alarm: number | null };
    if (state.fired > 0) return state;
    await new Promise((r) => setTimeout(r, 100));
  }
}

test("an alarm runs alarm() at its time, once, and is gone after", async () => {
  await node.admin.deploy("timer", { code: alarmed, durableObjectBindings: { TIMER: "Timer" } });
  const set = (await (await fetch(`${node.url}/fn/timer?name=soon&in=300`)).json()) as { set: number };
  assert.ok(set.set > Date.now() - 1000);
  const state = await untilFired(node, "soon");
  assert.deepEqual(state, { fired: 1, alarm: null });
});

test("an alarm fires after the node is killed and started again", async () => {
  const solo = await startTestNode({ hosts: 1 });
  let again: TestNode | undefined;
  try {
    await solo.admin.deploy("timer", { code: alarmed, durableObjectBindings: { TIMER: "Timer" } });
    await fetch(`${solo.url}/fn/timer?name=later&in=1500`);
    await solo.kill("SIGKILL");
    again = await startTestNode({ hosts: 1, dataDir: solo.dataDir });
    const state = await untilFired(again, "later");
    assert.deepEqual(state, { fired: 1, alarm: null });
  } finally {
    await solo.kill("SIGKILL").catch(() => {});
    await again?.kill("SIGKILL");
  }
});

test("what an object stored survives kill -9 of the node", async () => {
  const solo = await startTestNode({ hosts: 1 });
  let again: TestNode | undefined;
  try {
    await solo.admin.deploy("counter", { code: counter, durableObjectBindings: { COUNTER: "Counter" } });
    await Promise.all(Array.from({ length: 50 }, () => fetch(`${solo.url}/fn/counter?name=kept`).then((r) => r.text())));
    await solo.kill("SIGKILL");
    again = await startTestNode({ hosts: 1, dataDir: solo.dataDir });
    const state = (await (await fetch(`${again.url}/fn/counter?name=kept&op=get`)).json()) as { count: number; inMemory: number };
    assert.deepEqual([state.count, state.inMemory], [50, 0], "storage is kept; memory starts fresh in a new instance");
  } finally {
    await solo.kill("SIGKILL").catch(() => {});
    await again?.kill("SIGKILL");
  }
});

test("objects are their function's and tenant's: the same class, name or id elsewhere is another object; a binding to a class the module lacks is refused", async () => {
  await node.admin.deploy("counter", { code: counter, durableObjectBindings: { COUNTER: "Counter" } });
  const first = (await (await fetch(`${node.url}/fn/counter?name=shared`)).json()) as { id: string; count: number };
  // Another function of the same tenant with the same class: its own objects.
  await node.admin.deploy("counter-two", { code: counter, durableObjectBindings: { COUNTER: "Counter" } });
  const second = (await (await fetch(`${node.url}/fn/counter-two?id=${first.id}`)).json()) as { id: string; count: number };
  assert.equal(second.id, first.id);
  assert.equal(second.count, 1, "same id, another function: another object");
  // Another tenant guessing the id: its own object too.
  const evil = await node.admin.createTenant("do-evil");
  const client = new FlickClient(node.url, evil.token);
  await client.deploy("evil-counter", { code: counter, durableObjectBindings: { COUNTER: "Counter" } });
  const guessed = (await (await fetch(`${node.url}/fn/evil-counter?id=${first.id}&op=get`)).json()) as { count: number };
  assert.equal(guessed.count, 0);
  assert.equal(((await (await fetch(`${node.url}/fn/counter?name=shared&op=get`)).json()) as { count: number }).count, 1);
  // Malformed ids fail where they are made.
  const bad = await fetch(`${node.url}/fn/counter?id=not-hex`);
  assert.equal(bad.status, 502);
  const logs = await node.admin.readLogs("counter", { invocationId: bad.headers.get("x-flick-invocation-id")! });
  assert.ok(logs.some((l) => /idFromString\(\): an id is 64 lowercase hex digits/.test(l.message)), JSON.stringify(logs.map((l) => l.message)));
  await assert.rejects(
    node.admin.deploy("no-class", { code: `export default { fetch() { return new Response("x"); } };`, durableObjectBindings: { ROOMS: "Room" } }),
    (err: FlickError) => err.code === "validation_failed" && /do binding ROOMS: the module exports no class Room \(it exports no class\)/.test(err.message),
  );
});

test("the output gate: when an object's write cannot be stored (the disk refuses it), its answer is withheld and the object starts again from what was stored", async () => {
  // The fault is real: the node runs under a file size limit (as test/store-faults.test.ts
  // does), so the durable-object storage's WAL stops growing past 1 MiB with EFBIG.
  const first = await startTestNode({ hosts: 1 });
  const dataDir = first.dataDir;
  await first.admin.deploy("filler", {
    durableObjectBindings: { OBJ: "Filler" },
    code: `
export class Filler {
  constructor(state) { this.state = state; this.instance = crypto.randomUUID(); }
  async fetch(request) {
    const n = (await this.state.storage.get("n")) ?? 0;
    if (new URL(request.url).searchParams.has("peek")) return Response.json({ n, instance: this.instance });
    this.state.storage.put("blob" + n, new Uint8Array(60_000));
    this.state.storage.put("n", n + 1);
    return Response.json({ n: n + 1, instance: this.instance });
  }
}
export default {
  async fetch(request, env) {
    try { return await env.OBJ.getByName("one").fetch(request); }
    catch (err) { return new Response(err.message, { status: 503 }); }
  },
};`,
  });
  await first.kill();
  const node = await startTestNode({ dataDir, hosts: 1, fileSizeLimitBytes: 1024 * 1024 });
  try {
    const answered: { n: number; instance: string }[] = [];
    let refused: { status: number; text: string } | undefined;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      const res = await fetch(`${node.url}/fn/filler`);
      if (res.status === 200) answered.push((await res.json()) as { n: number; instance: string });
      else refused = { status: res.status, text: await res.text() };
    }
    assert.ok(refused !== undefined, "the disk refused a write within 40 requests of 80 kB stored");
    assert.equal(refused.status, 503);
    assert.match(refused.text, /the durable object's writes could not be stored, so its answer is withheld/);
    assert.deepEqual(answered.map((a) => a.n), answered.map((_, i) => i + 1), "every answer before it was stored in order");
    const after = (await (await fetch(`${node.url}/fn/filler?peek`)).json()) as { n: number; instance: string };
    assert.equal(after.n, answered.length, "what was answered is what is stored; the refused write is not");
    assert.notEqual(after.instance, answered.at(-1)?.instance, "a fresh instance: the old one's memory saw the lost write");
  } finally {
    await node.kill("SIGKILL");
  }
});
