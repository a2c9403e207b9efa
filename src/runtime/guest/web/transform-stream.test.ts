import { test } from "node:test";
import assert from "node:assert/strict";
import { AbortController } from "./abort.ts";
import { ReadableStream } from "./readable-stream.ts";
import { TransformStream } from "./transform-stream.ts";
import { TransformStreamDefaultController } from "./transform-stream-default-controller.ts";
import { WritableStream } from "./writable-stream.ts";

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function collect<T>(rs: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const c of rs) out.push(c);
  return out;
}

test("an identity TransformStream passes chunks through unchanged", async () => {
  const ts = new TransformStream<number, number>();
  const writer = ts.writable.getWriter();
  const done = collect(ts.readable);
  await writer.write(1);
  await writer.write(2);
  await writer.close();
  assert.deepEqual(await done, [1, 2]);
});

test("transform may enqueue zero or many chunks and flush runs at close", async () => {
  const ts = new TransformStream<string, string>({
    transform(chunk, c) {
      for (const ch of chunk) c.enqueue(ch);
    },
    flush(c) {
      c.enqueue("end");
    },
  });
  const result = collect(ts.readable);
  const w = ts.writable.getWriter();
  void w.write("ab");
  void w.write("");
  void w.close();
  assert.deepEqual(await result, ["a", "b", "end"]);
});

test("the transformer's methods get the transformer as this", async () => {
  const seen: boolean[] = [];
  const transformer = {
    start(this: unknown) {
      seen.push(this === transformer);
    },
    transform(this: unknown) {
      seen.push(this === transformer);
    },
    flush(this: unknown) {
      seen.push(this === transformer);
    },
  };
  const ts = new TransformStream(transformer);
  const w = ts.writable.getWriter();
  void ts.readable.getReader().read();
  await w.write("x");
  await w.close();
  assert.deepEqual(seen, [true, true, true]);
});

test("readableType and writableType are rejected with a RangeError", () => {
  assert.throws(() => new TransformStream({ readableType: "bytes" } as never), RangeError);
  assert.throws(() => new TransformStream({ writableType: "bytes" } as never), RangeError);
});

test("writes wait for the readable side to want data (backpressure)", async () => {
  const transformed: string[] = [];
  const ts = new TransformStream<string, string>({
    transform(chunk, c) {
      transformed.push(chunk);
      c.enqueue(chunk);
    },
  });
  const w = ts.writable.getWriter();
  void w.write("a");
  void w.write("b");
  await tick();
  // The readable high-water mark is 0, so nothing is transformed until someone reads.
  assert.deepEqual(transformed, []);
  const reader = ts.readable.getReader();
  assert.deepEqual(await reader.read(), { value: "a", done: false });
  await tick();
  assert.deepEqual(transformed, ["a", "b"].slice(0, transformed.length));
});

test("a throwing transform errors both sides", async () => {
  const err = new Error("t");
  const ts = new TransformStream({
    transform() {
      throw err;
    },
  });
  const reader = ts.readable.getReader();
  const read = reader.read(); // the read makes the writable side stop waiting for demand
  const w = ts.writable.getWriter();
  await assert.rejects(w.write("x"), (e) => e === err);
  await assert.rejects(read, (e) => e === err);
  await assert.rejects(reader.closed, (e) => e === err);
  await assert.rejects(w.closed, (e) => e === err);
});

test("terminate closes the readable side and errors the writable side", async () => {
  let controller!: TransformStreamDefaultController;
  const ts = new TransformStream({ start: (c) => void (controller = c) });
  controller.terminate();
  assert.deepEqual(await ts.readable.getReader().read(), { value: undefined, done: true });
  await assert.rejects(ts.writable.getWriter().closed, TypeError);
});

test("cancelling the readable side calls the transformer's cancel and errors the writable side", async () => {
  let cancelReason: unknown;
  const ts = new TransformStream({
    cancel(reason) {
      cancelReason = reason;
    },
  });
  await ts.readable.cancel("enough");
  assert.equal(cancelReason, "enough");
  await assert.rejects(ts.writable.getWriter().closed, (e) => e === "enough");
});

