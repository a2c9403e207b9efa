/**
 * The async queue (store/queue-store.ts `QueueStore`) in JetStream, replicated and shared by
 * every node of a cluster:
 *
 * - **Work**: stream `<P>_ASYNC`, work-queue retention, subjects `<prefix>.async.<tenant>.<function>`.
 *   An enqueue is acknowledged only once JetStream acknowledged its publish (a majority
 *   stored it). Each tenant has a durable pull consumer; a claim takes from them round robin
 *   (least recently served tenant first), so one tenant's backlog delays another's events by
 *   at most one round, as the embedded queue does. A claimed message stays unacknowledged
 *   while it runs: its ack wait is the lease, in-progress acks extend it, and a node that
 *   dies leaves messages JetStream delivers again once their ack wait ends. A message
 *   delivered `maxDeliveries` times without an end (it stops whichever node runs it) is
 *   dead-lettered.
 * - **Retries** are a new work message with the attempts so far, then the old one's ack: a
 *   node lost between the two runs the attempt again (at least once, never zero). A message
 *   not due yet stays with the node that pulled it if due within `holdMs` (kept alive with
 *   in-progress acks), or goes back to JetStream with a delayed negative ack.
 * - **Records** (`flick invocations`): KV `<prefix>-invocations`, key `<function>.<id>`, each
 *   change an `update` at the revision this node last wrote. A node that lost its lease finds
 *   the record moved on and leaves the invocation to whoever holds it now.
 * - **Dead letters**: stream `<P>_DEAD` (`<prefix>.dead.<tenant>.<function>`), and the record.
 * - **Idempotency keys**: KV `<prefix>-idempotency` (max age: the window and an hour),
 *   `create` so the first enqueue of a key wins across nodes.
 * - **Quotas and cron state**: KV `<prefix>-queue-meta`: `usage.<tenant>` (messages and bytes
 *   queued or running, changed at the revision read: concurrent enqueues on several nodes
 *   never pass a quota together) and `cron.<function>.<expression hash>`.
 *
 * Known gaps (docs/cluster.md): listings, counts and the backlog read every record of what
 * they cover; a node killed between changing a tenant's usage and publishing leaves the
 * usage high until a recount (none yet).
 */
import { createHash } from "node:crypto";
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, RetentionPolicy, type JetStreamClient, type JetStreamManager, type PubAck } from "@nats-io/jetstream";
import type { KV, KvEntry } from "@nats-io/kv";
import type { Msg, NatsConnection } from "@nats-io/transport-node";
import type { InvocationRecord, InvocationStatus } from "../model/index.ts";
import {
  queueFullError, type EnqueueOptions, type EnqueueResult, type Enqueued, type Finish, type NewInvocation, type QueueCounts, type QueueQuota, type QueueStore, type QueueUsage,
} from "../store/index.ts";
import { ensureStream, openKv, ready } from "./buckets.ts";
import { keysOf, removeKeys } from "./kv-keys.ts";
import { decode, decodeRecord, encode, encodeRecord, firstState, publicRecord, queuedRecord, stateOf, type StoredRecord, type WorkState } from "./invocation-codec.ts";
import { storeUnavailable } from "./store-unavailable.ts";
import { ack, deliveryOf, giveBack, inProgress, pullNow } from "./work-messages.ts";

export interface JetStreamQueueOptions {
  replicas?: number;
  /** Names' prefix (default "flick"): buckets `<prefix>-…`, streams `<PREFIX>_…`, subjects `<prefix>.…`. */
  prefix?: string;
  /** A claimed invocation's lease: the consumers' ack wait, ms. */
  leaseMs: number;
  /** How long an idempotency key is remembered (the documented 24 h), ms. */
  idempotencyWindowMs: number;
  /** A message not due yet stays on the node that pulled it when due within this, ms (default 30 s). */
  holdMs?: number;
  /** Deliveries without an end before a message is dead-lettered (default 10). */
  maxDeliveries?: number;
}

/** A message this node has pulled and not yet ended. */
interface Delivery {
  ackSubject: string;
  seq: number;
  deliveries: number;
  state: WorkState;
  payload: Uint8Array;
}

/** A delivery that runs here: its record as last written, at that revision. */
interface Running extends Delivery {
  record: StoredRecord;
  revision: number;
}

type Usage = { messages: number; bytes: number };
/** An item of an enqueue: new, a repeat of `firstId`, or `recovered` (see `plan`). */
type Plan = { item: NewInvocation; firstId?: string; recovered: boolean; keyEntry?: { revision: number; uses: KeyUse[] } | null };
type KeyUse = { id: string; atMs: number };

const conflict = (err: unknown) => /wrong last sequence|key exists/i.test(String(err));
const hash = (text: string, length = 32) => createHash("sha256").update(text).digest("hex").slice(0, length);
const usageOf = (entry: KvEntry | null): Usage => (entry === null || entry.operation !== "PUT" || entry.value.byteLength === 0 ? { messages: 0, bytes: 0 } : entry.json<Usage>());

