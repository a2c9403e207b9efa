/**
 * The registry (store.ts `Registry`) in JetStream KV, replicated: what every node of a
 * cluster reads and watches. Buckets (`<prefix>-…`):
 *
 * - `registry`: `tenant.<name>`, `fn.<name>`, `prov.<tenant>` and `meta.sealing-key`, in
 *   one bucket so that one watch sees tenants and functions in commit order, and a
 *   function's `revision` (the entry's revision, growing across the bucket) orders them.
 * - `versions`: `<function>.<version id>` (content-addressed: a version never changes).
 * - `tokens`: the token's SHA-256.
 *
 * Every write is checked by JetStream, not by a lock: a new name or tenant is `create`
 * (fails if the key exists: of two tenants taking one name, the second gets `name_taken`),
 * a change is `update` at the revision it read (fails if anyone wrote since: read again and
 * retry). Provisioned quotas are counted in `prov.<tenant>` (instances and memory), changed
 * the same way before the function is, so two writes of one tenant cannot both pass a check
 * that only one fits; a node that dies between the two leaves the count high (it errs on
 * the side of refusing); there is no recount yet (docs/cluster.md, "Known gaps").
 *
 * Reads go to each stream's leader (no direct gets from replicas): after a write, a read
 * on any node sees it. NATS unreachable or without quorum: `store_unavailable`.
 */
import type { KV, KvEntry } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { FlickError } from "../errors/index.ts";
import { defaultScale, type FunctionRecord, type ScaleSettings, type TenantRecord, type TokenRecord, type TrafficShare, type VersionRecord } from "../model/index.ts";
import { openKv } from "./buckets.ts";
import { keysOf } from "./kv-keys.ts";
import { storeUnavailable as unavailable } from "./store-unavailable.ts";
import { checkProvisioned, type ProvisionedUsage, type Registry, type RegistryChange, type TenantChange, type TenantQuotas } from "../store/index.ts";

export interface KvRegistryOptions {
  /** Copies of each bucket (default 3: R3 on a three-server cluster). */
  replicas?: number;
  /** Bucket names' prefix (default "flick"). */
  prefix?: string;
  /** The node-wide provisioned quotas, where a tenant has none of its own. */
  quotas: Pick<TenantQuotas, "maxProvisioned" | "maxProvisionedMemoryMiB">;
}

type Provisioned = { instances: number; memoryMiB: number };

const json = (value: unknown) => JSON.stringify(value);
const parse = <T>(entry: KvEntry | null): T | undefined => (entry === null || entry.operation !== "PUT" ? undefined : (entry.json<T>()));

/** A tenant as the registry holds it: every limit named, null where the node's default applies. */
function tenantOf(t: TenantRecord): TenantRecord {
  return {
    name: t.name, createdAtMs: t.createdAtMs, concurrency: t.concurrency ?? null, maxProvisioned: t.maxProvisioned ?? null,
    maxProvisionedMemoryMiB: t.maxProvisionedMemoryMiB ?? null, maxQueueMessages: t.maxQueueMessages ?? null, maxQueueMiB: t.maxQueueMiB ?? null,
  };
}

/** Whether an error says the key was not at the revision the write expected (someone wrote since, or it exists). */
const conflict = (err: unknown) => /wrong last sequence|key exists/i.test(String(err));

/** What a function adds to its tenant's provisioned instances and memory. */
function reserves(fn: FunctionRecord | undefined, version: VersionRecord | undefined): Provisioned {
  const min = fn?.scale?.minInstances ?? 0;
  return { instances: min, memoryMiB: min * (version?.settings.memoryMiB ?? 0) };
}

export class KvRegistry implements Registry {
  private readonly registry: KV;
  private readonly versions: KV;
  private readonly tokens: KV;
  private readonly quotas: KvRegistryOptions["quotas"];
  private readonly stops = new Set<() => void>();

  private constructor(registry: KV, versions: KV, tokens: KV, quotas: KvRegistryOptions["quotas"]) {
    this.registry = registry;
    this.versions = versions;
    this.tokens = tokens;
    this.quotas = quotas;
  }

  static async open(nc: NatsConnection, options: KvRegistryOptions): Promise<KvRegistry> {
    const prefix = options.prefix ?? "flick";
    // history 1: the current value is what matters; allow_direct off: reads see the writes before them.
    const bucket = (name: string) => openKv(nc, `${prefix}-${name}`, { replicas: options.replicas ?? 3, history: 1, allow_direct: false });
    const [registry, versions, tokens] = await Promise.all([bucket("registry"), bucket("versions"), bucket("tokens")]);
    return new KvRegistry(registry, versions, tokens, options.quotas);
  }

