/**
 * Metered usage and the dashboard's rollups (store.ts `MeterStore`) in JetStream KV,
 * replicated. Every node adds up its own numbers under keys only it writes:
 *
 *   usage.<tenant>.<function>.<hour start>.<node>
 *   m.<tenant>.<function>.<minute start>.<node>   (rollups per minute)
 *   h.<tenant>.<function>.<hour start>.<node>     (rollups per hour)
 *
 * So nodes never contend for a key, and a read adds the nodes' rows up. A key's change is
 * an `update` at the revision read (`create` for a new one): a second writer under the same
 * node name (a misconfiguration) costs a retry, never a lost count.
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { UsageRow } from "../model/index.ts";
import { addRollup, addUsage, rollupRetention, type MeterStore, type RollupQuery, type RollupRow, type UsageQuery } from "../store/index.ts";
import { openKv } from "./buckets.ts";
import { keysOf } from "./kv-keys.ts";
import { storeUnavailable } from "./store-unavailable.ts";

export interface KvMeterStoreOptions {
  /** This node's name (`flick up --node-name`): the last part of every key it writes. */
  node: string;
  replicas?: number;
  /** The bucket's name (default "flick-meter"). */
  bucket?: string;
}

const minuteMs = 60_000;
const hourMs = 3_600_000;

type Key = { tenant: string; function: string; startMs: number };

function keyParts(key: string): Key | undefined {
  const [, tenant, fn, start] = key.split(".");
  const startMs = Number(start);
  return tenant === undefined || fn === undefined || !Number.isSafeInteger(startMs) ? undefined : { tenant, function: fn, startMs };
}

const conflict = (err: unknown) => /wrong last sequence|key exists/i.test(String(err));
const byStart = <T extends { startMs?: number; hourMs?: number; tenant: string; function: string }>(a: T, b: T) =>
  (a.startMs ?? a.hourMs ?? 0) - (b.startMs ?? b.hourMs ?? 0) || a.tenant.localeCompare(b.tenant) || a.function.localeCompare(b.function);

export class KvMeterStore implements MeterStore {
  private readonly kv: KV;
  private readonly node: string;
  /** Adds run one at a time: each reads, adds and writes keys another add may also touch. */
  private adding: Promise<void> = Promise.resolve();

  private constructor(kv: KV, node: string) {
    this.kv = kv;
    this.node = node;
  }

  static async open(nc: NatsConnection, options: KvMeterStoreOptions): Promise<KvMeterStore> {
    const kv = await openKv(nc, options.bucket ?? "flick-meter", { replicas: options.replicas ?? 3, history: 1, allow_direct: false });
    return new KvMeterStore(kv, options.node);
  }

  async addUsage(rows: readonly UsageRow[]): Promise<void> {
    const sums = new Map<string, UsageRow>();
    for (const r of rows) {
      const key = `usage.${r.tenant}.${r.function}.${r.hourMs}.${this.node}`;
      const sum = sums.get(key);
      if (sum === undefined) sums.set(key, { ...r });
      else addUsage(sum, r);
    }
    await this.add(sums, addUsage);
  }

  async readUsage(query: UsageQuery): Promise<UsageRow[]> {
    const rows = await this.read<UsageRow>(`usage.${query.tenant ?? "*"}.*.*.*`, (k) => k.startMs >= query.sinceMs && k.startMs < query.untilMs, addUsage);
    return rows.sort(byStart);
  }

  async addRollups(rows: readonly RollupRow[]): Promise<void> {
    const sums = new Map<string, RollupRow>();
    for (const r of rows) {
      const hour = r.startMs - (r.startMs % hourMs);
      for (const [prefix, startMs] of [["m", r.startMs - (r.startMs % minuteMs)], ["h", hour]] as const) {
        const key = `${prefix}.${r.tenant}.${r.function}.${startMs}.${this.node}`;
        const sum = sums.get(key);
        if (sum === undefined) sums.set(key, { ...r, startMs, durations: [...r.durations] });
        else addRollup(sum, r);
      }
    }
    await this.add(sums, addRollup);
  }

  async readRollups(query: RollupQuery): Promise<RollupRow[]> {
    const prefix = query.resolution === "minute" ? "m" : "h";
    const filter = `${prefix}.${query.tenant ?? "*"}.${query.function ?? "*"}.*.*`;
    const rows = await this.read<RollupRow>(filter, (k) => k.startMs >= query.sinceMs && k.startMs < query.untilMs, addRollup);
    return rows.sort(byStart);
  }

  async pruneRollups(nowMs: number): Promise<void> {
    await storeUnavailable("pruning rollups", async () => {
      for (const [prefix, keepMs] of [["m", rollupRetention.minuteMs], ["h", rollupRetention.hourMs]] as const) {
        for (const key of await keysOf(this.kv, `${prefix}.>`)) {
          const k = keyParts(key);
          if (k !== undefined && k.startMs < nowMs - keepMs) await this.kv.purge(key);
        }
      }
    });
  }

  /** Nothing to release: the connection is its owner's to close. */
  async close(): Promise<void> {}

  /** Adds each row to what its key holds, this node's keys only. */
  private add<R extends object>(sums: Map<string, R>, into: (sum: R, add: R) => void): Promise<void> {
    if (sums.size === 0) return Promise.resolve();
    const run = this.adding.then(() => storeUnavailable("metered usage", async () => {
      for (const [key, row] of sums) {
        for (;;) {
          const entry = await this.kv.get(key);
          const held = entry !== null && entry.operation === "PUT" ? entry.json<R>() : undefined;
          const next = held === undefined ? row : (into(held, row), held);
          try {
            if (held === undefined) await this.kv.create(key, JSON.stringify(next));
            else await this.kv.update(key, JSON.stringify(next), entry!.revision);
            break;
          } catch (err) {
            if (!conflict(err)) throw err;
          }
        }
      }
    }));
    this.adding = run.catch(() => undefined);
    return run;
  }

  /** The rows under `filter` whose key passes `keep`, every node's added up per (tenant, function, start). */
  private read<R extends object>(filter: string, keep: (k: Key) => boolean, into: (sum: R, add: R) => void): Promise<R[]> {
    return storeUnavailable("metered usage", async () => {
      const sums = new Map<string, R>();
      for (const key of await keysOf(this.kv, filter)) {
        const k = keyParts(key);
        if (k === undefined || !keep(k)) continue;
        const entry = await this.kv.get(key);
        if (entry === null || entry.operation !== "PUT") continue;
        const row = entry.json<R>();
        const id = key.slice(0, key.lastIndexOf("."));
        const sum = sums.get(id);
        if (sum === undefined) sums.set(id, row);
        else into(sum, row);
      }
      return [...sums.values()];
    });
  }
}
