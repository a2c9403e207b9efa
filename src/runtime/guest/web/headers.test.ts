import { test } from "node:test";
import assert from "node:assert/strict";
import { Headers, headerListOf, headersFromList, setHeadersGuard } from "./headers.ts";
import { HeaderList } from "./header-list.ts";

test("a Headers made from an array of pairs iterates sorted lowercase names with combined values", () => {
  const h = new Headers([
    ["B", "2"],
    ["a", "1"],
    ["A", "3"],
  ]);
  assert.deepEqual([...h], [
    ["a", "1, 3"],
    ["b", "2"],
  ]);
  assert.equal(h.get("A"), "1, 3");
});

test("a Headers made from a record reads own enumerable string keys", () => {
  const init = Object.create({ inherited: "no" }) as Record<string, string>;
  init["X-One"] = "1";
  Object.defineProperty(init, "hidden", { value: "no", enumerable: false });
  const h = new Headers(init);
  assert.deepEqual([...h.keys()], ["x-one"]);
});

test("a Headers made from another Headers copies its combined entries", () => {
  const a = new Headers({ x: "1" });
  a.append("x", "2");
  a.append("set-cookie", "a=1");
  a.append("set-cookie", "b=2");
  const b = new Headers(a);
  assert.equal(b.get("x"), "1, 2");
  assert.deepEqual(b.getSetCookie(), ["a=1", "b=2"]);
  a.set("x", "3");
  assert.equal(b.get("x"), "1, 2");
});

test("a Headers init with an own iterator is read through that iterator", () => {
  const a = new Headers({ ignored: "1" });
  (a as unknown as { [Symbol.iterator]: () => Iterator<string[]> })[Symbol.iterator] = function* () {
    yield ["test", "value"];
  };
  const b = new Headers(a as unknown as Headers);
  assert.equal(b.get("test"), "value");
  assert.equal(b.has("ignored"), false);
});

test("constructing Headers from null, a number or a non-pair sequence throws a TypeError", () => {
  assert.throws(() => new Headers(null as never), TypeError);
  assert.throws(() => new Headers(1 as never), TypeError);
  assert.throws(() => new Headers([["a"]] as never), TypeError);
  assert.throws(() => new Headers([["a", "b", "c"]] as never), TypeError);
  assert.throws(() => new Headers(["ab"] as never), TypeError);
});

test("header values are normalized by stripping leading and trailing HTTP whitespace", () => {
  const h = new Headers();
  h.append("a", " \t\r\nvalue \t ");
  h.set("b", "\n x y \n");
  assert.equal(h.get("a"), "value");
  assert.equal(h.get("b"), "x y");
});

test("invalid header names and values throw TypeErrors with browser-style messages", () => {
  const h = new Headers();
  assert.throws(() => h.append("bad name", "x"), { name: "TypeError", message: "Failed to execute 'append' on 'Headers': Invalid name" });
  assert.throws(() => h.append("", "x"), TypeError);
  assert.throws(() => h.append("a", "x\ny"), { message: "Failed to execute 'append' on 'Headers': Invalid value" });
  assert.throws(() => h.append("a", "x\0y"), TypeError);
  assert.throws(() => h.get("a:b"), TypeError);
  assert.throws(() => h.has("é"), TypeError);
  assert.throws(() => h.delete("(x)"), TypeError);
});

test("header values outside Latin-1 are rejected by the ByteString conversion", () => {
  const h = new Headers();
  assert.throws(() => h.append("a", "\u0100"), TypeError);
  h.append("a", "\u00ff");
  assert.equal(h.get("a"), "\u00ff");
});

test("methods check their argument count", () => {
  const h = new Headers();
  assert.throws(() => (h.append as (n: string) => void)("a"), {
    message: "Failed to execute 'append' on 'Headers': 2 arguments required, but only 1 present.",
  });
  assert.throws(() => (h.get as unknown as () => void)(), TypeError);
  assert.equal(Headers.prototype.append.length, 2);
  assert.equal(Headers.prototype.forEach.length, 1);
  assert.equal(Headers.length, 0);
});

