/**
 * Where the JetStream KV backend keeps what, as keys of its one KV bucket, and how an entry
 * is laid out. NATS keys allow only `[-/_=.a-zA-Z0-9]`, so a user's key (and a tenant's
 * name) is written as the lowercase hex of its UTF-8 bytes: hex strings compare as their
 * bytes do, and a prefix of the bytes is a prefix of the hex, which is what `list` needs.
 *
 *   t.<tenant hex>                          the tenant's book: its namespaces, their usage, writes in flight
 *   n.<namespace id>                        who owns an id ({tenant, name}): for sweeps, which know only ids
 *   g.<namespace id>                        a removed namespace whose entries are still to delete
 *   e.<namespace id>.<key hex>              an entry: a JSON header line, then the value (or nothing:
 *                                           a value over `inlineMaxBytes` is an object, named in the header)
 *   x.<second>.<namespace id>.<key hex>     an entry that expires at that second (an index for sweeps)
 */

/** Values up to this size sit in the entry; larger ones go to the object store in chunks. */
export const inlineMaxBytes = 16 * 1024;

export const hex = (text: string): string => Buffer.from(text).toString("hex");
export const unhex = (digits: string): string => Buffer.from(digits, "hex").toString("utf8");

export const layout = {
  tenant: (tenant: string) => `t.${hex(tenant)}`,
  tenants: "t.>",
  owner: (nsId: string) => `n.${nsId}`,
  removed: (nsId: string) => `g.${nsId}`,
  removedAll: "g.>",
  entry: (nsId: string, keyHex: string) => `e.${nsId}.${keyHex}`,
  entries: (nsId: string) => `e.${nsId}.>`,
  /** The second an entry is swept at: its expiration, rounded up (it is expired by then). */
  expiring: (expiration: number, nsId: string, keyHex: string) => `x.${Math.max(0, Math.ceil(expiration))}.${nsId}.${keyHex}`,
  expiringAll: "x.>",
  expiringOf: (nsId: string) => `x.*.${nsId}.>`,
  /** The last token of a key, or the part after `prefix`: a key's hex, an id. */
  after: (key: string, prefix: string) => key.slice(prefix.length),
};

/** What an entry says of its value. Short names: it is written with every entry. */
export interface EntryHeader {
  /** Bytes it counts for against the tenant's quota: key, value and metadata (`entryBytes`). */
  b: number;
  /** Metadata as JSON text, or null. */
  m: string | null;
  /** Expiration, seconds since the epoch, or null. */
  x: number | null;
  /** The object holding the value, when it is not inline. */
  o?: string;
}

const newline = 0x0a;

/** The header as one JSON line (JSON text never holds a raw newline), then the inline value. */
export function encodeEntry(header: EntryHeader, inline: Uint8Array): Uint8Array {
  const head = Buffer.from(`${JSON.stringify(header)}\n`);
  const out = new Uint8Array(head.byteLength + inline.byteLength);
  out.set(head, 0);
  out.set(inline, head.byteLength);
  return out;
}

export function decodeEntry(payload: Uint8Array): { header: EntryHeader; inline: Uint8Array } {
  const end = payload.indexOf(newline);
  if (end < 0) throw new Error("a KV entry without its header line: the bucket holds something this node did not write");
  const header = JSON.parse(Buffer.from(payload.subarray(0, end)).toString("utf8")) as EntryHeader;
  // A copy: the value outlives the message it came in.
  return { header, inline: payload.slice(end + 1) };
}
