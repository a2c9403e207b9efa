/**
 * KV namespaces in NATS JetStream, shared by every node of a cluster: the `KvStore` contract
 * (kv-store.ts) on one replicated KV bucket and one object store (jetstream-kv-bucket.ts;
 * the keys are in jetstream-kv-layout.ts). Every write resolves once JetStream acknowledged
 * it, that is once a majority of the replicas stored it; reads go to the stream's leader and
 * see every write that resolved.
 *
 * - **Keys.** A key is stored under the hex of its UTF-8 bytes (NATS keys allow few
 *   characters), which sorts as the bytes do. `list` reads the names of every key of the
 *   namespace from the stream's index of subjects, sorts them, and reads entries from the
 *   position on until it has a page of live ones: a page costs one pass over the namespace's
 *   key names (about 1.5 MB of names per 10,000 keys of 50 bytes) plus the entries it shows.
 * - **Values.** Up to 16 KiB a value sits in its entry, after a JSON header line (metadata,
 *   expiration, the bytes it counts). A larger one (up to 25 MiB, over NATS's 1 MiB
 *   max_payload) goes first into the object store in 128 KiB chunks, under a name of its own
 *   write, and the entry names it; the object of a value overwritten or deleted is deleted.
 * - **Namespaces, usage and the quota** live in one book per tenant (tenant-book.ts), written
 *   at the revision read (tenant-ledger.ts), so a name is taken once, the namespace count is
 *   exact, and the byte quota is strict across nodes. A put reads the entries it replaces,
 *   then in one change of the book checks that its namespace is still there, checks the
 *   quota, reserves what it adds and takes a mark; then writes its entries, each at the
 *   revision read; then settles: what its entries really changed, the mark dropped. A put
 *   over quota fails whole before anything is written.
 * - **A lost race.** An entry whose write finds the key changed since it was read lost to a
 *   put or delete of a caller that overlapped it: it is ordered just before that one, so it
 *   is already overwritten, and it counts for nothing. The exception is a sweep deleting an
 *   expired entry, which is nobody's write: a put over an entry that is expired (or about to
 *   be, see `clockSkewSeconds`) reserves its whole size and, finding the key emptied, writes
 *   again over nothing.
 * - **Not one transaction.** The entries of one put are written one by one: a reader may see
 *   some before the others, and a put that fails half-way (NATS lost) may leave some written.
 * - **Expiry** is decided with the `nowMs` each call is given, never a clock of its own: an
 *   expired entry is gone from `get` and `list` at once. An expiring entry is also indexed
 *   under `x.<second>…` (written before the entry), so a sweep reads the index's names, not
 *   every entry; it deletes what expired and gives its bytes back (jetstream-kv-sweep.ts).
 * - **Removal.** A removed namespace leaves its tenant's book at once (it counts for nothing,
 *   a put with the old namespace fails, a new one of the name starts empty), and a note
 *   (`g.<id>`) tells sweeps to delete its entries, a chunk at a time.
 * - **A node that dies mid-write** leaves its mark in the book, with usage high by what it
 *   reserved, and maybe an object nothing names. Sweeps see marks that stay (10 minutes on
 *   their own clock) and recount that namespace's entries once no other write is in flight
 *   in it. Until then the tenant is refused early rather than let past its quota.
 * - NATS unreachable, or a stream without quorum: `store_unavailable` (nats-unavailable.ts).
 */
import { randomBytes } from "node:crypto";
import type { NatsConnection } from "@nats-io/transport-node";
import { FlickError } from "../../errors/index.ts";
import { inParallel } from "./in-parallel.ts";
import { KvBucket } from "./jetstream-kv-bucket.ts";
import { dropEntry, expired, readEntry, sweepable, type Entry } from "./jetstream-kv-entries.ts";
import { encodeEntry, hex, inlineMaxBytes, layout, unhex, type EntryHeader } from "./jetstream-kv-layout.ts";
import { KvSweeper } from "./jetstream-kv-sweep.ts";
import { entryBytes, type KvEntry, type KvListedKey, type KvNamespace, type KvStore, type KvUsage, type KvValue } from "./kv-store.ts";
import { natsUnavailable } from "./nats-unavailable.ts";
import { TenantLedger } from "./tenant-ledger.ts";

export interface JetStreamKvOptions {
  /** Copies of the bucket and the object store (default 3; 1 on a single NATS server). */
  replicas?: number;
  /** The buckets' names' prefix (default "flick": `flick-kv`, `flick-kv-values`). */
  prefix?: string;
}

