/**
 * Who is in the cluster: each node puts what it is (address, labels, capacity, load) into
 * the KV bucket `flick-nodes` every `heartbeatMs`, and watches the bucket for the others.
 *
 * A node that stops heartbeating is gone once `ttlMs` passes without a put from it,
 * measured on this node's own clock from when the put arrived here, so clocks that disagree
 * between machines do not matter. The bucket's max age is the same `ttlMs`, so entries of
 * dead nodes also leave the bucket (nats-server 2.9 tells watchers nothing when an entry
 * ages out, hence the local sweep). A node that stops cleanly deletes its entry, and the
 * others hear it at once.
 */
import type { KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import type { NodeInfo } from "../model/index.ts";
import { openKv, ready } from "./buckets.ts";

export type { NodeInfo };

export type MembershipEvent = { kind: "joined" | "updated"; node: NodeInfo } | { kind: "left"; name: string; why: "stopped" | "silent" };

export interface MembershipOptions {
  /** Between heartbeats, ms (default 2 s). */
  heartbeatMs?: number;
  /** Silent this long, a node is gone, ms (default 10 s; at least three heartbeats). */
  ttlMs?: number;
  bucket?: string;
  /** Copies of the bucket on the NATS servers (default 3: R3 on a three-server cluster; 1 on a single server). */
  replicas?: number;
  /** Told of each join, update and departure, this node's own included. */
  onEvent?: (event: MembershipEvent) => void;
  /** Told of a heartbeat that failed (NATS unreachable, no quorum): the next one tries again. */
  onError?: (err: unknown) => void;
}

const nodeName = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** A heartbeat's value, or undefined for anything that is not one (a hostile or broken writer). */
function parse(key: string, value: Uint8Array): NodeInfo | undefined {
  try {
    const info = JSON.parse(new TextDecoder().decode(value)) as NodeInfo;
    if (info === null || typeof info !== "object" || info.name !== key || typeof info.url !== "string") return undefined;
    if (typeof info.labels !== "object" || info.labels === null || typeof info.capacity !== "object" || typeof info.load !== "object") return undefined;
    return info;
  } catch {
    return undefined;
  }
}

export class Membership {
  private readonly kv: KV;
  private readonly self: () => NodeInfo;
  private readonly o: Required<Omit<MembershipOptions, "onEvent" | "onError">> & Pick<MembershipOptions, "onEvent" | "onError">;
  /** Members as last heard, with when (this node's clock). */
  private readonly known = new Map<string, { node: NodeInfo; heardAtMs: number }>();
  private heartbeat: NodeJS.Timeout | undefined;
  private sweep: NodeJS.Timeout | undefined;
  private stopWatch: (() => void) | undefined;

  private constructor(kv: KV, self: () => NodeInfo, options: MembershipOptions) {
    this.kv = kv;
    this.self = self;
    this.o = { heartbeatMs: 2000, ttlMs: 10_000, bucket: "flick-nodes", replicas: 3, ...options };
  }

  /** Puts this node in, watches the others, and keeps heartbeating until `leave`. */
  static async join(nc: NatsConnection, self: () => NodeInfo, options: MembershipOptions = {}): Promise<Membership> {
    const heartbeatMs = options.heartbeatMs ?? 2000;
    const ttlMs = options.ttlMs ?? 10_000;
    if (ttlMs < 3 * heartbeatMs) throw new RangeError(`membership: a ${ttlMs} ms time-to-live must cover at least three ${heartbeatMs} ms heartbeats`);
    const name = self().name;
    if (!nodeName.test(name)) throw new RangeError(`membership: "${name}" is not a node name (1 to 63 letters, digits, '.', '_' or '-')`);
    // Made by whichever node comes first, and waited for until a write is acknowledged.
    const kv = await openKv(nc, options.bucket ?? "flick-nodes", { replicas: options.replicas ?? 3, history: 1, ttl: ttlMs });
    const m = new Membership(kv, self, options);
    // While a NATS server is lost, a watch's consumer may land on it and time out: again.
    await ready(options.bucket ?? "flick-nodes", () => m.beat());
    await ready(options.bucket ?? "flick-nodes", () => m.watch());
    m.heartbeat = setInterval(() => void m.beat().catch((err: unknown) => m.o.onError?.(err)), heartbeatMs);
    m.sweep = setInterval(() => m.forgetSilent(), Math.max(100, Math.floor(heartbeatMs / 2)));
    m.heartbeat.unref();
    m.sweep.unref();
    return m;
  }

  /** The nodes heard from within the time-to-live, this one included, by name. */
  members(): NodeInfo[] {
    return [...this.known.values()].map((k) => k.node).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  /** Stops heartbeating and takes this node's entry out: the others hear at once. */
  async leave(): Promise<void> {
    this.stop();
    await this.kv.delete(this.self().name);
  }

  /** Stops heartbeating and watching, and leaves the entry to age out (as a crash would). */
  stop(): void {
    clearInterval(this.heartbeat);
    clearInterval(this.sweep);
    this.stopWatch?.();
    this.stopWatch = undefined;
  }

  private async beat(): Promise<void> {
    await this.kv.put(this.self().name, JSON.stringify(this.self()));
  }

  private async watch(): Promise<void> {
    const entries = await this.kv.watch();
    let stopped = false;
    this.stopWatch = () => {
      stopped = true;
      entries.stop();
    };
    void (async () => {
      try {
        await this.follow(entries);
      } catch {
        // The watch broke (its consumer was on a NATS server that went away): watched again
        // in a second, from every node's last heartbeat.
      }
      while (!stopped) {
        await new Promise((resolve) => setTimeout(resolve, 1000));
        if (stopped) return;
        try {
          return await this.watch();
        } catch {}
      }
    })();
  }

  private async follow(entries: Awaited<ReturnType<KV["watch"]>>): Promise<void> {
    for await (const entry of entries) {
      if (entry.operation !== "PUT") {
        if (this.known.delete(entry.key)) this.o.onEvent?.({ kind: "left", name: entry.key, why: "stopped" });
        continue;
      }
      const node = parse(entry.key, entry.value);
      if (node === undefined) continue;
      // A watch starts with the last value of every key: at most `ttlMs` old (the bucket's
      // max age), so a node that died just before is taken for a member until the sweep.
      const joined = !this.known.has(node.name);
      this.known.set(node.name, { node, heardAtMs: performance.now() });
      this.o.onEvent?.({ kind: joined ? "joined" : "updated", node });
    }
  }

  private forgetSilent(): void {
    const now = performance.now();
    for (const [name, k] of this.known) {
      if (now - k.heardAtMs <= this.o.ttlMs) continue;
      this.known.delete(name);
      this.o.onEvent?.({ kind: "left", name, why: "silent" });
    }
  }
}