test("controller.desiredSize reflects the readable side's queue", () => {
  let controller!: TransformStreamDefaultController;
  new TransformStream({ start: (c) => void (controller = c) }, undefined, { highWaterMark: 2 });
  assert.equal(controller.desiredSize, 2);
  controller.enqueue("x");
  assert.equal(controller.desiredSize, 1);
});

test("pipeThrough and pipeTo move every chunk and close the destination", async () => {
  const out: number[] = [];
  let closed = false;
  await ReadableStream.from([1, 2, 3])
    .pipeThrough(new TransformStream<number, number>({ transform: (c, ctl) => ctl.enqueue(c * 10) }))
    .pipeTo(
      new WritableStream({
        write(c) {
          out.push(c);
        },
        close() {
          closed = true;
        },
      }),
    );
  assert.deepEqual(out, [10, 20, 30]);
  assert.equal(closed, true);
});

test("pipeTo propagates a source error to the destination as an abort", async () => {
  const err = new Error("source");
  let abortReason: unknown;
  const rs = new ReadableStream({ start: (c) => c.error(err) });
  const ws = new WritableStream({ abort: (r) => void (abortReason = r) });
  await assert.rejects(rs.pipeTo(ws), (e) => e === err);
  assert.equal(abortReason, err);
  assert.equal(rs.locked, false);
  assert.equal(ws.locked, false);
});

test("pipeTo with preventClose leaves the destination open", async () => {
  const ws = new WritableStream();
  await ReadableStream.from([1]).pipeTo(ws, { preventClose: true });
  const w = ws.getWriter();
  await w.write(2);
});

test("pipeTo propagates a destination error back to the source as a cancel", async () => {
  const err = new Error("dest");
  let cancelReason: unknown;
  const rs = new ReadableStream({
    pull(c) {
      c.enqueue("x");
    },
    cancel: (r) => void (cancelReason = r),
  });
  const ws = new WritableStream({
    write() {
      throw err;
    },
  });
  await assert.rejects(rs.pipeTo(ws), (e) => e === err);
  assert.equal(cancelReason, err);
});

test("pipeTo rejects locked streams and non-WritableStream destinations without throwing", async () => {
  const rs = new ReadableStream();
  await assert.rejects(rs.pipeTo({} as never), TypeError);
  const ws = new WritableStream();
  ws.getWriter();
  await assert.rejects(rs.pipeTo(ws), TypeError);
  rs.getReader();
  await assert.rejects(rs.pipeTo(new WritableStream()), TypeError);
});

test("pipeThrough requires readable and writable members and throws synchronously", () => {
  const rs = new ReadableStream();
  assert.throws(() => rs.pipeThrough({} as never), TypeError);
  assert.throws(() => rs.pipeThrough({ readable: new ReadableStream() } as never), TypeError);
  assert.throws(() => rs.pipeThrough({ readable: {}, writable: new WritableStream() } as never), TypeError);
});

test("pipeTo honours an already-aborted signal", async () => {
  let cancelled: unknown;
  let aborted: unknown;
  const rs = new ReadableStream({ cancel: (r) => void (cancelled = r) });
  const ws = new WritableStream({ abort: (r) => void (aborted = r) });
  const controller = new AbortController();
  controller.abort("stop");
  await assert.rejects(rs.pipeTo(ws, { signal: controller.signal as never }), (e) => e === "stop");
  assert.equal(cancelled, "stop");
  assert.equal(aborted, "stop");
  await assert.rejects(new ReadableStream().pipeTo(new WritableStream(), { signal: {} as never }), TypeError);
  // Only a real AbortSignal will do: a look-alike is a TypeError (a rejection, not a throw).
  const lookAlike = { aborted: true, reason: "stop", addEventListener() {}, removeEventListener() {} };
  await assert.rejects(new ReadableStream().pipeTo(new WritableStream(), { signal: lookAlike as never }), TypeError);
});

test("pipeTo never writes inside the enqueue() that delivered the chunk", async () => {
  let controller!: { enqueue(chunk: string): void };
  let wrote = false;
  void new ReadableStream<string>({ start: (c) => void (controller = c) }, { highWaterMark: 0 }).pipeTo(new WritableStream({ write: () => void (wrote = true) }));
  await Promise.resolve();
  controller.enqueue("a");
  assert.equal(wrote, false);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(wrote, true);
});
