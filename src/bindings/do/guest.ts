/**
 * Durable objects inside the isolate. `env.ROOMS` of a binding is the namespace:
 * `idFromName(name)` (the same id for the same name, always), `newUniqueId()`,
 * `idFromString(hex)`, and `get(id)` / `getByName(name)`, a stub whose `fetch` reaches the one
 * live instance of that object. `objectState(id, name)` is the `state` an object's class is
 * constructed with in its own instance: `state.id`, `state.storage` (get, put, delete,
 * deleteAll, list, transaction, alarms) and `blockConcurrencyWhile`.
 */
import { callBinding } from "../../runtime/guest/binding-channel.ts";
import { ownBytes } from "../../runtime/guest/host-ops.ts";
import { randomBytes } from "../../runtime/guest/crypto.ts";
import { TextEncoder } from "../../runtime/guest/web/text-encoding.ts";
import { utf8Length } from "../kv/contract.ts";
import { fetchThroughBinding } from "../service/guest.ts";
import { doContract, objectIdPattern, sha256Hex } from "./contract.ts";
import { decodeValue, encodeValue } from "./guest-codec.ts";

const encoder = new TextEncoder();

class DurableObjectId {
  readonly #hex: string;
  readonly name: string | undefined;
  constructor(hex: string, name: string | undefined) {
    this.#hex = hex;
    this.name = name;
  }
  toString(): string {
    return this.#hex;
  }
  equals(other: unknown): boolean {
    return other instanceof DurableObjectId && other.#hex === this.#hex;
  }
}

export function durableObjectNamespace(binding: string): object {
  const idFromName = (name: unknown): DurableObjectId => {
    if (typeof name !== "string") throw new TypeError(`env.${binding}.idFromName(): the name is a string`);
    if (utf8Length(name) > doContract.maxNameBytes) throw new RangeError(`env.${binding}.idFromName(): names are at most ${doContract.maxNameBytes} bytes`);
    // The binding's class is part of what is hashed on the platform side, not here: the same
    // name in two namespaces is two objects because the platform keys objects by namespace.
    return new DurableObjectId(sha256Hex(encoder.encode(`name:${name}`)), name);
  };
  const get = (id: unknown): object => {
    if (!(id instanceof DurableObjectId)) throw new TypeError(`env.${binding}.get(): pass an id from idFromName, newUniqueId or idFromString`);
    const fetch = (input: unknown, init?: unknown) => fetchThroughBinding(doContract.kind, binding, [id.toString(), id.name ?? ""], input, init, `env.${binding}.get(id).fetch`);
    return Object.freeze({ id, name: id.name, fetch });
  };
  return Object.freeze({
    idFromName,
    newUniqueId: () => {
      const bytes = randomBytes(32);
      let hex = "";
      for (const b of bytes) hex += b.toString(16).padStart(2, "0");
      return new DurableObjectId(hex, undefined);
    },
    idFromString: (hex: unknown) => {
      if (typeof hex !== "string" || !objectIdPattern.test(hex)) throw new TypeError(`env.${binding}.idFromString(): an id is 64 lowercase hex digits (what id.toString() gives)`);
      return new DurableObjectId(hex, undefined);
    },
    get,
    getByName: (name: unknown) => get(idFromName(name)),
  });
}

// — an object's own state, in its instance —

function storageCall(method: string, strings: string[], buffers: Uint8Array[] = []) {
  return callBinding(doContract.kind, doContract.storageBinding, method, strings, buffers);
}

function checkKey(key: unknown): string {
  if (typeof key !== "string") throw new TypeError(`storage: a key is a string, got ${key === null ? "null" : typeof key}`);
  if (utf8Length(key) > doContract.maxKeyBytes) throw new RangeError(`storage: a key is at most ${doContract.maxKeyBytes} bytes`);
  return key;
}

function checkKeys(keys: unknown[]): string[] {
  if (keys.length > doContract.maxKeysPerCall) throw new RangeError(`storage: at most ${doContract.maxKeysPerCall} keys at a time, got ${keys.length}`);
  return keys.map(checkKey);
}

function encoded(value: unknown): Uint8Array {
  const bytes = encodeValue(value);
  if (bytes.byteLength > doContract.maxValueBytes) throw new RangeError(`storage: a value is ${bytes.byteLength} bytes stored, over the ${doContract.maxValueBytes}-byte limit`);
  return bytes;
}

/**
 * What this instance knows its object stores, so that reading a key it has read or written
 * before needs no round trip to the node: an object's requests all run in its one instance
 * (the scheduler's `sole`), one at a time, and its storage changes only by the writes it
 * sends from here (a commit that fails starts the object again in a fresh instance). Kept
 * as encoded bytes — every read decodes a copy of its own, as from storage — or null for
 * a key known not to be there. The least recently used go first past `knownBytesMax`.
 */
