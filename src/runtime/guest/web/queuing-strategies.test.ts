import { test } from "node:test";
import assert from "node:assert/strict";
import { ByteLengthQueuingStrategy, CountQueuingStrategy } from "./queuing-strategies.ts";

test("strategies expose their highWaterMark and a shared size function", () => {
  const a = new ByteLengthQueuingStrategy({ highWaterMark: 4 });
  const b = new ByteLengthQueuingStrategy({ highWaterMark: 8 });
  assert.equal(a.highWaterMark, 4);
  assert.equal(a.size, b.size);
  assert.equal(a.size(new Uint8Array(3)), 3);
  assert.equal(a.size.name, "size");
  assert.equal(new CountQueuingStrategy({ highWaterMark: 1 }).size("anything" as never), 1);
  assert.throws(() => new (a.size as unknown as new () => unknown)(), TypeError);
});

test("the highWaterMark member is required and converted to a number", () => {
  assert.throws(() => new CountQueuingStrategy({} as never), TypeError);
  assert.throws(() => new (CountQueuingStrategy as unknown as new () => unknown)(), TypeError);
  assert.equal(new CountQueuingStrategy({ highWaterMark: "5" as never }).highWaterMark, 5);
  assert.throws(() => Object.getOwnPropertyDescriptor(CountQueuingStrategy.prototype, "highWaterMark")!.get!.call({}), TypeError);
});

test("the size functions have the spec's lengths: 1 for byte length, 0 for count", () => {
  assert.equal(new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size.length, 1);
  assert.equal(new CountQueuingStrategy({ highWaterMark: 1 }).size.length, 0);
  assert.equal(new CountQueuingStrategy({ highWaterMark: 1 }).size.name, "size");
});
