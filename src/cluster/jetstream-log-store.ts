/**
 * Function log lines in one JetStream stream, `<PREFIX>_LOGS`, shared by every node: a line
 * written where an invocation ran is read through any node (`flick logs`), and followed
 * live from any node. Subjects are `<prefix>.logs.<tenant>.<function>`; a line's id is its
 * stream sequence, so ids grow across the cluster in the order lines were stored, and a
 * follow cursor is good on every node.
 *
 * Limits (docs/cluster.md, "Logs"):
 * - **Kept by the stream itself:** 7 days (logRetention.maxAgeMs), 10,000 lines per function
 *   (`max_msgs_per_subject`), and the stream's total size (`maxBytes`, oldest dropped).
 * - **Per tenant:** its line quota (`maxLogLines`), oldest first across its functions. The
 *   node that appends checks the tenant's count (the stream's per-subject counts) once its
 *   own estimate could be over, and deletes the tenant's oldest lines down to the quota.
 *   The byte quota of the embedded store is not kept per tenant here (what JetStream stores
 *   per line is not what SQLite counts); each line is at most 16 KiB, and the stream's
 *   total size bounds the whole.
 *
 * Reads make a short-lived consumer filtered to the function or the tenant, take every
 * line it covers (the stream's leader says how many), and filter in memory: the cursor, the
 * time and the filters. A read scans what it covers: up to 10,000 lines for a function,
 * the quota for a tenant.
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType, type JetStreamClient, type JetStreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { LogLine } from "../model/index.ts";
import { logRetention, type LogQuery, type LogStore, type NewLogLine } from "../store/index.ts";
import { ensureStream } from "./buckets.ts";
import { storeUnavailable } from "./store-unavailable.ts";
import { deliveryOf, pullNow } from "./work-messages.ts";

export interface JetStreamLogOptions {
  /** Names' prefix (default "flick"): stream `<PREFIX>_LOGS`, subjects `<prefix>.logs.…`. */
  prefix?: string;
  replicas?: number;
  /** The stream's total size, bytes (default 1 GiB); the oldest lines go past it. */
  maxBytes?: number;
  /** Lines one tenant keeps (default logRetention.maxLinesPerTenant). */
  maxLogLines?: number;
}

