/**
 * Queues for the Streams spec: a FIFO with O(1) shift (the spec's lists of read requests
 * and chunks are dequeued from the front, and Array#shift is O(n) once arrays get large),
 * and the "queue-with-sizes" operations of §8.1.
 */
import { NumberIsFinite } from "./intrinsics.ts";

const SEGMENT = 1024;

interface Segment<T> {
  items: (T | undefined)[];
  next: Segment<T> | undefined;
}

/** FIFO queue stored in fixed-size segments; never exposed to user code. */
export class SimpleQueue<T> {
  #front: Segment<T> = { items: [], next: undefined };
  #back: Segment<T> = this.#front;
  #cursor = 0;
  #size = 0;

  get length(): number {
    return this.#size;
  }

  push(item: T): void {
    let back = this.#back;
    if (back.items.length === SEGMENT) {
      const seg: Segment<T> = { items: [], next: undefined };
      back.next = seg;
      this.#back = back = seg;
    }
    back.items[back.items.length] = item;
    this.#size++;
  }

  /** Removes and returns the first item; the queue must not be empty. */
  shift(): T {
    const front = this.#front;
    const item = front.items[this.#cursor] as T;
    front.items[this.#cursor] = undefined;
    this.#cursor++;
    this.#size--;
    if (this.#cursor === SEGMENT) {
      this.#cursor = 0;
      if (front.next !== undefined) this.#front = front.next;
      else front.items = [];
    } else if (this.#size === 0) {
      // Reuse the segment from its start so an alternating push/shift never grows it.
      this.#cursor = 0;
      front.items = [];
    }
    return item;
  }

  /** The first item; the queue must not be empty. */
  peek(): T {
    return this.#front.items[this.#cursor] as T;
  }

  /** Calls `fn` on each item, front to back. */
  forEach(fn: (item: T) => void): void {
    let seg: Segment<T> | undefined = this.#front;
    let i = this.#cursor;
    while (seg !== undefined) {
      const items = seg.items;
      for (; i < items.length; i++) fn(items[i] as T);
      seg = seg.next;
      i = 0;
    }
  }
}

/** A value and the size the strategy gave it. */
export interface ValueWithSize<T> {
  value: T;
  size: number;
}

/** Anything with the spec's [[queue]] and [[queueTotalSize]] slots. */
export interface QueueContainer<T> {
  queue: SimpleQueue<ValueWithSize<T>>;
  queueTotalSize: number;
}

/** §8.1 IsNonNegativeNumber. */
export function isNonNegativeNumber(v: unknown): v is number {
  return typeof v === "number" && v === v && v >= 0;
}

/** §8.1 DequeueValue. */
export function dequeueValue<T>(container: QueueContainer<T>): T {
  const pair = container.queue.shift();
  container.queueTotalSize -= pair.size;
  // Floating-point subtraction can leave a tiny negative remainder.
  if (container.queueTotalSize < 0) container.queueTotalSize = 0;
  return pair.value;
}

/** §8.1 EnqueueValueWithSize. */
export function enqueueValueWithSize<T>(container: QueueContainer<T>, value: T, size: number): void {
  if (!isNonNegativeNumber(size)) {
    throw new RangeError("The return value of a queuing strategy's size function must be a finite, non-NaN, non-negative number.");
  }
  if (!NumberIsFinite(size)) {
    throw new RangeError("The return value of a queuing strategy's size function must be a finite, non-NaN, non-negative number.");
  }
  container.queue.push({ value, size });
  container.queueTotalSize += size;
}

/** §8.1 PeekQueueValue. */
export function peekQueueValue<T>(container: QueueContainer<T>): T {
  return container.queue.peek().value;
}

/** §8.1 ResetQueue. */
export function resetQueue<T>(container: QueueContainer<T>): void {
  container.queue = new SimpleQueue();
  container.queueTotalSize = 0;
}
