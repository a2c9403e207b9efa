// Threat: a queue message over the 1 MiB limit, disguised. The guest's size check reads
// `byteLength`, which a function can redefine on `%TypedArray%.prototype` and on
// `Uint8Array.prototype` to say 1: a 64 MiB message then passes the guest. The host must
// measure its own copy and refuse it — `send` rejects and nothing is queued — while a
// message of exactly 1 MiB still goes through.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { deploySource } from "../support/functions.ts";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const MiB = 1024 * 1024;

/** Sends a message of ?size bytes (an ArrayBuffer) on env.Q; ?disguise first makes every byteLength getter say 1. */
const producer = `export default { async fetch(request, env) {
      const q = new URL(request.url).searchParams;
      let disguise = "none";
      if (q.has("disguise")) {
        const lie = { get() { return 1; }, configurable: true };
        const tries = [["%TypedArray%.prototype", Object.getPrototypeOf(Uint8Array.prototype)], ["Uint8Array.prototype", Uint8Array.prototype]];
        disguise = tries.map(([name, target]) => {
          try { Object.defineProperty(target, "byteLength", lie); return name + " redefined"; } catch (e) { return name + " refused (" + e.message + ")"; }
        }).join(", ");
      }
      const bytes = new Uint8Array(Number(q.get("size")));
      try {
        await env.Q.send(bytes.buffer);
        return Response.json({ sent: true, disguise, claimed: bytes.byteLength });
      } catch (e) {
        return Response.json({ sent: false, disguise, claimed: bytes.byteLength, error: e.name + ": " + e.message });
      }
    } };`;

let node: TestNode;

before(async () => {
  node = await startTestNode({ hosts: 1 });
  // Two producers, each with a queue of its own: the disguise stays in the instance that made it.
  for (const name of ["disguised", "plain"]) {
    await deploySource(node.admin, `${name}-sink`, `export default { async fetch(request) { return new Response("got " + (await request.arrayBuffer()).byteLength); } };`);
    await deploySource(node.admin, name, producer, { queueBindings: { Q: `${name}-sink` }, memoryMiB: 512 });
  }
});
after(() => node.kill("SIGKILL"));

type SendResult = { sent: boolean; disguise: string; claimed: number; error?: string };

async function send(name: string, query: string): Promise<SendResult> {
  const res = await node.admin.invoke(name, { path: query });
  const text = await res.text();
  assert.equal(res.status, 200, text);
  return JSON.parse(text) as SendResult;
}

/** Messages the producer's queue got: queued, running, done or dead. */
async function queued(name: string): Promise<number> {
  const c = (await node.admin.getFunction(`${name}-sink`)).invocations!;
  return c.queued + c.running + c.completed + c.dead;
}

test("a 64 MiB message whose byteLength getters say 1 is refused: send rejects and nothing is queued", async () => {
  const r = await send("disguised", `?size=${64 * MiB}&disguise`);
  assert.equal(r.sent, false, `the send went through (${r.disguise}; byteLength said ${r.claimed})`);
  assert.ok(r.error !== undefined && r.error.length > 0);
  assert.equal(await queued("disguised"), 0, "nothing was queued");
});

test("without a disguise, one byte over 1 MiB is refused and exactly 1 MiB is queued", async () => {
  const over = await send("plain", `?size=${MiB + 1}`);
  assert.equal(over.sent, false);
  assert.match(over.error!, /^RangeError: /);
  assert.equal(await queued("plain"), 0);
  const limit = await send("plain", `?size=${MiB}`);
  assert.equal(limit.sent, true, limit.error);
  assert.equal(await queued("plain"), 1);
});
