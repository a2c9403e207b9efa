import { test } from "node:test";
import assert from "node:assert/strict";
import { Response } from "./response.ts";
import { Headers } from "./headers.ts";
import { Blob } from "./blob.ts";
import { FormData } from "./form-data.ts";
import { ReadableStream } from "./readable-stream.ts";
import { URLSearchParams } from "./url-search-params.ts";
import { TextDecoder } from "./text-encoding.ts";

test("a Response from a string has status 200, a text/plain content type and the text as body", async () => {
  const res = new Response("hello");
  assert.equal(res.status, 200);
  assert.equal(res.ok, true);
  assert.equal(res.statusText, "");
  assert.equal(res.type, "default");
  assert.equal(res.url, "");
  assert.equal(res.redirected, false);
  assert.equal(res.headers.get("content-type"), "text/plain;charset=UTF-8");
  assert.equal(await res.text(), "hello");
});

test("content types are defaulted per body kind and never override an explicit one", () => {
  assert.equal(new Response(new Blob([], { type: "image/png" })).headers.get("content-type"), "image/png");
  assert.equal(new Response(new Blob([])).headers.get("content-type"), null);
  assert.equal(new Response(new Uint8Array(1)).headers.get("content-type"), null);
  assert.equal(new Response(new URLSearchParams("a=1")).headers.get("content-type"), "application/x-www-form-urlencoded;charset=UTF-8");
  assert.match(new Response(new FormData()).headers.get("content-type")!, /^multipart\/form-data; boundary=/);
  assert.equal(new Response("x", { headers: { "Content-Type": "text/html" } }).headers.get("content-type"), "text/html");
});

test("no body and a null body give a null body stream", async () => {
  const res = new Response();
  assert.equal(res.body, null);
  assert.equal(res.bodyUsed, false);
  assert.equal(await res.text(), "");
  assert.equal(res.bodyUsed, false, "a null body is never used");
  assert.equal(new Response(null).body, null);
  assert.equal(new Response(undefined).body, null);
});

test("status must be in 200–599 and null-body statuses reject bodies", () => {
  assert.throws(() => new Response("", { status: 199 }), {
    name: "RangeError",
    message: "Failed to construct 'Response': The status provided (199) is outside the range [200, 599].",
  });
  assert.throws(() => new Response("", { status: 600 }), RangeError);
  for (const status of [101, 103, 204, 205, 304].filter((s) => s >= 200)) {
    assert.throws(() => new Response("x", { status }), {
      name: "TypeError",
      message: "Failed to construct 'Response': Response with null body status cannot have body",
    });
    assert.equal(new Response(null, { status }).status, status);
  }
  // unsigned short conversion wraps modulo 2^16
  assert.equal(new Response(null, { status: 65536 + 201 }).status, 201);
});

test("statusText must be a reason phrase", () => {
  assert.equal(new Response(null, { statusText: "OK fine\t" }).statusText, "OK fine\t");
  assert.throws(() => new Response(null, { statusText: "bad\n" }), TypeError);
  assert.throws(() => new Response(null, { statusText: "\u0100" }), TypeError);
});

test("the body stream is created lazily but is one stable, spec-shaped object", async () => {
  const res = new Response("abc");
  const body = res.body!;
  assert.equal(res.body, body);
  assert.ok(body instanceof ReadableStream);
  const reader = body.getReader();
  const { value } = await reader.read();
  assert.equal(new TextDecoder().decode(value), "abc");
  assert.equal(res.bodyUsed, true);
  await assert.rejects(res.text(), { name: "TypeError", message: "Failed to execute 'text' on 'Response': body stream already read" });
});

test("the body of a byte-based Response is a byte stream that supports BYOB readers", async () => {
  const reader = new Response("xyz").body!.getReader({ mode: "byob" });
  const { value } = await reader.read(new Uint8Array(2));
  assert.deepEqual([...value!], [0x78, 0x79]);
});