/** Requests in flight at once for one call (a bulk put of 10,000 keys, a list page). */
const parallel = 32;

const newId = () => randomBytes(16).toString("hex");
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** What writing one entry of a put came to. */
type Written = { kind: "won"; over: Entry | null } | { kind: "lost" } | { kind: "failed"; err: unknown; certain: boolean };

export class JetStreamKv implements KvStore {
  private readonly bucket: KvBucket;
  private readonly ledger: TenantLedger;
  private readonly sweeper: KvSweeper;
  private closed = false;

  private constructor(bucket: KvBucket) {
    this.bucket = bucket;
    this.ledger = new TenantLedger(bucket);
    this.sweeper = new KvSweeper(bucket, this.ledger);
  }

  /** Opens (or makes) the buckets on `nc`, which stays its owner's to close. */
  static async open(nc: NatsConnection, options: JetStreamKvOptions = {}): Promise<JetStreamKv> {
    return new JetStreamKv(await KvBucket.open(nc, options.prefix ?? "flick", options.replicas ?? 3));
  }

  private run<T>(what: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(new FlickError("store_unavailable", "the KV store is closed (the node is stopping)"));
    return natsUnavailable(what, work);
  }

  async createNamespace(tenant: string, name: string, maxPerTenant: number, nowMs: number): Promise<KvNamespace> {
    return this.run(`creating KV namespace "${name}"`, async () => {
      const ns: KvNamespace = { id: newId(), tenant, name, createdAtMs: nowMs };
      // Who owns the id goes first: sweeps, which know only ids, must find it.
      await this.bucket.overwrite(layout.owner(ns.id), JSON.stringify({ tenant, name }));
      try {
        await this.ledger.change(tenant, (book) => {
          if (book.namespaces.has(name)) throw new FlickError("kv_namespace_exists", `tenant "${tenant}" has a KV namespace "${name}" already; \`flick kv ls\` lists them`);
          const count = book.namespaces.size;
          if (count >= maxPerTenant) throw new FlickError("quota_exceeded", `tenant "${tenant}" has ${count} KV namespaces, the most a tenant may have; remove one (\`flick kv rm NAME\`) first`);
          book.namespaces.set(name, { name, id: ns.id, createdAtMs: nowMs, keys: 0, bytes: 0, writes: 0 });
        });
      } catch (err) {
        await this.bucket.purge(layout.owner(ns.id)).catch(() => undefined);
        throw err;
      }
      return ns;
    });
  }

  async namespace(tenant: string, name: string): Promise<KvNamespace | undefined> {
    return this.run(`reading KV namespace "${name}"`, async () => {
      const row = (await this.ledger.read(tenant)).book.namespaces.get(name);
      return row === undefined ? undefined : { tenant, name, id: row.id, createdAtMs: row.createdAtMs };
    });
  }

  async namespaces(tenant: string | undefined): Promise<(KvNamespace & KvUsage)[]> {
    return this.run("listing KV namespaces", async () => {
      const tenants = tenant !== undefined ? [tenant] : (await this.bucket.keys(layout.tenants)).map((key) => unhex(layout.after(key, "t.")));
      const books = await inParallel(tenants, parallel, (t) => this.ledger.read(t));
      const rows = books.flatMap(({ book }, i) =>
        [...book.namespaces.values()].map((r) => ({ tenant: tenants[i]!, name: r.name, id: r.id, createdAtMs: r.createdAtMs, keys: r.keys, bytes: r.bytes })));
      return rows.sort((a, b) => byBytes(a.tenant, b.tenant) || byBytes(a.name, b.name));
    });
  }

  async removeNamespace(tenant: string, name: string): Promise<boolean> {
    return this.run(`removing KV namespace "${name}"`, async () => {
      for (;;) {
        const row = (await this.ledger.read(tenant)).book.namespaces.get(name);
        if (row === undefined) return false;
        // The sweeps' note first: a node that dies after it leaves a namespace that sweeps
        // see still live (and leave be), never entries no sweep will delete.
        await this.bucket.write(layout.removed(row.id), "", 0);
        const removed = await this.ledger.change(tenant, (book) => {
          if (book.namespaces.get(name)?.id !== row.id) return false;
          book.namespaces.delete(name);
          return true;
        });
        if (removed) return true;
        // Removed by another call meanwhile (and perhaps made again): look again.
      }
    });
  }

