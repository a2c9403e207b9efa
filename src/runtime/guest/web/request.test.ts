import { test } from "node:test";
import assert from "node:assert/strict";
import { Request, createIncomingRequest } from "./request.ts";
import { Headers } from "./headers.ts";
import { ReadableStream } from "./readable-stream.ts";
import { URL } from "./url.ts";

test("a Request from a URL string has the spec's default attributes", () => {
  const r = new Request("https://example.com/path?q#frag");
  assert.equal(r.method, "GET");
  assert.equal(r.url, "https://example.com/path?q#frag");
  assert.equal(r.destination, "");
  assert.equal(r.referrer, "about:client");
  assert.equal(r.referrerPolicy, "");
  assert.equal(r.mode, "cors");
  assert.equal(r.credentials, "same-origin");
  assert.equal(r.cache, "default");
  assert.equal(r.redirect, "follow");
  assert.equal(r.integrity, "");
  assert.equal(r.keepalive, false);
  assert.equal(r.isReloadNavigation, false);
  assert.equal(r.isHistoryNavigation, false);
  assert.equal(r.duplex, "half");
  assert.equal(r.body, null);
  assert.equal(r.bodyUsed, false);
  assert.deepEqual([...r.headers], []);
});

test("the URL is parsed and serialized, URL objects are stringified, and bad URLs throw", () => {
  assert.equal(new Request("HTTPS://EXAMPLE.com/a b").url, "https://example.com/a%20b");
  assert.equal(new Request(new URL("https://x.test/y") as never).url, "https://x.test/y");
  assert.throws(() => new Request("/relative"), { name: "TypeError", message: "Failed to construct 'Request': Invalid URL" });
  assert.throws(() => new Request("https://user:pass@example.com/"), TypeError);
  assert.throws(() => new (Request as unknown as new () => Request)(), TypeError);
});

test("methods are validated, forbidden ones rejected, and standard ones uppercased", () => {
  assert.equal(new Request("https://a.test/", { method: "post" }).method, "POST");
  assert.equal(new Request("https://a.test/", { method: "patch" }).method, "patch", "PATCH is not normalized");
  assert.equal(new Request("https://a.test/", { method: "Custom" }).method, "Custom");
  for (const bad of ["CONNECT", "trace", "TRACK"]) assert.throws(() => new Request("https://a.test/", { method: bad }), TypeError);
  assert.throws(() => new Request("https://a.test/", { method: "bad method" }), TypeError);
  assert.throws(() => new Request("https://a.test/", { method: "\u0100" }), TypeError);
});

test("GET and HEAD requests cannot have a body", () => {
  assert.throws(() => new Request("https://a.test/", { body: "x" }), {
    name: "TypeError",
    message: "Failed to construct 'Request': Request with GET/HEAD method cannot have body.",
  });
  assert.throws(() => new Request("https://a.test/", { method: "HEAD", body: "x" }), TypeError);
  assert.equal(new Request("https://a.test/", { body: null }).body, null);
});

test("a string body sets text/plain and reads back", async () => {
  const r = new Request("https://a.test/", { method: "POST", body: "hello" });
  assert.equal(r.headers.get("content-type"), "text/plain;charset=UTF-8");
  assert.equal(await r.text(), "hello");
  assert.equal(r.bodyUsed, true);
});

test("a stream body requires duplex: 'half'", async () => {
  const body = (): ReadableStream<Uint8Array> => new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array([120])), c.close()) });
  assert.throws(() => new Request("https://a.test/", { method: "POST", body: body() }), TypeError);
  const r = new Request("https://a.test/", { method: "POST", body: body(), duplex: "half" });
  assert.equal(await r.text(), "x");
  assert.throws(() => new Request("https://a.test/", { method: "POST", body: body(), duplex: "full" as never }), TypeError);
});

test("enum members are validated", () => {
  const url = "https://a.test/";
  assert.throws(() => new Request(url, { mode: "navigate" }), TypeError);
  assert.throws(() => new Request(url, { mode: "nope" as never }), TypeError);
  assert.throws(() => new Request(url, { cache: "only-if-cached" }), TypeError);
  assert.equal(new Request(url, { cache: "only-if-cached", mode: "same-origin" }).cache, "only-if-cached");
  assert.throws(() => new Request(url, { credentials: "x" as never }), TypeError);
  assert.throws(() => new Request(url, { redirect: "x" as never }), TypeError);
  assert.throws(() => new Request(url, { referrerPolicy: "x" as never }), TypeError);
  assert.throws(() => new Request(url, { window: {} as never }), TypeError);
  assert.equal(new Request(url, { window: null }).url, url);
});

test("no-cors mode allows only CORS-safelisted methods", () => {
  assert.equal(new Request("https://a.test/", { mode: "no-cors", method: "POST" }).mode, "no-cors");
  assert.throws(() => new Request("https://a.test/", { mode: "no-cors", method: "PUT" }), TypeError);
});

