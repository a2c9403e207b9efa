/**
 * A min-heap of (time, item): what the scheduler must look at next, so a tick costs what
 * is due rather than every function a node knows. Entries are not removed when they go
 * stale; the owner marks the time it queued an item with and ignores an entry whose time
 * no longer matches (scheduler.ts).
 *
 * Four children per node and the times in a Float64Array of their own: at a million
 * entries (`flick sim`'s million functions) a pop walks 10 levels instead of 20, the four
 * children's times share a cache line, and the arrays never shrink and grow again as the
 * heap breathes (Array.prototype.pop trims a backing store that falls below half full).
 */
export class DeadlineHeap<T> {
  private at = new Float64Array(64);
  private items: (T | undefined)[] = new Array<T | undefined>(64).fill(undefined);
  private n = 0;

  get size(): number {
    return this.n;
  }

  /** The earliest time queued, or Infinity. */
  peek(): number {
    return this.n === 0 ? Infinity : this.at[0]!;
  }

  push(atMs: number, item: T): void {
    if (this.n === this.at.length) this.grow();
    const at = this.at;
    const items = this.items;
    let i = this.n++;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      if (at[parent]! <= atMs) break;
      at[i] = at[parent]!;
      items[i] = items[parent];
      i = parent;
    }
    at[i] = atMs;
    items[i] = item;
  }

  /** Removes the earliest entry; its time is `peek()` before the call. */
  pop(): T {
    if (this.n === 0) throw new Error("DeadlineHeap: pop from an empty heap");
    const at = this.at;
    const items = this.items;
    const top = items[0] as T;
    const n = --this.n;
    const lastAt = at[n]!;
    const lastItem = items[n];
    items[n] = undefined;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const first = 4 * i + 1;
        if (first >= n) break;
        // The earliest of up to four children.
        let child = first;
        let childAt = at[first]!;
        const end = Math.min(first + 4, n);
        for (let c = first + 1; c < end; c++) {
          if (at[c]! < childAt) {
            child = c;
            childAt = at[c]!;
          }
        }
        if (childAt >= lastAt) break;
        at[i] = childAt;
        items[i] = items[child];
        i = child;
      }
      at[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }

  private grow(): void {
    const at = new Float64Array(this.at.length * 2);
    at.set(this.at);
    this.at = at;
    const items = this.items;
    for (let i = items.length, end = at.length; i < end; i++) items.push(undefined);
  }
}
