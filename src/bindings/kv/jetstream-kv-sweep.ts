/**
 * The JetStream KV backend's sweeps (jetstream-kv.ts), each with the `nowMs` it is given:
 *
 * 1. **Expired entries.** The index `x.<second>.<namespace id>.<key hex>` names what expires
 *    when, so a sweep reads the index's names (one request per 100,000 expiring keys, every
 *    sweep), not every entry. It deletes each due entry still holding what it read and still
 *    expired, gives its bytes back under a mark (as a put does), then drops the index names
 *    it read at the revisions it read (a put may have written one again since).
 * 2. **Removed namespaces** (`g.<id>`): their entries, a chunk at a time, then the note. Not
 *    while the namespace is still in its tenant's book (its removal is in flight, or died
 *    before it went through), nor while a write to it holds a mark (it may yet land an
 *    entry): the next sweep does it.
 * 3. **Marks left behind** (every 5 minutes of `nowMs`): a mark this sweeper has seen in a
 *    book for 10 minutes belongs to a write whose node died (or lost NATS) half-way. Its
 *    namespace's entries are recounted and the count written — unless a write began in it
 *    meanwhile (its `writes` moved), which the count could have missed; then the next audit
 *    tries again. A write stalled for over 10 minutes and then landing would be miscounted.
 *    A recount reads every entry of the namespace: it is the repair, not the routine.
 */
import { randomBytes } from "node:crypto";
import { inParallel } from "./in-parallel.ts";
import type { KvBucket } from "./jetstream-kv-bucket.ts";
import { dropEntry, expired, readEntry, type Entry } from "./jetstream-kv-entries.ts";
import { decodeEntry, layout, unhex } from "./jetstream-kv-layout.ts";
import type { TenantBook } from "./tenant-book.ts";
import type { TenantLedger } from "./tenant-ledger.ts";

const parallel = 32;
const auditEveryMs = 5 * 60_000;
const staleMarkMs = 10 * 60_000;

interface Owner {
  tenant: string;
  name: string;
}

export class KvSweeper {
  private readonly bucket: KvBucket;
  private readonly ledger: TenantLedger;
  /** Namespace id → its owner (null: none recorded). An id never changes owner. */
  private readonly owners = new Map<string, Owner | null>();
  /** `<tenant>\0<mark>` → the `nowMs` of the audit that first saw it. */
  private readonly marksSeen = new Map<string, number>();
  private auditedAtMs = Number.NEGATIVE_INFINITY;

  constructor(bucket: KvBucket, ledger: TenantLedger) {
    this.bucket = bucket;
    this.ledger = ledger;
  }

  async sweep(nowMs: number, max: number): Promise<number> {
    let removed = await this.expired(nowMs, max);
    if (removed < max) removed += await this.removedNamespaces(max - removed);
    if (nowMs - this.auditedAtMs >= auditEveryMs) {
      this.auditedAtMs = nowMs;
      await this.audit(nowMs);
    }
    return removed;
  }

  private async expired(nowMs: number, max: number): Promise<number> {
    const due = (await this.bucket.keys(layout.expiringAll))
      .map((key) => {
        const [, second, nsId, keyHex] = key.split(".");
        return { key, second: Number(second), nsId: nsId!, keyHex: keyHex! };
      })
      .filter((item) => item.second <= nowMs / 1000)
      .sort((a, b) => a.second - b.second)
      .slice(0, max);
    const byNamespace = new Map<string, typeof due>();
    for (const item of due) byNamespace.set(item.nsId, [...(byNamespace.get(item.nsId) ?? []), item]);
    let removed = 0;
    for (const [nsId, items] of byNamespace) {
      // The index names' revisions before the entries: one a put writes again after this read must stay.
      const index = await inParallel(items, parallel, (item) => this.bucket.read(item.key));
      const entries = await inParallel(items, parallel, (item) => readEntry(this.bucket, nsId, item.keyHex));
      const due = new Map<string, Entry>();
      entries.forEach((entry, i) => {
        if (entry !== null && expired(entry.header, nowMs)) due.set(items[i]!.keyHex, entry);
      });
      removed += await this.drop(nsId, [...due]);
      await inParallel(items, parallel, async (item, i) => index[i] !== null && this.bucket.remove(item.key, index[i]!.rev));
    }
    return removed;
  }

