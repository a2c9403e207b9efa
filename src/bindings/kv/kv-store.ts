/**
 * Where KV namespaces keep their keys: the contract every backend meets (SQLite on one node,
 * `sqlite-kv.ts`; test/contracts/kv-store-contract.ts runs against each). A namespace is
 * the tenant's by name; its entries hang off an id the tenant never sees, so a namespace
 * removed and created again starts empty. Keys sort by their UTF-8 bytes, as in Workers KV.
 */

export interface KvNamespace {
  tenant: string;
  name: string;
  /** The store's own id for it; unique for all time. */
  id: string;
  createdAtMs: number;
}

export interface KvValue {
  value: Uint8Array;
  /** Metadata as JSON text, or null. */
  metadata: string | null;
  /** Seconds since the epoch, or null: kept until deleted. */
  expiration: number | null;
}

export interface KvEntry extends KvValue {
  key: string;
}

export interface KvListedKey {
  name: string;
  expiration: number | null;
  metadata: string | null;
}

export interface KvUsage {
  keys: number;
  /** Keys, values and metadata, in bytes: what the tenant's quota counts. */
  bytes: number;
}

/** The bytes an entry counts for against its tenant's quota. */
export function entryBytes(key: string, value: Uint8Array, metadata: string | null): number {
  return Buffer.byteLength(key) + value.byteLength + (metadata === null ? 0 : Buffer.byteLength(metadata));
}

export interface KvStore {
  /** A new namespace of `tenant`; throws `kv_namespace_exists`, or `quota_exceeded` past `maxPerTenant`. */
  createNamespace(tenant: string, name: string, maxPerTenant: number, nowMs: number): Promise<KvNamespace>;
  namespace(tenant: string, name: string): Promise<KvNamespace | undefined>;
  /** A tenant's namespaces (every tenant's: undefined), by tenant and name, each with its usage. */
  namespaces(tenant: string | undefined): Promise<(KvNamespace & KvUsage)[]>;
  /** Removes the namespace and every entry in it; false when there was none. */
  removeNamespace(tenant: string, name: string): Promise<boolean>;
  /** The live values of `keys` (expired ones are absent), in order. */
  get(ns: KvNamespace, keys: readonly string[], nowMs: number): Promise<(KvValue | undefined)[]>;
  /**
   * Writes `entries` in one transaction, durable before it resolves; throws `quota_exceeded`
   * (writing none) when the tenant would hold more than `quotaBytes`.
   */
  put(ns: KvNamespace, entries: readonly KvEntry[], quotaBytes: number, nowMs: number): Promise<void>;
  /** Deletes `keys` (absent ones are no error), durable before it resolves. */
  delete(ns: KvNamespace, keys: readonly string[]): Promise<void>;
  /** Live keys starting with `prefix`, after `after` (exclusive), in byte order; `complete`: none follow. */
  list(ns: KvNamespace, prefix: string, after: string | null, limit: number, nowMs: number): Promise<{ keys: KvListedKey[]; complete: boolean }>;
  usage(tenant: string): Promise<KvUsage>;
  /** Removes up to `max` entries expired at `nowMs`; how many it removed. */
  sweep(nowMs: number, max: number): Promise<number>;
  close(): Promise<void>;
}