  // — tenants and tokens —

  async createTenant(tenant: TenantRecord, token?: TokenRecord): Promise<void> {
    // The tenant first: a token is never stored for a tenant that does not exist (another
    // could take the name later and find a stranger's token in it).
    await unavailable(`tenant "${tenant.name}"`, async () => {
      try {
        await this.registry.create(`tenant.${tenant.name}`, json(tenantOf(tenant)));
      } catch (err) {
        if (conflict(err)) throw new FlickError("tenant_exists", `tenant "${tenant.name}" already exists`);
        throw err;
      }
      if (token !== undefined) await this.tokens.create(token.hash, json(token));
    });
  }

  async getTenant(name: string): Promise<TenantRecord | undefined> {
    return unavailable(`tenant "${name}"`, async () => {
      const tenant = parse<TenantRecord>(await this.registry.get(`tenant.${name}`));
      return tenant === undefined ? undefined : tenantOf(tenant);
    });
  }

  async listTenants(): Promise<TenantRecord[]> {
    const tenants = await this.all<TenantRecord>(this.registry, "tenant.>");
    return tenants.map(tenantOf).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async updateTenant(name: string, change: TenantChange): Promise<TenantRecord | undefined> {
    return unavailable(`the change of tenant "${name}"`, () => this.retrying(async () => {
      const entry = await this.registry.get(`tenant.${name}`);
      const current = parse<TenantRecord>(entry);
      if (current === undefined) return undefined;
      const next = tenantOf({ ...current, ...change });
      await this.registry.update(`tenant.${name}`, json(next), entry!.revision);
      return next;
    }));
  }

  async provisioned(tenant: string): Promise<ProvisionedUsage> {
    return unavailable(`tenant "${tenant}"`, async () => ({ ...(await this.provisionedEntry(tenant)).count, ...(await this.quotasOf(tenant)) }));
  }

  async addToken(token: TokenRecord): Promise<void> {
    await unavailable("the token", () => this.tokens.create(token.hash, json(token)));
  }

  async tokenByHash(hash: string): Promise<TokenRecord | undefined> {
    if (!/^[A-Za-z0-9_=-]+$/.test(hash)) return undefined;
    return unavailable("a token", async () => parse<TokenRecord>(await this.tokens.get(hash)));
  }

  async sealingKey(fingerprint?: string): Promise<string | undefined> {
    return unavailable("the sealing key's fingerprint", async () => {
      if (fingerprint !== undefined) {
        try {
          await this.registry.create("meta.sealing-key", fingerprint);
        } catch (err) {
          if (!conflict(err)) throw err;
        }
      }
      const entry = await this.registry.get("meta.sealing-key");
      return entry === null || entry.operation !== "PUT" ? undefined : entry.string();
    });
  }

  // — functions and versions —

  async deploy(fn: FunctionRecord, version: VersionRecord): Promise<FunctionRecord> {
    return unavailable(`the deploy of "${fn.name}"`, async () => {
      // The version goes in once the name is known to be this tenant's, and comes out
      // again if the deploy fails after all (the name lost to a race, a quota): a refused
      // deploy stores nothing.
      let added = false;
      try {
        return await this.retrying(async () => {
          const entry = await this.registry.get(`fn.${fn.name}`);
          const current = parse<FunctionRecord>(entry);
          if (current !== undefined && current.tenant !== fn.tenant) {
            throw new FlickError("name_taken", `the name "${fn.name}" is taken by another tenant; pick another name`);
          }
          if (!added && (await this.getVersion(fn.name, version.id)) === undefined) {
            try {
              await this.versions.create(`${version.function}.${version.id}`, json(version));
              added = true;
            } catch (err) {
              if (!conflict(err)) throw err;
            }
          }
          return await this.pointAt(fn, version, entry, current);
        });
      } catch (err) {
        if (added) await this.versions.purge(`${version.function}.${version.id}`).catch(() => undefined);
        throw err;
      }
    });
  }

  /** The deploy's write of the function record, once its version is stored. */
  private async pointAt(fn: FunctionRecord, version: VersionRecord, entry: KvEntry | null, current: FunctionRecord | undefined): Promise<FunctionRecord> {
    // The owner's scale stays with the function; the deploy brings the rest.
    const { revision: _r, scale: _s, ...given } = fn;
    const next: FunctionRecord = { ...given, ...(current?.scale === undefined ? {} : { scale: current.scale }) };
    if (current === undefined) {
      try {
        return { ...next, revision: await this.registry.create(`fn.${fn.name}`, json(next)) };
      } catch (err) {
        // Taken meanwhile, by another tenant or by this one: read again.
        if (conflict(err)) throw new Retry();
        throw err;
      }
    }
    const liveBefore = await this.getVersion(fn.name, current.liveVersion);
    const liveAfter = next.liveVersion === version.id ? version : await this.getVersion(fn.name, next.liveVersion);
    return this.changeFunction(entry!.revision, current, next, liveBefore, liveAfter);
  }

  async setLiveVersion(name: string, tenant: string, versionId: string, nowMs: number, traffic?: TrafficShare[]): Promise<FunctionRecord | undefined> {
    return unavailable(`the traffic change of "${name}"`, () => this.retrying(async () => {
      const entry = await this.registry.get(`fn.${name}`);
      const current = parse<FunctionRecord>(entry);
      if (current === undefined || current.tenant !== tenant) return undefined;
      for (const v of [versionId, ...(traffic ?? []).map((t) => t.version)]) if ((await this.getVersion(name, v)) === undefined) return undefined;
      const { revision: _r, traffic: _t, ...rest } = current;
      const next: FunctionRecord = { ...rest, liveVersion: versionId, updatedAtMs: nowMs, ...(traffic === undefined ? {} : { traffic }) };
      return this.changeFunction(entry!.revision, current, next, await this.getVersion(name, current.liveVersion), await this.getVersion(name, versionId));
    }));
  }

  async setScale(name: string, tenant: string, change: Partial<ScaleSettings>, nowMs: number): Promise<{ fn: FunctionRecord; version: VersionRecord } | undefined> {
    return unavailable(`the scale of "${name}"`, () => this.retrying(async () => {
      const entry = await this.registry.get(`fn.${name}`);
      const current = parse<FunctionRecord>(entry);
      if (current === undefined || current.tenant !== tenant) return undefined;
      const version = await this.getVersion(name, current.liveVersion);
      if (version === undefined) return undefined;
      const { revision: _r, ...rest } = current;
      const next: FunctionRecord = { ...rest, scale: { ...defaultScale, ...current.scale, ...change }, updatedAtMs: nowMs };
      return { fn: await this.changeFunction(entry!.revision, current, next, version, version), version };
    }));
  }

  async getFunction(name: string): Promise<FunctionRecord | undefined> {
    return unavailable(`function "${name}"`, async () => {
      const entry = await this.registry.get(`fn.${name}`);
      const fn = parse<FunctionRecord>(entry);
      return fn === undefined ? undefined : { ...fn, revision: entry!.revision };
    });
  }

  async listFunctions(tenant?: string): Promise<FunctionRecord[]> {
    const all = await this.all<FunctionRecord>(this.registry, "fn.>", true);
    return all.filter((f) => tenant === undefined || f.tenant === tenant).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async getVersion(fn: string, id: string): Promise<VersionRecord | undefined> {
    if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
    return unavailable(`version ${id} of "${fn}"`, async () => parse<VersionRecord>(await this.versions.get(`${fn}.${id}`)));
  }

  async listVersions(fn: string): Promise<VersionRecord[]> {
    const versions = await this.all<VersionRecord>(this.versions, `${fn}.*`);
    return versions.sort((a, b) => b.createdAtMs - a.createdAtMs);
  }

  async removeFunction(name: string, tenant: string): Promise<boolean> {
    return unavailable(`the removal of "${name}"`, () => this.retrying(async () => {
      const entry = await this.registry.get(`fn.${name}`);
      const current = parse<FunctionRecord>(entry);
      if (current === undefined || current.tenant !== tenant) return false;
      const live = await this.getVersion(name, current.liveVersion);
      await this.reserve(tenant, reserves(current, live), { instances: 0, memoryMiB: 0 });
      try {
        await this.registry.delete(`fn.${name}`, { previousSeq: entry!.revision });
      } catch (err) {
        await this.reserve(tenant, { instances: 0, memoryMiB: 0 }, reserves(current, live));
        throw err;
      }
      for (const key of await keysOf(this.versions, `${name}.*`)) await this.versions.purge(key);
      return true;
    }));
  }

  async watch(listener: (change: RegistryChange) => void): Promise<() => void> {
    let entries = await unavailable("watching the registry", () => this.registry.watch({ include: "updates" }));
    let stopped = false;
    void (async () => {
      for (;;) {
        try {
          for await (const entry of entries) {
            const dot = entry.key.indexOf(".");
            const kind = entry.key.slice(0, dot);
            if (kind === "fn") listener({ kind: "function", name: entry.key.slice(dot + 1) });
            else if (kind === "tenant") listener({ kind: "tenant", name: entry.key.slice(dot + 1) });
          }
        } catch {
          // The watch broke (its consumer was on a NATS server that went away, and could
          // not be made again in time). Watched again below, from every key's last value,
          // so whatever changed in between is heard.
        }
        if (stopped) return;
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          if (stopped) return;
          try {
            entries = await this.registry.watch();
            break;
          } catch {}
        }
      }
    })();
    const unwatch = () => {
      stopped = true;
      entries.stop();
      this.stops.delete(unwatch);
    };
    this.stops.add(unwatch);
    return unwatch;
  }

  /** Stops the watches; the connection is its owner's to close. */
  async close(): Promise<void> {
    for (const stop of [...this.stops]) stop();
  }

  // — inside —

  /**
   * Writes `next` over `current` (read at `revision`), with the tenant's provisioned count
   * moved first by what the change adds or frees. A write that lost a race gives back what
   * it took and is tried again (`Retry`).
   */
  private async changeFunction(revision: number, current: FunctionRecord, next: FunctionRecord, liveBefore: VersionRecord | undefined, liveAfter: VersionRecord | undefined): Promise<FunctionRecord> {
    const before = reserves(current, liveBefore);
    const after = reserves(next, liveAfter);
    await this.reserve(next.tenant, before, after);
    try {
      return { ...next, revision: await this.registry.update(`fn.${next.name}`, json(next), revision) };
    } catch (err) {
      await this.reserve(next.tenant, after, before);
      if (conflict(err)) throw new Retry();
      throw err;
    }
  }

  /**
   * Moves the tenant's provisioned count from `before` to `after` (one function's part),
   * refusing with `quota_exceeded` a move that takes it past a quota. Checked and written at
   * one revision of `prov.<tenant>`: of two moves at once, the second reads the first's.
   */
  private async reserve(tenant: string, before: Provisioned, after: Provisioned): Promise<void> {
    if (before.instances === after.instances && before.memoryMiB === after.memoryMiB) return;
    for (;;) {
      const { count, revision } = await this.provisionedEntry(tenant);
      const next = { instances: count.instances - before.instances + after.instances, memoryMiB: count.memoryMiB - before.memoryMiB + after.memoryMiB };
      const quotas = await this.quotasOf(tenant);
      checkProvisioned(tenant, { ...count, ...quotas }, { ...next, ...quotas });
      try {
        if (revision === 0) await this.registry.create(`prov.${tenant}`, json(next));
        else await this.registry.update(`prov.${tenant}`, json(next), revision);
        return;
      } catch (err) {
        if (!conflict(err)) throw err;
      }
    }
  }

  private async provisionedEntry(tenant: string): Promise<{ count: Provisioned; revision: number }> {
    const entry = await this.registry.get(`prov.${tenant}`);
    const count = parse<Provisioned>(entry);
    return count === undefined ? { count: { instances: 0, memoryMiB: 0 }, revision: 0 } : { count, revision: entry!.revision };
  }

  /** The tenant's provisioned quotas: its own, else the node-wide ones. */
  private async quotasOf(tenant: string): Promise<Pick<ProvisionedUsage, "maxInstances" | "maxMemoryMiB">> {
    const record = await this.getTenant(tenant);
    return {
      maxInstances: record?.maxProvisioned ?? this.quotas.maxProvisioned,
      maxMemoryMiB: record?.maxProvisionedMemoryMiB ?? this.quotas.maxProvisionedMemoryMiB,
    };
  }

  /** Runs `work` again while it loses races (`Retry`): each run reads what it changes afresh. */
  private async retrying<T>(work: () => Promise<T>): Promise<T> {
    for (;;) {
      try {
        return await work();
      } catch (err) {
        if (!(err instanceof Retry)) throw err;
      }
    }
  }

  /** Every current value under `filter`; `withRevision`: as function records, with their revisions. */
  private async all<T>(kv: KV, filter: string, withRevision = false): Promise<T[]> {
    return unavailable("a listing", async () => {
      const out: T[] = [];
      for (const key of await keysOf(kv, filter)) {
        const entry = await kv.get(key);
        const value = parse<T>(entry);
        if (value !== undefined) out.push(withRevision ? { ...value, revision: entry!.revision } : value);
      }
      return out;
    });
  }
}

/** A write lost a race: read again and retry. */
class Retry extends Error {}
