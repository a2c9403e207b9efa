import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { MAX_OUTPUT, defineInspector, formatLogArgs, inspect } from "./console-format.ts";

describe("formatLogArgs: the Console Standard's Formatter", () => {
  test("joins arguments with spaces, strings bare at the top level", () => {
    assert.equal(formatLogArgs(["a", "b", 1, true, null, undefined]), "a b 1 true null undefined");
    assert.equal(formatLogArgs([]), "");
    assert.equal(formatLogArgs([1, "x"]), "1 x");
  });

  test("%s, %d, %i and %f consume arguments in order", () => {
    assert.equal(formatLogArgs(["%s is %d years", "Ada", 36]), "Ada is 36 years");
    assert.equal(formatLogArgs(["%i|%d|%f", "42.9px", 7.5, "3.25abc"]), "42|7|3.25");
    assert.equal(formatLogArgs(["%d", "abc"]), "NaN");
    assert.equal(formatLogArgs(["%d %i", 10n, 11n]), "10n 11n");
    assert.equal(formatLogArgs(["%f", Symbol("s")]), "NaN");
  });

  test("%s shows primitives as Node does and objects shallowly", () => {
    assert.equal(formatLogArgs(["%s", -0]), "-0");
    assert.equal(formatLogArgs(["%s", 5n]), "5n");
    assert.equal(formatLogArgs(["%s", Symbol("q")]), "Symbol(q)");
    assert.equal(formatLogArgs(["%s", { a: { b: 1 } }]), "{ a: [Object] }");
    assert.equal(formatLogArgs(["%s", [1, [2, [3]]]]), "[ 1, [Array] ]");
  });

  test("%o and %O inspect, %c swallows its CSS argument, %% is a percent sign", () => {
    assert.equal(formatLogArgs(["%o|%O", { a: 1 }, [1]]), "{ a: 1 }|[ 1 ]");
    assert.equal(formatLogArgs(["%cstyled", "color: red"]), "styled");
    assert.equal(formatLogArgs(["100%% %s", "done"]), "100% done");
  });

  test("a single argument is printed as is, specifiers included", () => {
    assert.equal(formatLogArgs(["100%% %s"]), "100%% %s");
  });

  test("specifiers without arguments stay, extra arguments are appended", () => {
    assert.equal(formatLogArgs(["%s and %s", "one"]), "one and %s");
    assert.equal(formatLogArgs(["%s", "a", "b", { c: 1 }]), "a b { c: 1 }");
    assert.equal(formatLogArgs(["%x %s", "y"]), "%x y");
  });

  test("substituted text is not scanned for specifiers again", () => {
    assert.equal(formatLogArgs(["%s %s", "%s", "x"]), "%s x");
  });

  test("a non-string first argument turns specifiers off", () => {
    assert.equal(formatLogArgs([1, "%s", 2]), "1 %s 2");
  });
});

describe("inspect: primitives", () => {
  test("numbers, bigints, symbols and the rest", () => {
    assert.equal(inspect(-0), "-0");
    assert.equal(inspect(1.5), "1.5");
    assert.equal(inspect(NaN), "NaN");
    assert.equal(inspect(10n), "10n");
    assert.equal(inspect(Symbol("s")), "Symbol(s)");
    assert.equal(inspect(undefined), "undefined");
    assert.equal(inspect(null), "null");
  });

  test("strings are quoted with the least awkward quote and escaped", () => {
    assert.equal(inspect("plain"), "'plain'");
    assert.equal(inspect("it's"), '"it\'s"');
    assert.equal(inspect(`it's "q"`), "`it's \"q\"`");
    assert.equal(inspect("a\nb\t\u001b\\"), "'a\\nb\\t\\x1B\\\\'");
    assert.equal(inspect("\ud800"), "'\\uD800'");
    assert.equal(inspect("😀"), "'😀'");
  });

  test("very long nested strings are cut", () => {
    const out = inspect(["x".repeat(10005)]);
    assert.match(out, /\.\.\. 5 more characters/);
  });
});

