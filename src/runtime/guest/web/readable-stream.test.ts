import { test } from "node:test";
import assert from "node:assert/strict";
import { ReadableStream } from "./readable-stream.ts";
import { ReadableStreamDefaultReader } from "./readable-stream-default-reader.ts";
import { ReadableStreamDefaultController } from "./readable-stream-default-controller.ts";
import { CountQueuingStrategy } from "./queuing-strategies.ts";

const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

async function readAll<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const chunk of stream) out.push(chunk);
  return out;
}

test("a stream delivers enqueued chunks in order and then reports done", async () => {
  const rs = new ReadableStream<number>({
    start(c) {
      c.enqueue(1);
      c.enqueue(2);
      c.close();
    },
  });
  const reader = rs.getReader();
  assert.deepEqual(await reader.read(), { value: 1, done: false });
  assert.deepEqual(await reader.read(), { value: 2, done: false });
  assert.deepEqual(await reader.read(), { value: undefined, done: true });
  await reader.closed;
});

test("the constructor rejects null or primitive sources and bad members with TypeErrors", () => {
  assert.throws(() => new ReadableStream(null as never), TypeError);
  assert.throws(() => new ReadableStream(1 as never), TypeError);
  assert.throws(() => new ReadableStream({ start: "x" } as never), TypeError);
  assert.throws(() => new ReadableStream({ type: "nope" } as never), TypeError);
  assert.throws(() => new ReadableStream({}, { highWaterMark: -1 }), RangeError);
  assert.throws(() => new ReadableStream({}, { highWaterMark: NaN }), RangeError);
  assert.throws(() => new ReadableStream({ type: "bytes" } as never, { size: () => 1 } as never), RangeError);
});

test("the constructor reads strategy members before source members, each in lexicographic order", () => {
  const order: string[] = [];
  const spy = (name: string, value: unknown): PropertyDescriptor => ({
    get() {
      order.push(name);
      return value;
    },
  });
  const source = Object.defineProperties({}, {
    start: spy("start", undefined),
    pull: spy("pull", undefined),
    cancel: spy("cancel", undefined),
    type: spy("type", undefined),
    autoAllocateChunkSize: spy("autoAllocateChunkSize", undefined),
  });
  const strategy = Object.defineProperties({}, { size: spy("size", undefined), highWaterMark: spy("highWaterMark", undefined) });
  new ReadableStream(source, strategy);
  assert.deepEqual(order, ["highWaterMark", "size", "autoAllocateChunkSize", "cancel", "pull", "start", "type"]);
});

test("start, pull and cancel are called with the underlying source as this", async () => {
  const calls: unknown[] = [];
  const source = {
    start(c: ReadableStreamDefaultController) {
      calls.push(["start", this === source, c instanceof ReadableStreamDefaultController]);
    },
    pull() {
      calls.push(["pull", this === source]);
    },
    cancel(reason: unknown) {
      calls.push(["cancel", this === source, reason]);
    },
  };
  const rs = new ReadableStream(source);
  await tick();
  await rs.cancel("why");
  assert.deepEqual(calls, [["start", true, true], ["pull", true], ["cancel", true, "why"]]);
});

test("pull is not called until start's promise fulfills, and is called again while below the high-water mark", async () => {
  let resolveStart!: () => void;
  let pulls = 0;
  const rs = new ReadableStream<number>(
    {
      start: () => new Promise<void>((r) => (resolveStart = r)),
      pull(c) {
        pulls++;
        c.enqueue(pulls);
      },
    },
    { highWaterMark: 3 },
  );
  await tick();
  assert.equal(pulls, 0);
  resolveStart();
  await tick();
  assert.equal(pulls, 3, "fills the queue up to the high-water mark");
  const reader = rs.getReader();
  await reader.read();
  await tick();
  assert.equal(pulls, 4, "one read makes room for one more pull");
});

test("desiredSize follows the size strategy and is null once errored and 0 once closed", async () => {
  let controller!: ReadableStreamDefaultController<string>;
  const rs = new ReadableStream<string>(
    { start: (c) => void (controller = c) },
    { highWaterMark: 10, size: (chunk) => chunk.length },
  );
  assert.equal(controller.desiredSize, 10);
  controller.enqueue("abcd");
  assert.equal(controller.desiredSize, 6);
  controller.close();
  assert.equal(controller.desiredSize, 6, "a close request keeps the queue");
  await rs.getReader().read();
  assert.equal(controller.desiredSize, 0);
  const rs2 = new ReadableStream({ start: (c) => c.error(new Error("x")) });
  void rs2;
});

test("a throwing size function errors the stream and rethrows from enqueue", async () => {
  const boom = new Error("size");
  let controller!: ReadableStreamDefaultController;
  const rs = new ReadableStream(
    { start: (c) => void (controller = c) },
    {
      size() {
        throw boom;
      },
    },
  );
  assert.throws(() => controller.enqueue("x"), (e) => e === boom);
  await assert.rejects(rs.getReader().closed, (e) => e === boom);
  assert.equal(controller.desiredSize, null);
});

