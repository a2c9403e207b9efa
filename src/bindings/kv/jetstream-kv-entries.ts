/**
 * Reading and deleting one entry of the JetStream KV backend, as the store and its sweeps
 * both do (the layout is jetstream-kv-layout.ts).
 */
import type { KvBucket } from "./jetstream-kv-bucket.ts";
import { decodeEntry, layout, type EntryHeader } from "./jetstream-kv-layout.ts";

export interface Entry {
  rev: number;
  header: EntryHeader;
  /** The value when it is inline; empty when it is an object (`header.o`). */
  inline: Uint8Array;
}

/**
 * How far the nodes' clocks may disagree, in seconds. A sweep on a node whose clock runs
 * ahead may delete an entry this node still reads as live, up to this long before it
 * expires here; a put over such an entry makes room for that (jetstream-kv.ts).
 */
export const clockSkewSeconds = 60;

export async function readEntry(bucket: KvBucket, nsId: string, keyHex: string): Promise<Entry | null> {
  const stored = await bucket.read(layout.entry(nsId, keyHex));
  return stored === null ? null : { rev: stored.rev, ...decodeEntry(stored.payload) };
}

/** Expired at `nowMs`: gone for readers, though it counts until a sweep deletes it. */
export const expired = (header: EntryHeader, nowMs: number): boolean => header.x !== null && header.x <= nowMs / 1000;

/** A sweep somewhere may be deleting it now (it is expired, or about to be on a clock a little ahead). */
export const sweepable = (header: EntryHeader, nowMs: number): boolean => header.x !== null && header.x <= nowMs / 1000 + clockSkewSeconds;

/**
 * Deletes the entry at `key` if it is still the one read, then its object; false when a
 * write or another delete got there first. An object that cannot be deleted is left
 * behind (it costs storage, never a wrong read: nothing names it any more).
 */
export async function dropEntry(bucket: KvBucket, key: string, entry: Entry): Promise<boolean> {
  if (!(await bucket.remove(key, entry.rev))) return false;
  if (entry.header.o !== undefined) await bucket.removeObject(entry.header.o).catch(() => undefined);
  return true;
}