describe("inspect: objects", () => {
  test("plain objects and arrays", () => {
    assert.equal(inspect({ a: 1, b: "x" }), "{ a: 1, b: 'x' }");
    assert.equal(inspect([1, 2, 3]), "[ 1, 2, 3 ]");
    assert.equal(inspect({}), "{}");
    assert.equal(inspect([]), "[]");
    assert.equal(inspect({ "a-b": 1, [Symbol("k")]: 2 }), "{ 'a-b': 1, [Symbol(k)]: 2 }");
    assert.equal(inspect([1, , 3]), "[ 1, <1 empty item>, 3 ]");
    assert.equal(inspect(Object.assign([1], { extra: true })), "[ 1, extra: true ]");
  });

  test("nesting deeper than two levels is summarized", () => {
    assert.equal(inspect({ a: { b: { c: { d: 1 } } } }), "{ a: { b: { c: [Object] } } }");
    assert.equal(inspect([[[[1]]]]), "[ [ [ [Array] ] ] ]");
    class Deep {
      x = 1;
    }
    assert.equal(inspect({ a: { b: { c: new Deep() } } }), "{ a: { b: { c: [Deep] } } }");
    assert.equal(inspect({ a: { b: 1 } }, { depth: 0 }), "{ a: [Object] }");
  });

  test("cycles are marked with references", () => {
    const a: Record<string, unknown> = { name: "a" };
    a.self = a;
    assert.equal(inspect(a), "<ref *1> { name: 'a', self: [Circular *1] }");
    const list: unknown[] = [];
    list.push({ list });
    assert.equal(inspect(list), "<ref *1> [ { list: [Circular *1] } ]");
  });

  test("the same object twice without a cycle is printed twice", () => {
    const shared = { s: 1 };
    assert.equal(inspect([shared, shared]), "[ { s: 1 }, { s: 1 } ]");
  });

  test("class instances and null-prototype objects say what they are", () => {
    class Point {
      x = 1;
      y = 2;
    }
    assert.equal(inspect(new Point()), "Point { x: 1, y: 2 }");
    assert.equal(inspect(Object.create(null)), "[Object: null prototype] {}");
    assert.equal(inspect(Object.assign(Object.create(null), { a: 1 })), "[Object: null prototype] { a: 1 }");
    assert.equal(inspect({ [Symbol.toStringTag]: "Tagged" }), "Object [Tagged] { [Symbol(Symbol.toStringTag)]: 'Tagged' }");
  });

  test("functions and classes", () => {
    function named(): void {}
    assert.equal(inspect(named), "[Function: named]");
    assert.equal(inspect(() => {}), "[Function (anonymous)]");
    assert.equal(inspect(async function af() {}), "[AsyncFunction: af]");
    assert.equal(inspect(function* gen() {}), "[GeneratorFunction: gen]");
    class Base {}
    class Derived extends Base {}
    assert.equal(inspect(Base), "[class Base]");
    assert.equal(inspect(Derived), "[class Derived extends Base]");
    assert.equal(inspect(Object.assign(function f() {}, { p: 1 })), "[Function: f] { p: 1 }");
  });

  test("getters are shown, never called", () => {
    let called = false;
    const value = {
      get a() {
        called = true;
        return 1;
      },
      set b(_: number) {},
      get c() {
        return 1;
      },
      set c(_: number) {},
    };
    assert.equal(inspect(value), "{ a: [Getter], b: [Setter], c: [Getter/Setter] }");
    assert.equal(called, false);
  });

  test("Map, Set, WeakMap and WeakSet", () => {
    assert.equal(inspect(new Map<unknown, unknown>([["a", 1], [{ k: 1 }, [2]]])), "Map(2) { 'a' => 1, { k: 1 } => [ 2 ] }");
    assert.equal(inspect(new Set([1, "x"])), "Set(2) { 1, 'x' }");
    assert.equal(inspect(new Map()), "Map(0) {}");
    assert.equal(inspect(new WeakMap()), "WeakMap { <items unknown> }");
    assert.equal(inspect(new WeakSet()), "WeakSet { <items unknown> }");
  });

  test("Date, RegExp and boxed primitives", () => {
    assert.equal(inspect(new Date(0)), "1970-01-01T00:00:00.000Z");
    assert.equal(inspect(new Date(NaN)), "Invalid Date");
    assert.equal(inspect(/a+b/gi), "/a+b/gi");
    assert.equal(inspect(Object(3)), "[Number: 3]");
    assert.equal(inspect(Object("s")), "[String: 's']");
    assert.equal(inspect(Object(true)), "[Boolean: true]");
    assert.equal(inspect(Object(Symbol("b"))), "[Symbol: Symbol(b)]");
    assert.equal(inspect(Object(1n)), "[BigInt: 1n]");
  });

  test("typed arrays, ArrayBuffer and DataView", () => {
    assert.equal(inspect(new Uint8Array([1, 2, 3])), "Uint8Array(3) [ 1, 2, 3 ]");
    assert.equal(inspect(new BigInt64Array([1n])), "BigInt64Array(1) [ 1n ]");
    assert.equal(inspect(new Float64Array(0)), "Float64Array(0) []");
    assert.equal(inspect(new Uint8Array([1, 255]).buffer), "ArrayBuffer { [Uint8Contents]: <01 ff>, byteLength: 2 }");
    assert.equal(
      inspect(new DataView(new ArrayBuffer(1))),
      "DataView {\n  byteLength: 1,\n  byteOffset: 0,\n  buffer: ArrayBuffer { [Uint8Contents]: <00>, byteLength: 1 }\n}",
    );
    const detached = new ArrayBuffer(2);
    detached.transfer();
    assert.equal(inspect(detached), "ArrayBuffer { (detached), byteLength: 0 }");
  });

  test("promises cannot reveal their state", () => {
    // (Node's own async-hook symbols on promises would show up here; the isolate has none.)
    const out = inspect(Promise.resolve(1));
    assert.ok(out.startsWith("Promise {"));
    assert.ok(out.includes("<unknown>"));
  });

  test("errors print their stack, plus extra properties and cause", () => {
    const error = new TypeError("bad");
    assert.equal(inspect(error), error.stack);
    Object.assign(error, { code: "E_BAD" });
    const withCode = inspect(error);
    assert.ok(withCode.startsWith("TypeError: bad\n"));
    assert.ok(withCode.endsWith("{\n  code: 'E_BAD'\n}"));
    const withCause = inspect(new Error("outer", { cause: new Error("inner") }));
    assert.match(withCause, /\[cause\]: Error: inner/);
    const stackless = new Error("no stack");
    Object.defineProperty(stackless, "stack", { value: undefined });
    assert.equal(inspect(stackless), "[Error: no stack]");
  });

  test("nested error stacks are indented under their property", () => {
    const error = new Error("x");
    const lines = inspect({ error }).split("\n");
    assert.equal(lines[1], "  error: Error: x");
    assert.match(lines[2]!, /^ {6}at /);
  });
});