export class JetStreamQueue implements QueueStore {
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly records: KV;
  private readonly meta: KV;
  private readonly keys: KV;
  private readonly prefix: string;
  private readonly workStream: string;
  private readonly deadStream: string;
  private readonly o: Required<JetStreamQueueOptions>;
  private readonly held = new Map<string, Delivery>();
  private readonly running = new Map<string, Running>();
  private readonly consumers = new Set<string>();
  /** Tenants with work, and the claim round each was last served in (round robin). */
  private readonly served = new Map<string, number>();
  private round = 0;
  private tenantsReadAt = 0;
  private readonly keepAlive: NodeJS.Timeout;
  /** Enqueues, and claims, run one at a time on this node: each reads, decides and writes. */
  private enqueuing: Promise<unknown> = Promise.resolve();
  private claiming: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Told when an enqueue on any node added work (poke the dispatcher). */
  onNewWork: (() => void) | undefined;
  private readonly notify: { unsubscribe(): void };

  private constructor(nc: NatsConnection, jsm: JetStreamManager, buckets: { records: KV; meta: KV; keys: KV }, options: Required<JetStreamQueueOptions>) {
    this.nc = nc;
    this.js = jetstream(nc);
    this.jsm = jsm;
    this.records = buckets.records;
    this.meta = buckets.meta;
    this.keys = buckets.keys;
    this.o = options;
    this.prefix = options.prefix;
    const upper = options.prefix.toUpperCase().replace(/[^A-Z0-9]/g, "_");
    this.workStream = `${upper}_ASYNC`;
    this.deadStream = `${upper}_DEAD`;
    // What this node holds un-run (not due yet) stays its own: the ack wait starts again.
    this.keepAlive = setInterval(() => {
      for (const d of this.held.values()) inProgress(this.nc, d.ackSubject);
    }, Math.max(100, Math.floor(options.leaseMs / 3)));
    this.keepAlive.unref();
    this.notify = nc.subscribe(`${this.prefix}.async-added`, { callback: () => this.onNewWork?.() });
  }

  static async open(nc: NatsConnection, options: JetStreamQueueOptions): Promise<JetStreamQueue> {
    const o: Required<JetStreamQueueOptions> = { replicas: 3, prefix: "flick", holdMs: 30_000, maxDeliveries: 10, ...options };
    const upper = o.prefix.toUpperCase().replace(/[^A-Z0-9]/g, "_");
    const jsm = await ready("JetStream", () => jetstreamManager(nc));
    const kv = (name: string, extra: object = {}) => openKv(nc, `${o.prefix}-${name}`, { replicas: o.replicas, history: 1, allow_direct: false, ...extra });
    const [records, meta, keys] = await Promise.all([
      kv("invocations"),
      kv("queue-meta"),
      kv("idempotency", { ttl: o.idempotencyWindowMs + 3_600_000 }),
      ensureStream(jsm, { name: `${upper}_ASYNC`, subjects: [`${o.prefix}.async.>`], retention: RetentionPolicy.Workqueue, num_replicas: o.replicas, duplicate_window: 120_000_000_000 }),
      ensureStream(jsm, { name: `${upper}_DEAD`, subjects: [`${o.prefix}.dead.>`], retention: RetentionPolicy.Limits, num_replicas: o.replicas, max_age: 30 * 86_400_000_000_000 }),
    ]);
    return new JetStreamQueue(nc, jsm, { records, meta, keys }, o);
  }

  // — names —

  private subject(tenant: string, fn: string): string {
    return `${this.prefix}.async.${tenant}.${fn}`;
  }

  private recordKey(fn: string, id: string): string {
    return `${fn}.${id}`;
  }

  // — enqueue —

  enqueue(groups: readonly (readonly NewInvocation[])[], options: EnqueueOptions): Promise<EnqueueResult[]> {
    const work = this.enqueuing.then(() => this.enqueueNow(groups, options));
    this.enqueuing = work.catch(() => undefined);
    return work;
  }

