import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { installTestHostOps } from "../../../../test/support/guest-host-ops.ts";
import { URLSearchParams, isURLSearchParams, serializeURLSearchParams, urlSearchParamsEntries } from "./url-search-params.ts";
import { parseFormURLEncodedBytes } from "./form-urlencoded.ts";

installTestHostOps();

const NodeURLSearchParams = globalThis.URLSearchParams;

function list(params: URLSearchParams): [string, string][] {
  return [...params];
}

describe("constructing URLSearchParams", () => {
  test("no argument, undefined and the empty string all give an empty list", () => {
    assert.deepEqual(list(new URLSearchParams()), []);
    assert.deepEqual(list(new URLSearchParams(undefined)), []);
    assert.deepEqual(list(new URLSearchParams("")), []);
  });

  test("a string is parsed as application/x-www-form-urlencoded, without one leading '?'", () => {
    assert.deepEqual(list(new URLSearchParams("?a=b&c=d")), [["a", "b"], ["c", "d"]]);
    assert.deepEqual(list(new URLSearchParams("??a=b")), [["?a", "b"]]);
    assert.deepEqual(list(new URLSearchParams("a=b=c")), [["a", "b=c"]]);
    assert.deepEqual(list(new URLSearchParams("&&a=b&&")), [["a", "b"]]);
    assert.deepEqual(list(new URLSearchParams("=b&a&=")), [["", "b"], ["a", ""], ["", ""]]);
  });

  test("plus signs are spaces and percent-encoded bytes are UTF-8 decoded", () => {
    assert.deepEqual(list(new URLSearchParams("a+b=c%20d")), [["a b", "c d"]]);
    assert.deepEqual(list(new URLSearchParams("a%2Bb=%E2%82%AC")), [["a+b", "€"]]);
    assert.deepEqual(list(new URLSearchParams("x=%zz%4")), [["x", "%zz%4"]]);
    assert.deepEqual(list(new URLSearchParams("x=%E2%82")), [["x", "\ufffd"]]);
    assert.deepEqual(list(new URLSearchParams("x=%F0%9F%92%A9")), [["x", "💩"]]);
    assert.deepEqual(list(new URLSearchParams("x=%00")), [["x", "\u0000"]]);
  });

  test("invalid bytes next to percent-encoded ones decode as one sequence", () => {
    assert.deepEqual(list(new URLSearchParams("x=%zz\u00fc%41")), [["x", "%zzüA"]]);
    assert.deepEqual(list(new URLSearchParams("%E2%82=\u{1F600}")), [["\ufffd", "\u{1F600}"]]);
  });

  test("non-string primitives are stringified, null included", () => {
    assert.deepEqual(list(new URLSearchParams(null as unknown as string)), [["null", ""]]);
    assert.deepEqual(list(new URLSearchParams(1 as unknown as string)), [["1", ""]]);
  });

  test("a record gives its own enumerable string keys in order, calling getters", () => {
    const record = Object.create({ inherited: "no" }, {
      a: { value: "1", enumerable: true },
      hidden: { value: "x", enumerable: false },
      b: { get: () => 2, enumerable: true },
    }) as Record<string, string>;
    assert.deepEqual(list(new URLSearchParams(record)), [["a", "1"], ["b", "2"]]);
  });

  test("record keys that become equal after USVString conversion keep the first position and the last value", () => {
    const params = new URLSearchParams({ "\uD835x": "1", xx: "2", "\uD83Dx": "3" });
    assert.deepEqual(list(params), [["\uFFFDx", "3"], ["xx", "2"]]);
  });

  test("an enumerable symbol key in a record is a TypeError", () => {
    assert.throws(() => new URLSearchParams({ [Symbol("s")]: "x" } as unknown as Record<string, string>), TypeError);
  });

  test("a sequence of pairs is taken as is, from any iterable", () => {
    assert.deepEqual(list(new URLSearchParams([["a", "1"], ["a", "2"]])), [["a", "1"], ["a", "2"]]);
    assert.deepEqual(list(new URLSearchParams([new Set(["k", "v"])] as unknown as string[][])), [["k", "v"]]);
    function* pairs(): Generator<string[]> {
      yield ["g", "1"];
    }
    assert.deepEqual(list(new URLSearchParams(pairs())), [["g", "1"]]);
    assert.deepEqual(list(new URLSearchParams(new URLSearchParams("x=1&y=2"))), [["x", "1"], ["y", "2"]]);
  });

  test("a pair that is not two items long is a TypeError with the browser's message", () => {
    assert.throws(() => new URLSearchParams([["a"]]), {
      name: "TypeError",
      message: "Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements",
    });
    assert.throws(() => new URLSearchParams([["a", "b", "c"]]), TypeError);
    assert.throws(() => new URLSearchParams([1] as unknown as string[][]), /cannot be converted to a sequence/);
  });

  test("a record-like object with a non-callable Symbol.iterator is a TypeError", () => {
    assert.throws(() => new URLSearchParams({ [Symbol.iterator]: 1 } as unknown as string[][]), TypeError);
  });
});

