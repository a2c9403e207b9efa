/**
 * A KV binding's platform side, in the node: the tenant's namespaces and their keys (a
 * `KvStore`: SQLite on one node, JetStream in a cluster), the calls of `env.NAME` for the
 * caller's tenant only —
 * a namespace is looked up by (tenant, name), so no other tenant's can be named — and the
 * admin operations behind `flick kv`. Expired keys vanish from reads at once and are
 * deleted by a sweep every 30 seconds, with removed namespaces' entries.
 */
import { FlickError } from "../../errors/index.ts";
import type { Call, CallResult } from "../../host/protocol.ts";
import { result, type BindingPlatform, type BindingPlatformKind, type NodeServices, type StorageUse } from "../platform-types.ts";
import { callProblem, expirationOf, keyProblem, kvContract, metadataProblem, prefixProblem, valueProblem } from "./contract.ts";
import type { KvEntry, KvNamespace, KvStore, KvUsage } from "./kv-store.ts";
import { kvNamespacePattern } from "./settings.ts";
import { SqliteKv } from "./sqlite-kv.ts";


export const kvLimits = {
  /** Namespaces per tenant. */
  namespacesPerTenant: 100,
  /** Entries per bulk put or bulk delete. */
  bulkEntries: 10_000,
} as const;

/** A namespace as `flick kv ls` shows it. */
export interface KvNamespaceInfo extends KvUsage {
  tenant: string;
  name: string;
  createdAtMs: number;
}

/** One entry of a bulk put: Cloudflare's bulk format (`base64` for bytes). */
export interface KvBulkEntry {
  key: string;
  value: string;
  base64?: boolean;
  expiration?: number;
  expiration_ttl?: number;
  metadata?: unknown;
}

const encodeCursor = (key: string) => Buffer.from(key).toString("base64url");

function decodeCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]*$/.test(cursor)) return null;
  const key = Buffer.from(cursor, "base64url").toString("utf8");
  return keyProblem(key) === null ? key : null;
}

const sweepEveryMs = 30_000;
const sweepChunk = 1000;

export class KvPlatform implements BindingPlatform {
  private readonly store: KvStore;
  private readonly node: NodeServices;
  private readonly sweeper: NodeJS.Timeout;

  constructor(store: KvStore, node: NodeServices) {
    this.store = store;
    this.node = node;
    this.sweeper = setInterval(() => void this.sweep(), sweepEveryMs);
    this.sweeper.unref();
  }

  /**
   * Namespaces the calls named lately, for a few seconds: a call looks its namespace up
   * without a store read. One removed on this node is forgotten at once; one removed on
   * another node of a cluster is read from for at most that long (its writes already fail:
   * the store checks the namespace's id).
   */
  private readonly known = new Map<string, { ns: KvNamespace; untilMs: number }>();

  private async namespaceOf(tenant: string, name: string): Promise<KvNamespace | undefined> {
    const key = `${tenant}\n${name}`;
    const now = Date.now();
    const hit = this.known.get(key);
    if (hit !== undefined && hit.untilMs > now) return hit.ns;
    const ns = await this.store.namespace(tenant, name);
    if (ns === undefined) this.known.delete(key);
    else {
      if (this.known.size >= 10_000) this.known.delete(this.known.keys().next().value!);
      this.known.set(key, { ns, untilMs: now + 5000 });
    }
    return ns;
  }

  private get quotaBytes(): number {
    return this.node.options.kvQuotaMiB * 1024 * 1024;
  }

  async storageUsed(tenant: string): Promise<StorageUse> {
    // On a cluster the namespaces live in JetStream: one count for every node.
    return { bytes: (await this.store.usage(tenant)).bytes, quotaBytes: this.quotaBytes, scope: this.node.clustered ? "cluster" : "node" };
  }

  private async sweep(): Promise<void> {
    try {
      while ((await this.store.sweep(Date.now(), sweepChunk)) === sweepChunk);
    } catch (err) {
      process.emitWarning(`flick: KV sweep: ${String(err)}`);
    }
  }

