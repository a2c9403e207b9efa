/**
 * Opening a JetStream bucket the way every node of a cluster can at once: made if missing
 * (two nodes making it at the same moment both get it), then waited for until a write to
 * it is acknowledged (a key-value bucket: its `_ready` key; an object store: its status),
 * which takes a leader and a quorum of replicas. A stream just made, or re-electing after
 * a server was lost, answers nothing for a few seconds; a node starting then waits rather
 * than fail.
 */
import type { JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV, type KvOptions } from "@nats-io/kv";
import { Objm, type ObjectStore, type ObjectStoreOptions } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { storeUnavailable } from "./store-unavailable.ts";

/** How long a bucket may take to answer before the node gives up with `store_unavailable`. */
const readyWithinMs = 60_000;

export async function openKv(nc: NatsConnection, name: string, options: Partial<KvOptions>): Promise<KV> {
  const kvm = new Kvm(nc);
  const kv = await ready(name, () => createOrOpen(() => kvm.create(name, options), () => kvm.open(name)));
  // Readers of these buckets list keys by their own prefixes; `_ready` is none of them.
  await ready(name, () => kv.put("_ready", ""));
  return kv;
}

export async function openObjects(nc: NatsConnection, name: string, options: Partial<ObjectStoreOptions>): Promise<ObjectStore> {
  const objm = new Objm(nc);
  const objects = await ready(name, () => createOrOpen(() => objm.create(name, options), () => objm.open(name)));
  // A store another node made a moment ago can answer "not found" while its stream is placed.
  await ready(name, () => objects.status(), /object store not found/i);
  return objects;
}

/** Made by this node, or by another that got there first. */
async function createOrOpen<T>(create: () => Promise<T>, open: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (!/already in use|exists/i.test(String(err))) throw err;
    return open();
  }
}

/** `work` again, while NATS says it cannot answer yet (or `alsoWaitFor` matches the error), for up to a minute. */
export async function ready<T>(name: string, work: () => Promise<T>, alsoWaitFor?: RegExp): Promise<T> {
  const began = Date.now();
  let told = false;
  for (;;) {
    try {
      return await storeUnavailable(`the JetStream bucket ${name}`, work);
    } catch (err) {
      // A connection this node closed (it gave up on starting: another part failed) never comes back.
      const closed = /closed connection/i.test(String(err));
      const transient = (err instanceof Error && "code" in err && err.code === "store_unavailable" && !closed) || (alsoWaitFor?.test(String(err)) ?? false);
      if (!transient || Date.now() - began > readyWithinMs) throw err;
      // A new bucket takes a moment to answer, which is not worth a word; a wait past a few
      // seconds is, once, so a node that seems stuck at start says what it waits for.
      if (!told && Date.now() - began > 5000) {
        process.emitWarning(`flick: waiting for the JetStream bucket ${name}, up to ${readyWithinMs / 1000} s: ${(err as Error).message}`);
        told = true;
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/** Makes a stream (or finds it made by another node), waiting while the cluster cannot place it yet. */
export async function ensureStream(jsm: JetStreamManager, config: Record<string, unknown> & { name: string }): Promise<void> {
  await ready(config.name, async () => {
    try {
      await jsm.streams.add(config as never);
    } catch (err) {
      if (!/already in use|exists/i.test(String(err))) throw err;
    }
  });
}
