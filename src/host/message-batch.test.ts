import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageBatch } from "./message-batch.ts";

test("messages sent in one event-loop turn leave in one write, in order", async () => {
  const writes: number[][] = [];
  const batch = new MessageBatch<number>((m) => writes.push(m));
  batch.send(1);
  batch.send(2);
  batch.send(3);
  assert.deepEqual(writes, [], "nothing is written synchronously");
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [[1, 2, 3]]);
  batch.send(4);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(writes, [[1, 2, 3], [4]]);
  batch.send(5);
  batch.clear();
  await new Promise((r) => setImmediate(r));
  assert.equal(writes.length, 2, "cleared messages are dropped");
});