  async checkTarget(tenant: string, _fn: string, binding: string, target: string): Promise<void> {
    if ((await this.store.namespace(tenant, target)) === undefined) {
      throw new FlickError("validation_failed", `kv binding ${binding}: tenant "${tenant}" has no KV namespace "${target}"; create it with \`flick kv create ${target}\``);
    }
  }

  async call(call: Call, tenant: string): Promise<CallResult> {
    const problem = callProblem(call.method, call.strings, call.buffers);
    if (problem !== null) return result(problem, "TypeError");
    const ns = await this.namespaceOf(tenant, call.target);
    if (ns === undefined) return result(`the KV namespace "${call.target}" was removed; create it again (\`flick kv create ${call.target}\`)`);
    const now = Date.now();
    try {
      switch (call.method) {
        case kvContract.get: {
          const [found] = await this.store.get(ns, call.strings, now);
          return found === undefined ? result("", "", ["0", "", ""]) : result("", "", ["1", found.metadata ?? "", found.expiration === null ? "" : String(found.expiration)], [found.value]);
        }
        case kvContract.getMany: {
          const found = await this.store.get(ns, call.strings, now);
          return result("", "", found.flatMap((f) => (f === undefined ? ["0", ""] : ["1", f.metadata ?? ""])), found.map((f) => f?.value ?? new Uint8Array(0)));
        }
        case kvContract.put: {
          const [key, expiration, metadata] = call.strings as [string, string, string];
          await this.store.put(ns, [{ key, value: call.buffers[0]!, metadata: metadata === "" ? null : metadata, expiration: expiration === "" ? null : Number(expiration) }], this.quotaBytes, now);
          return result("");
        }
        case kvContract.delete:
          await this.store.delete(ns, call.strings);
          return result("");
        case kvContract.list: {
          const [prefix, limit, cursor] = call.strings as [string, string, string];
          const after = cursor === "" ? null : decodeCursor(cursor);
          if (after === null && cursor !== "") return result("that cursor did not come from list() of this namespace", "TypeError");
          const page = await this.store.list(ns, prefix, after, Number(limit), now);
          return result("", "", [], [Buffer.from(JSON.stringify(listResult(page)))]);
        }
      }
    } catch (err) {
      if (err instanceof FlickError) return result(err.message);
      throw err;
    }
    return result("unknown method", "TypeError");
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    await this.store.close();
  }

  // — what `flick kv` does, for a tenant the API has resolved —

