/**
 * `env.CACHE` of a KV binding, inside the isolate: Workers KV's API — `get` (text, json,
 * arrayBuffer, stream; one key or up to 100), `getWithMetadata`, `put` with metadata and
 * `expiration`/`expirationTtl`, `delete`, and `list` with prefix, cursor and limit. Each
 * call is checked here for an error where it is made, then again by the host and the node.
 */
import { callBinding } from "../../runtime/guest/binding-channel.ts";
import { ReadableStream } from "../../runtime/guest/web/readable-stream.ts";
import { Response } from "../../runtime/guest/web/response.ts";
import { TextDecoder, TextEncoder } from "../../runtime/guest/web/text-encoding.ts";
import { expirationOf, keyProblem, kvContract, metadataProblem, prefixProblem, valueProblem } from "./contract.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type ValueType = "text" | "json" | "arrayBuffer" | "stream";

function typeOf(binding: string, method: string, options: unknown): ValueType {
  const type = typeof options === "string" ? options : typeof options === "object" && options !== null ? (options as { type?: unknown }).type : undefined;
  if (type === undefined || type === null) return "text";
  if (type === "text" || type === "json" || type === "arrayBuffer" || type === "stream") return type;
  throw new TypeError(`env.${binding}.${method}(): type must be "text", "json", "arrayBuffer" or "stream", got ${JSON.stringify(String(type)).slice(0, 40)}`);
}

function checkKey(binding: string, method: string, key: unknown): string {
  if (typeof key !== "string") throw new TypeError(`env.${binding}.${method}(): a key is a string, got ${key === null ? "null" : typeof key}`);
  const problem = keyProblem(key);
  if (problem !== null) throw new TypeError(`env.${binding}.${method}(): ${problem}`);
  return key;
}

function convert(bytes: Uint8Array, type: ValueType, binding: string): unknown {
  switch (type) {
    case "text":
      return decoder.decode(bytes);
    case "json":
      try {
        return JSON.parse(decoder.decode(bytes));
      } catch (err) {
        throw new SyntaxError(`env.${binding}.get(…, "json"): the value is not JSON: ${(err as Error).message}`);
      }
    case "arrayBuffer":
      return bytes.buffer.byteLength === bytes.byteLength ? bytes.buffer : bytes.slice().buffer;
    case "stream":
      return new Response(bytes as Uint8Array<ArrayBuffer>).body;
  }
}

function parseMetadata(json: string | undefined): unknown {
  return json === undefined || json === "" ? null : JSON.parse(json);
}

async function getOne(binding: string, method: string, key: unknown, options: unknown, withMetadata: boolean): Promise<unknown> {
  const type = typeOf(binding, method, options);
  const { strings, buffers } = await callBinding(kvContract.kind, binding, kvContract.get, [checkKey(binding, method, key)], []);
  const found = strings[0] === "1";
  const value = found ? convert(buffers[0] ?? new Uint8Array(0), type, binding) : null;
  return withMetadata ? { value, metadata: found ? parseMetadata(strings[1]) : null, cacheStatus: null } : value;
}

async function getMany(binding: string, method: string, keys: unknown[], options: unknown, withMetadata: boolean): Promise<Map<string, unknown>> {
  const type = typeOf(binding, method, options);
  if (type === "arrayBuffer" || type === "stream") throw new TypeError(`env.${binding}.${method}() of several keys gives "text" or "json" values, not "${type}"`);
  if (keys.length === 0 || keys.length > kvContract.maxGetMany) throw new RangeError(`env.${binding}.${method}(): 1 to ${kvContract.maxGetMany} keys at a time, got ${keys.length}`);
  const checked = keys.map((k) => checkKey(binding, method, k));
  const { strings, buffers } = await callBinding(kvContract.kind, binding, kvContract.getMany, checked, []);
  const result = new Map<string, unknown>();
  checked.forEach((key, i) => {
    const found = strings[2 * i] === "1";
    const value = found ? convert(buffers[i] ?? new Uint8Array(0), type, binding) : null;
    result.set(key, withMetadata ? (found ? { value, metadata: parseMetadata(strings[2 * i + 1]) } : null) : value);
  });
  return result;
}