test("a size returning a negative or infinite number makes enqueue throw a RangeError", () => {
  for (const bad of [-1, Infinity, NaN]) {
    let controller!: ReadableStreamDefaultController;
    new ReadableStream({ start: (c) => void (controller = c) }, { size: () => bad });
    assert.throws(() => controller.enqueue("x"), RangeError);
  }
});

test("enqueue and close after close throw TypeErrors", () => {
  let controller!: ReadableStreamDefaultController;
  new ReadableStream({ start: (c) => void (controller = c) });
  controller.close();
  assert.throws(() => controller.enqueue("x"), TypeError);
  assert.throws(() => controller.close(), TypeError);
});

test("the controller cannot be constructed by user code", () => {
  assert.throws(() => new (ReadableStreamDefaultController as unknown as new () => unknown)(), TypeError);
});

test("a locked stream cannot get a second reader or be cancelled directly", async () => {
  const rs = new ReadableStream();
  const reader = rs.getReader();
  assert.equal(rs.locked, true);
  assert.throws(() => rs.getReader(), TypeError);
  assert.throws(() => new ReadableStreamDefaultReader(rs), TypeError);
  await assert.rejects(rs.cancel(), TypeError);
  reader.releaseLock();
  assert.equal(rs.locked, false);
  await assert.rejects(reader.closed, TypeError);
  await assert.rejects(reader.read(), TypeError);
});

test("releasing a reader rejects its pending reads with a TypeError", async () => {
  const rs = new ReadableStream();
  const reader = rs.getReader();
  const pending = reader.read();
  reader.releaseLock();
  await assert.rejects(pending, TypeError);
});

test("cancel empties the queue, resolves pending reads as done, and calls the source's cancel once", async () => {
  let cancels = 0;
  const rs = new ReadableStream({
    start(c) {
      c.enqueue("a");
    },
    cancel() {
      cancels++;
      return "ignored result";
    },
  });
  const reader = rs.getReader();
  assert.equal(await reader.cancel("stop"), undefined);
  assert.deepEqual(await reader.read(), { value: undefined, done: true });
  await reader.cancel();
  assert.equal(cancels, 1);
});

test("a rejected cancel from the source rejects cancel()", async () => {
  const err = new Error("no");
  const rs = new ReadableStream({
    cancel() {
      throw err;
    },
  });
  await assert.rejects(rs.cancel(), (e) => e === err);
});

test("an erroring start rejects reads and closed with the error", async () => {
  const err = new Error("start failed");
  const rs = new ReadableStream({ start: () => Promise.reject(err) });
  const reader = rs.getReader();
  await assert.rejects(reader.read(), (e) => e === err);
  await assert.rejects(reader.closed, (e) => e === err);
});

test("a synchronously throwing start propagates out of the constructor", () => {
  const err = new Error("sync");
  assert.throws(
    () =>
      new ReadableStream({
        start() {
          throw err;
        },
      }),
    (e) => e === err,
  );
});

test("a pull that rejects errors the stream", async () => {
  const err = new Error("pull");
  const rs = new ReadableStream({ pull: () => Promise.reject(err) });
  await assert.rejects(rs.getReader().read(), (e) => e === err);
});

test("getReader rejects unknown modes, and mode byob on a default stream", () => {
  const rs = new ReadableStream();
  assert.throws(() => rs.getReader({ mode: "nope" } as never), TypeError);
  assert.throws(() => rs.getReader({ mode: "byob" }), TypeError);
});

test("tee gives both branches every chunk and closes both", async () => {
  const rs = ReadableStream.from(["a", "b", "c"]);
  const [a, b] = rs.tee();
  assert.equal(rs.locked, true);
  const [ra, rb] = await Promise.all([readAll(a), readAll(b)]);
  assert.deepEqual(ra, ["a", "b", "c"]);
  assert.deepEqual(rb, ["a", "b", "c"]);
});

test("tee cancels the source only when both branches are cancelled, with both reasons", async () => {
  let reason: unknown;
  const rs = new ReadableStream({
    cancel(r) {
      reason = r;
    },
  });
  const [a, b] = rs.tee();
  const pa = a.cancel("r1");
  await tick();
  assert.equal(reason, undefined);
  const pb = b.cancel("r2");
  await Promise.all([pa, pb]);
  assert.deepEqual(reason, ["r1", "r2"]);
});

test("an error in the source errors both tee branches", async () => {
  const err = new Error("e");
  let controller!: ReadableStreamDefaultController;
  const rs = new ReadableStream({ start: (c) => void (controller = c) });
  const [a, b] = rs.tee();
  controller.error(err);
  await assert.rejects(a.getReader().closed, (e) => e === err);
  await assert.rejects(b.getReader().closed, (e) => e === err);
});