class KnownValues {
  readonly #entries = new Map<string, Uint8Array | null>();
  #bytes = 0;
  /**
   * Counts the writes sent. A read whose answer comes after a write was sent is not kept
   * (the node may have answered it before that write), nor is a write's outcome when
   * another was sent after it (which may change its keys again).
   */
  writes = 0;

  get(key: string): Uint8Array | null | undefined {
    const v = this.#entries.get(key);
    if (v !== undefined) {
      this.#entries.delete(key);
      this.#entries.set(key, v);
    }
    return v;
  }

  set(key: string, value: Uint8Array | null): void {
    this.forget(key);
    this.#entries.set(key, value);
    this.#bytes += entrySize(key, value);
    for (const [k] of this.#entries) {
      if (this.#bytes <= knownBytesMax) break;
      this.forget(k);
    }
  }

  forget(key: string): void {
    const v = this.#entries.get(key);
    if (v === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entrySize(key, v);
  }

  clear(): void {
    this.#entries.clear();
    this.#bytes = 0;
  }
}

/** What an instance keeps of its object's values, at most (it counts against its memory limit). */
const knownBytesMax = 4 * 1024 * 1024;
const entrySize = (key: string, value: Uint8Array | null) => 64 + key.length * 2 + (value === null ? 0 : value.byteLength);

async function getMany(keys: string[], known: KnownValues): Promise<Map<string, unknown>> {
  const found = new Map<string, Uint8Array | null>();
  const missing: string[] = [];
  for (const k of keys) {
    const v = known.get(k);
    if (v === undefined) missing.push(k);
    else found.set(k, v);
  }
  if (missing.length > 0) {
    const writesBefore = known.writes;
    const { strings, buffers } = await storageCall("get", missing);
    const keep = known.writes === writesBefore;
    missing.forEach((k, i) => {
      const v = strings[i] === "1" ? ownBytes(buffers[i]!) : null;
      found.set(k, v);
      if (keep) known.set(k, v);
    });
  }
  const out = new Map<string, unknown>();
  for (const k of keys) {
    const v = found.get(k);
    if (v !== null && v !== undefined) out.set(k, decodeValue(v));
  }
  return out;
}

/**
 * Sends a write of `keys`, after which they hold `after` (null: deleted). Until it is
 * answered they are not known here: a read meanwhile asks the node, which has the write
 * (or refused it) by then.
 */
async function written(known: KnownValues, method: string, strings: string[], buffers: Uint8Array[], keys: string[], after: (Uint8Array | null)[]): Promise<string[]> {
  const sent = ++known.writes;
  for (const k of keys) known.forget(k);
  const answer = await storageCall(method, strings, buffers);
  if (known.writes === sent) keys.forEach((k, i) => known.set(k, after[i]!));
  return answer.strings;
}

interface ListOptions {
  start?: string;
  startAfter?: string;
  end?: string;
  prefix?: string;
  reverse?: boolean;
  limit?: number;
}

async function list(options: unknown): Promise<Map<string, unknown>> {
  const o = (typeof options === "object" && options !== null ? options : {}) as ListOptions;
  const str = (v: unknown) => (v === undefined || v === null ? "" : checkKey(String(v)));
  const limit = o.limit === undefined ? "" : String(o.limit);
  if (limit !== "" && (!Number.isInteger(o.limit) || (o.limit as number) < 1)) throw new RangeError("storage.list(): limit is a whole number of at least 1");
  const { strings, buffers } = await storageCall("list", [str(o.start), str(o.startAfter), str(o.end), str(o.prefix), o.reverse === true ? "1" : "", limit]);
  return new Map(strings.map((k, i) => [k, decodeValue(buffers[i]!)]));
}

function storage(): object {
  const known = new KnownValues();
  const get = async (key: unknown): Promise<unknown> => {
    if (Array.isArray(key)) return getMany(checkKeys(key), known);
    return (await getMany([checkKey(key)], known)).get(key as string);
  };
  const put = async (key: unknown, value?: unknown): Promise<void> => {
    if (typeof key === "object" && key !== null) {
      const entries = Object.entries(key as Record<string, unknown>);
      const keys = checkKeys(entries.map(([k]) => k));
      const values = entries.map(([, v]) => encoded(v));
      await written(known, "put", keys, values, keys, values);
      return;
    }
    const k = checkKey(key);
    const v = encoded(value);
    await written(known, "put", [k], [v], [k], [v]);
  };
  const del = async (key: unknown): Promise<boolean | number> => {
    const keys = Array.isArray(key) ? checkKeys(key) : [checkKey(key)];
    const strings = await written(known, "delete", keys, [], keys, keys.map(() => null));
    const n = Number(strings[0] ?? 0);
    return Array.isArray(key) ? n : n > 0;
  };
  const deleteAll = async (): Promise<void> => {
    known.writes++;
    known.clear();
    await storageCall("deleteAll", []);
  };
  const getAlarm = async (): Promise<number | null> => {
    const { strings } = await storageCall("getAlarm", []);
    return strings[0] === undefined || strings[0] === "" ? null : Number(strings[0]);
  };
  const setAlarm = async (when: unknown): Promise<void> => {
    const ms = when instanceof Date ? when.getTime() : Number(when);
    if (!Number.isFinite(ms)) throw new TypeError("storage.setAlarm(): give a time in epoch milliseconds or a Date");
    await storageCall("setAlarm", [String(Math.floor(ms))]);
  };
  /**
   * A transaction: reads see its own writes; its writes go to the platform as one atomic
   * write when the closure resolves (none when it throws or calls rollback()).
   */
  const transaction = async (closure: unknown): Promise<unknown> => {
    if (typeof closure !== "function") throw new TypeError("storage.transaction(): pass an async function (txn) => …");
    const writes = new Map<string, { value: unknown } | null>();
    let rolledBack = false;
    const txn = Object.freeze({
      get: async (key: unknown) => {
        if (Array.isArray(key)) {
          const keys = checkKeys(key);
          const from = await getMany(keys.filter((k) => !writes.has(k)), known);
          const out = new Map<string, unknown>();
          for (const k of keys) {
            const w = writes.get(k);
            if (w === undefined) {
              if (from.has(k)) out.set(k, from.get(k));
            } else if (w !== null) out.set(k, w.value);
          }
          return out;
        }
        const k = checkKey(key);
        const w = writes.get(k);
        return w === undefined ? (await getMany([k], known)).get(k) : w === null ? undefined : w.value;
      },
      put: async (key: unknown, value?: unknown) => {
        const entries = typeof key === "object" && key !== null ? Object.entries(key as Record<string, unknown>) : [[key, value] as [unknown, unknown]];
        for (const [k, v] of entries) {
          encoded(v);
          writes.set(checkKey(k), { value: decodeValue(encodeValue(v)) });
        }
      },
      delete: async (key: unknown) => {
        const keys = Array.isArray(key) ? checkKeys(key) : [checkKey(key)];
        let n = 0;
        for (const k of keys) {
          const w = writes.get(k);
          if (w === undefined ? (await getMany([k], known)).has(k) : w !== null) n++;
          writes.set(k, null);
        }
        return Array.isArray(key) ? n : n > 0;
      },
      list: async (options?: unknown) => {
        const base = await list(options);
        for (const [k, w] of writes) {
          if (w === null) base.delete(k);
          else base.set(k, w.value);
        }
        const o = (typeof options === "object" && options !== null ? options : {}) as ListOptions;
        const keys = [...base.keys()].filter((k) =>
          (o.prefix === undefined || k.startsWith(o.prefix)) && (o.start === undefined || k >= o.start) && (o.startAfter === undefined || k > o.startAfter) && (o.end === undefined || k < o.end)).sort();
        if (o.reverse === true) keys.reverse();
        return new Map(keys.slice(0, o.limit ?? keys.length).map((k) => [k, base.get(k)]));
      },
      rollback: () => void (rolledBack = true),
      getAlarm, setAlarm,
      deleteAlarm: () => storageCall("deleteAlarm", []).then(() => undefined),
    });
    const result = await (closure as (t: unknown) => unknown)(txn);
    if (!rolledBack && writes.size > 0) {
      const strings: string[] = [];
      const buffers: Uint8Array[] = [];
      const after: (Uint8Array | null)[] = [];
      for (const [k, w] of writes) {
        strings.push(w === null ? "delete" : "put", k);
        const bytes = w === null ? null : encoded(w.value);
        if (bytes !== null) buffers.push(bytes);
        after.push(bytes);
      }
      await written(known, "write", strings, buffers, [...writes.keys()], after);
    }
    return result;
  };
  return Object.freeze({
    get, put, delete: del, list, transaction, getAlarm, setAlarm,
    deleteAll,
    deleteAlarm: () => storageCall("deleteAlarm", []).then(() => undefined),
    sync: async () => {},
  });
}

/** The `state` an object's class is constructed with, in the object's own instance. */
export function objectState(id: string, name: string): object {
  return Object.freeze({
    id: new DurableObjectId(id, name === "" ? undefined : name),
    storage: storage(),
    // Requests to an object run one at a time here, so there is nothing to hold back.
    blockConcurrencyWhile: async (fn: unknown) => (typeof fn === "function" ? (fn as () => unknown)() : undefined),
    waitUntil: () => {},
  });
}
