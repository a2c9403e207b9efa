/**
 * Where each durable object lives in a cluster: its home node, named once and for good in a
 * JetStream KV bucket (`flick-do-homes`, replicated as the cluster's buckets are). The first
 * node a request for the object reaches takes it with a create that only one node can win;
 * every other node then sends the object's requests there. So an object has one live
 * instance whatever node its callers reach, and its storage and alarms stay on its home's
 * disk. A home that is down makes its objects unavailable until it is back (never run
 * twice).
 */
import { Kvm, type KV } from "@nats-io/kv";
import type { NatsConnection } from "@nats-io/transport-node";
import { createOrOpen, whenReady } from "../kv/jetstream-kv-bucket.ts";
import { isConflict, natsUnavailable } from "../kv/nats-unavailable.ts";
import { sha256Hex } from "./contract.ts";

const bucket = "flick-do-homes";

export class ObjectHomes {
  private readonly kv: KV;
  private readonly self: string;
  /** Homes never change: what was read once is kept (a bounded cache). */
  private readonly known = new Map<string, string>();

  private constructor(kv: KV, self: string) {
    this.kv = kv;
    this.self = self;
  }

  static async open(nc: NatsConnection, replicas: number, self: string): Promise<ObjectHomes> {
    const kv = await whenReady(bucket, () => createOrOpen(() => new Kvm(nc).create(bucket, { replicas, history: 1 }), () => new Kvm(nc).open(bucket)));
    return new ObjectHomes(kv, self);
  }

  /** The home of the object `<tenant>/<function>/<class>/<id>`: this node when it is the first to ask. */
  async homeOf(object: string): Promise<string> {
    const known = this.known.get(object);
    if (known !== undefined) return known;
    const key = `h.${sha256Hex(new TextEncoder().encode(object))}`;
    const home = await natsUnavailable("finding a durable object's node", async () => {
      try {
        await this.kv.create(key, this.self);
        return this.self;
      } catch (err) {
        if (!isConflict(err) && !/exists|wrong last sequence/i.test(String(err))) throw err;
        const entry = await this.kv.get(key);
        if (entry === null) throw new Error(`the home of ${object} is neither free nor taken`);
        return entry.string();
      }
    });
    if (this.known.size >= 100_000) this.known.delete(this.known.keys().next().value!);
    this.known.set(object, home);
    return home;
  }
}
