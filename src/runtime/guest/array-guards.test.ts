// Array builtins over long sparse arrays inside a real isolate. Unguarded, V8 runs them
// in loops neither the memory limit nor the timeout can stop: `new Array(1e9).fill(0)`
// grows past 1.4 GB and aborts the whole process ("invalid table size").
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createGuestIsolate, type GuestIsolate } from "../../../test/support/guest-isolate.ts";

/** Elements a 32 MiB instance could hold at 8 bytes each. */
const maxElements = (32 * 1024 * 1024) / 8;
let g: GuestIsolate;
before(async () => {
  g = await createGuestIsolate({ memoryMiB: 32 });
});
after(() => g.dispose());

test("fill over more elements than the instance could hold stops the instance", () => {
  for (const [code, elements] of [
    ["new Array(1e9).fill(0)", 1e9],
    [`new Array(${maxElements + 1}).fill(0)`, maxElements + 1],
    ["new Array(1e9).fill(0, 5, -5)", 1e9 - 10],
    ["Array.prototype.fill.call({ length: 2 ** 53 - 1 }, 0)", 2 ** 53 - 1],
  ] as const) {
    const reached = g.reached.length;
    const out = g.attempt(`${code}; return "filled";`);
    assert.equal(out.error, "RangeError", code);
    assert.match(out.message!, /Array\.prototype\.fill of \d+ elements would go over this function's memory limit of 32 MiB/);
    assert.deepEqual(g.reached.slice(reached), [`Array.prototype.fill of ${elements} elements`]);
  }
});

test("every builtin that writes or moves elements up to the length is guarded", () => {
  const cases: [code: string, method: string][] = [
    ["sparse.copyWithin(1, 0)", "Array.prototype.copyWithin"],
    ["sparse.splice(0, 0, 1)", "Array.prototype.splice"],
    ["sparse.splice(1)", "Array.prototype.splice"],
    ["sparse.toSpliced(0, 0, 1)", "Array.prototype.toSpliced"],
    ["sparse.unshift(1)", "Array.prototype.unshift"],
    ["sparse.reverse()", "Array.prototype.reverse"],
    ["sparse.shift()", "Array.prototype.shift"],
    ["sparse.sort()", "Array.prototype.sort"],
    ["sparse.toReversed()", "Array.prototype.toReversed"],
    ["sparse.toSorted((a, b) => a - b)", "Array.prototype.toSorted"],
    ["sparse.with(0, 1)", "Array.prototype.with"],
    ["Array.from(sparse)", "Array.from"],
    ["Array.from({ length: 1e9 })", "Array.from"],
    ["Array.from({ length: 1e9 }, (_, i) => i)", "Array.from"],
    ["Array.prototype.sort.call({ length: 2 ** 32 - 1 })", "Array.prototype.sort"],
    ["Array.prototype.reverse.call({ length: 2 ** 40 })", "Array.prototype.reverse"],
    ["Array.prototype.toSorted.call({ length: 2 ** 32 - 1 })", "Array.prototype.toSorted"],
    ["Array.prototype.copyWithin.call({ length: 2 ** 53 - 1 }, 1, 0)", "Array.prototype.copyWithin"],
  ];
  for (const [code, method] of cases) {
    const reached = g.reached.length;
    const out = g.attempt(`const sparse = new Array(1e9); sparse[3] = 3; sparse[5e8] = 1; ${code}; return "ran";`);
    assert.equal(out.error, "RangeError", code);
    assert.equal(g.reached.length, reached + 1, code);
    assert.match(g.reached.at(-1)!, new RegExp(`^${method.replaceAll(".", "\\.")} of \\d+ elements$`), code);
  }
});

test("cheap operations on a long sparse array still run", () => {
  const out = g.attempt(`
    const sparse = new Array(1e9);
    sparse[1e9 - 1] = "last";
    sparse.fill(7, 10, 20);
    sparse.copyWithin(0, 10, 15);
    const removed = sparse.splice(1e9 - 1, 1);
    sparse.push("pushed");
    return [sparse.length, sparse[0], sparse[19], removed[0], sparse.at(-1), sparse.unshift()];
  `);
  assert.deepEqual(out.value, [1e9, 7, 7, "last", "pushed", 1e9]);
});

test("the guarded builtins behave as before on ordinary arrays and array-likes", () => {
  const out = g.attempt(`
    const like = { length: 3, 0: "a", 1: "b", 2: "c" };
    const set = new Set([1, 2, 2, 3]);
    class MyArray extends Array {}
    const spliced = [1, 2, 3, 4, 5];
    const removed = spliced.splice(1, 2, "x", "y", "z");
    return [
      [1, 2, 3, 4, 5].fill(0, -3, -1), Array.prototype.fill.call(like, "z", 1) === like, like[2],
      [1, 2, 3, 4, 5].copyWithin(0, 3), Array.prototype.copyWithin.call({ length: 2, 0: 1 }, 1, 0)[1],
      spliced, removed, [1, 2, 3].toSpliced(1, 1), [1, 2].splice(),
      [3, 1, 2].sort(), [3, 1, 2].sort((a, b) => b - a), [3, 1, 2].toSorted(), [1, 2, 3].toReversed(), [1, 2, 3].with(-1, 9),
      Array.prototype.reverse.call({ length: 2, 0: "p", 1: "q" })[0], [1, 2, 3].reverse(), [1, 2].shift(), [2].unshift(0, 1),
      Array.from(set), Array.from("héllo"), Array.from(new Map([[1, 2]]).keys()), Array.from({ length: 3 }, (_, i) => i * 2),
      Array.from([1, 2], function (x) { return x * this.k; }, { k: 10 }), MyArray.from([1, 2]) instanceof MyArray,
      Array.from.call(Object, { length: 2, 0: "o" }).length, Array.isArray(Array.from.call(Object, { length: 2 })),
      Array.from(like), Array.from((function* () { yield 1; yield 2; })()),
    ];
  `);
  assert.deepEqual(out.value, [
    [1, 2, 0, 0, 5], true, "z",
    [4, 5, 3, 4, 5], 1,
    [1, "x", "y", "z", 4, 5], [2, 3], [1, 3], [],
    [1, 2, 3], [3, 2, 1], [1, 2, 3], [3, 2, 1], [1, 2, 9],
    "q", [3, 2, 1], 1, 3,
    [1, 2, 3], ["h", "é", "l", "l", "o"], [1], [0, 2, 4],
    [10, 20], true,
    2, false,
    ["a", "z", "z"], [1, 2],
  ]);
  for (const code of ["[].sort(1)", "[].toSorted('x')", "Array.prototype.fill.call(null, 0)", "Array.prototype.reverse.call(undefined)", "Array.from(null)", "Array.from([], 5)", "new [].fill()", "new Array.from()"]) {
    assert.equal(g.attempt(`${code}; return "ran";`).error, "TypeError", code);
  }
});

test("a length getter or Proxy trap that answers differently the second time cannot bypass a guard", () => {
  const out = g.attempt(`
    let reads = 0;
    const liar = { get length() { return ++reads === 1 ? 3 : 1e9; } };
    const reversed = Array.prototype.toReversed.call(liar);
    // A Proxy of an array (Array.isArray is true for it) whose length is 2 the first time.
    const lyingArray = () => {
      let trapReads = 0;
      return new Proxy([], { get(target, key) { return key === "length" ? (++trapReads === 1 ? 2 : 1e9) : Reflect.get(target, key); } });
    };
    const sorted = Array.prototype.toSorted.call(lyingArray());
    const withed = Array.prototype.with.call(lyingArray(), 0, 1);
    Array.prototype.reverse.call(lyingArray());
    const filled = lyingArray();
    Array.prototype.fill.call(filled, 0);
    let iteratorReads = 0;
    const hiding = {
      get [Symbol.iterator]() { return ++iteratorReads === 1 ? function* () { yield "iterated"; } : undefined; },
      get length() { return 1e9; },
    };
    const fromHiding = Array.from(hiding);
    let revocableReads = 0;
    const revocable = Proxy.revocable([], { get(target, key) { return key === "length" ? (++revocableReads === 1 ? 2 : 1e9) : undefined; } });
    const revocableReversed = Array.prototype.toReversed.call(revocable.proxy).length;
    const spliced = new Array(10);
    spliced.splice({ valueOf() { spliced.length = 1e9; return 0; } }, 0, "in");
    return [reads, reversed.length, sorted.length, withed.length, Object.keys(filled).join(), fromHiding, iteratorReads, revocableReversed, spliced.length];
  `);
  assert.deepEqual(out, { value: [1, 3, 2, 2, "0,1", ["iterated"], 1, 2, 11] });
});

test("the guards keep the builtins' names and lengths, and Proxy stays a constructor without a prototype", () => {
  const out = g.attempt(`
    const p = Array.prototype;
    const methods = [p.fill, p.copyWithin, p.splice, p.toSpliced, p.unshift, p.reverse, p.shift, p.sort, p.toSorted, p.toReversed, p.with, Array.from];
    const revocable = Proxy.revocable({}, {});
    revocable.revoke();
    let revoked; try { revocable.proxy.x; } catch (e) { revoked = e.name; }
    let called; try { Proxy({}, {}); } catch (e) { called = e.name; }
    return [
      methods.map((f) => f.name + "/" + f.length).join(" "),
      Proxy.name, Proxy.length, "prototype" in Proxy, String(Proxy).includes("[native code]"),
      new Proxy({ a: 1 }, {}).a, revoked, called,
    ];
  `);
  assert.deepEqual(out.value, [
    "fill/1 copyWithin/2 splice/2 toSpliced/2 unshift/1 reverse/0 shift/0 sort/1 toSorted/1 toReversed/0 with/2 from/1",
    "Proxy", 2, false, true, 1, "TypeError", "TypeError",
  ]);
});