describe("URLSearchParams methods", () => {
  test("append adds at the end and get returns the first match or null", () => {
    const params = new URLSearchParams("a=1");
    params.append("a", "2");
    params.append("b", "3");
    assert.equal(params.get("a"), "1");
    assert.equal(params.get("zz"), null);
    assert.deepEqual(params.getAll("a"), ["1", "2"]);
    assert.deepEqual(params.getAll("zz"), []);
  });

  test("delete removes every match, or only matching values when a value is given", () => {
    const params = new URLSearchParams("a=1&a=2&b=3&a=1");
    params.delete("a", "1");
    assert.equal(params.toString(), "a=2&b=3");
    params.delete("a", undefined);
    assert.equal(params.toString(), "b=3");
  });

  test("has checks the name, or the name and the value when one is given", () => {
    const params = new URLSearchParams("a=1&b=2");
    assert.equal(params.has("a"), true);
    assert.equal(params.has("a", "1"), true);
    assert.equal(params.has("a", "2"), false);
    assert.equal(params.has("a", undefined), true);
    assert.equal(params.has("c"), false);
  });

  test("set replaces the first match in place and drops the others", () => {
    const params = new URLSearchParams("a=1&b=2&a=3&c=4");
    params.set("a", "x");
    assert.equal(params.toString(), "a=x&b=2&c=4");
    params.set("d", "y");
    assert.equal(params.toString(), "a=x&b=2&c=4&d=y");
  });

  test("sort is stable and compares names by UTF-16 code units", () => {
    const params = new URLSearchParams("z=b&a=b&z=a&a=a");
    params.sort();
    assert.equal(params.toString(), "a=b&a=a&z=b&z=a");
    const unicode = new URLSearchParams("\uFB03&\u{1F308}");
    unicode.sort();
    assert.deepEqual(list(unicode), [["\u{1F308}", ""], ["\uFB03", ""]]);
    const replacement = new URLSearchParams("\uFFFD=x&\uFFFC&\uFFFD=a");
    replacement.sort();
    assert.deepEqual(list(replacement), [["\uFFFC", ""], ["\uFFFD", "x"], ["\uFFFD", "a"]]);
  });

  test("size counts every pair", () => {
    const params = new URLSearchParams("a=1&a=2&b=3");
    assert.equal(params.size, 3);
    params.delete("a");
    assert.equal(params.size, 1);
  });

  test("toString serializes with the form-urlencoded set and '+' for spaces", () => {
    const params = new URLSearchParams();
    params.append("a b", "*-._ ~!'()&=+%");
    params.append("€", "\ud800");
    assert.equal(params.toString(), "a+b=*-._+%7E%21%27%28%29%26%3D%2B%25&%E2%82%AC=%EF%BF%BD");
    assert.equal(`${params}`, params.toString());
  });

  test("arguments are converted to USVString", () => {
    const params = new URLSearchParams();
    params.append("\ud800", 1 as unknown as string);
    assert.deepEqual(list(params), [["\ufffd", "1"]]);
  });

  test("missing arguments throw the browser's TypeError", () => {
    const params = new URLSearchParams();
    assert.throws(
      () => (params.append as (n: string) => void)("a"),
      { name: "TypeError", message: "Failed to execute 'append' on 'URLSearchParams': 2 arguments required, but only 1 present." },
    );
    assert.throws(() => (params.get as unknown as () => void)(), /1 argument required, but only 0 present/);
  });

  test("methods throw Illegal invocation on other receivers", () => {
    assert.throws(() => URLSearchParams.prototype.get.call({}, "a"), { message: "Illegal invocation" });
    assert.throws(() => Object.getOwnPropertyDescriptor(URLSearchParams.prototype, "size")!.get!.call({}), TypeError);
  });
});