/** A line as stored: short keys, the function and tenant in the subject. */
interface Stored {
  t: number;
  l: LogLine["level"];
  i: string;
  m: string;
  r?: LogLine["request"];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class JetStreamLogStore implements LogStore {
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly prefix: string;
  private readonly stream: string;
  private readonly maxLines: number;
  /** Each tenant's lines as this node last counted them, plus what it appended since. */
  private readonly estimate = new Map<string, number>();

  private constructor(nc: NatsConnection, js: JetStreamClient, jsm: JetStreamManager, prefix: string, maxLines: number) {
    this.nc = nc;
    this.js = js;
    this.jsm = jsm;
    this.prefix = prefix;
    this.stream = `${prefix.toUpperCase()}_LOGS`;
    this.maxLines = maxLines;
  }

  static async open(nc: NatsConnection, options: JetStreamLogOptions = {}): Promise<JetStreamLogStore> {
    const prefix = options.prefix ?? "flick";
    const jsm = await jetstreamManager(nc, { checkAPI: false });
    const store = new JetStreamLogStore(nc, jetstream(nc, { checkAPI: false }), jsm, prefix, options.maxLogLines ?? logRetention.maxLinesPerTenant);
    await ensureStream(jsm, {
      name: store.stream, subjects: [`${prefix}.logs.>`], retention: RetentionPolicy.Limits, storage: StorageType.File, num_replicas: options.replicas ?? 3,
      max_age: logRetention.maxAgeMs * 1_000_000, max_msgs_per_subject: logRetention.maxLinesPerFunction,
      max_bytes: options.maxBytes ?? 1024 ** 3, discard: DiscardPolicy.Old,
    });
    return store;
  }

  private subject(tenant: string, fn: string): string {
    return `${this.prefix}.logs.${tenant}.${fn}`;
  }

  async appendLogs(lines: NewLogLine[]): Promise<LogLine[]> {
    if (lines.length === 0) return [];
    // Published together, each acknowledged by a majority; their ids are their sequences.
    const stored = await storeUnavailable("the log stream", () => Promise.all(lines.map(async (line) => {
      const body: Stored = { t: line.timeMs, l: line.level, i: line.invocationId, m: line.message, ...(line.request === undefined ? {} : { r: line.request }) };
      const ack = await this.js.publish(this.subject(line.tenant, line.function), encoder.encode(JSON.stringify(body)), { timeout: 10_000 });
      const out: LogLine = { id: ack.seq, timeMs: line.timeMs, function: line.function, tenant: line.tenant, invocationId: line.invocationId, level: line.level, message: line.message };
      if (line.request !== undefined) out.request = line.request;
      return out;
    })));
    const tenants = new Map<string, number>();
    for (const line of lines) tenants.set(line.tenant, (tenants.get(line.tenant) ?? 0) + 1);
    for (const [tenant, added] of tenants) await this.keepQuota(tenant, added);
    return stored;
  }

  /** Deletes the tenant's oldest lines past its quota, once this node's estimate says it could be over. */
  private async keepQuota(tenant: string, added: number): Promise<void> {
    const guess = this.estimate.get(tenant);
    if (guess !== undefined && guess + added <= this.maxLines) {
      this.estimate.set(tenant, guess + added);
      return;
    }
    const filter = `${this.prefix}.logs.${tenant}.*`;
    const info = await storeUnavailable("the log stream", () => this.jsm.streams.info(this.stream, { subjects_filter: filter }));
    const count = Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0);
    const over = count - this.maxLines;
    if (over > 0) {
      const oldest = await this.scan(filter, over);
      await storeUnavailable("the log stream", () => Promise.all(oldest.map((l) => this.jsm.streams.deleteMessage(this.stream, l.id, false).catch((err: unknown) => {
        // Another node deleting the same line at the same moment: it is gone either way.
        if (!/no message found/i.test(String(err))) throw err;
      }))));
    }
    this.estimate.set(tenant, Math.min(count, this.maxLines));
  }

  async readLogs(query: LogQuery): Promise<LogLine[]> {
    const filter = query.function !== undefined ? `${this.prefix}.logs.${query.tenant ?? "*"}.${query.function}` : `${this.prefix}.logs.${query.tenant ?? "*"}.*`;
    let lines = await this.scan(filter);
    // The cursor and the time are the line's id and its own time, as in SQLite.
    if (query.sinceMs !== undefined) lines = lines.filter((l) => l.timeMs >= query.sinceMs!);
    if (query.afterId !== undefined) lines = lines.filter((l) => l.id > query.afterId!);
    if (query.status !== undefined) {
      // Every line of the invocations whose request line says so, within this function or tenant
      // (their request lines are read before the other filters drop them).
      const { min, max } = query.status;
      const matching = new Set(lines.filter((l) => l.request !== undefined && l.request.status >= min && l.request.status <= max).map((l) => `${l.tenant}/${l.function}/${l.invocationId}`));
      lines = lines.filter((l) => matching.has(`${l.tenant}/${l.function}/${l.invocationId}`));
    }
    if (query.levels !== undefined && query.levels.length > 0) {
      const levels = new Set(query.levels);
      lines = lines.filter((l) => levels.has(l.level));
    }
    if (query.invocationId !== undefined) lines = lines.filter((l) => l.invocationId === query.invocationId);
    if (query.text !== undefined) lines = lines.filter((l) => l.message.includes(query.text!));
    return lines.slice(Math.max(0, lines.length - query.limit));
  }

