import assert from "node:assert/strict";
import test from "node:test";
import { DeadlineHeap } from "./deadline-heap.ts";

test("pops in time order through growth, shrinking and refilling, with ties and interleaved pushes", () => {
  const heap = new DeadlineHeap<number>();
  const expected: number[] = [];
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let id = 0;
  for (let round = 0; round < 5; round++) {
    // Fill past several doublings, with many equal times, then drain most of it.
    for (let i = 0; i < 3000; i++) {
      const at = Math.floor(next() * 500);
      heap.push(at, id);
      expected.push(at);
      id++;
    }
    expected.sort((a, b) => a - b);
    let last = -Infinity;
    for (let i = 0; i < 2500; i++) {
      const at = heap.peek();
      assert.equal(at, expected.shift(), `pop ${i} of round ${round}`);
      assert.ok(at >= last);
      last = at;
      heap.pop();
      // A push now and then between pops, at or after the time just popped (as ticks do).
      if (i % 7 === 0) {
        const later = at + Math.floor(next() * 50);
        heap.push(later, id++);
        expected.push(later);
        expected.sort((a, b) => a - b);
      }
    }
  }
  assert.equal(heap.size, expected.length);
  while (heap.size > 0) {
    assert.equal(heap.peek(), expected.shift());
    heap.pop();
  }
  assert.equal(heap.peek(), Infinity);
  assert.throws(() => heap.pop(), /empty/);
});

test("each item comes back with its own time", () => {
  const heap = new DeadlineHeap<string>();
  const times = [50, 10, 40, 10, 30, 20, 60, 0];
  times.forEach((t, i) => heap.push(t, `item${i}@${t}`));
  const out: string[] = [];
  while (heap.size > 0) {
    const at = heap.peek();
    const item = heap.pop();
    assert.ok(item.endsWith(`@${at}`), `${item} came out at ${at}`);
    out.push(item);
  }
  assert.equal(out.length, times.length);
});