  private async enqueueNow(groups: readonly (readonly NewInvocation[])[], options: EnqueueOptions): Promise<EnqueueResult[]> {
    return storeUnavailable("queueing an async invocation", async () => {
      // 1. Which items are new, and which repeat an idempotency key (within this call too).
      // Every key's entry read at once; then the items in order (a key twice in the call: the first wins).
      const entries = new Map<string, KvEntry | null>();
      await Promise.all([...new Set(groups.flat().filter((i) => i.idempotencyKey !== null).map((i) => this.idemKey(i)))].map(async (key) => {
        entries.set(key, await this.keys.get(key));
      }));
      const seen = new Map<string, string>();
      const plans: Plan[][] = [];
      for (const group of groups) {
        const planned: Plan[] = [];
        for (const item of group) planned.push(await this.plan(item, seen, entries, options.idempotencySinceMs));
        plans.push(planned);
      }
      // 2. Room, against each tenant's usage, changed at the revision read.
      const { results, accepted } = await this.reserve(plans, options.quotaOf);
      // 3. Keys: the first enqueue of a key, on any node, wins it.
      // Distinct keys (repeats within the call were settled above), so taken all at once.
      const winners = new Map<Plan, string>();
      await Promise.all(accepted.flatMap(([, group]) => group).filter((p) => p.firstId === undefined && !p.recovered && p.item.idempotencyKey !== null).map(async (p) => {
        winners.set(p, await this.takeKey(p.item, p.keyEntry ?? null, options.idempotencySinceMs));
      }));
      const toPublish: { item: NewInvocation; recovered: boolean }[] = [];
      const released = new Map<string, Usage>();
      for (const [gi, group] of accepted) {
        const items: Enqueued[] = [];
        for (const p of group) {
          if (p.firstId !== undefined) items.push({ id: p.firstId, duplicate: true });
          else if (p.recovered) {
            items.push({ id: p.item.id, duplicate: true });
            toPublish.push({ item: p.item, recovered: true });
          } else {
            const winner = winners.get(p) ?? p.item.id;
            items.push({ id: winner, duplicate: winner !== p.item.id });
            if (winner === p.item.id) toPublish.push({ item: p.item, recovered: false });
            else addTo(released, p.item.tenant, p.item);
          }
        }
        results[gi] = { ok: true, items };
      }
      // 4. Durable: JetStream acknowledged every publish (a majority stored it). A recovered
      //    one goes under its first id: if that one did get stored, JetStream drops this copy.
      // Sent in order, so each tenant's events are delivered first in first out.
      await Promise.all([...new Set(toPublish.map(({ item }) => item.tenant))].map((t) => this.ensureConsumer(t)));
      const published = await Promise.allSettled(toPublish.map(({ item }) => this.publishWork(firstState(item), item.payload, item.id)));
      published.forEach((p, i) => {
        if (p.status === "rejected" || p.value.duplicate) addTo(released, toPublish[i]!.item.tenant, toPublish[i]!.item);
      });
      if (released.size > 0) await this.changeUsage(released, -1);
      // What was stored runs (at least once); the caller is told nothing was acknowledged.
      const failed = published.find((p) => p.status === "rejected");
      if (failed !== undefined) throw failed.reason;
      // 5. Records, for `flick invocations` (a dispatcher that was quicker wrote its own).
      await Promise.all(toPublish.map(({ item }) => this.createRecord(queuedRecord(firstState(item), item.payload, item.createdAtMs))));
      if (toPublish.length === 0) return results as EnqueueResult[];
      // A tenant new to this node is served first; other nodes hear of the work at once.
      for (const { item } of toPublish) if (!this.served.has(item.tenant)) this.served.set(item.tenant, -1);
      this.nc.publish(`${this.prefix}.async-added`);
      return results as EnqueueResult[];
    });
  }

  /**
   * What to do with one item: queue it (taking its idempotency key later), or answer with
   * the first id of its key. An id whose record is missing is one whose enqueue stopped
   * between taking the key and storing the event (its node died): that event is stored now,
   * under the first id, so a key never answers for an event that does not exist.
   */
  private async plan(item: NewInvocation, seen: Map<string, string>, entries: Map<string, KvEntry | null>, sinceMs: number): Promise<Plan> {
    if (item.idempotencyKey === null) return { item, recovered: false };
    const local = `${item.function}\0${item.idempotencyKey}`;
    const earlier = seen.get(local);
    if (earlier !== undefined) return { item, firstId: earlier, recovered: false };
    const entry = entries.get(this.idemKey(item)) ?? null;
    const uses = entry === null || entry.operation !== "PUT" ? null : entry.json<KeyUse[]>();
    const first = uses?.find((u) => u.atMs >= sinceMs);
    if (first === undefined) {
      seen.set(local, item.id);
      return { item, recovered: false, keyEntry: uses === null ? null : { revision: entry!.revision, uses } };
    }
    seen.set(local, first.id);
    if ((await this.records.get(this.recordKey(item.function, first.id))) !== null) return { item, firstId: first.id, recovered: false };
    return { item: { ...item, id: first.id }, recovered: true };
  }

  private idemKey(item: { function: string; idempotencyKey: string | null }): string {
    return `${item.function}.${hash(item.idempotencyKey ?? "")}`;
  }

  /** Takes `item`'s idempotency key for it, or finds who has it since `sinceMs`: the winner's id. */
  private async takeKey(item: NewInvocation, known: { revision: number; uses: KeyUse[] } | null, sinceMs: number): Promise<string> {
    const key = this.idemKey(item);
    for (let entry = known; ; ) {
      const uses = [...(entry?.uses ?? []), { id: item.id, atMs: item.createdAtMs }];
      try {
        if (entry === null) await this.keys.create(key, JSON.stringify(uses));
        else await this.keys.update(key, JSON.stringify(uses), entry.revision);
        return item.id;
      } catch (err) {
        if (!conflict(err)) throw err;
        const now = await this.keys.get(key);
        const read = now === null || now.operation !== "PUT" ? null : now.json<KeyUse[]>();
        const first = read?.find((u) => u.atMs >= sinceMs);
        if (first !== undefined) return first.id;
        entry = read === null ? null : { revision: now!.revision, uses: read };
      }
    }
  }

