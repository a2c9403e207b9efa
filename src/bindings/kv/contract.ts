/**
 * A KV binding's calls on the binding channel, shared by its guest, host and platform sides
 * (the host passes a call on as it came; the platform side is the one that decides). Keys
 * travel as strings; a value as the one buffer; metadata as its JSON text.
 *
 *   get      [key]                         → ["1" | "0", metadata JSON | "", expiration | ""], [value]
 *   getMany  [key, key, …]                 → per key: "1" | "0", metadata JSON | ""; [value, value, …] ("0": empty)
 *   put      [key, expiration | "", metadata JSON | ""], [value]  → nothing
 *   delete   [key]                         → nothing
 *   list     [prefix, limit, cursor]       → [], [UTF-8 JSON of { keys, list_complete, cursor? }] (a
 *            page of long keys and metadata is larger than one string may be)
 *
 * Expirations are whole seconds since the epoch, as Workers KV has them.
 */
export const kvContract = {
  kind: "kv",
  get: "get",
  getMany: "getMany",
  put: "put",
  delete: "delete",
  list: "list",
  /** A key's UTF-8 bytes. */
  maxKeyBytes: 512,
  /** A value's bytes. */
  maxValueBytes: 25 * 1024 * 1024,
  /** Metadata's JSON, in UTF-8 bytes. */
  maxMetadataBytes: 1024,
  /** Keys per `list` page, and the default. */
  maxListLimit: 1000,
  /** Keys per `get([...])`. */
  maxGetMany: 100,
  /** An expiration is at least this many seconds away. */
  minTtlSeconds: 60,
  /** KV operations one invocation may make. */
  operationsPerInvocation: 1000,
} as const;

/** UTF-8 length of a string without encoding it (lone surrogates count as U+FFFD's 3 bytes). */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/** Why `key` cannot be a KV key, or null. */
export function keyProblem(key: string): string | null {
  if (key === "") return "a key cannot be empty";
  if (key === "." || key === "..") return `"${key}" cannot be a key`;
  const bytes = utf8Length(key);
  if (bytes > kvContract.maxKeyBytes) return `the key is ${bytes} bytes (UTF-8), over the ${kvContract.maxKeyBytes}-byte limit; hash long keys`;
  return null;
}

/** Why `prefix` cannot start a listing, or null. */
export function prefixProblem(prefix: string): string | null {
  const bytes = utf8Length(prefix);
  return bytes > kvContract.maxKeyBytes ? `the prefix is ${bytes} bytes (UTF-8), over the ${kvContract.maxKeyBytes}-byte key limit` : null;
}

/** Why a value of `bytes` cannot be stored, or null. */
export function valueProblem(bytes: number): string | null {
  return bytes > kvContract.maxValueBytes ? `the value is ${bytes} bytes, over the ${kvContract.maxValueBytes}-byte (25 MiB) limit; split it or store a reference` : null;
}

/** Why metadata of this JSON cannot be stored, or null. */
export function metadataProblem(json: string): string | null {
  const bytes = utf8Length(json);
  return bytes > kvContract.maxMetadataBytes ? `the metadata is ${bytes} bytes as JSON, over the ${kvContract.maxMetadataBytes}-byte limit` : null;
}

/**
 * The expiration (seconds since the epoch) of a put's options at `nowMs`, or why they are
 * wrong: `expiration` (absolute) or `expirationTtl` (from now), at least 60 s away.
 */
export function expirationOf(expiration: unknown, ttl: unknown, nowMs: number): number | null | string {
  const now = Math.floor(nowMs / 1000);
  let at: number | null = null;
  if (expiration !== undefined && expiration !== null) {
    const n = Number(expiration);
    if (!Number.isFinite(n)) return `expiration must be seconds since the epoch, got ${String(expiration).slice(0, 40)}`;
    at = Math.floor(n);
    if (at < now + kvContract.minTtlSeconds) return `expiration ${at} is less than ${kvContract.minTtlSeconds} seconds from now (${now}); expire keys at least a minute ahead`;
  }
  if (ttl !== undefined && ttl !== null) {
    const n = Number(ttl);
    if (!Number.isFinite(n)) return `expirationTtl must be a number of seconds, got ${String(ttl).slice(0, 40)}`;
    if (Math.floor(n) < kvContract.minTtlSeconds) return `expirationTtl ${Math.floor(n)} is under the minimum of ${kvContract.minTtlSeconds} seconds`;
    at = now + Math.floor(n);
  }
  return at;
}

/** Why a call's strings and buffers are not `method`'s shape, or null (the host and the platform check with it). */
export function callProblem(method: string, strings: readonly string[], buffers: readonly Uint8Array[]): string | null {
  switch (method) {
    case kvContract.get:
    case kvContract.delete:
      return strings.length === 1 && buffers.length === 0 ? keyProblem(strings[0]!) : "malformed call";
    case kvContract.getMany: {
      if (strings.length === 0 || strings.length > kvContract.maxGetMany || buffers.length !== 0) return `get() takes 1 to ${kvContract.maxGetMany} keys at a time`;
      for (const key of strings) {
        const problem = keyProblem(key);
        if (problem !== null) return problem;
      }
      return null;
    }
    case kvContract.put: {
      if (strings.length !== 3 || buffers.length !== 1) return "malformed call";
      const [key, expiration, metadata] = strings as [string, string, string];
      if (expiration !== "" && !/^\d{1,15}$/.test(expiration)) return "malformed expiration";
      return keyProblem(key) ?? valueProblem(buffers[0]!.byteLength) ?? (metadata === "" ? null : metadataProblem(metadata));
    }
    case kvContract.list: {
      if (strings.length !== 3 || buffers.length !== 0) return "malformed call";
      const limit = Number(strings[1]);
      if (!Number.isInteger(limit) || limit < 1 || limit > kvContract.maxListLimit) return `limit must be 1 to ${kvContract.maxListLimit}, got ${strings[1]!.slice(0, 20)}`;
      if (strings[2]!.length > 2048) return "that cursor did not come from list()";
      return prefixProblem(strings[0]!);
    }
    default:
      return `${method.slice(0, 64)}() is not a method of a KV binding (get, getWithMetadata, put, delete, list)`;
  }
}
