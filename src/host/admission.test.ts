// A host's admission with a scripted primary: local slots and tokens without asking,
// one ask for a burst of misses, tokens back beyond use, the answers passed through.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Admission, type Slots } from "./admission.ts";
import type { AcquireResult, InstanceSpec } from "./protocol.ts";

interface Fake {
  id: string;
}

function spec(id: string, key = "t/f@v", concurrency = 2): InstanceSpec {
  return {
    instance: id, function: "t/f", tenant: "t", key, versionId: "v", bundlePath: "", memoryMiB: 128, timeoutMs: 1000, cpuLimitMs: null,
    concurrency, env: [], wasm: {},
  };
}

function loaded(s: InstanceSpec): Slots<Fake> {
  const instance = { id: s.instance };
  return {
    id: s.instance, key: s.key, concurrency: s.concurrency, inFlight: 0, ready: Promise.resolve(instance), loaded: instance, failure: undefined, gone: false,
    stuck: () => false, draining: () => false,
  };
}

function setup(answers: AcquireResult[]) {
  const asks: { token: boolean; instance: boolean }[] = [];
  const back: number[] = [];
  let nextId = 0;
  const admission = new Admission<Fake>({
    acquire: async (_fn, _key, token, instance) => {
      asks.push({ token, instance });
      await new Promise((r) => setImmediate(r));
      const answer = answers.shift();
      if (answer === undefined) throw new Error("the primary was asked more often than the test expected");
      return answer;
    },
    // As a host does: the slots count from the placement, the instance loads meanwhile.
    place: (s) => {
      const slots = loaded({ ...s, instance: s.instance || `i${nextId++}` });
      const instance = slots.loaded;
      slots.loaded = undefined;
      slots.ready = new Promise((resolve) => setImmediate(() => resolve((slots.loaded = instance))));
      return slots;
    },
    giveBack: (_tenant, n) => back.push(n),
  });
  return { admission, asks, back };
}

test("a burst for a cold function asks the primary once: one instance, one grant of tokens", async () => {
  const { admission, asks } = setup([{ kind: "place", spec: spec("i1", "t/f@v", 16), tokens: 8, spare: 8 }]);
  const results = await Promise.all(Array.from({ length: 8 }, () => admission.admit("t/f", "t", "t/f@v")));
  assert.deepEqual(asks, [{ token: true, instance: true }]);
  assert.deepEqual(results.map((r) => (r.kind === "run" ? r.slots.id : r.kind)), Array(8).fill("i1"));
  assert.equal(results.filter((r) => r.kind === "run" && r.cold).length, 8, "they ran on the instance made for them");
});

test("once it holds a slot and a token, a request is admitted without asking (tryAdmit)", async () => {
  const { admission, asks } = setup([{ kind: "place", spec: spec("i1"), tokens: 1, spare: 1 }]);
  const first = await admission.admit("t/f", "t", "t/f@v");
  assert.equal(first.kind, "run");
  if (first.kind === "run") first.release();
  const second = admission.tryAdmit("t", "t/f@v");
  assert.ok(second !== undefined);
  assert.equal(asks.length, 1);
  second.release();
});

test("tokens beyond what is in use plus the spare go back to the primary", async () => {
  const { admission, back } = setup([{ kind: "place", spec: spec("i1", "t/f@v", 16), tokens: 10, spare: 2 }]);
  const runs = await Promise.all(Array.from({ length: 5 }, () => admission.admit("t/f", "t", "t/f@v")));
  for (const r of runs) if (r.kind === "run") r.release();
  // 10 held, 4 in use after the first release: 4 go back; then one per release.
  assert.deepEqual(back, [4, 1, 1, 1, 1]);
  assert.equal(admission.reclaim("t"), 2, "the spare is what a reclaim gets");
  assert.equal(admission.reclaim("t"), 0);
});

test("a full instance of a function at its max: the primary's answer (relay or throttle) comes back as it is", async () => {
  const { admission } = setup([
    { kind: "place", spec: spec("i1", "t/f@v", 1), tokens: 4, spare: 4 },
    { kind: "relay", tokens: 0, spare: 4 },
    { kind: "throttle", reason: "function_limit", message: "t/f runs its maximum of 1 instances, all busy", retryAfterMs: 1000, tokens: 0, spare: 4 },
  ]);
  const held = await admission.admit("t/f", "t", "t/f@v");
  assert.equal(held.kind, "run");
  const relayed = await admission.admit("t/f", "t", "t/f@v");
  assert.equal(relayed.kind, "relay");
  const throttled = await admission.admit("t/f", "t", "t/f@v");
  assert.deepEqual(throttled.kind === "throttle" ? [throttled.reason, throttled.retryAfterMs] : throttled.kind, ["function_limit", 1000]);
});