  /**
   * Decides which groups fit their tenants' quotas, in order, and adds the accepted ones'
   * new items to the tenants' usage at the revisions read (read again on a conflict).
   */
  private async reserve<P extends { item: { tenant: string; payload: Uint8Array }; firstId?: string }>(
    plans: P[][],
    quotaOf: (tenant: string) => QueueQuota,
  ): Promise<{ results: (EnqueueResult | undefined)[]; accepted: [number, P[]][] }> {
    for (;;) {
      const tenants = [...new Set(plans.flat().filter((p) => p.firstId === undefined).map((p) => p.item.tenant))];
      const read = new Map<string, { entry: KvEntry | null; usage: Usage }>();
      await Promise.all(tenants.map(async (t) => {
        const entry = await this.meta.get(`usage.${t}`);
        read.set(t, { entry, usage: usageOf(entry) });
      }));
      const adding = new Map<string, Usage>();
      const results: (EnqueueResult | undefined)[] = [];
      const accepted: [number, P[]][] = [];
      plans.forEach((group, gi) => {
        const add = new Map<string, Usage>();
        for (const p of group) if (p.firstId === undefined) addTo(add, p.item.tenant, p.item);
        for (const [tenant, a] of add) {
          const usage = sum(read.get(tenant)!.usage, adding.get(tenant));
          const quota = quotaOf(tenant);
          if (usage.messages + a.messages > quota.maxMessages || usage.bytes + a.bytes > quota.maxBytes) {
            results[gi] = { ok: false, tenant, usage, quota, adding: a };
            return;
          }
        }
        for (const [tenant, a] of add) adding.set(tenant, sum(adding.get(tenant), a));
        accepted.push([gi, group]);
      });
      try {
        await Promise.all([...adding].map(([tenant, a]) => this.writeUsage(tenant, read.get(tenant)!.entry, sum(read.get(tenant)!.usage, a))));
        return { results, accepted };
      } catch (err) {
        if (!conflict(err)) throw err;
      }
    }
  }

  private async writeUsage(tenant: string, entry: KvEntry | null, usage: Usage): Promise<void> {
    const value = JSON.stringify({ messages: Math.max(0, usage.messages), bytes: Math.max(0, usage.bytes) });
    if (entry === null) await this.meta.create(`usage.${tenant}`, value);
    else await this.meta.update(`usage.${tenant}`, value, entry.revision);
  }

  /** Adds (`sign` 1) or takes away (-1) usage, read again on a conflict. */
  private async changeUsage(change: Map<string, Usage>, sign: 1 | -1): Promise<void> {
    await Promise.all([...change].map(async ([tenant, c]) => {
      for (;;) {
        const entry = await this.meta.get(`usage.${tenant}`);
        const usage = usageOf(entry);
        try {
          return await this.writeUsage(tenant, entry, { messages: usage.messages + sign * c.messages, bytes: usage.bytes + sign * c.bytes });
        } catch (err) {
          if (!conflict(err)) throw err;
        }
      }
    }));
  }

  /** Publishes a work message (its tenant's consumer made first, if this node has not yet). */
  private async publishWork(state: WorkState, payload: Uint8Array, msgID: string): Promise<PubAck> {
    if (!this.consumers.has(`t_${state.tenant}`)) await this.ensureConsumer(state.tenant);
    return this.js.publish(this.subject(state.tenant, state.function), encode(state, payload), { msgID, timeout: 10_000 });
  }

  private async createRecord(record: StoredRecord): Promise<void> {
    try {
      await this.records.create(this.recordKey(record.function, record.id), encodeRecord(record));
    } catch (err) {
      if (!conflict(err)) throw err;
    }
  }

  private async ensureConsumer(tenant: string): Promise<string> {
    const name = `t_${tenant}`;
    if (this.consumers.has(name)) return name;
    try {
      await this.jsm.consumers.add(this.workStream, {
        durable_name: name, filter_subject: `${this.prefix}.async.${tenant}.*`, ack_policy: AckPolicy.Explicit,
        ack_wait: this.o.leaseMs * 1_000_000, max_deliver: -1, max_ack_pending: 10_000, deliver_policy: DeliverPolicy.All,
      });
    } catch (err) {
      if (!/already in use|exists/i.test(String(err))) throw err;
    }
    this.consumers.add(name);
    return name;
  }

  // — claims —

  claim(nowMs: number, limit: number, leaseUntilMs: number, holder: string): Promise<InvocationRecord[]> {
    const work = this.claiming.then(() => storeUnavailable("claiming async invocations", () => this.claimNow(nowMs, limit, leaseUntilMs, holder)));
    this.claiming = work.catch(() => undefined);
    return work;
  }