describe("inspect: layout and limits", () => {
  test("long objects break into one entry per line", () => {
    const out = inspect({ first: "a".repeat(40), second: "b".repeat(40) });
    assert.equal(out, `{\n  first: '${"a".repeat(40)}',\n  second: '${"b".repeat(40)}'\n}`);
  });

  test("long arrays of numbers are laid out in aligned columns", () => {
    const out = inspect(Array.from({ length: 30 }, (_, i) => i));
    const lines = out.split("\n");
    assert.equal(lines[0], "[");
    assert.ok(lines.length < 10);
    assert.match(lines[1]!, /^ {3}0, {2}1, {2}2,/);
  });

  test("arrays, maps and sets show at most 100 items", () => {
    assert.match(inspect(Array.from({ length: 150 }, () => 0)), /\.\.\. 50 more items\n\]$/);
    assert.match(inspect(new Set(Array.from({ length: 101 }, (_, i) => i))), /\.\.\. 1 more item/);
    assert.match(inspect(new Uint8Array(300)), /\.\.\. 200 more items/);
  });

  test("output is capped at 64 KiB with a marker", () => {
    const out = formatLogArgs(["x".repeat(MAX_OUTPUT + 10)]);
    assert.equal(out.length, MAX_OUTPUT + 1);
    assert.ok(out.endsWith("…"));
    const huge = Array.from({ length: 100 }, () => "y".repeat(5000));
    assert.ok(inspect(huge).length <= MAX_OUTPUT + 1);
  });
});