describe("iterating URLSearchParams", () => {
  test("entries, keys and values iterate in order, and @@iterator is entries", () => {
    const params = new URLSearchParams("a=1&b=2");
    assert.deepEqual([...params.entries()], [["a", "1"], ["b", "2"]]);
    assert.deepEqual([...params.keys()], ["a", "b"]);
    assert.deepEqual([...params.values()], ["1", "2"]);
    assert.equal(URLSearchParams.prototype[Symbol.iterator], URLSearchParams.prototype.entries);
  });

  test("iteration is live: pairs appended during iteration are visited", () => {
    const params = new URLSearchParams("a=1");
    const seen: string[] = [];
    for (const [name] of params) {
      seen.push(name);
      if (seen.length < 3) params.append(`n${seen.length}`, "");
    }
    assert.deepEqual(seen, ["a", "n1", "n2"]);
  });

  test("the iterator has the WebIDL iterator prototype", () => {
    const iterator = new URLSearchParams("a=1").entries();
    const proto = Object.getPrototypeOf(iterator);
    assert.equal(proto[Symbol.toStringTag], "URLSearchParams Iterator");
    assert.equal(Object.getPrototypeOf(proto), Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
    assert.equal(Object.hasOwn(proto, "constructor"), false);
    assert.deepEqual(iterator.next(), { value: ["a", "1"], done: false });
    assert.deepEqual(iterator.next(), { value: undefined, done: true });
    assert.throws(() => proto.next.call({}), TypeError);
  });

  test("forEach passes value, key and the object, and sees changes", () => {
    const params = new URLSearchParams("a=1&b=2");
    const calls: unknown[][] = [];
    const thisArg = {};
    params.forEach(function (this: unknown, value, key, parent) {
      calls.push([value, key, parent === params, this === thisArg]);
      if (key === "a") params.delete("b");
    }, thisArg);
    assert.deepEqual(calls, [["1", "a", true, true]]);
    assert.throws(() => params.forEach(1 as unknown as () => void), TypeError);
  });
});

describe("the URLSearchParams interface object", () => {
  test("has enumerable methods, a toStringTag, and the right lengths", () => {
    assert.equal(Object.prototype.toString.call(new URLSearchParams()), "[object URLSearchParams]");
    assert.equal(Object.getOwnPropertyDescriptor(URLSearchParams.prototype, "append")!.enumerable, true);
    assert.equal(URLSearchParams.prototype.delete.length, 1);
    assert.equal(URLSearchParams.prototype.has.length, 1);
    assert.equal(URLSearchParams.prototype.append.length, 2);
    assert.equal(URLSearchParams.prototype.forEach.length, 1);
    assert.equal(URLSearchParams.length, 0);
  });
});

describe("internal helpers for fetch", () => {
  test("isURLSearchParams is a brand check, not instanceof", () => {
    assert.equal(isURLSearchParams(new URLSearchParams()), true);
    assert.equal(isURLSearchParams(Object.create(URLSearchParams.prototype)), false);
  });

  test("serializeURLSearchParams and urlSearchParamsEntries read the list", () => {
    const params = new URLSearchParams("a=1&b=x y");
    assert.equal(serializeURLSearchParams(params), "a=1&b=x+y");
    const copy = urlSearchParamsEntries(params);
    copy[0]![1] = "changed";
    assert.equal(params.get("a"), "1");
  });

  test("the byte parser percent-decodes before UTF-8 decoding", () => {
    const bytes = new Uint8Array([0x61, 0x3d, 0xe2, 0x25, 0x38, 0x32, 0x25, 0x41, 0x43, 0x26, 0x62, 0x2b]);
    assert.deepEqual(parseFormURLEncodedBytes(bytes), [["a", "€"], ["b ", ""]]);
  });
});

describe("differential testing against Node's URLSearchParams", () => {
  test("2000 generated strings parse and serialize the same", () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed / 4294967296;
    };
    const pieces = ["a", "b", "a b", "a+b", "%20", "%41", "%e2%82%ac", "ü", "😀", "=", "&", "?", "~!*()'", "+", "", "x=y"];
    for (let i = 0; i < 2000; i++) {
      let input = "";
      const n = Math.floor(next() * 6);
      for (let k = 0; k < n; k++) input += pieces[Math.floor(next() * pieces.length)];
      const ours = new URLSearchParams(input);
      const theirs = new NodeURLSearchParams(input);
      assert.deepEqual(list(ours), [...theirs], input);
      assert.equal(ours.toString(), theirs.toString(), input);
      ours.sort();
      theirs.sort();
      assert.equal(ours.toString(), theirs.toString(), input);
    }
  });
});
