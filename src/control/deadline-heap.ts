/**
 * A binary min-heap of (time, item): what the scheduler must look at next, so a tick
 * costs what is due rather than every function a node knows. Entries are not removed
 * when they go stale; the owner marks the time it queued an item with and ignores an
 * entry whose time no longer matches (scheduler.ts).
 */
export class DeadlineHeap<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  /** The earliest time queued, or Infinity. */
  peek(): number {
    return this.at.length === 0 ? Infinity : this.at[0]!;
  }

  push(atMs: number, item: T): void {
    const at = this.at;
    const items = this.items;
    let i = at.length;
    at.push(atMs);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (at[parent]! <= atMs) break;
      at[i] = at[parent]!;
      items[i] = items[parent]!;
      i = parent;
    }
    at[i] = atMs;
    items[i] = item;
  }

  /** Removes the earliest entry; its time is `peek()` before the call. */
  pop(): T {
    const at = this.at;
    const items = this.items;
    const top = items[0]!;
    const lastAt = at.pop()!;
    const lastItem = items.pop()!;
    const n = at.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const child = left + 1 < n && at[left + 1]! < at[left]! ? left + 1 : left;
        if (at[child]! >= lastAt) break;
        at[i] = at[child]!;
        items[i] = items[child]!;
        i = child;
      }
      at[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }
}