  async create(tenant: string, name: string): Promise<KvNamespaceInfo> {
    if (!kvNamespacePattern.test(name)) {
      throw new FlickError("validation_failed", `"${name.slice(0, 80)}" cannot name a KV namespace: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
    }
    const ns = await this.store.createNamespace(tenant, name, kvLimits.namespacesPerTenant, Date.now());
    return { tenant, name, createdAtMs: ns.createdAtMs, keys: 0, bytes: 0 };
  }

  async namespaces(tenant: string | undefined): Promise<KvNamespaceInfo[]> {
    return (await this.store.namespaces(tenant)).map((ns) => ({ tenant: ns.tenant, name: ns.name, createdAtMs: ns.createdAtMs, keys: ns.keys, bytes: ns.bytes }));
  }

  async remove(tenant: string, name: string): Promise<void> {
    this.known.delete(`${tenant}\n${name}`);
    if (!(await this.store.removeNamespace(tenant, name))) throw notFound(tenant, name);
  }

  private async existing(tenant: string, name: string): Promise<KvNamespace> {
    const ns = await this.store.namespace(tenant, name);
    if (ns === undefined) throw notFound(tenant, name);
    return ns;
  }

  async keys(tenant: string, name: string, prefix: string, cursor: string | null, limit: number): Promise<ReturnType<typeof listResult>> {
    const ns = await this.existing(tenant, name);
    const problem = prefixProblem(prefix);
    if (problem !== null) throw new FlickError("validation_failed", problem);
    const after = cursor === null ? null : decodeCursor(cursor);
    if (cursor !== null && after === null) throw new FlickError("validation_failed", "that cursor did not come from listing this namespace; start without one");
    return listResult(await this.store.list(ns, prefix, after, Math.min(Math.max(1, limit), kvContract.maxListLimit), Date.now()));
  }

  async get(tenant: string, name: string, key: string): Promise<{ value: Uint8Array; metadata: unknown; expiration: number | null }> {
    const ns = await this.existing(tenant, name);
    checkKey(key);
    const [found] = await this.store.get(ns, [key], Date.now());
    if (found === undefined) throw new FlickError("not_found", `no key "${key.slice(0, 100)}" in KV namespace "${name}"; \`flick kv ls ${name}\` lists its keys`);
    return { value: found.value, metadata: found.metadata === null ? null : JSON.parse(found.metadata), expiration: found.expiration };
  }

  async put(tenant: string, name: string, entries: readonly KvBulkEntry[]): Promise<number> {
    const ns = await this.existing(tenant, name);
    if (entries.length > kvLimits.bulkEntries) throw new FlickError("validation_failed", `a bulk put takes at most ${kvLimits.bulkEntries} entries; split the file`);
    const now = Date.now();
    const checked: KvEntry[] = entries.map((e, i) => {
      const where = entries.length === 1 ? "" : `entry ${i} ("${String(e.key).slice(0, 40)}"): `;
      checkKey(e.key, where);
      const value = e.base64 === true ? Buffer.from(e.value, "base64") : Buffer.from(e.value);
      const tooBig = valueProblem(value.byteLength);
      if (tooBig !== null) throw new FlickError("payload_too_large", where + tooBig);
      const expiration = expirationOf(e.expiration, e.expiration_ttl, now);
      if (typeof expiration === "string") throw new FlickError("validation_failed", where + expiration);
      let metadata: string | null = null;
      if (e.metadata !== undefined && e.metadata !== null) {
        metadata = JSON.stringify(e.metadata);
        const problem = metadataProblem(metadata);
        if (problem !== null) throw new FlickError("validation_failed", where + problem);
      }
      return { key: e.key, value, metadata, expiration };
    });
    await this.store.put(ns, checked, this.quotaBytes, now);
    return checked.length;
  }

  async delete(tenant: string, name: string, keys: readonly string[]): Promise<void> {
    const ns = await this.existing(tenant, name);
    if (keys.length > kvLimits.bulkEntries) throw new FlickError("validation_failed", `a bulk delete takes at most ${kvLimits.bulkEntries} keys; split the file`);
    for (const key of keys) checkKey(key);
    await this.store.delete(ns, keys);
  }
}

function checkKey(key: unknown, where = ""): asserts key is string {
  if (typeof key !== "string") throw new FlickError("validation_failed", `${where}a key is a string`);
  const problem = keyProblem(key);
  if (problem !== null) throw new FlickError("validation_failed", where + problem);
}

function notFound(tenant: string, name: string): FlickError {
  return new FlickError("kv_namespace_not_found", `tenant "${tenant}" has no KV namespace "${name.slice(0, 80)}"; \`flick kv ls\` lists them, \`flick kv create ${name.slice(0, 80)}\` makes one`);
}

/** A page of keys as Workers KV's `list()` answers it. */
function listResult(page: { keys: { name: string; expiration: number | null; metadata: string | null }[]; complete: boolean }) {
  const keys = page.keys.map((k) => ({
    name: k.name,
    ...(k.expiration === null ? {} : { expiration: k.expiration }),
    ...(k.metadata === null ? {} : { metadata: JSON.parse(k.metadata) as unknown }),
  }));
  const last = page.keys[page.keys.length - 1];
  return { keys, list_complete: page.complete, ...(page.complete || last === undefined ? {} : { cursor: encodeCursor(last.name) }), cacheStatus: null };
}

export const kvPlatform: BindingPlatformKind = {
  kind: kvContract.kind,
  // In a cluster, JetStream (every node shares it); the NATS client loads only then.
  open: async (node) => {
    if (node.nats === undefined) return new KvPlatform(new SqliteKv(node.dataDir), node);
    const { JetStreamKv } = await import("./jetstream-kv.ts");
    return new KvPlatform(await JetStreamKv.open(node.nats.connection, { replicas: node.nats.replicas }), node);
  },
};
