import assert from "node:assert/strict";
import { test } from "node:test";
import { installTestHostOps } from "../../../../test/support/guest-host-ops.ts";
import { URLPattern } from "./url-pattern.ts";

// URL parsing needs the host's IDNA; nothing else here touches host ops.
installTestHostOps();

test("named groups in the pathname, with defaults of * everywhere else", () => {
  const p = new URLPattern({ pathname: "/books/:id" });
  assert.equal(p.test("https://example.com/books/123"), true);
  assert.equal(p.test("https://example.com/books"), false);
  assert.equal(p.test("https://example.com/books/1/2"), false);
  const m = p.exec("https://example.com/books/123?x=1#h")!;
  assert.deepEqual(m.pathname, { input: "/books/123", groups: { id: "123" } });
  assert.deepEqual(m.search, { input: "x=1", groups: { "0": "x=1" } });
  assert.equal(p.protocol, "*");
  assert.equal(p.pathname, "/books/:id");
});

test("regexp groups, wildcards and modifiers", () => {
  const digits = new URLPattern({ pathname: "/post/:id(\\d+)" });
  assert.equal(digits.test({ pathname: "/post/42" }), true);
  assert.equal(digits.test({ pathname: "/post/abc" }), false);
  assert.equal(digits.hasRegExpGroups, true);
  const wild = new URLPattern({ pathname: "/static/*" });
  assert.deepEqual(wild.exec({ pathname: "/static/css/app.css" })!.pathname.groups, { "0": "css/app.css" });
  const optional = new URLPattern({ pathname: "/items/:id?" });
  assert.equal(optional.test({ pathname: "/items" }), true);
  assert.equal(optional.test({ pathname: "/items/7" }), true);
  assert.deepEqual(optional.exec({ pathname: "/items" })!.pathname.groups, { id: undefined });
  const repeated = new URLPattern({ pathname: "/files/:path+" });
  assert.deepEqual(repeated.exec({ pathname: "/files/a/b/c" })!.pathname.groups, { path: "a/b/c" });
  assert.equal(repeated.test({ pathname: "/files" }), false);
  const zeroOrMore = new URLPattern({ pathname: "/files/:path*" });
  assert.equal(zeroOrMore.test({ pathname: "/files" }), true);
  const grouped = new URLPattern({ pathname: "/blog{/:year}?" });
  assert.equal(grouped.test({ pathname: "/blog" }), true);
  assert.deepEqual(grouped.exec({ pathname: "/blog/2024" })!.pathname.groups, { year: "2024" });
});

test("full URL pattern strings, hostnames with wildcards, and baseURL", () => {
  const p = new URLPattern("https://*.example.com/books/:id");
  assert.equal(p.protocol, "https");
  assert.equal(p.hostname, "*.example.com");
  assert.equal(p.pathname, "/books/:id");
  const m = p.exec("https://store.example.com/books/9")!;
  assert.deepEqual([m.hostname.groups, m.pathname.groups], [{ "0": "store" }, { id: "9" }]);
  assert.equal(p.test("http://store.example.com/books/9"), false);
  const relative = new URLPattern("/api/:version/*", "https://example.com");
  assert.equal(relative.test("https://example.com/api/v1/users"), true);
  assert.equal(relative.test("https://other.com/api/v1/users"), false);
  assert.throws(() => new URLPattern("/relative/without/base"), TypeError);
  assert.equal(new URLPattern({ pathname: "/x" }).test("/x", "https://example.com"), true);
});

test("ignoreCase, canonicalised fixed text, default ports", () => {
  const p = new URLPattern({ pathname: "/About" }, { ignoreCase: true });
  assert.equal(p.test({ pathname: "/about" }), true);
  assert.equal(new URLPattern({ pathname: "/About" }).test({ pathname: "/about" }), false);
  const encoded = new URLPattern({ pathname: "/caf\u00e9" });
  assert.equal(encoded.pathname, "/caf%C3%A9");
  assert.equal(encoded.test("https://x.test/caf%C3%A9"), true);
  const port = new URLPattern({ protocol: "https", port: "443" });
  assert.equal(port.port, "");
  assert.equal(port.test("https://example.com/"), true);
});

test("bad patterns are TypeErrors", () => {
  assert.throws(() => new URLPattern({ pathname: "/:" }), TypeError);
  assert.throws(() => new URLPattern({ pathname: "/(" }), TypeError);
  assert.throws(() => new URLPattern({ pathname: "/:id/:id" }), /duplicate/);
  assert.throws(() => new URLPattern({ pathname: "/((a))" }), TypeError);
  assert.throws(() => new URLPattern({ pathname: "/{a" }), TypeError);
});