function get(binding: string, method: string, withMetadata: boolean) {
  return (key: unknown, options?: unknown): Promise<unknown> =>
    Array.isArray(key) ? getMany(binding, method, key, options, withMetadata) : getOne(binding, method, key, options, withMetadata);
}

/** A put's value as bytes: text, bytes, or a stream read to its end (within the value limit). */
async function valueBytes(binding: string, value: unknown): Promise<Uint8Array> {
  if (typeof value === "string") return encoder.encode(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer);
  if (value instanceof ReadableStream) {
    const reader = (value as ReadableStream<unknown>).getReader();
    const chunks: Uint8Array[] = [];
    let total = 0;
    for (;;) {
      const { done, value: chunk } = await reader.read();
      if (done) break;
      if (!(chunk instanceof Uint8Array)) throw new TypeError(`env.${binding}.put(): a stream value must give Uint8Array chunks`);
      total += chunk.byteLength;
      if (total > kvContract.maxValueBytes) {
        void reader.cancel();
        throw new RangeError(`env.${binding}.put(): ${valueProblem(total)}`);
      }
      chunks.push(chunk);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const c of chunks) {
      bytes.set(c, at);
      at += c.byteLength;
    }
    return bytes;
  }
  throw new TypeError(`env.${binding}.put(): a value is a string, an ArrayBuffer, a typed array or a ReadableStream, got ${value === null ? "null" : typeof value}`);
}

async function put(binding: string, key: unknown, value: unknown, options: unknown): Promise<void> {
  checkKey(binding, "put", key);
  const o = (typeof options === "object" && options !== null ? options : {}) as { expiration?: unknown; expirationTtl?: unknown; metadata?: unknown };
  const expiration = expirationOf(o.expiration, o.expirationTtl, Date.now());
  if (typeof expiration === "string") throw new TypeError(`env.${binding}.put(): ${expiration}`);
  let metadata = "";
  if (o.metadata !== undefined && o.metadata !== null) {
    const json = JSON.stringify(o.metadata);
    if (json === undefined) throw new TypeError(`env.${binding}.put(): metadata must be JSON-serialisable`);
    const problem = metadataProblem(json);
    if (problem !== null) throw new RangeError(`env.${binding}.put(): ${problem}`);
    metadata = json;
  }
  const bytes = await valueBytes(binding, value);
  const problem = valueProblem(bytes.byteLength);
  if (problem !== null) throw new RangeError(`env.${binding}.put(): ${problem}`);
  await callBinding(kvContract.kind, binding, kvContract.put, [key as string, expiration === null ? "" : String(expiration), metadata], [bytes]);
}

async function remove(binding: string, key: unknown): Promise<void> {
  await callBinding(kvContract.kind, binding, kvContract.delete, [checkKey(binding, "delete", key)], []);
}

async function list(binding: string, options: unknown): Promise<unknown> {
  const o = (typeof options === "object" && options !== null ? options : {}) as { prefix?: unknown; limit?: unknown; cursor?: unknown };
  const prefix = o.prefix === undefined || o.prefix === null ? "" : String(o.prefix);
  const problem = prefixProblem(prefix);
  if (problem !== null) throw new TypeError(`env.${binding}.list(): ${problem}`);
  const limit = o.limit === undefined || o.limit === null ? kvContract.maxListLimit : Number(o.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > kvContract.maxListLimit) {
    throw new RangeError(`env.${binding}.list(): limit must be a whole number from 1 to ${kvContract.maxListLimit}, got ${String(o.limit).slice(0, 20)}`);
  }
  const cursor = o.cursor === undefined || o.cursor === null ? "" : String(o.cursor);
  const { buffers } = await callBinding(kvContract.kind, binding, kvContract.list, [prefix, String(limit), cursor], []);
  return JSON.parse(decoder.decode(buffers[0] ?? new Uint8Array(0)));
}

export function kvBinding(name: string): object {
  return Object.freeze({
    get: get(name, "get", false),
    getWithMetadata: get(name, "getWithMetadata", true),
    put: (key: unknown, value: unknown, options?: unknown) => put(name, key, value, options),
    delete: (key: unknown) => remove(name, key),
    list: (options?: unknown) => list(name, options),
  });
}
