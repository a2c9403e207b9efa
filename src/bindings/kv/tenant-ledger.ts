/**
 * Changes to tenants' books (tenant-book.ts), each written at the revision it read. Changes
 * to one tenant that arrive together are applied together, in order, and written once: a
 * burst of puts costs one compare-and-set, not one per put racing the others. Each change
 * runs on its own copy of the book, so one that throws (over quota, a name taken) fails
 * alone and leaves nothing. A write that loses to another node's runs every change again
 * on the book as it is now — so a change is a function of the book, never of what an
 * earlier run saw.
 */
import type { KvBucket } from "./jetstream-kv-bucket.ts";
import { layout } from "./jetstream-kv-layout.ts";
import { TenantBook } from "./tenant-book.ts";

interface Change {
  edit(book: TenantBook): unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

export class TenantLedger {
  private readonly bucket: KvBucket;
  /** Changes waiting for their tenant's next write. */
  private readonly waiting = new Map<string, Change[]>();
  /** Tenants with a write in flight, and when their queue is done. */
  private readonly running = new Map<string, Promise<void>>();

  constructor(bucket: KvBucket) {
    this.bucket = bucket;
  }

  /** The tenant's book as it is now, and the revision it was read at (0: none yet). */
  async read(tenant: string): Promise<{ book: TenantBook; rev: number }> {
    const stored = await this.bucket.read(layout.tenant(tenant));
    return stored === null ? { book: TenantBook.empty(), rev: 0 } : { book: TenantBook.decode(stored.payload), rev: stored.rev };
  }

  /** Applies `edit` to the tenant's book and writes it; what `edit` returned, once the write is acknowledged. */
  change<T>(tenant: string, edit: (book: TenantBook) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const queue = this.waiting.get(tenant) ?? [];
      queue.push({ edit, resolve: resolve as (value: unknown) => void, reject });
      this.waiting.set(tenant, queue);
      if (!this.running.has(tenant)) {
        this.running.set(tenant, this.drain(tenant).finally(() => this.running.delete(tenant)));
      }
    });
  }

  /** Resolves once no change is waiting or in flight. */
  async settled(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  private async drain(tenant: string): Promise<void> {
    for (let batch = this.take(tenant); batch.length > 0; batch = this.take(tenant)) {
      try {
        await this.apply(tenant, batch);
      } catch (err) {
        for (const change of batch) change.reject(err);
      }
    }
  }

  private take(tenant: string): Change[] {
    const batch = this.waiting.get(tenant) ?? [];
    this.waiting.delete(tenant);
    return batch;
  }

  private async apply(tenant: string, batch: Change[]): Promise<void> {
    for (;;) {
      const { book, rev } = await this.read(tenant);
      let current = book;
      const outcomes = batch.map((change) => {
        const draft = current.copy();
        try {
          const value = change.edit(draft);
          current = draft;
          return { ok: true as const, value };
        } catch (err) {
          return { ok: false as const, err };
        }
      });
      if (outcomes.some((o) => o.ok) && (await this.bucket.write(layout.tenant(tenant), current.encode(), rev)) === "conflict") continue;
      outcomes.forEach((o, i) => (o.ok ? batch[i]!.resolve(o.value) : batch[i]!.reject(o.err)));
      return;
    }
  }
}