  async get(ns: KvNamespace, keys: readonly string[], nowMs: number): Promise<(KvValue | undefined)[]> {
    return this.run(`reading KV namespace "${ns.name}"`, () => inParallel(keys, parallel, (key) => this.value(ns.id, hex(key), nowMs)));
  }

  private async value(nsId: string, keyHex: string, nowMs: number): Promise<KvValue | undefined> {
    for (let tries = 0; tries < 5; tries++) {
      const entry = await readEntry(this.bucket, nsId, keyHex);
      if (entry === null || expired(entry.header, nowMs)) return undefined;
      const value = entry.header.o === undefined ? entry.inline : await this.bucket.getObject(entry.header.o);
      // No object: the entry was overwritten or deleted since it was read, and its object
      // with it. The entry as it is now is the answer.
      if (value !== null) return { value, metadata: entry.header.m, expiration: entry.header.x };
    }
    throw new FlickError("store_unavailable", "a KV value kept changing while it was read (written over five times in a row); retry", { details: { retryAfterSeconds: 1 } });
  }

  async put(ns: KvNamespace, entries: readonly KvEntry[], quotaBytes: number, nowMs: number): Promise<void> {
    return this.run(`writing to KV namespace "${ns.name}"`, async () => {
      // A key given twice in one put: the last one stands, as if they were written in order.
      const writes = [...new Map(entries.map((e) => [e.key, e])).values()];
      const keyHexes = writes.map((e) => hex(e.key));
      const olds = await inParallel(keyHexes, parallel, (keyHex) => readEntry(this.bucket, ns.id, keyHex));
      const sizes = writes.map((e) => entryBytes(e.key, e.value, e.metadata));
      // What each entry may add. An overwrite counts the difference, unless a sweep may be
      // deleting what it replaces (then it may land on nothing). Shrinks are not netted
      // against growth: a shrink may lose its race and free nothing.
      const reserved = sizes.reduce((sum, size, i) => {
        const old = olds[i];
        return sum + Math.max(0, size - (old === null || old === undefined || sweepable(old.header, nowMs) ? 0 : old.header.b));
      }, 0);
      const mark = newId();
      await this.ledger.change(ns.tenant, (book) => {
        const row = book.namespaces.get(ns.name);
        if (row?.id !== ns.id) throw new FlickError("kv_namespace_not_found", `the KV namespace "${ns.name}" was removed`);
        const used = book.usage().bytes;
        if (reserved > 0 && used + reserved > quotaBytes) {
          throw new FlickError("quota_exceeded", `tenant "${ns.tenant}" stores ${used} bytes in KV; ${reserved} more is over its quota of ${quotaBytes} bytes. Delete keys, or ask the operator for more`);
        }
        book.mark(mark, ns.id);
        row.bytes += reserved;
      });
      const written = await inParallel(writes, parallel, (e, i) => this.writeEntry(ns.id, keyHexes[i]!, e, sizes[i]!, olds[i] ?? null, `${ns.id}/${mark}/${i}`, nowMs));
      // An entry whose write may or may not have landed: the mark stays, and a sweep recounts.
      const failures = written.flatMap((w) => (w.kind === "failed" ? [w] : []));
      const unknown = failures.find((f) => !f.certain);
      if (unknown !== undefined) throw unknown.err;
      let keys = 0;
      let bytes = 0;
      written.forEach((w, i) => {
        if (w.kind !== "won") return;
        keys += w.over === null ? 1 : 0;
        bytes += sizes[i]! - (w.over?.header.b ?? 0);
      });
      await this.ledger.change(ns.tenant, (book) => book.settle(mark, ns.id, keys, bytes - reserved));
      if (failures.length > 0) throw failures[0]!.err;
    });
  }

