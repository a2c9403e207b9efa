/**
 * The JetStream KV backend's storage: one KV bucket (`<prefix>-kv`, history 1) and one
 * object store (`<prefix>-kv-values`), both replicated, made if missing (nodes starting
 * together may both make them) and waited for until a write is acknowledged — a stream
 * just made, or electing a leader, answers nothing for a few seconds.
 *
 * The operations are the few the backend needs, each acknowledged by JetStream before it
 * resolves (a majority of the replicas stored it):
 * - `write` expects the key's revision (0: no value), so a write that lost a race says so;
 * - `remove` deletes the message at one sequence: with history 1 a key holds at most one
 *   message, so this deletes the key only if it still holds what was read, and leaves no
 *   marker behind (a later write expects revision 0 again);
 * - `keys` reads the stream's index of subjects, answered by its leader, rather than a
 *   consumer (which may be placed on a server that is down, and then time out).
 * Reads go to each stream's leader (no direct gets from replicas): a read sees every write
 * acknowledged before it.
 */
import { JetStreamApiCodes, JetStreamApiError, jetstreamManager, type JetStreamManager } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { Objm, type ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { FlickError } from "../../errors/index.ts";
import { isConflict, isDeleteMiss, natsUnavailable } from "./nats-unavailable.ts";

/** How long the buckets may take to answer at open before the node gives up. */
const readyWithinMs = 60_000;
/** Chunks of a large value: well under NATS's default max_payload (1 MiB). */
const chunkBytes = 128 * 1024;

export interface Stored {
  /** The message's sequence in the stream: the key's revision. */
  rev: number;
  payload: Uint8Array;
}

export class KvBucket {
  private readonly kv: KV;
  private readonly objects: ObjectStore;
  private readonly jsm: JetStreamManager;
  private readonly name: string;
  private readonly objectsName: string;

  private constructor(kv: KV, objects: ObjectStore, jsm: JetStreamManager, name: string, objectsName: string) {
    this.kv = kv;
    this.objects = objects;
    this.jsm = jsm;
    this.name = name;
    this.objectsName = objectsName;
  }

  static async open(nc: NatsConnection, prefix: string, replicas: number): Promise<KvBucket> {
    const name = `${prefix}-kv`;
    const objectsName = `${prefix}-kv-values`;
    const jsm = await jetstreamManager(nc);
    const kv = await whenReady(name, () => createOrOpen(() => new Kvm(nc).create(name, { replicas, history: 1, allow_direct: false }), () => new Kvm(nc).open(name)));
    await whenReady(name, () => kv.put("_ready", ""));
    const objects = await whenReady(objectsName, () => createOrOpen(() => new Objm(nc).create(objectsName, { replicas }), () => new Objm(nc).open(objectsName)));
    // A store another node made a moment ago can say it does not exist while its stream is placed.
    await whenReady(objectsName, () => jsm.streams.info(`OBJ_${objectsName}`), JetStreamApiCodes.StreamNotFound);
    return new KvBucket(kv, objects, jsm, name, objectsName);
  }

  private get stream(): string {
    return `KV_${this.name}`;
  }

  private subject(key: string): string {
    return `$KV.${this.name}.${key}`;
  }

  async read(key: string): Promise<Stored | null> {
    const entry = await this.kv.get(key);
    // Nothing here writes delete markers; one would be an absent key all the same.
    if (entry === null || entry.operation !== "PUT") return null;
    return { rev: entry.revision, payload: entry.value };
  }

  /** Writes `key` if it is still at `rev` (0: holds nothing); its new revision, or "conflict". */
  async write(key: string, payload: Uint8Array | string, rev: number): Promise<number | "conflict"> {
    try {
      return await this.kv.put(key, payload, { previousSeq: rev });
    } catch (err) {
      if (isConflict(err)) return "conflict";
      throw err;
    }
  }

  /** Writes `key` whatever it holds. */
  async overwrite(key: string, payload: Uint8Array | string): Promise<number> {
    return this.kv.put(key, payload);
  }

  /** Deletes `key` if it still holds revision `rev`; false when something else replaced or deleted it first. */
  async remove(key: string, rev: number): Promise<boolean> {
    try {
      await this.jsm.streams.deleteMessage(this.stream, rev, false);
      return true;
    } catch (err) {
      if (!isDeleteMiss(err)) throw err;
      // The same code covers other failures of a delete: gone is only gone if a read agrees.
      if ((await this.read(key))?.rev === rev) throw err;
      return false;
    }
  }

  /** Deletes every key under `filter` (a key or a NATS wildcard), whatever they hold. */
  async purge(filter: string): Promise<number> {
    return (await this.jsm.streams.purge(this.stream, { filter: this.subject(filter) })).purged;
  }

  /** The keys under `filter`, unordered, read from the stream's index of subjects (one request per 100,000 keys). */
  async keys(filter: string): Promise<string[]> {
    const prefix = this.subject("");
    const info = await this.jsm.streams.info(this.stream, { subjects_filter: this.subject(filter) });
    return Object.keys(info.state.subjects ?? {}).map((s) => s.slice(prefix.length));
  }

  async putObject(name: string, bytes: Uint8Array): Promise<void> {
    await this.objects.putBlob({ name, options: { max_chunk_size: chunkBytes } }, bytes);
  }

  /** The object's bytes, or null when it is gone (deleted since its entry was read). */
  async getObject(name: string): Promise<Uint8Array | null> {
    const blob = await this.objects.getBlob(name);
    return blob === null ? null : new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
  }

  /**
   * Deletes an object and then its name's record too: the client's delete keeps a "deleted"
   * record per name, and every large value has a name of its own, so those would pile up.
   * The record's subject is the object store's (ADR-20): `$O.<bucket>.M.<name, base64url with padding>`.
   */
  async removeObject(name: string): Promise<void> {
    await this.objects.delete(name);
    const encoded = Buffer.from(name).toString("base64url");
    const padded = encoded + "=".repeat((4 - (encoded.length % 4)) % 4);
    await this.jsm.streams.purge(`OBJ_${this.objectsName}`, { filter: `$O.${this.objectsName}.M.${padded}` });
  }
}

/** JetStream's code for a stream made before with another configuration. */
const streamNameInUse = 10058;

/** Made here, or by another node that got there first (the same configuration is no error). */
export async function createOrOpen<T>(create: () => Promise<T>, open: () => Promise<T>): Promise<T> {
  try {
    return await create();
  } catch (err) {
    if (!(err instanceof JetStreamApiError && err.code === streamNameInUse)) throw err;
    return open();
  }
}

/** `work` again every 250 ms while NATS cannot answer yet (or answers JetStream's `alsoWaitFor` code), for up to a minute. */
export async function whenReady<T>(name: string, work: () => Promise<T>, alsoWaitFor?: number): Promise<T> {
  const began = Date.now();
  for (;;) {
    try {
      return await natsUnavailable(`the JetStream bucket ${name}`, work);
    } catch (err) {
      const waiting = (err instanceof FlickError && err.code === "store_unavailable") || (err instanceof JetStreamApiError && err.code === alsoWaitFor);
      if (!waiting || Date.now() - began > readyWithinMs) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}