  private async claimNow(nowMs: number, limit: number, leaseUntilMs: number, holder: string): Promise<InvocationRecord[]> {
    const taken: Delivery[] = [];
    // Leases that ran out here first (whoever claims now takes them over), then held ones now due.
    for (const [id, r] of this.running) {
      if (taken.length >= limit) break;
      if (r.record.leaseUntilMs !== null && r.record.leaseUntilMs <= nowMs) {
        this.running.delete(id);
        taken.push(r);
      }
    }
    // Held ones now due, round robin over their tenants like pulled ones.
    const due = new Map<string, Delivery[]>();
    for (const d of this.held.values()) if (d.state.nextAtMs <= nowMs) due.set(d.state.tenant, [...(due.get(d.state.tenant) ?? []), d]);
    const order = [...due.keys()].sort((a, b) => (this.served.get(a) ?? -1) - (this.served.get(b) ?? -1));
    if (order.length > 0) this.round++;
    for (let i = 0; taken.length < limit && order.some((t) => i < due.get(t)!.length); i++) {
      for (const t of order) {
        const d = due.get(t)![i];
        if (d === undefined || taken.length >= limit) continue;
        this.held.delete(d.state.id);
        this.served.set(t, this.round);
        taken.push(d);
      }
    }
    if (taken.length < limit) {
      try {
        taken.push(...(await this.pull(nowMs, limit - taken.length)));
      } catch (err) {
        // What this node already took from itself runs; the store's failure shows next claim.
        if (taken.length === 0) throw err;
      }
    }
    // One record that cannot be written does not cost the others: they run. It stays
    // delivered here until its ack wait ends, as when a node dies; given back at once, each
    // retry during a store outage would count a delivery and bring it nearer dead-lettering.
    const started = await Promise.allSettled(taken.map((d) => this.start(d, nowMs, leaseUntilMs, holder)));
    const failed = started.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
    if (failed.length > 0 && failed.length === taken.length) throw failed[0];
    return started.flatMap((s) => (s.status === "fulfilled" && s.value !== undefined ? [s.value] : []));
  }

  /** Tenants with messages in the work stream, least recently served first. */
  private async tenants(): Promise<string[]> {
    if (Date.now() - this.tenantsReadAt > 200 || this.served.size === 0) {
      const info = await this.jsm.streams.info(this.workStream, { subjects_filter: `${this.prefix}.async.>` });
      const withWork = new Set(Object.keys(info.state.subjects ?? {}).map((s) => s.split(".")[2]!));
      for (const t of withWork) if (!this.served.has(t)) this.served.set(t, -1);
      for (const t of this.served.keys()) if (!withWork.has(t)) this.served.delete(t);
      this.tenantsReadAt = Date.now();
    }
    return [...this.served].sort((a, b) => a[1] - b[1]).map(([t]) => t);
  }

  /** Up to `want` due messages, dealt round robin over the tenants; not-due ones are held or given back. */
  private async pull(nowMs: number, want: number): Promise<Delivery[]> {
    const out: Delivery[] = [];
    let active = await this.tenants();
    while (want - out.length > 0 && active.length > 0) {
      const room = want - out.length;
      const round = ++this.round;
      const asked = active.slice(0, room);
      const per = (i: number) => Math.floor(room / asked.length) + (i < room % asked.length ? 1 : 0);
      const answers = await Promise.allSettled(asked.map(async (tenant, i) => {
        const consumer = await this.ensureConsumer(tenant);
        // Asked twice: a pull that reached the consumer between two leaders goes unanswered.
        const ask = () => pullNow(this.nc, this.workStream, consumer, per(i));
        return { tenant, ask: per(i), msgs: await ask().catch(ask) };
      }));
      // A tenant whose pulls went unanswered sits this claim out; the others' messages are
      // taken. Only when no pull was answered has the store failed this claim.
      const pulled = answers.flatMap((a) => (a.status === "fulfilled" ? [a.value] : []));
      if (pulled.length === 0) {
        if (out.length > 0) break;
        throw (answers[0] as PromiseRejectedResult).reason;
      }
      const next: string[] = [];
      // One of each tenant first, then seconds, and so on: the order the dispatcher starts them.
      const due = pulled.map((p) => ({ ...p, due: [] as Delivery[] }));
      for (const p of due) {
        for (const msg of p.msgs) {
          const d = this.toDelivery(msg);
          if (d === undefined) continue;
          if (d.deliveries > this.o.maxDeliveries) {
            await this.deadLetterUnended(d, nowMs);
          } else if (d.state.nextAtMs > nowMs) {
            if (d.state.nextAtMs - nowMs <= this.o.holdMs) this.held.set(d.state.id, d);
            else giveBack(this.nc, d.ackSubject, d.state.nextAtMs - nowMs);
          } else p.due.push(d);
        }
        if (p.due.length > 0) this.served.set(p.tenant, round);
        // Asked for more than it had: nothing more to take from it this claim.
        if (p.msgs.length >= p.ask) next.push(p.tenant);
      }
      for (let i = 0; due.some((p) => i < p.due.length); i++) for (const p of due) if (i < p.due.length) out.push(p.due[i]!);
      active = [...next, ...active.slice(asked.length)];
    }
    return out;
  }

  private toDelivery(msg: Msg): Delivery | undefined {
    if (msg.reply === undefined) return undefined;
    try {
      const { head, payload } = decode<WorkState>(msg.data);
      return { ackSubject: msg.reply, ...deliveryOf(msg.reply), state: head, payload };
    } catch {
      // Not ours to run (written by something else): dropped, so it cannot block the tenant.
      ack(this.nc, msg.reply);
      return undefined;
    }
  }

