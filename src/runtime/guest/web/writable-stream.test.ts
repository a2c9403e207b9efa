import { test } from "node:test";
import assert from "node:assert/strict";
import { WritableStream } from "./writable-stream.ts";
import { WritableStreamDefaultWriter } from "./writable-stream-default-writer.ts";
import type { WritableStreamDefaultController } from "./writable-stream-default-controller.ts";

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

test("writes reach the sink one at a time, in order, each after the previous one settled", async () => {
  const log: string[] = [];
  const ws = new WritableStream<string>({
    async write(chunk) {
      log.push(`start ${chunk}`);
      await tick();
      log.push(`end ${chunk}`);
    },
    close() {
      log.push("close");
    },
  });
  const writer = ws.getWriter();
  await Promise.all([writer.write("a"), writer.write("b"), writer.close()]);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "close"]);
  await writer.closed;
});

test("write and close are called with the sink as this and the controller", async () => {
  const seen: unknown[] = [];
  const sink = {
    start(c: WritableStreamDefaultController) {
      seen.push(["start", this === sink, typeof c.error]);
    },
    write(chunk: unknown, c: WritableStreamDefaultController) {
      seen.push(["write", this === sink, chunk, typeof c.error]);
    },
    close() {
      seen.push(["close", this === sink]);
    },
  };
  const ws = new WritableStream(sink);
  const w = ws.getWriter();
  await w.write(1);
  await w.close();
  assert.deepEqual(seen, [["start", true, "function"], ["write", true, 1, "function"], ["close", true]]);
});

test("the writer's ready promise and desiredSize reflect backpressure", async () => {
  let release!: () => void;
  const ws = new WritableStream<string>(
    { write: () => new Promise<void>((r) => (release = r)) },
    { highWaterMark: 2 },
  );
  const writer = ws.getWriter();
  assert.equal(writer.desiredSize, 2);
  void writer.write("a");
  void writer.write("b");
  assert.equal(writer.desiredSize, 0);
  let ready = false;
  void writer.ready.then(() => (ready = true));
  await tick();
  assert.equal(ready, false);
  release();
  await tick();
  assert.equal(ready, true);
});

test("a constructor with a type member or a non-object sink throws", () => {
  assert.throws(() => new WritableStream({ type: "bytes" } as never), RangeError);
  assert.throws(() => new WritableStream(null as never), TypeError);
  assert.throws(() => new WritableStream({ write: 1 } as never), TypeError);
});

test("a locked stream refuses getWriter, abort and close", async () => {
  const ws = new WritableStream();
  const writer = ws.getWriter();
  assert.equal(ws.locked, true);
  assert.throws(() => ws.getWriter(), TypeError);
  assert.throws(() => new WritableStreamDefaultWriter(ws), TypeError);
  await assert.rejects(ws.abort(), TypeError);
  await assert.rejects(ws.close(), TypeError);
  writer.releaseLock();
  await assert.rejects(writer.closed, TypeError);
  await assert.rejects(writer.write("x"), TypeError);
  assert.throws(() => writer.desiredSize, TypeError);
});

test("writing after close is requested rejects with a TypeError", async () => {
  const ws = new WritableStream();
  const writer = ws.getWriter();
  void writer.close();
  await assert.rejects(writer.write("x"), TypeError);
  await assert.rejects(writer.close(), TypeError);
});

test("abort rejects queued writes, calls the sink's abort with the reason, and errors the stream", async () => {
  let abortReason: unknown;
  let release!: () => void;
  const ws = new WritableStream({
    write: () => new Promise<void>((r) => (release = r)),
    abort(reason) {
      abortReason = reason;
    },
  });
  const writer = ws.getWriter();
  const w1 = writer.write("in flight");
  const w2 = writer.write("queued");
  await tick();
  const aborted = writer.abort("stop");
  await assert.rejects(writer.ready, (e) => e === "stop");
  assert.equal(abortReason, undefined, "the sink's abort waits for the in-flight write");
  release();
  await w1;
  await assert.rejects(w2, (e) => e === "stop");
  await aborted;
  assert.equal(abortReason, "stop");
  await assert.rejects(writer.closed, (e) => e === "stop");
});

test("the controller's signal is aborted with the abort reason", async () => {
  let controller!: WritableStreamDefaultController;
  const ws = new WritableStream({ start: (c) => void (controller = c) });
  let fired = 0;
  controller.signal.addEventListener("abort", () => fired++);
  assert.equal(controller.signal.aborted, false);
  await ws.abort("why");
  assert.equal(controller.signal.aborted, true);
  assert.equal(controller.signal.reason, "why");
  assert.equal(fired, 1);
});

test("a failing write errors the stream and rejects later operations with that error", async () => {
  const err = new Error("write failed");
  const ws = new WritableStream({
    write() {
      throw err;
    },
  });
  const writer = ws.getWriter();
  await assert.rejects(writer.write("a"), (e) => e === err);
  await assert.rejects(writer.write("b"), (e) => e === err);
  await assert.rejects(writer.closed, (e) => e === err);
  assert.equal(writer.desiredSize, null);
});

test("controller.error errors the stream unless it already closed", async () => {
  let controller!: WritableStreamDefaultController;
  const ws = new WritableStream({ start: (c) => void (controller = c) });
  const writer = ws.getWriter();
  const err = new Error("x");
  controller.error(err);
  await assert.rejects(writer.ready, (e) => e === err);
  await assert.rejects(writer.closed, (e) => e === err);
});

test("a rejecting start errors the stream", async () => {
  const err = new Error("start");
  const ws = new WritableStream({ start: () => Promise.reject(err) });
  await assert.rejects(ws.getWriter().closed, (e) => e === err);
});

test("a throwing size function errors the stream but write() rejects with that error", async () => {
  const err = new Error("size");
  const ws = new WritableStream(
    {},
    {
      size() {
        throw err;
      },
    },
  );
  const writer = ws.getWriter();
  await assert.rejects(writer.write("x"), (e) => e === err);
});

test("closing an errored stream rejects, closing a closed one rejects with TypeError", async () => {
  const ws = new WritableStream();
  await ws.close();
  await assert.rejects(ws.close(), TypeError);
  const ws2 = new WritableStream({ start: (c) => c.error("bad") });
  await tick();
  await assert.rejects(ws2.close(), TypeError);
});

test("controller.signal is a real AbortSignal; abort() without a reason gives it an AbortError", async () => {
  const { AbortSignal } = await import("./abort.ts");
  let controller!: WritableStreamDefaultController;
  const ws = new WritableStream({ start: (c) => void (controller = c), write: () => new Promise(() => {}) });
  const signal = controller.signal;
  assert.ok(signal instanceof AbortSignal);
  assert.equal(controller.signal, signal, "the same object every time");
  assert.equal(signal.aborted, false);
  const writer = ws.getWriter();
  void writer.write("x").catch(() => {});
  await tick();
  let heard = 0;
  signal.addEventListener("abort", () => heard++);
  void writer.abort();
  assert.equal(signal.aborted, true, "signalled synchronously");
  assert.equal(heard, 1);
  assert.equal((signal.reason as Error).name, "AbortError");
  const reason = new Error("why");
  let late!: WritableStreamDefaultController;
  const ws2 = new WritableStream({ start: (c) => void (late = c) });
  await ws2.abort(reason);
  assert.equal(late.signal.reason, reason, "a signal made after the abort carries its reason");
});