describe("inspect never throws and never runs user code it can avoid", () => {
  test("a Proxy whose traps throw is shown as uninspectable", () => {
    const hostile = new Proxy({}, {
      ownKeys() {
        throw new Error("trap");
      },
    });
    assert.equal(formatLogArgs(["value:", hostile]), "value: <uninspectable>");
  });

  test("a revoked Proxy is shown as uninspectable", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    assert.equal(inspect(proxy), "<uninspectable>");
    assert.equal(inspect([proxy]), "[ <uninspectable> ]");
  });

  test("toString, valueOf and Symbol.toPrimitive are not called by inspection", () => {
    let called = false;
    const trap = {
      toString() {
        called = true;
        return "";
      },
      [Symbol.toPrimitive]() {
        called = true;
        return "";
      },
    };
    inspect(trap);
    formatLogArgs(["%o %O", trap, trap]);
    assert.equal(called, false);
  });

  test("%d and %f with a throwing toString give NaN", () => {
    const bad = {
      toString() {
        throw new Error("no");
      },
    };
    assert.equal(formatLogArgs(["%d %f", bad, bad]), "NaN NaN");
  });

  test("patched builtins do not change the output", () => {
    const originalEntries = Map.prototype.entries;
    const originalPush = Array.prototype.push;
    try {
      Map.prototype.entries = () => {
        throw new Error("patched");
      };
      Array.prototype.push = () => {
        throw new Error("patched");
      };
      assert.equal(inspect(new Map([[1, 2]])), "Map(1) { 1 => 2 }");
    } finally {
      Map.prototype.entries = originalEntries;
      Array.prototype.push = originalPush;
    }
  });
});

describe("custom inspectors for runtime classes", () => {
  test("a registered class is shown through its view, without any visible property", () => {
    class Thing {
      #secret = 42;
      get secret(): number {
        return this.#secret;
      }
    }
    defineInspector(Thing, (value) => ({ record: { secret: (value as Thing).secret } }));
    assert.equal(inspect(new Thing()), "Thing { secret: 42 }");
    assert.deepEqual(Object.getOwnPropertySymbols(Thing.prototype), []);
    class Pairs {}
    defineInspector(Pairs, () => ({ pairs: [["a", "1"], ["a", "2"]] }));
    assert.equal(inspect(new Pairs()), "Pairs { 'a' => '1', 'a' => '2' }");
    assert.equal(inspect({ a: { b: { c: new Thing() } } }), "{ a: { b: { c: [Thing] } } }");
  });
});

test("huge arrays and typed arrays print their first items without listing a million keys", () => {
  const arr = new Array(1_000_000).fill("x");
  (arr as unknown as Record<string, number>)["extra"] = 1;
  assert.match(formatLogArgs([arr]), /^\[\n? *'x', 'x',[\s\S]*\.\.\. 999900 more items\n?\]$/);
  assert.match(formatLogArgs([new Uint8Array(1_000_000)]), /^Uint8Array\(1000000\) \[[\s\S]*\.\.\. 999900 more items\n?\]$/);
});
