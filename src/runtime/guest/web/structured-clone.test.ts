import assert from "node:assert/strict";
import { test } from "node:test";
import { Blob } from "./blob.ts";
import { File } from "./file.ts";
import { Request } from "./request.ts";
import { structuredClone } from "./structured-clone.ts";

test("primitives, wrappers, dates, regexps, maps, sets, arrays and objects are deep copies", () => {
  const date = new Date(123456);
  const input = {
    n: 1, s: "x", b: true, u: undefined, nul: null, big: 10n, neg0: -0, nan: NaN,
    boxed: [Object(1), Object("s"), Object(false), Object(2n)],
    date, re: /a+b/gi, map: new Map<unknown, unknown>([["k", { v: 1 }]]), set: new Set([1, "two"]),
    sparse: [1, , 3], nested: { deep: { deeper: [1, 2] } },
  };
  const out = structuredClone(input);
  assert.notEqual(out, input);
  assert.deepEqual(out, input);
  assert.notEqual(out.date, date);
  assert.equal(out.date.getTime(), 123456);
  assert.equal(out.re.flags, "gi");
  assert.equal(Object.is(out.neg0, -0), true);
  assert.equal(1 in out.sparse, false, "holes stay holes");
  assert.notEqual(out.map.get("k"), input.map.get("k"));
});

test("shared references and cycles are preserved", () => {
  const shared = { x: 1 };
  const a: Record<string, unknown> = { left: shared, right: shared };
  a["self"] = a;
  const out = structuredClone(a);
  assert.equal(out["left"], out["right"]);
  assert.equal(out["self"], out);
});

test("buffers and views: copied, views over one buffer still share it", () => {
  const buffer = new ArrayBuffer(8);
  const u8 = new Uint8Array(buffer, 2, 4);
  const dv = new DataView(buffer);
  u8[0] = 7;
  const out = structuredClone({ u8, dv, buffer });
  assert.notEqual(out.buffer, buffer);
  assert.equal(out.u8.buffer, out.buffer);
  assert.equal(out.dv.buffer, out.buffer);
  assert.deepEqual([out.u8.byteOffset, out.u8.length, out.u8[0]], [2, 4, 7]);
});

test("transfer moves ArrayBuffers and detaches the originals", () => {
  const buffer = new Uint8Array([1, 2, 3]).buffer;
  const out = structuredClone({ view: new Uint8Array(buffer), buffer }, { transfer: [buffer] });
  assert.equal(buffer.byteLength, 0, "detached");
  assert.deepEqual([...out.view], [1, 2, 3]);
  assert.equal(out.view.buffer, out.buffer);
  assert.throws(() => structuredClone(buffer, { transfer: [buffer] }), (e: Error) => e.name === "DataCloneError");
  const b = new ArrayBuffer(1);
  assert.throws(() => structuredClone(null, { transfer: [b, b] }), /duplicate/);
});

test("errors keep their type, message and cause; Blob and File are copied", async () => {
  const error = new RangeError("out", { cause: { why: 1 } });
  const out = structuredClone(error);
  assert.ok(out instanceof RangeError);
  assert.equal(out.message, "out");
  assert.deepEqual(out.cause, { why: 1 });
  const file = structuredClone(new File(["abc"], "a.txt", { type: "text/plain", lastModified: 5 }));
  assert.deepEqual([file.name, file.type, file.lastModified, await file.text()], ["a.txt", "text/plain", 5, "abc"]);
  assert.equal(await structuredClone(new Blob(["xy"])).text(), "xy");
});

test("functions, symbols, promises, weak collections and platform objects are a DataCloneError", () => {
  for (const bad of [() => 1, Symbol("s"), Promise.resolve(), new WeakMap(), { nested: [function named() {}] }, new Request("https://a.example/")]) {
    assert.throws(() => structuredClone(bad), (e: Error) => e.name === "DataCloneError" && /could not be cloned/.test(e.message));
  }
  assert.throws(() => (structuredClone as (...a: unknown[]) => unknown)(), TypeError);
});

test("class instances become plain objects with their own enumerable data", () => {
  class Point {
    x = 1;
    get len() {
      return 5;
    }
  }
  const out = structuredClone(new Point());
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(out, { x: 1 });
});