test("consuming a body marks it used, and a second read rejects with a TypeError", async () => {
  const res = new Response("x");
  await res.arrayBuffer();
  assert.equal(res.bodyUsed, true);
  await assert.rejects(res.arrayBuffer(), TypeError);
  await assert.rejects(res.json(), TypeError);
  // After consumption, the body stream is what fully reading it leaves: locked and disturbed.
  assert.equal(res.body!.locked, true);
});

test("a locked but unread body makes the response unusable without being used", async () => {
  const res = new Response("x");
  res.body!.getReader();
  assert.equal(res.bodyUsed, false);
  await assert.rejects(res.text(), TypeError);
  assert.throws(() => res.clone(), TypeError);
});

test("text() strips a UTF-8 BOM and decodes invalid bytes to U+FFFD", async () => {
  assert.equal(await new Response("\ufeffhi").text(), "hi");
  assert.equal(await new Response(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xc3])).text(), "h\ufffd");
});

test("json() parses the body and rejects with a SyntaxError on bad JSON", async () => {
  assert.deepEqual(await new Response('{"a":[1]}').json(), { a: [1] });
  await assert.rejects(new Response("{").json(), SyntaxError);
});

test("arrayBuffer() and bytes() return the bytes, blob() carries the serialized MIME type", async () => {
  assert.deepEqual([...new Uint8Array(await new Response("hi").arrayBuffer())], [104, 105]);
  const bytes = await new Response(new Uint8Array([1, 2])).bytes();
  assert.ok(bytes instanceof Uint8Array);
  assert.deepEqual([...bytes], [1, 2]);
  const blob = await new Response("x", { headers: { "Content-Type": "Text/Plain; Charset=\"utf-8\"" } }).blob();
  assert.equal(blob.type, "text/plain;charset=utf-8");
  assert.equal(await blob.text(), "x");
  assert.equal((await new Response(new Uint8Array(1)).blob()).type, "");
});

test("a buffer body is copied when the Response is made", async () => {
  const bytes = new Uint8Array([1]);
  const res = new Response(bytes);
  bytes[0] = 2;
  assert.deepEqual([...(await res.bytes())], [1]);
});

test("a ReadableStream body is used as the body stream itself and read chunk by chunk", async () => {
  const rs = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array([104]));
      c.enqueue(new Uint8Array([105]));
      c.close();
    },
  });
  const res = new Response(rs);
  assert.equal(res.body, rs);
  assert.equal(res.headers.has("content-type"), false);
  assert.equal(await res.text(), "hi");
});

test("a disturbed or locked stream cannot be a body", async () => {
  const locked = new ReadableStream();
  locked.getReader();
  assert.throws(() => new Response(locked), TypeError);
  const disturbed = new ReadableStream();
  await disturbed.cancel();
  assert.throws(() => new Response(disturbed), TypeError);
});

test("a stream that yields a non-Uint8Array chunk makes consumption reject with a TypeError", async () => {
  const rs = new ReadableStream({ start: (c) => c.enqueue("not bytes") });
  await assert.rejects(new Response(rs).text(), TypeError);
});

test("an erroring stream rejects consumption with the stream's error", async () => {
  const err = new Error("boom");
  const rs = new ReadableStream({ start: (c) => c.error(err) });
  await assert.rejects(new Response(rs).arrayBuffer(), (e) => e === err);
});

test("clone() gives an independent copy of status, headers and body", async () => {
  const res = new Response("body", { status: 201, statusText: "Made", headers: { "x-a": "1" } });
  const copy = res.clone();
  copy.headers.set("x-a", "2");
  assert.equal(res.headers.get("x-a"), "1");
  assert.equal(copy.status, 201);
  assert.equal(copy.statusText, "Made");
  assert.equal(await res.text(), "body");
  assert.equal(await copy.text(), "body");
});

