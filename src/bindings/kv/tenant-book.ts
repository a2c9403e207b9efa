/**
 * A tenant's book in the JetStream KV backend (`t.<tenant hex>`): its namespaces with their
 * usage, and the marks of writes in flight. One key per tenant, changed only at the
 * revision read (tenant-ledger.ts), so every check on it — a name free, the namespace
 * count, the byte quota, a namespace still there — holds for the change it guards, across
 * nodes. A tenant has at most 100 namespaces: the book stays a few KiB.
 *
 * A mark is taken (with `writes` counted up) before a write touches entries and dropped
 * when its usage is settled. One left behind says a node died (or lost NATS) in between,
 * so the namespace's usage may be off: sweeps recount such a namespace once nothing else
 * writes to it (jetstream-kv.ts).
 */
import type { KvUsage } from "./kv-store.ts";

export interface NamespaceRow {
  name: string;
  id: string;
  createdAtMs: number;
  keys: number;
  /** Bytes stored, plus bytes reserved by puts in flight. */
  bytes: number;
  /** Writes begun in it (marks taken): a recount holds only if none began meanwhile. */
  writes: number;
}

interface Stored {
  namespaces: NamespaceRow[];
  /** [mark, namespace id] */
  marks: [string, string][];
}

export class TenantBook {
  /** By name. Maps, not plain objects: a name like "constructor" is a name, not a prototype's property. */
  readonly namespaces: Map<string, NamespaceRow>;
  /** Mark → the namespace id it writes to. */
  readonly marks: Map<string, string>;

  private constructor(namespaces: Map<string, NamespaceRow>, marks: Map<string, string>) {
    this.namespaces = namespaces;
    this.marks = marks;
  }

  static empty(): TenantBook {
    return new TenantBook(new Map(), new Map());
  }

  static decode(payload: Uint8Array): TenantBook {
    const stored = JSON.parse(Buffer.from(payload).toString("utf8")) as Stored;
    return new TenantBook(new Map(stored.namespaces.map((r) => [r.name, r])), new Map(stored.marks));
  }

  encode(): string {
    const stored: Stored = { namespaces: [...this.namespaces.values()], marks: [...this.marks] };
    return JSON.stringify(stored);
  }

  copy(): TenantBook {
    return new TenantBook(new Map([...this.namespaces].map(([name, row]) => [name, { ...row }])), new Map(this.marks));
  }

  byId(id: string): NamespaceRow | undefined {
    for (const row of this.namespaces.values()) if (row.id === id) return row;
    return undefined;
  }

  /** Takes a mark for a write to namespace `id` (gone or not: a delete after a removal still settles). */
  mark(mark: string, id: string): void {
    const row = this.byId(id);
    if (row !== undefined) row.writes++;
    this.marks.set(mark, id);
  }

  /** Drops `mark`, adding what its write changed to the namespace (if it is still there). */
  settle(mark: string, id: string, keys: number, bytes: number): void {
    const row = this.byId(id);
    if (row !== undefined) {
      row.keys += keys;
      row.bytes += bytes;
    }
    this.marks.delete(mark);
  }

  usage(): KvUsage {
    let keys = 0;
    let bytes = 0;
    for (const row of this.namespaces.values()) {
      keys += row.keys;
      bytes += row.bytes;
    }
    return { keys, bytes };
  }
}
