/**
 * A binding kind's platform side (src/bindings/<kind>/platform.ts): what runs in the node
 * (the primary) for a call a host sends, and for a deploy that binds the kind. The node
 * opens every kind's side at start with what it offers them (`NodeServices`) and closes
 * them at stop; storage a kind keeps (KV namespaces, databases …) is its own.
 */
import type { RouteTarget } from "../gateway/index.ts";
import type { Call, CallResult, WireRequest } from "../host/protocol.ts";
import { FlickError, type ErrorData } from "../errors/index.ts";
import type { Submission } from "../queue/index.ts";
import type { TraceSink } from "../telemetry/index.ts";
import type { NatsConnection } from "@nats-io/transport-node";

/** A response run to its end through the node's request path, buffered up to a limit. */
export interface ServedResponse {
  status: number;
  headers: string[];
  body: Uint8Array;
  /** More than the limit came: the callee was stopped. */
  truncated: boolean;
  /** Set when the platform answered (status 0: no response at all). */
  error: ErrorData | null;
}

/** The node's settings for binding kinds (its flags). */
export interface BindingOptions {
  /** What one tenant may store in KV, keys, values and metadata together (`--tenant-kv-mib`). */
  kvQuotaMiB: number;
  /** What one tenant's durable objects may store on this node, keys and values together (`--tenant-do-mib`). */
  doQuotaMiB: number;
  /** A SQL database's size limit, MiB (`--db-max-mib`). */
  sqlMaxMiB: number;
  /** What all of one tenant's SQL databases may hold on this node together, MiB (`--tenant-sql-mib`). */
  sqlQuotaMiB: number;
  /** How long one SQL call (a query, a batch, an exec) may run, ms (`--sql-timeout`). */
  sqlTimeoutMs: number;
  /** SQL runner processes (`--sql-runners`). */
  sqlRunners: number;
}

export const defaultBindingOptions: BindingOptions = { kvQuotaMiB: 1024, doQuotaMiB: 1024, sqlMaxMiB: 500, sqlQuotaMiB: 1024, sqlTimeoutMs: 30_000, sqlRunners: 2 };

/** What the node offers the kinds' platform sides. */
export interface NodeServices {
  readonly options: BindingOptions;
  /** The node's data directory: a kind's SQLite files go under it. */
  readonly dataDir: string;
  /** The node is one of a cluster (`--cluster`): what it keeps must be shared, not in its own files. */
  readonly clustered: boolean;
  /** In a cluster: the node's NATS connection (the node closes it) and how many copies each stream keeps (`--cluster-replicas`). */
  readonly nats: { connection: NatsConnection; replicas: number } | undefined;
  /** The function `name`, if it is live: its tenant, route and the handlers its module exports. */
  liveFunction(name: string): { tenant: string; route: RouteTarget; handlers: string[] } | undefined;
  /** The function `name`'s owner, deployed or not (deploys check targets with it). */
  functionTenant(name: string): Promise<string | undefined>;
  /** Queues async invocations durably: all of them, or none (over quota, over the hop limit, not written). */
  submit(submissions: Submission[]): Promise<unknown>;
  /**
   * Runs `request` on the function at `route` as a request to /fn runs (scheduler, limits,
   * logs), without an HTTP hop, buffering at most `maxServedBytes` of the response (as much
   * as an outbound fetch may bring back); throws a FlickError (429 and its reason) when nothing ran.
   */
  serve(route: RouteTarget, request: WireRequest): Promise<ServedResponse>;
  /**
   * Runs `request` on the one instance of durable object `id` of class `className` that
   * function `fn` (a name, of the caller's tenant) exports, as `serve` does; the instance is
   * started for that object alone. Throws `function_not_found` when the function is gone.
   */
  serveObject(fn: string, className: string, id: string, name: string, request: WireRequest): Promise<ServedResponse>;
  /** Drops durable object `id`'s instance: its next request starts a fresh one (its memory saw writes that were lost). */
  resetObject(fn: string, className: string, id: string): void;
  /** This node's name in its cluster (its hostname alone). */
  readonly self: string;
  /**
   * Runs a durable object's request on node `node` (its home), where it runs in the object's
   * turn there; throws `unavailable` when that node does not take the call.
   */
  forwardObject(node: string, fn: string, className: string, id: string, name: string, request: WireRequest): Promise<ServedResponse>;
  readonly maxServedBytes: number;
  /** Where sampled spans the platform side records go. */
  readonly traces: TraceSink | undefined;
}

export interface BindingPlatform {
  /**
   * At deploy, a binding `binding` of `tenant`'s function `fn` to `target`: throws a
   * FlickError saying what to do when the target may not be bound (absent, another tenant's).
   */
  checkTarget(tenant: string, fn: string, binding: string, target: string): Promise<void>;
  /** A call from an instance of `tenant` (the caller's, as the primary knows it). */
  call(call: Call, tenant: string): Promise<CallResult>;
  /** `tenant`'s function `fn` was removed (told on every node that served it): what the kind kept for it alone goes. */
  functionRemoved?(tenant: string, fn: string): Promise<void>;
  /** What `tenant` stores with this kind and its quota (a kind that stores nothing has none). */
  storageUsed?(tenant: string): Promise<StorageUse>;
  close(): Promise<void>;
}

/** A tenant's storage of one binding kind, as its quota counts it. */
export interface StorageUse {
  bytes: number;
  quotaBytes: number;
  /** "node": counted on each node for what is stored there; "cluster": one count for the whole cluster. */
  scope: "node" | "cluster";
}

/** A kind's platform side as the registry lists it: opened once per node. */
export interface BindingPlatformKind {
  readonly kind: string;
  open(node: NodeServices): BindingPlatform | Promise<BindingPlatform>;
}

/** An answer with no result: "" when the call succeeded, else its error (an `Error`, or `name`). */
export const result = (error: string, name = "Error", strings: string[] = [], buffers: Uint8Array[] = []): CallResult => ({
  errorName: error === "" ? "" : name, error, strings, buffers,
});

/**
 * The check both function-targeted kinds (service, queue) make at deploy: the target is a
 * deployed function of the same tenant (or the function being deployed).
 */
export async function checkFunctionTarget(node: NodeServices, kind: string, tenant: string, fn: string, binding: string, target: string): Promise<void> {
  const owner = target === fn ? tenant : await node.functionTenant(target);
  if (owner === undefined) throw new FlickError("validation_failed", `${kind} binding ${binding}: no function named "${target}"; deploy it first (\`flick ls\` lists yours)`);
  if (owner !== tenant) throw new FlickError("forbidden", `${kind} binding ${binding}: "${target}" belongs to another tenant; bindings reach only functions of the same tenant`);
}
