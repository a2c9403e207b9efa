/**
 * The keys of a JetStream KV bucket under a filter, read from its stream's index of
 * subjects (a stream info request, answered by the stream's leader), not through a
 * consumer as the client's `keys()` does. An ephemeral consumer is placed on any server
 * of the stream's group, a lost one included, and then times out — about one listing in
 * three with one of three servers down, for as long as it stays down (measured). Keys
 * deleted or purged may be listed (their marker is the subject's last message): reading
 * them says so.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import type { KV } from "@nats-io/kv";

/** What the client's bucket is underneath (`Bucket` in @nats-io/kv): its stream and manager. */
type BucketParts = { jsm: JetStreamManager; stream: string; bucket: string };

export async function keysOf(kv: KV, filter = ">"): Promise<string[]> {
  const { jsm, stream, bucket } = kv as unknown as BucketParts;
  const prefix = `$KV.${bucket}.`;
  const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}${filter}` });
  return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length)).filter((k) => k !== "_ready");
}

/**
 * Removes the keys under `filter` with their history and no marker left behind (the
 * client's `purge` leaves one, which listings would then keep reading). For state only
 * this cluster reads, never for keys someone watches for deletions.
 */
export async function removeKeys(kv: KV, filter: string): Promise<number> {
  const { jsm, stream, bucket } = kv as unknown as BucketParts;
  return (await jsm.streams.purge(stream, { filter: `$KV.${bucket}.${filter}` })).purged;
}