  /** Deletes expired entries of one namespace, giving their bytes back under a mark; how many it deleted. */
  private async drop(nsId: string, due: [string, Entry][]): Promise<number> {
    if (due.length === 0) return 0;
    const owner = await this.owner(nsId);
    const mark = randomBytes(16).toString("hex");
    if (owner !== null) await this.ledger.change(owner.tenant, (book) => book.mark(mark, nsId));
    const dropped = await inParallel(due, parallel, ([keyHex, entry]) => dropEntry(this.bucket, layout.entry(nsId, keyHex), entry));
    let count = 0;
    let bytes = 0;
    due.forEach(([, entry], i) => {
      if (!dropped[i]) return;
      count++;
      bytes += entry.header.b;
    });
    if (owner !== null) await this.ledger.change(owner.tenant, (book) => book.settle(mark, nsId, -count, -bytes));
    return count;
  }

  private async removedNamespaces(budget: number): Promise<number> {
    let removed = 0;
    for (const note of await this.bucket.keys(layout.removedAll)) {
      if (removed >= budget) break;
      const nsId = layout.after(note, "g.");
      const owner = await this.owner(nsId);
      if (owner !== null) {
        const { book } = await this.ledger.read(owner.tenant);
        if (book.byId(nsId) !== undefined || [...book.marks.values()].includes(nsId)) continue;
      }
      const keys = await this.bucket.keys(layout.entries(nsId));
      if (keys.length === 0) {
        // Nothing left: its index names, its owner, then the note (last: a sweep that stops
        // half-way here finds the note again).
        await this.bucket.purge(layout.expiringOf(nsId));
        await this.bucket.purge(layout.owner(nsId));
        await this.bucket.purge(note);
        this.owners.delete(nsId);
        continue;
      }
      const gone = await inParallel(keys.slice(0, budget - removed), parallel, async (key) => {
        const stored = await this.bucket.read(key);
        return stored !== null && (await dropEntry(this.bucket, key, { rev: stored.rev, ...decodeEntry(stored.payload) }));
      });
      removed += gone.filter(Boolean).length;
    }
    return removed;
  }

  private async audit(nowMs: number): Promise<void> {
    const seen = new Set<string>();
    for (const key of await this.bucket.keys(layout.tenants)) {
      const tenant = unhex(layout.after(key, "t."));
      const { book } = await this.ledger.read(tenant);
      const stale = new Map<string, string>();
      for (const [mark, nsId] of book.marks) {
        const id = `${tenant}\u0000${mark}`;
        seen.add(id);
        const first = this.marksSeen.get(id) ?? nowMs;
        this.marksSeen.set(id, first);
        if (nowMs - first >= staleMarkMs) stale.set(mark, nsId);
      }
      for (const nsId of new Set(stale.values())) await this.recount(tenant, nsId, book, stale);
    }
    for (const id of [...this.marksSeen.keys()]) if (!seen.has(id)) this.marksSeen.delete(id);
  }

  /** Sets namespace `nsId`'s usage to what its entries hold, and drops its stale marks. */
  private async recount(tenant: string, nsId: string, book: TenantBook, stale: Map<string, string>): Promise<void> {
    // A mark on it that is not stale: a write in flight, which a count now could miss.
    if ([...book.marks].some(([mark, id]) => id === nsId && !stale.has(mark))) return;
    const marks = [...stale].filter(([, id]) => id === nsId).map(([mark]) => mark);
    const before = book.byId(nsId);
    const counted = before === undefined ? undefined : await this.count(nsId);
    await this.ledger.change(tenant, (now) => {
      const row = now.byId(nsId);
      if (row !== undefined && before !== undefined && counted !== undefined) {
        if (row.writes !== before.writes) return;
        row.keys = counted.keys;
        row.bytes = counted.bytes;
      }
      for (const mark of marks) now.marks.delete(mark);
    });
  }

  private async count(nsId: string): Promise<{ keys: number; bytes: number }> {
    const sizes = await inParallel(await this.bucket.keys(layout.entries(nsId)), parallel, async (key) => {
      const stored = await this.bucket.read(key);
      return stored === null ? null : decodeEntry(stored.payload).header.b;
    });
    const found = sizes.filter((b): b is number => b !== null);
    return { keys: found.length, bytes: found.reduce((sum, b) => sum + b, 0) };
  }

  private async owner(nsId: string): Promise<Owner | null> {
    const known = this.owners.get(nsId);
    if (known !== undefined) return known;
    const stored = await this.bucket.read(layout.owner(nsId));
    const owner = stored === null ? null : (JSON.parse(Buffer.from(stored.payload).toString("utf8")) as Owner);
    // Absent now may mean not written yet: only a found owner is kept.
    if (owner !== null) this.owners.set(nsId, owner);
    return owner;
  }
}
