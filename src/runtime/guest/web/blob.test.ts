import { test } from "node:test";
import assert from "node:assert/strict";
import { Blob } from "./blob.ts";
import { File } from "./file.ts";
import { TextDecoder } from "./text-encoding.ts";

test("a Blob concatenates strings as UTF-8, buffers, views and other blobs", async () => {
  const inner = new Blob(["xy"]);
  const b = new Blob(["é", new Uint8Array([65]).buffer, new Uint16Array([0x4242]), inner]);
  assert.equal(b.size, 2 + 1 + 2 + 2);
  assert.equal(await b.text(), "éABBxy");
});

test("a Blob copies buffer parts at construction", async () => {
  const bytes = new Uint8Array([1, 2]);
  const b = new Blob([bytes]);
  bytes[0] = 9;
  assert.deepEqual([...(await b.bytes())], [1, 2]);
});

test("non-string, non-buffer parts are converted with ToString, lone surrogates become U+FFFD", async () => {
  const b = new Blob([{ toString: () => "obj" } as never, 12 as never, "\ud800"]);
  assert.equal(await b.text(), "obj12\ufffd");
});

test("the type is lowercased, and emptied when it has characters outside U+0020–U+007E", () => {
  assert.equal(new Blob([], { type: "Text/HTML" }).type, "text/html");
  assert.equal(new Blob([], { type: "a\u0019b" }).type, "");
  assert.equal(new Blob([], { type: "é" }).type, "");
});

test("endings: native turns CR and CRLF in strings into LF", async () => {
  const b = new Blob(["a\r\nb\rc\n"], { endings: "native" });
  assert.equal(await b.text(), "a\nb\nc\n");
  assert.throws(() => new Blob([], { endings: "weird" as never }), TypeError);
});

test("blobParts must be an iterable object", () => {
  assert.throws(() => new Blob("abc" as never), TypeError);
  assert.throws(() => new Blob(null as never), TypeError);
  assert.throws(() => new Blob({} as never), TypeError);
  assert.equal(new Blob(undefined).size, 0);
});

test("slice clamps relative offsets and sets the content type", async () => {
  const b = new Blob(["abcdef"], { type: "text/plain" });
  assert.equal(await b.slice(1, 3).text(), "bc");
  assert.equal(await b.slice(-2).text(), "ef");
  assert.equal(await b.slice(4, 2).text(), "");
  assert.equal(await b.slice(-100, 100).text(), "abcdef");
  assert.equal(b.slice().type, "");
  assert.equal(b.slice(0, 1, "X/Y").type, "x/y");
  assert.equal(await b.slice(1.5, 3.5).text(), "cd", "[Clamp] rounds half to even");
});

test("arrayBuffer and bytes return fresh copies each time", async () => {
  const b = new Blob(["ab"]);
  const a1 = await b.arrayBuffer();
  const a2 = await b.arrayBuffer();
  assert.notEqual(a1, a2);
  new Uint8Array(a1)[0] = 0;
  assert.equal(await b.text(), "ab");
});

test("stream() returns a byte stream of the contents", async () => {
  const rs = new Blob(["hello"]).stream();
  const reader = rs.getReader({ mode: "byob" });
  const { value } = await reader.read(new Uint8Array(10));
  assert.equal(new TextDecoder().decode(value), "hello");
  assert.equal((await reader.read(new Uint8Array(1))).done, true);
});

test("text() decodes UTF-8 with replacement and strips a BOM", async () => {
  assert.equal(await new Blob([new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0xff])]).text(), "a\ufffd");
});

test("Blob looks like a WebIDL interface", () => {
  assert.equal(Object.prototype.toString.call(new Blob()), "[object Blob]");
  assert.throws(() => Object.getOwnPropertyDescriptor(Blob.prototype, "size")!.get!.call({}), TypeError);
  assert.equal(Blob.length, 0);
  assert.equal(Blob.prototype.slice.length, 0);
});

test("File has a name and lastModified and is a Blob", async () => {
  const f = new File(["data"], "a.txt", { type: "text/plain", lastModified: 42 });
  assert.ok(f instanceof Blob);
  assert.equal(f.name, "a.txt");
  assert.equal(f.lastModified, 42);
  assert.equal(f.type, "text/plain");
  assert.equal(await f.text(), "data");
  assert.equal(Object.prototype.toString.call(f), "[object File]");
  assert.ok(f.slice() instanceof Blob);
  assert.equal(f.slice() instanceof File, false);
});

test("File requires two arguments and defaults lastModified to now", () => {
  assert.throws(() => new (File as unknown as new (a: unknown) => File)([]), {
    name: "TypeError",
    message: "Failed to construct 'File': 2 arguments required, but only 1 present.",
  });
  const before = Date.now();
  const f = new File([], "x");
  assert.ok(f.lastModified >= before && f.lastModified <= Date.now());
});
