import { test } from "node:test";
import assert from "node:assert/strict";
import { ReadableStream } from "./readable-stream.ts";
import { ReadableStreamBYOBReader } from "./readable-stream-byob-reader.ts";
import { ReadableByteStreamController } from "./readable-byte-stream-controller.ts";

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

function byteStream(chunks: number[][]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    type: "bytes",
    start(c: ReadableByteStreamController) {
      for (const chunk of chunks) c.enqueue(new Uint8Array(chunk));
      c.close();
    },
  }) as ReadableStream<Uint8Array>;
}

test("a default reader on a byte stream gets Uint8Array chunks", async () => {
  const reader = byteStream([[1, 2], [3]]).getReader();
  const a = await reader.read();
  assert.ok(a.value instanceof Uint8Array);
  assert.deepEqual([...a.value!], [1, 2]);
  assert.deepEqual([...(await reader.read()).value!], [3]);
  assert.equal((await reader.read()).done, true);
});

test("enqueue transfers the chunk's buffer, detaching the caller's view", () => {
  const chunk = new Uint8Array([1, 2, 3]);
  new ReadableStream({ type: "bytes", start: (c: ReadableByteStreamController) => c.enqueue(chunk) });
  assert.equal(chunk.buffer.detached, true);
  assert.equal(chunk.byteLength, 0);
});

test("a BYOB read fills the given buffer from queued bytes across chunks", async () => {
  const reader = byteStream([[1, 2], [3, 4, 5]]).getReader({ mode: "byob" });
  assert.ok(reader instanceof ReadableStreamBYOBReader);
  const view = new Uint8Array(4);
  const { value, done } = await reader.read(view);
  assert.equal(done, false);
  assert.deepEqual([...value!], [1, 2, 3, 4]);
  assert.equal(view.buffer.detached, true, "the caller's buffer is transferred into the result");
  const rest = await reader.read(new Uint8Array(4));
  assert.deepEqual([...rest.value!], [5]);
  const end = await reader.read(new Uint8Array(4));
  assert.equal(end.done, true);
  assert.equal(end.value!.byteLength, 0);
});

test("BYOB reads respect the element size of the view and the min option", async () => {
  const reader = byteStream([[1, 0], [2], [0, 3, 0]]).getReader({ mode: "byob" });
  const { value } = await reader.read(new Uint16Array(3), { min: 3 });
  assert.ok(value instanceof Uint16Array);
  assert.deepEqual([...value], [1, 2, 3]);
});

test("BYOB reads reject bad views and min values", async () => {
  const reader = byteStream([[1]]).getReader({ mode: "byob" });
  await assert.rejects(reader.read(new Uint8Array(0)), TypeError);
  await assert.rejects(reader.read(new Uint8Array(2), { min: 0 }), TypeError);
  await assert.rejects(reader.read(new Uint8Array(2), { min: 3 }), RangeError);
  await assert.rejects(reader.read({} as never), TypeError);
});

test("the byobRequest lets the source write straight into the reader's buffer", async () => {
  const rs = new ReadableStream({
    type: "bytes",
    pull(c: ReadableByteStreamController) {
      const request = c.byobRequest!;
      const view = request.view as Uint8Array;
      view[0] = 42;
      request.respond(1);
    },
  });
  const reader = rs.getReader({ mode: "byob" });
  const { value } = await reader.read(new Uint8Array(8));
  assert.deepEqual([...value!], [42]);
});

test("autoAllocateChunkSize gives default readers a byobRequest too", async () => {
  const rs = new ReadableStream({
    type: "bytes",
    autoAllocateChunkSize: 16,
    pull(c: ReadableByteStreamController) {
      const view = c.byobRequest!.view as Uint8Array;
      assert.equal(view.byteLength, 16);
      view.set([7, 8]);
      c.byobRequest!.respond(2);
    },
  });
  const { value } = await rs.getReader().read();
  assert.deepEqual([...(value as Uint8Array)], [7, 8]);
  assert.throws(() => new ReadableStream({ type: "bytes", autoAllocateChunkSize: 0 }), TypeError);
});

test("respond(0) on a readable stream and a closed-stream respond with bytes both throw", async () => {
  let controller!: ReadableByteStreamController;
  const rs = new ReadableStream({ type: "bytes", start: (c: ReadableByteStreamController) => void (controller = c) });
  const reader = rs.getReader({ mode: "byob" });
  const read = reader.read(new Uint8Array(4));
  await tick();
  assert.throws(() => controller.byobRequest!.respond(0), TypeError);
  assert.throws(() => controller.byobRequest!.respond(5), RangeError);
  controller.close();
  assert.throws(() => controller.byobRequest!.respond(1), TypeError);
  controller.byobRequest!.respond(0);
  const result = await read;
  assert.equal(result.done, true);
});

test("enqueue rejects empty chunks and non-views", () => {
  let controller!: ReadableByteStreamController;
  new ReadableStream({ type: "bytes", start: (c: ReadableByteStreamController) => void (controller = c) });
  assert.throws(() => controller.enqueue(new Uint8Array(0)), TypeError);
  assert.throws(() => controller.enqueue("x" as never), TypeError);
});

test("closing with a partially filled multi-byte element errors the stream", async () => {
  let controller!: ReadableByteStreamController;
  const rs = new ReadableStream({ type: "bytes", start: (c: ReadableByteStreamController) => void (controller = c) });
  const reader = rs.getReader({ mode: "byob" });
  const read = reader.read(new Uint16Array(2));
  await tick();
  (controller.byobRequest!.view as Uint8Array)[0] = 1;
  controller.byobRequest!.respond(1);
  assert.throws(() => controller.close(), TypeError);
  await assert.rejects(read, TypeError);
});

test("teeing a byte stream yields two byte streams with independent copies", async () => {
  const [a, b] = byteStream([[1, 2, 3]]).tee();
  const ra = a.getReader({ mode: "byob" });
  const rb = b.getReader();
  const [x, y] = await Promise.all([ra.read(new Uint8Array(3)), rb.read()]);
  assert.deepEqual([...x.value!], [1, 2, 3]);
  assert.deepEqual([...(y.value as Uint8Array)], [1, 2, 3]);
  assert.notEqual((x.value as Uint8Array).buffer, (y.value as Uint8Array).buffer);
});

test("releasing a BYOB reader with a pending read rejects it", async () => {
  const rs = new ReadableStream({ type: "bytes" });
  const reader = rs.getReader({ mode: "byob" });
  const read = reader.read(new Uint8Array(1));
  reader.releaseLock();
  await assert.rejects(read, TypeError);
  assert.equal(rs.locked, false);
});