test("for await iterates chunks and releases the lock at the end", async () => {
  const rs = ReadableStream.from([1, 2]);
  assert.deepEqual(await readAll(rs), [1, 2]);
  assert.equal(rs.locked, false);
});

test("breaking out of for await cancels the stream unless preventCancel is set", async () => {
  let cancelled = 0;
  const make = (): ReadableStream<number> =>
    new ReadableStream<number>({
      pull(c) {
        c.enqueue(1);
      },
      cancel() {
        cancelled++;
      },
    });
  for await (const _ of make()) break;
  assert.equal(cancelled, 1);
  const rs = make();
  for await (const _ of rs.values({ preventCancel: true })) break;
  assert.equal(cancelled, 1);
  assert.equal(rs.locked, false);
});

test("the async iterator prototype chains to %AsyncIteratorPrototype% and values is @@asyncIterator", () => {
  const it = new ReadableStream().values();
  const asyncIteratorPrototype = Object.getPrototypeOf(Object.getPrototypeOf(Object.getPrototypeOf((async function* () {})())));
  assert.equal(Object.getPrototypeOf(Object.getPrototypeOf(it)), asyncIteratorPrototype);
  assert.equal(ReadableStream.prototype[Symbol.asyncIterator], ReadableStream.prototype.values);
  void it.return!();
});

test("next() calls are queued and settle in order", async () => {
  let controller!: ReadableStreamDefaultController<number>;
  const rs = new ReadableStream<number>({ start: (c) => void (controller = c) });
  const it = rs[Symbol.asyncIterator]();
  const p1 = it.next();
  const p2 = it.next();
  const p3 = it.next();
  controller.enqueue(1);
  controller.enqueue(2);
  controller.close();
  assert.deepEqual(await Promise.all([p1, p2, p3]), [
    { value: 1, done: false },
    { value: 2, done: false },
    { value: undefined, done: true },
  ]);
});

test("an iterator over an errored stream rejects next() and then reports done", async () => {
  const err = new Error("x");
  const rs = new ReadableStream({ start: (c) => c.error(err) });
  const it = rs.values();
  await assert.rejects(it.next(), (e) => e === err);
  assert.deepEqual(await it.next(), { value: undefined, done: true });
});

test("ReadableStream.from reads sync iterables, async iterables and awaits promised values", async () => {
  assert.deepEqual(await readAll(ReadableStream.from([Promise.resolve("a"), "b"])), ["a", "b"]);
  async function* gen(): AsyncGenerator<number> {
    yield 1;
    yield 2;
  }
  assert.deepEqual(await readAll(ReadableStream.from(gen())), [1, 2]);
  assert.deepEqual(await readAll(ReadableStream.from("hi" as unknown as Iterable<string>)), ["h", "i"]);
});

test("ReadableStream.from rejects non-iterables and forwards cancel to the iterator's return", async () => {
  assert.throws(() => ReadableStream.from({} as never), TypeError);
  assert.throws(() => ReadableStream.from(null as never), TypeError);
  let returned: unknown = "not called";
  const iterable = {
    [Symbol.asyncIterator]() {
      return {
        next: () => Promise.resolve({ value: 1, done: false }),
        return: (v: unknown) => {
          returned = v;
          return Promise.resolve({ done: true, value: undefined });
        },
      };
    },
  };
  await ReadableStream.from(iterable).cancel("because");
  assert.equal(returned, "because");
});

test("ReadableStream.from errors the stream when next() yields a non-object", async () => {
  const iterable = {
    [Symbol.asyncIterator]() {
      return { next: () => Promise.resolve(42) };
    },
  };
  await assert.rejects(ReadableStream.from(iterable as never).getReader().read(), TypeError);
});

test("CountQueuingStrategy controls when pull stops", async () => {
  let pulls = 0;
  new ReadableStream(
    {
      pull(c) {
        pulls++;
        c.enqueue(pulls);
      },
    },
    new CountQueuingStrategy({ highWaterMark: 2 }),
  );
  await tick();
  assert.equal(pulls, 2);
});

test("promise-returning methods reject, not throw, on a wrong this", async () => {
  await assert.rejects(ReadableStream.prototype.cancel.call({}), TypeError);
  await assert.rejects(ReadableStreamDefaultReader.prototype.read.call({} as never), TypeError);
  assert.throws(() => Object.getOwnPropertyDescriptor(ReadableStream.prototype, "locked")!.get!.call({}), TypeError);
});

test("a stream survives user code replacing Promise.prototype.then", async () => {
  const original = Promise.prototype.then;
  const rs = ReadableStream.from([1, 2]);
  const reader = rs.getReader();
  let hijacked = 0;
  Promise.prototype.then = function (this: Promise<unknown>, ...args: unknown[]) {
    hijacked++;
    return original.apply(this, args as never);
  } as typeof original;
  try {
    const read = reader.read();
    Promise.prototype.then = original;
    assert.deepEqual(await read, { value: 1, done: false });
  } finally {
    Promise.prototype.then = original;
  }
  assert.equal(hijacked, 0);
});