  /** Writes one entry of a put over `old` (what the put read); never throws, says what happened. */
  private async writeEntry(nsId: string, keyHex: string, e: KvEntry, size: number, old: Entry | null, objectName: string, nowMs: number): Promise<Written> {
    let object: string | undefined;
    try {
      if (e.value.byteLength > inlineMaxBytes) {
        await this.bucket.putObject(objectName, e.value);
        object = objectName;
      }
      // The sweeps' index before the entry: a node that dies between leaves an index entry a
      // sweep finds stale and drops, never an expiring entry no sweep finds.
      if (e.expiration !== null) await this.bucket.overwrite(layout.expiring(e.expiration, nsId, keyHex), "");
    } catch (err) {
      if (object !== undefined) await this.bucket.removeObject(object).catch(() => undefined);
      return { kind: "failed", err, certain: true };
    }
    const header: EntryHeader = { b: size, m: e.metadata, x: e.expiration, ...(object === undefined ? {} : { o: object }) };
    const payload = encodeEntry(header, object === undefined ? e.value : new Uint8Array(0));
    const key = layout.entry(nsId, keyHex);
    let over = old;
    for (;;) {
      let rev: number | "conflict";
      try {
        rev = await this.bucket.write(key, payload, over?.rev ?? 0);
      } catch (err) {
        return { kind: "failed", err, certain: false };
      }
      if (rev !== "conflict") {
        if (over?.header.o !== undefined) await this.bucket.removeObject(over.header.o).catch(() => undefined);
        return { kind: "won", over };
      }
      // Changed since it was read. By a caller's put or delete: this write is ordered just
      // before that one, so it is overwritten already. By a sweep that deleted an expired
      // entry (nobody's write): the key is empty now, and this write goes on over nothing.
      if (over === null || !sweepable(over.header, nowMs)) break;
      let now: Entry | null;
      try {
        now = await readEntry(this.bucket, nsId, keyHex);
      } catch (err) {
        if (object !== undefined) await this.bucket.removeObject(object).catch(() => undefined);
        return { kind: "failed", err, certain: true };
      }
      if (now !== null) break;
      over = null;
    }
    if (object !== undefined) await this.bucket.removeObject(object).catch(() => undefined);
    return { kind: "lost" };
  }

  async delete(ns: KvNamespace, keys: readonly string[]): Promise<void> {
    return this.run(`deleting from KV namespace "${ns.name}"`, async () => {
      const keyHexes = [...new Set(keys.map(hex))];
      const found = (await inParallel(keyHexes, parallel, async (keyHex) => ({ keyHex, entry: await readEntry(this.bucket, ns.id, keyHex) })))
        .filter((f): f is { keyHex: string; entry: Entry } => f.entry !== null);
      if (found.length === 0) return;
      const mark = newId();
      await this.ledger.change(ns.tenant, (book) => book.mark(mark, ns.id));
      // false: a put or delete overlapping this one changed the key first; this delete is
      // ordered before it. A failure leaves the mark for a sweep's recount.
      const dropped = await inParallel(found, parallel, (f) => dropEntry(this.bucket, layout.entry(ns.id, f.keyHex), f.entry));
      let count = 0;
      let bytes = 0;
      found.forEach((f, i) => {
        if (!dropped[i]) return;
        count++;
        bytes += f.entry.header.b;
      });
      await this.ledger.change(ns.tenant, (book) => book.settle(mark, ns.id, -count, -bytes));
    });
  }

  async list(ns: KvNamespace, prefix: string, after: string | null, limit: number, nowMs: number): Promise<{ keys: KvListedKey[]; complete: boolean }> {
    return this.run(`listing KV namespace "${ns.name}"`, async () => {
      const keyPrefix = layout.entries(ns.id).slice(0, -1);
      const low = hex(prefix);
      const from = after === null ? null : hex(after);
      const names = (await this.bucket.keys(layout.entries(ns.id)))
        .map((key) => layout.after(key, keyPrefix))
        .filter((keyHex) => keyHex.startsWith(low) && (from === null || keyHex > from))
        .sort();
      const page: KvListedKey[] = [];
      // One key past the page says whether more follow.
      for (let at = 0; at < names.length && page.length <= limit; ) {
        const batch = names.slice(at, at + Math.min(parallel * 4, limit + 1 - page.length + parallel));
        at += batch.length;
        const entries = await inParallel(batch, parallel, (keyHex) => readEntry(this.bucket, ns.id, keyHex));
        entries.forEach((entry, i) => {
          if (entry === null || expired(entry.header, nowMs) || page.length > limit) return;
          page.push({ name: unhex(batch[i]!), expiration: entry.header.x, metadata: entry.header.m });
        });
      }
      return { keys: page.slice(0, limit), complete: page.length <= limit };
    });
  }

  async usage(tenant: string): Promise<KvUsage> {
    return this.run("reading KV usage", async () => (await this.ledger.read(tenant)).book.usage());
  }

  async sweep(nowMs: number, max: number): Promise<number> {
    return this.run("sweeping KV", () => this.sweeper.sweep(nowMs, max));
  }

  /** Waits for the tenants' books to be written; the connection is its owner's to close. */
  async close(): Promise<void> {
    this.closed = true;
    await this.ledger.settled();
  }
}