test("clone() of a stream body tees it, copying chunks so each side owns its bytes", async () => {
  const chunk = new Uint8Array([1, 2, 3]);
  const res = new Response(new ReadableStream({ start: (c) => (c.enqueue(chunk), c.close()) }));
  const copy = res.clone();
  const [a, b] = await Promise.all([res.body!.getReader().read(), copy.body!.getReader().read()]);
  assert.deepEqual([...a.value!], [1, 2, 3]);
  assert.deepEqual([...b.value!], [1, 2, 3]);
  assert.notEqual(a.value!.buffer, b.value!.buffer);
});

test("clone() of a used response throws", async () => {
  const res = new Response("x");
  await res.text();
  assert.throws(() => res.clone(), { message: "Failed to execute 'clone' on 'Response': Response body is already used" });
});

test("Response.error() is a network error with immutable headers", () => {
  const res = Response.error();
  assert.equal(res.type, "error");
  assert.equal(res.status, 0);
  assert.equal(res.ok, false);
  assert.equal(res.body, null);
  assert.throws(() => res.headers.set("a", "b"), TypeError);
});

test("Response.redirect() sets Location and a redirect status, and validates both", () => {
  const res = Response.redirect("https://example.com/a b", 301);
  assert.equal(res.status, 301);
  assert.equal(res.headers.get("location"), "https://example.com/a%20b");
  assert.equal(Response.redirect("https://example.com/").status, 302);
  assert.throws(() => res.headers.set("x", "y"), TypeError);
  assert.throws(() => Response.redirect("https://example.com/", 200), RangeError);
  assert.throws(() => Response.redirect("not a url"), TypeError);
});

test("Response.json() serializes data with an application/json content type", async () => {
  const res = Response.json({ a: "é" }, { status: 202, headers: { "X-Y": "z" } });
  assert.equal(res.status, 202);
  assert.equal(res.headers.get("content-type"), "application/json");
  assert.equal(res.headers.get("x-y"), "z");
  assert.deepEqual(await res.json(), { a: "é" });
  const custom = Response.json(1, { headers: { "content-type": "application/foo+json" } });
  assert.equal(custom.headers.get("content-type"), "application/foo+json");
  assert.throws(() => Response.json(undefined), TypeError);
  assert.throws(() => Response.json(Symbol("x")), TypeError);
  assert.throws(() => Response.json(1n), TypeError);
  assert.throws(() => Response.json({}, { status: 204 }), TypeError);
});

test("formData() parses urlencoded and multipart bodies and rejects other types", async () => {
  const fd = await new Response("a=1&b=x+y&a=%C3%A9", { headers: { "content-type": "application/x-www-form-urlencoded" } }).formData();
  assert.deepEqual(fd.getAll("a"), ["1", "é"]);
  assert.equal(fd.get("b"), "x y");
  await assert.rejects(new Response("a=1").formData(), TypeError);
});

test("a FormData body round-trips through multipart/form-data", async () => {
  const fd = new FormData();
  fd.append("name", "line1\nline2");
  fd.append("file", new Blob(["contents"], { type: "text/csv" }), 'we"ird.csv');
  const res = new Response(fd);
  const parsed = await res.formData();
  assert.equal(parsed.get("name"), "line1\r\nline2");
  const file = parsed.get("file") as unknown as { name: string; type: string; text(): Promise<string> };
  assert.equal(file.name, 'we"ird.csv');
  assert.equal(file.type, "text/csv");
  assert.equal(await file.text(), "contents");
});

test("headers passed as a Headers object are copied, not shared", () => {
  const h = new Headers({ a: "1" });
  const res = new Response(null, { headers: h });
  h.set("a", "2");
  assert.equal(res.headers.get("a"), "1");
});

test("getters and body methods check their receiver", async () => {
  assert.throws(() => Object.getOwnPropertyDescriptor(Response.prototype, "status")!.get!.call({}), TypeError);
  await assert.rejects(Response.prototype.text.call({} as Response), TypeError);
  assert.equal(Object.prototype.toString.call(new Response()), "[object Response]");
});
