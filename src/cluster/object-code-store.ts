/**
 * Function code (store.ts `CodeStore`) in a JetStream Object Store, replicated: bundles,
 * their maps, script forms and wasm modules, each under `<kind>/<sha256>`. Objects are
 * content-addressed, so a put of a name that exists changes nothing, and two nodes putting
 * the same code at once write the same bytes. Objects are sent in chunks (128 KiB), so a
 * module of several MiB never has to fit one NATS message. There is no local path: each
 * node writes the files its hosts run (node/code-files.ts).
 */
import type { ObjectStore } from "@nats-io/obj";
import type { NatsConnection } from "@nats-io/transport-node";
import { codeFileName, type CodeKind, type CodeStore } from "../store/index.ts";
import { openObjects } from "./buckets.ts";
import { storeUnavailable } from "./store-unavailable.ts";

export interface ObjectCodeStoreOptions {
  /** Copies on the NATS servers (default 3). */
  replicas?: number;
  /** The bucket's name (default "flick-code"). */
  bucket?: string;
}

export class ObjectCodeStore implements CodeStore {
  private readonly objects: ObjectStore;

  private constructor(objects: ObjectStore) {
    this.objects = objects;
  }

  static async open(nc: NatsConnection, options: ObjectCodeStoreOptions = {}): Promise<ObjectCodeStore> {
    const objects = await openObjects(nc, options.bucket ?? "flick-code", { replicas: options.replicas ?? 3 });
    return new ObjectCodeStore(objects);
  }

  async putCode(kind: CodeKind, hash: string, bytes: Uint8Array): Promise<void> {
    codeFileName(kind, hash); // refuses what is not a content hash
    const name = `${kind}/${hash}`;
    await storeUnavailable(`the ${kind} ${hash.slice(0, 12)}…`, async () => {
      const info = await this.objects.info(name);
      if (info !== null && !info.deleted) return;
      await this.objects.putBlob({ name, options: { max_chunk_size: 128 * 1024 } }, bytes);
    });
  }

  async getCode(kind: CodeKind, hash: string): Promise<Uint8Array | undefined> {
    codeFileName(kind, hash);
    const blob = await storeUnavailable(`the ${kind} ${hash.slice(0, 12)}…`, () => this.objects.getBlob(`${kind}/${hash}`));
    // A plain Uint8Array, as every store hands out (the client gives a Buffer).
    return blob === null ? undefined : new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength);
  }

  /** Nothing to release: the connection is its owner's to close. */
  async close(): Promise<void> {}
}