test("no token for the tenant is tenant_limit, and a queue wait takes a slot freed meanwhile", async () => {
  const { admission } = setup([
    { kind: "place", spec: spec("i1", "t/f@v", 4), tokens: 1, spare: 1 },
    { kind: "throttle", reason: "tenant_limit", message: "tenant t has 1 requests in flight, its limit", retryAfterMs: 1000, tokens: 0, spare: 1 },
    { kind: "throttle", reason: "tenant_limit", message: "tenant t has 1 requests in flight, its limit", retryAfterMs: 1000, tokens: 0, spare: 1 },
  ]);
  const first = await admission.admit("t/f", "t", "t/f@v");
  assert.equal(first.kind, "run");
  const refused = await admission.admit("t/f", "t", "t/f@v");
  assert.equal(refused.kind === "throttle" ? refused.reason : refused.kind, "tenant_limit");
  const waiting = admission.admit("t/f", "t", "t/f@v", 60_000);
  await new Promise((r) => setImmediate(r));
  if (first.kind === "run") first.release();
  const second = await waiting;
  assert.equal(second.kind, "run", "the freed token and slot");
});

test("an instance that failed to start gives every waiting request its reason", async () => {
  const asks: boolean[] = [];
  const admission = new Admission<Fake>({
    acquire: async () => {
      asks.push(true);
      return { kind: "place", spec: spec("bad"), tokens: 4, spare: 4 };
    },
    place: (s) => ({
      ...loaded(s),
      loaded: undefined,
      failure: { code: "invalid_bundle", message: "t/f: SyntaxError at its top level" },
      ready: Promise.resolve(undefined),
    }),
    giveBack: () => {},
  });
  const [a, b] = await Promise.all([admission.admit("t/f", "t", "t/f@v"), admission.admit("t/f", "t", "t/f@v")]);
  assert.deepEqual([a.kind, b.kind], ["failed", "failed"]);
  if (a.kind === "failed") assert.equal(a.error.code, "invalid_bundle");
  assert.equal(asks.length, 1);
});

test("with tokens in hand, a burst for a version with no instance here asks for one instance, once", async () => {
  const { admission, asks } = setup([
    { kind: "place", spec: spec("a1", "t/f@v1", 1), tokens: 16, spare: 16 },
    { kind: "place", spec: spec("b1", "t/f@v2", 16), tokens: 0, spare: 16 },
  ]);
  const first = await admission.admit("t/f", "t", "t/f@v1");
  if (first.kind === "run") first.release();
  const burst = await Promise.all(Array.from({ length: 8 }, () => admission.admit("t/f", "t", "t/f@v2")));
  assert.deepEqual(burst.map((r) => (r.kind === "run" ? r.slots.id : r.kind)), Array(8).fill("b1"));
  assert.deepEqual(asks, [{ token: true, instance: true }, { token: false, instance: true }]);
});

test("an instance that is gone is forgotten: found by id no more, and its function's next request asks for another", async () => {
  const { admission, asks } = setup([
    { kind: "place", spec: spec("i1"), tokens: 2, spare: 2 },
    { kind: "place", spec: spec("i2"), tokens: 0, spare: 2 },
  ]);
  admission.add(loaded(spec("other", "t/g@v")));
  const first = await admission.admit("t/f", "t", "t/f@v");
  assert.equal(first.kind === "run" && first.slots.id, "i1");
  first.kind === "run" && first.release();
  assert.equal(admission.get("i1")?.id, "i1");
  const gone = admission.remove("i1");
  assert.equal(gone?.gone, true);
  assert.equal(admission.get("i1"), undefined);
  assert.equal(admission.remove("i1"), undefined, "removing twice is a no-op");
  assert.deepEqual(admission.all().map((s) => s.id), ["other"]);
  assert.equal(admission.tryAdmit("t", "t/f@v"), undefined, "no slot of a gone instance is handed out");
  const next = await admission.admit("t/f", "t", "t/f@v");
  assert.equal(next.kind === "run" && next.slots.id, "i2");
  assert.deepEqual(asks.map((a) => a.instance), [true, true]);
  assert.deepEqual(admission.all().map((s) => s.id).sort(), ["i2", "other"]);
});