  /** Marks a delivery running here: its record, attempt counted, under this lease. */
  private async start(d: Delivery, nowMs: number, leaseUntilMs: number, holder: string): Promise<InvocationRecord | undefined> {
    const key = this.recordKey(d.state.function, d.state.id);
    if (d.deliveries === 1 && d.state.attempts === 0 && !("record" in d)) {
      // A new event's first delivery (the common case): its message says all there is, so the
      // record is written without reading it first. Whoever writes it next at the revision
      // they read finds it moved on.
      const record: StoredRecord = { ...queuedRecord(d.state, d.payload, nowMs), status: "running", attempts: 1, leaseUntilMs, holder, ackSubject: d.ackSubject };
      const revision = await this.records.put(key, encodeRecord(record));
      this.running.set(d.state.id, { ...d, record, revision });
      return publicRecord(record);
    }
    for (;;) {
      const entry = await this.records.get(key);
      const prev = entry === null || entry.operation !== "PUT" ? undefined : decodeRecord(entry.value);
      if (prev !== undefined && (prev.status === "completed" || prev.status === "dead") && d.state.attempts <= prev.attempts && prev.updatedAtMs >= d.state.createdAtMs) {
        // Ended already (its ack was lost): nothing to run.
        ack(this.nc, d.ackSubject);
        return undefined;
      }
      const base = prev ?? queuedRecord(d.state, d.payload, nowMs);
      const record: StoredRecord = {
        ...base, status: "running", attempts: Math.max(base.attempts, d.state.attempts) + 1, failures: Math.max(base.failures, d.state.failures),
        lastError: d.state.lastError ?? base.lastError, leaseUntilMs, updatedAtMs: nowMs, holder, ackSubject: d.ackSubject, deadReason: null, result: null,
      };
      try {
        const revision = prev === undefined ? await this.records.create(key, encodeRecord(record)) : await this.records.update(key, encodeRecord(record), entry!.revision);
        this.running.set(d.state.id, { ...d, record, revision });
        return publicRecord(record);
      } catch (err) {
        if (!conflict(err)) throw err;
      }
    }
  }

  /** Delivered `maxDeliveries` times and never ended: every node that ran it stopped. */
  private async deadLetterUnended(d: Delivery, nowMs: number): Promise<void> {
    const key = this.recordKey(d.state.function, d.state.id);
    const entry = await this.records.get(key);
    const prev = entry === null || entry.operation !== "PUT" ? queuedRecord(d.state, d.payload, nowMs) : decodeRecord(entry.value);
    const record: StoredRecord = {
      ...prev, status: "dead", deadReason: "retries_exhausted", updatedAtMs: nowMs, leaseUntilMs: null, holder: null, ackSubject: null,
      lastError: { code: "max_deliveries", message: `delivered ${d.deliveries - 1} times without an end: the node running it stopped each time` },
    };
    await this.js.publish(`${this.prefix}.dead.${d.state.tenant}.${d.state.function}`, encodeRecord(record), { msgID: `${d.state.id}.dead.${d.seq}` });
    await this.records.put(key, encodeRecord(record));
    ack(this.nc, d.ackSubject);
    await this.changeUsage(new Map([[d.state.tenant, { messages: 1, bytes: d.payload.byteLength }]]), -1);
  }

  async extendLeases(ids: readonly string[], leaseUntilMs: number): Promise<void> {
    await storeUnavailable("extending async leases", () => Promise.all(ids.map(async (id) => {
      const r = this.running.get(id);
      if (r === undefined) return;
      inProgress(this.nc, r.ackSubject);
      // Moved on (another node took it over after this lease ran out): no longer ours.
      if (!(await this.writeIfOurs(r, { ...r.record, leaseUntilMs }))) this.running.delete(id);
    })));
  }

  /**
   * Writes the record of a delivery this node runs, if it still does: at the revision it
   * last wrote, or — when something else wrote since (this node's own overlapping write) —
   * at the new one as long as the record still names this delivery. False: it moved on.
   */
  private async writeIfOurs(r: Running, record: StoredRecord): Promise<boolean> {
    const key = this.recordKey(record.function, record.id);
    for (;;) {
      try {
        r.revision = await this.records.update(key, encodeRecord(record), r.revision);
        r.record = record;
        return true;
      } catch (err) {
        if (!conflict(err)) throw err;
      }
      const entry = await this.records.get(key);
      const now = entry === null || entry.operation !== "PUT" ? undefined : decodeRecord(entry.value);
      if (now === undefined || now.status !== "running" || now.ackSubject !== r.ackSubject) return false;
      r.revision = entry!.revision;
    }
  }