test("set replaces the first value in place and drops the others", () => {
  const h = new Headers([
    ["a", "1"],
    ["b", "2"],
    ["a", "3"],
  ]);
  h.set("A", "4");
  assert.equal(h.get("a"), "4");
  assert.deepEqual([...headerListOf(h).names], ["a", "b"]);
});

test("delete removes every value of a name, case-insensitively", () => {
  const h = new Headers([
    ["a", "1"],
    ["A", "2"],
    ["b", "3"],
  ]);
  h.delete("A");
  assert.equal(h.has("a"), false);
  assert.equal(h.get("b"), "3");
});

test("set-cookie values are never combined and getSetCookie keeps them apart", () => {
  const h = new Headers();
  h.append("Set-Cookie", "a=1; Path=/");
  h.append("set-cookie", "b=2, c=3");
  h.append("x", "y");
  assert.deepEqual(h.getSetCookie(), ["a=1; Path=/", "b=2, c=3"]);
  assert.equal(h.get("set-cookie"), "a=1; Path=/, b=2, c=3");
  assert.deepEqual([...h], [
    ["set-cookie", "a=1; Path=/"],
    ["set-cookie", "b=2, c=3"],
    ["x", "y"],
  ]);
  assert.deepEqual(new Headers().getSetCookie(), []);
});

test("iteration is live: deletions and appends during iteration are observed", () => {
  const h = new Headers({ foo: "2", baz: "1", BAR: "0", quux: "3" });
  const keys: string[] = [];
  for (const [key] of h) {
    keys.push(key);
    if (key === "baz") h.append("abc", "-1");
  }
  // "abc" sorts before the cursor, so "baz" is visited twice.
  assert.deepEqual(keys, ["bar", "baz", "baz", "foo", "quux"]);
});

test("forEach passes value, key and the headers object, and honours thisArg", () => {
  const h = new Headers({ b: "2", a: "1" });
  const seen: unknown[] = [];
  const self = {};
  h.forEach(function (this: unknown, value, key, parent) {
    seen.push([value, key, parent === h, this === self]);
  }, self);
  assert.deepEqual(seen, [
    ["1", "a", true, true],
    ["2", "b", true, true],
  ]);
  assert.throws(() => h.forEach(null as never), TypeError);
});

test("the iterator objects look like WebIDL iterators", () => {
  const it = new Headers().entries();
  const proto = Object.getPrototypeOf(it);
  assert.equal(Object.getPrototypeOf(proto), Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  const desc = Object.getOwnPropertyDescriptor(proto, "next")!;
  assert.ok(desc.enumerable && desc.writable && desc.configurable);
  assert.equal(Object.prototype.toString.call(it), "[object Headers Iterator]");
  assert.equal(Headers.prototype[Symbol.iterator], Headers.prototype.entries);
  assert.throws(() => proto.next.call({}), TypeError);
});

test("the interface looks like WebIDL: enumerable members and a toStringTag", () => {
  assert.equal(Object.prototype.toString.call(new Headers()), "[object Headers]");
  assert.ok(Object.getOwnPropertyDescriptor(Headers.prototype, "append")!.enumerable);
  assert.throws(() => Headers.prototype.get.call({}, "a"), TypeError);
});

test("an immutable guard rejects every mutation but still allows reads", () => {
  const h = headersFromList(new HeaderList(), "immutable");
  assert.throws(() => h.append("a", "b"), { message: "Failed to execute 'append' on 'Headers': Headers are immutable" });
  assert.throws(() => h.set("a", "b"), TypeError);
  assert.throws(() => h.delete("a"), TypeError);
  assert.equal(h.get("a"), null);
});

test("request and response guards do not filter forbidden header names in this server runtime", () => {
  const h = new Headers();
  setHeadersGuard(h, "response");
  h.append("Set-Cookie", "a=1");
  setHeadersGuard(h, "request");
  h.append("Host", "example.com");
  h.append("Cookie", "b=2");
  assert.deepEqual([...h.keys()], ["cookie", "host", "set-cookie"]);
});

test("record keys that are not ByteStrings throw", () => {
  assert.throws(() => new Headers({ "\u0100": "x" }), TypeError);
  const sym = Symbol("s");
  assert.throws(() => new Headers({ [sym]: "x" } as never), TypeError);
});