  /**
   * New lines of one function, one tenant or all, as any node stores them (`flick logs -f`
   * on any node): a consumer from the stream's next sequence, pulled until the returned stop
   * is called. A pull that fails (a NATS server lost) starts again after the last line seen.
   */
  followLogs(scope: { function?: string; tenant?: string }, onLines: (lines: LogLine[]) => void): () => void {
    const filter = `${this.prefix}.logs.${scope.tenant ?? "*"}.${scope.function ?? "*"}`;
    let stopped = false;
    let lastSeq = 0;
    // From a few seconds back (servers' clocks may be a little apart from this node's): a
    // line stored while the consumer is being made is not missed; the caller drops what it
    // had already (by id, as `flick logs -f` does).
    const from = new Date(Date.now() - 5000).toISOString();
    void (async () => {
      while (!stopped) {
        let name: string | undefined;
        try {
          const deliver = lastSeq === 0 ? { deliver_policy: DeliverPolicy.StartTime, opt_start_time: from } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: lastSeq + 1 };
          name = (await this.jsm.consumers.add(this.stream, { filter_subject: filter, ack_policy: AckPolicy.None, mem_storage: true, num_replicas: 1, inactive_threshold: 30_000_000_000, ...deliver })).name;
          while (!stopped) {
            const batch = await pullNow(this.nc, this.stream, name, 500, 10_000, 1000);
            const lines = batch.map((m) => lineOf(m.subject, m.reply ?? "", m.data));
            if (lines.length > 0) {
              lastSeq = lines.at(-1)!.id;
              onLines(lines);
            }
          }
        } catch {
          // Started again below, after the last line seen, once the stream answers.
          if (!stopped) await new Promise((resolve) => setTimeout(resolve, 1000));
        } finally {
          if (name !== undefined) await this.jsm.consumers.delete(this.stream, name).catch(() => undefined);
        }
      }
    })();
    return () => {
      stopped = true;
    };
  }

  async removeLogs(fn: string): Promise<void> {
    await storeUnavailable("the log stream", () => this.jsm.streams.purge(this.stream, { filter: `${this.prefix}.logs.*.${fn}` }));
  }

  /**
   * Every line `filter` matches (the first `max` of them), oldest first. How many there are
   * is asked of the stream's leader, which has every acknowledged line; the consumer that
   * reads them may sit on a server a moment behind, so the read waits until it has them all.
   */
  private async scan(filter: string, max = Infinity): Promise<LogLine[]> {
    const info = await storeUnavailable("the log stream", () => this.jsm.streams.info(this.stream, { subjects_filter: filter }));
    const want = Math.min(max, Object.values(info.state.subjects ?? {}).reduce((a, b) => a + b, 0));
    if (want === 0) return [];
    const consumer = await storeUnavailable("the log stream", () => this.jsm.consumers.add(this.stream, {
      filter_subject: filter, ack_policy: AckPolicy.None, mem_storage: true, num_replicas: 1, inactive_threshold: 30_000_000_000, deliver_policy: DeliverPolicy.All,
    }));
    try {
      const out: LogLine[] = [];
      // A consumer just made may not answer pulls for a moment ("no responders" while its
      // interest crosses the cluster): asked again, for up to about 2 s in all. A pull that
      // waited its 2 s and came back empty means lines went (age, a quota) since the count.
      for (let empty = 0; out.length < want && empty < 20;) {
        const asked = performance.now();
        const batch = await storeUnavailable("the log stream", () => pullNow(this.nc, this.stream, consumer.name, Math.min(1000, want - out.length), 10_000, 2000));
        if (batch.length === 0) {
          if (performance.now() - asked > 1900) break;
          empty++;
          await new Promise((resolve) => setTimeout(resolve, 100));
          continue;
        }
        for (const msg of batch) out.push(lineOf(msg.subject, msg.reply ?? "", msg.data));
      }
      return out;
    } finally {
      await this.jsm.consumers.delete(this.stream, consumer.name).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    // The connection is the cluster store's to close.
  }
}

/** A delivered line: its function and tenant from the subject, its id from the delivery's stream sequence. */
function lineOf(subject: string, reply: string, data: Uint8Array): LogLine {
  const [, , tenant, fn] = subject.split(".").slice(-4);
  const body = JSON.parse(decoder.decode(data)) as Stored;
  const line: LogLine = { id: deliveryOf(reply).seq, timeMs: body.t, function: fn!, tenant: tenant!, invocationId: body.i, level: body.l, message: body.m };
  if (body.r !== undefined) line.request = body.r;
  return line;
}