  async finish(batch: readonly Finish[]): Promise<void> {
    await storeUnavailable("recording async attempts", async () => {
      const ends = new Map<string, Finish>();
      for (const f of batch) if (!ends.has(f.id) && this.running.has(f.id)) ends.set(f.id, f);
      const freed = new Map<string, Usage>();
      await Promise.all([...ends.values()].map(async (f) => {
        const r = this.running.get(f.id)!;
        const base = { ...r.record, leaseUntilMs: null, updatedAtMs: f.nowMs, holder: null, ackSubject: null };
        let record: StoredRecord;
        if (f.outcome === "completed") record = { ...base, status: "completed", result: f.result };
        else {
          const failures = base.failures + (f.failed ? 1 : 0);
          if (f.outcome === "retry") {
            record = { ...base, status: "queued", failures, nextAtMs: f.nextAtMs, lastError: f.error };
            // The next attempt is stored before this one lets go of its message.
            await this.publishWork(stateOf(record), r.payload, `${f.id}.${record.attempts}`);
          } else {
            record = { ...base, status: "dead", failures, deadReason: f.reason, lastError: f.error };
            await this.js.publish(`${this.prefix}.dead.${record.tenant}.${record.function}`, encodeRecord(record), { msgID: `${f.id}.dead.${r.seq}` });
          }
        }
        if (!(await this.writeIfOurs(r, record))) {
          // Moved on: another node took this message over after the lease ran out, or pulled
          // the retry stored above. Its end and its usage are that node's to write; this
          // delivery is done with all the same.
          ack(this.nc, r.ackSubject);
          this.running.delete(f.id);
          return;
        }
        ack(this.nc, r.ackSubject);
        this.running.delete(f.id);
        if (record.status !== "queued") addTo(freed, record.tenant, r);
      }));
      await this.nc.flush();
      if (freed.size > 0) await this.changeUsage(freed, -1);
    });
  }

  async releaseHeld(holder: string, nowMs: number): Promise<number> {
    return storeUnavailable("giving back async invocations", async () => {
      let count = 0;
      for (const { key, entry, record } of await this.readAll(">")) {
        if (record.status !== "running" || record.holder !== holder) continue;
        const again: StoredRecord = { ...record, status: "queued", nextAtMs: nowMs, leaseUntilMs: null, updatedAtMs: nowMs, holder: null, ackSubject: null };
        try {
          await this.records.update(key, encodeRecord(again), entry.revision);
        } catch (err) {
          if (!conflict(err)) throw err;
          continue;
        }
        if (record.ackSubject !== null) giveBack(this.nc, record.ackSubject);
        this.running.delete(record.id);
        count++;
      }
      await this.nc.flush();
      return count;
    });
  }

  // — reads —

  /** Every record under `filter` (a key pattern), with its entry. */
  private async readAll(filter: string): Promise<{ key: string; entry: KvEntry; record: StoredRecord }[]> {
    const names: string[] = [];
    names.push(...(await keysOf(this.records, filter)));
    const out: { key: string; entry: KvEntry; record: StoredRecord }[] = [];
    for (let i = 0; i < names.length; i += 256) {
      const entries = await Promise.all(names.slice(i, i + 256).map((key) => this.records.get(key)));
      entries.forEach((entry, j) => {
        if (entry !== null && entry.operation === "PUT") out.push({ key: names[i + j]!, entry, record: decodeRecord(entry.value) });
      });
    }
    return out;
  }

