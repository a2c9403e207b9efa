/** A KV binding's names (../settings.ts): `env.NAME` reads and writes a KV namespace of the tenant (`flick kv create`). */
export const kvSettings = {
  kind: "kv",
  apiKey: "kvBindings",
  flag: "kv-binding",
  table: "kv",
  help: "env.NAME is KV namespace NS of the tenant: get/put/delete/list (`flick kv create NS` first; repeatable)",
  target: { pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, rule: "KV namespace names are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit" },
  typeName: "FlickKV",
  typeDeclaration: `/** \`env.NAME\` of a KV binding: Workers KV's API on a namespace of the tenant. */
interface FlickKV {
  get(key: string, options?: "text" | { type?: "text" }): Promise<string | null>;
  get<T = unknown>(key: string, options: "json" | { type: "json" }): Promise<T | null>;
  get(key: string, options: "arrayBuffer" | { type: "arrayBuffer" }): Promise<ArrayBuffer | null>;
  get(key: string, options: "stream" | { type: "stream" }): Promise<ReadableStream | null>;
  get(keys: string[], options?: "text" | "json" | { type?: "text" | "json" }): Promise<Map<string, unknown>>;
  getWithMetadata<M = unknown>(key: string, options?: "text" | "json" | "arrayBuffer" | "stream" | { type?: "text" | "json" | "arrayBuffer" | "stream" }): Promise<{ value: unknown; metadata: M | null; cacheStatus: null }>;
  put(key: string, value: string | ArrayBuffer | ArrayBufferView | ReadableStream, options?: { expiration?: number; expirationTtl?: number; metadata?: unknown }): Promise<void>;
  delete(key: string): Promise<void>;
  list<M = unknown>(options?: { prefix?: string; limit?: number; cursor?: string }): Promise<{ keys: { name: string; expiration?: number; metadata?: M }[]; list_complete: boolean; cursor?: string; cacheStatus: null }>;
}`,
} as const;

/** KV namespace names: what `flick kv create` accepts and `--kv-binding NAME=NS` names. */
export const kvNamespacePattern = kvSettings.target.pattern;
