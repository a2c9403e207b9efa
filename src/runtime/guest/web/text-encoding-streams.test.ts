import assert from "node:assert/strict";
import { test } from "node:test";
import { ReadableStream } from "./readable-stream.ts";
import { TextDecoderStream, TextEncoderStream } from "./text-encoding-streams.ts";

async function collect<T>(stream: ReadableStream<T>): Promise<T[]> {
  const out: T[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(value as T);
  }
}

function source<T>(chunks: T[]): ReadableStream<T> {
  return new ReadableStream<T>({
    start(c: { enqueue(x: T): void; close(): void }) {
      for (const x of chunks) c.enqueue(x);
      c.close();
    },
  } as never);
}

test("TextEncoderStream encodes chunks, joining a surrogate pair split across chunks", async () => {
  const enc = new TextEncoderStream();
  assert.equal(enc.encoding, "utf-8");
  const out = await collect(source(["a", "\uD83D", "\uDE00b", "é"]).pipeThrough(enc as never) as ReadableStream<Uint8Array>);
  assert.deepEqual(Buffer.concat(out.map((c) => Buffer.from(c))).toString("utf8"), "a😀bé");
  const lone = await collect(source(["x\uD83D"]).pipeThrough(new TextEncoderStream() as never) as ReadableStream<Uint8Array>);
  assert.deepEqual([...Buffer.concat(lone.map((c) => Buffer.from(c)))], [0x78, 0xef, 0xbf, 0xbd]);
});

test("TextDecoderStream decodes multi-byte sequences split across chunks and flushes at the end", async () => {
  const bytes = Buffer.from("h€llo 😀", "utf8");
  const chunks = [bytes.subarray(0, 2), bytes.subarray(2, 3), bytes.subarray(3, 9), bytes.subarray(9)].map((b) => new Uint8Array(b));
  const dec = new TextDecoderStream();
  assert.deepEqual([dec.encoding, dec.fatal, dec.ignoreBOM], ["utf-8", false, false]);
  assert.equal((await collect(source(chunks).pipeThrough(dec as never) as ReadableStream<string>)).join(""), "h€llo 😀");
  const truncated = await collect(source([new Uint8Array([0x61, 0xe2, 0x82])]).pipeThrough(new TextDecoderStream() as never) as ReadableStream<string>);
  assert.equal(truncated.join(""), "a\uFFFD");
});

test("TextDecoderStream with fatal errors the stream; non-buffer chunks are a TypeError", async () => {
  await assert.rejects(collect(source([new Uint8Array([0xff])]).pipeThrough(new TextDecoderStream("utf-8", { fatal: true }) as never)), TypeError);
  await assert.rejects(collect(source(["text"]).pipeThrough(new TextDecoderStream() as never)), /not an ArrayBuffer/);
  assert.equal(new TextDecoderStream("utf-16le").encoding, "utf-16le");
  assert.throws(() => new TextDecoderStream("no-such-encoding"), RangeError);
});