  async get(id: string): Promise<InvocationRecord | undefined> {
    return storeUnavailable("reading an async invocation", async () => {
      if (!/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
      // One read of the bucket's stream by subject, whatever the function (nats-server 2.10
      // takes a wildcard here): a tenth of the time of listing the keys that match.
      const msg = await this.jsm.streams.getMessage(`KV_${this.prefix}-invocations`, { last_by_subj: `$KV.${this.prefix}-invocations.*.${id}` });
      const operation = msg?.header?.get("KV-Operation") ?? "";
      return msg === null || operation === "DEL" || operation === "PURGE" ? undefined : publicRecord(decodeRecord(msg.data));
    });
  }

  async list(fn: string, status: InvocationStatus | null, limit: number): Promise<InvocationRecord[]> {
    return storeUnavailable("listing async invocations", async () =>
      (await this.readAll(`${fn}.*`))
        .map((r) => r.record)
        .filter((r) => status === null || r.status === status)
        .sort((a, b) => b.updatedAtMs - a.updatedAtMs || b.createdAtMs - a.createdAtMs)
        .slice(0, limit)
        .map(publicRecord));
  }

  async replay(fn: string, ids: readonly string[] | null, nowMs: number, quotaOf: (tenant: string) => QueueQuota): Promise<string[]> {
    return storeUnavailable("replaying dead async invocations", async () => {
      const wanted = ids === null ? null : new Set(ids);
      const dead = (await this.readAll(`${fn}.*`)).filter((r) => r.record.status === "dead" && (wanted === null || wanted.has(r.record.id)));
      if (dead.length === 0) return [];
      const { results } = await this.reserve([dead.map((d) => ({ item: d.record }))], quotaOf);
      const refused = results[0];
      if (refused !== undefined && !refused.ok) throw queueFullError(refused);
      const out: string[] = [];
      const unused = new Map<string, Usage>();
      for (const d of dead) {
        const again: StoredRecord = {
          ...d.record, status: "queued", attempts: 0, failures: 0, deadReason: null, nextAtMs: nowMs, updatedAtMs: nowMs, leaseUntilMs: null, holder: null, ackSubject: null,
        };
        // The record first, at the revision read: of two replays at once, one queues it.
        try {
          await this.records.update(d.key, encodeRecord(again), d.entry.revision);
        } catch (err) {
          if (!conflict(err)) throw err;
          addTo(unused, d.record.tenant, d.record);
          continue;
        }
        try {
          await this.publishWork(stateOf(again), again.payload, `${again.id}.replay.${nowMs}`);
        } catch (err) {
          await this.records.put(d.key, encodeRecord(d.record)).catch(() => undefined);
          addTo(unused, d.record.tenant, d.record);
          if (unused.size > 0) await this.changeUsage(unused, -1);
          throw err;
        }
        out.push(again.id);
      }
      if (unused.size > 0) await this.changeUsage(unused, -1);
      this.nc.publish(`${this.prefix}.async-added`);
      return out;
    });
  }

  async usage(tenant: string): Promise<QueueUsage> {
    return storeUnavailable("reading a tenant's queue usage", async () => usageOf(await this.meta.get(`usage.${tenant}`)));
  }

  async nextWakeMs(): Promise<number | null> {
    let soonest: number | null = null;
    for (const d of this.held.values()) soonest = Math.min(soonest ?? Infinity, d.state.nextAtMs);
    for (const r of this.running.values()) if (r.record.leaseUntilMs !== null) soonest = Math.min(soonest ?? Infinity, r.record.leaseUntilMs);
    return soonest;
  }

  async counts(fn?: string): Promise<QueueCounts> {
    return storeUnavailable("counting async invocations", async () => {
      const counts: QueueCounts = { queued: 0, running: 0, completed: 0, dead: 0 };
      for (const { record } of await this.readAll(fn === undefined ? ">" : `${fn}.*`)) counts[record.status]++;
      return counts;
    });
  }

  async backlog(): Promise<{ queued: number; running: number; dead: number; oldestQueuedMs: number | null }> {
    return storeUnavailable("reading the async backlog", async () => {
      const out = { queued: 0, running: 0, dead: 0, oldestQueuedMs: null as number | null };
      for (const { record } of await this.readAll(">")) {
        if (record.status === "completed") continue;
        out[record.status]++;
        if (record.status === "queued") out.oldestQueuedMs = Math.min(out.oldestQueuedMs ?? Infinity, record.createdAtMs);
      }
      return out;
    });
  }

  async prune(completedBeforeMs: number, deadBeforeMs: number): Promise<number> {
    return storeUnavailable("pruning async invocations", async () => {
      let count = 0;
      for (const { key, record } of await this.readAll(">")) {
        const cut = record.status === "completed" ? completedBeforeMs : record.status === "dead" ? deadBeforeMs : -Infinity;
        if (record.updatedAtMs < cut) {
          await removeKeys(this.records, key);
          count++;
        }
      }
      return count;
    });
  }

  async removeFunction(fn: string): Promise<void> {
    await storeUnavailable("removing a function's async invocations", async () => {
      const freed = new Map<string, Usage>();
      for (const { record } of await this.readAll(`${fn}.*`)) {
        if (record.status === "queued" || record.status === "running") addTo(freed, record.tenant, record);
      }
      await removeKeys(this.records, `${fn}.*`);
      await this.jsm.streams.purge(this.workStream, { filter: `${this.prefix}.async.*.${fn}` });
      for (const [id, d] of this.held) if (d.state.function === fn) this.held.delete(id);
      for (const [id, r] of this.running) if (r.state.function === fn) this.running.delete(id);
      await removeKeys(this.meta, `cron.${fn}.*`);
      if (freed.size > 0) await this.changeUsage(freed, -1);
    });
  }

  // — cron —

  async cronState(): Promise<{ fn: string; expression: string; lastMs: number }[]> {
    return storeUnavailable("reading cron state", async () => {
      const out: { fn: string; expression: string; lastMs: number }[] = [];
      for (const key of await keysOf(this.meta, "cron.>")) {
        const entry = await this.meta.get(key);
        if (entry !== null && entry.operation === "PUT") out.push(entry.json());
      }
      return out;
    });
  }

  async setCronState(fn: string, expression: string, lastMs: number): Promise<void> {
    await storeUnavailable("writing cron state", () => this.meta.put(`cron.${fn}.${hash(expression, 16)}`, JSON.stringify({ fn, expression, lastMs })));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.keepAlive);
    this.notify.unsubscribe();
    // What this node pulled and did not start goes back at once, for another node to run.
    for (const d of this.held.values()) giveBack(this.nc, d.ackSubject);
    this.held.clear();
    await this.nc.flush().catch(() => undefined);
  }
}

function addTo(map: Map<string, Usage>, tenant: string, item: { payload: Uint8Array }): void {
  const u = map.get(tenant) ?? { messages: 0, bytes: 0 };
  map.set(tenant, { messages: u.messages + 1, bytes: u.bytes + item.payload.byteLength });
}

function sum(a: Usage | undefined, b: Usage | undefined): Usage {
  return { messages: (a?.messages ?? 0) + (b?.messages ?? 0), bytes: (a?.bytes ?? 0) + (b?.bytes ?? 0) };
}