test("referrer: empty means no-referrer, URLs are parsed, about:client means client", () => {
  const url = "https://a.test/";
  assert.equal(new Request(url, { referrer: "" }).referrer, "");
  assert.equal(new Request(url, { referrer: "https://b.test/x" }).referrer, "https://b.test/x");
  assert.equal(new Request(url, { referrer: "about:client" }).referrer, "about:client");
  assert.throws(() => new Request(url, { referrer: "not a url" }), TypeError);
});

test("a Request made from a Request copies its attributes, headers and body", async () => {
  const a = new Request("https://a.test/", { method: "PUT", body: "data", headers: { "x-a": "1" }, redirect: "manual" });
  const b = new Request(a);
  assert.equal(b.method, "PUT");
  assert.equal(b.redirect, "manual");
  assert.equal(b.headers.get("x-a"), "1");
  assert.notEqual(b.headers, a.headers);
  assert.equal(a.bodyUsed, true, "the input's body moves into the new request");
  assert.equal(await b.text(), "data");
  assert.throws(() => new Request(a), TypeError, "the input is now unusable");
});

test("a new body in init leaves the input request's body alone", async () => {
  const a = new Request("https://a.test/", { method: "POST", body: "one" });
  const b = new Request(a, { body: "two" });
  assert.equal(a.bodyUsed, false);
  assert.equal(await b.text(), "two");
  assert.equal(await a.text(), "one");
});

test("a stream-bodied input is piped into the new request", async () => {
  const stream = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array([104, 105])), c.close()) });
  const a = new Request("https://a.test/", { method: "POST", body: stream, duplex: "half" });
  const b = new Request(a);
  assert.equal(a.bodyUsed, true);
  assert.equal(await b.text(), "hi");
});

test("non-empty init resets referrer and replaces headers when given", () => {
  const a = new Request("https://a.test/", { referrer: "https://r.test/", headers: { "x-a": "1" } });
  assert.equal(new Request(a).referrer, "https://r.test/");
  assert.equal(new Request(a, { cache: "no-store" }).referrer, "about:client");
  const b = new Request(a, { headers: { "x-b": "2" } });
  assert.equal(b.headers.has("x-a"), false);
  assert.equal(b.headers.get("x-b"), "2");
  assert.equal(new Request(a, {}).headers.get("x-a"), "1");
});

test("init members are read in lexicographic order", () => {
  const order: string[] = [];
  const init = new Proxy(
    {},
    {
      get(_t, key) {
        if (typeof key === "string") order.push(key);
        return undefined;
      },
    },
  );
  new Request("https://a.test/", init);
  assert.deepEqual(order, [
    "body",
    "cache",
    "credentials",
    "duplex",
    "headers",
    "integrity",
    "keepalive",
    "method",
    "mode",
    "priority",
    "redirect",
    "referrer",
    "referrerPolicy",
    "signal",
    "window",
  ]);
});

test("clone() copies everything, tees the body, and fails once the body is used", async () => {
  const a = new Request("https://a.test/", { method: "POST", body: "x", headers: new Headers({ h: "v" }) });
  const b = a.clone();
  assert.equal(b.url, a.url);
  assert.equal(b.method, "POST");
  assert.equal(b.headers.get("h"), "v");
  assert.equal(await a.text(), "x");
  assert.equal(await b.text(), "x");
  assert.throws(() => a.clone(), TypeError);
});

test("signal is a stable object that is not aborted", () => {
  const r = new Request("https://a.test/");
  assert.equal(r.signal, r.signal);
  assert.equal(r.signal.aborted, false);
});

test("createIncomingRequest builds the same request as the constructor would", async () => {
  const body = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array([111, 107])), c.close()) });
  const incoming = createIncomingRequest("post", "https://h.test/p?q=1", [["Content-Type", "text/plain"], ["X-Two", "a"], ["x-two", "b"]], body);
  const built = new Request("https://h.test/p?q=1", {
    method: "post",
    headers: [["Content-Type", "text/plain"], ["X-Two", "a"], ["x-two", "b"]],
    body: new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(new Uint8Array([111, 107])), c.close()) }),
    duplex: "half",
  });
  for (const key of ["method", "url", "mode", "credentials", "cache", "redirect", "referrer", "referrerPolicy", "integrity", "keepalive", "duplex", "bodyUsed"] as const) {
    assert.equal(incoming[key], built[key], key);
  }
  assert.deepEqual([...incoming.headers], [...built.headers]);
  assert.equal(incoming.body, body);
  assert.equal(await incoming.text(), "ok");
  const get = createIncomingRequest("GET", "https://h.test/", [], null);
  assert.equal(get.body, null);
  assert.equal(get.method, "GET");
});

test("Request looks like a WebIDL interface", async () => {
  assert.equal(Object.prototype.toString.call(new Request("https://a.test/")), "[object Request]");
  assert.throws(() => Object.getOwnPropertyDescriptor(Request.prototype, "url")!.get!.call({}), TypeError);
  await assert.rejects(Request.prototype.json.call({} as Request), TypeError);
  assert.equal(Request.length, 1);
});
