/**
 * Every error code Flick returns, with its HTTP status. Codes are a public contract:
 * clients branch on them, docs/errors.md explains each one, and a test keeps the two
 * in step. Never rename a code; add a new one.
 */
export const errorCodes = {
  // ── the caller's fault: the message says how to fix it ──
  /** The request is malformed in a way no more specific code covers. */
  bad_request: 400,
  /** The request body is not valid JSON, or nests deeper than `limits.apiJsonMaxDepth`. */
  invalid_json: 400,
  /** A field of the request, a flag or a setting has a wrong value; details name the field. */
  validation_failed: 400,
  /** The deployed code does not compile or its top level throws; the message gives file:line. */
  invalid_bundle: 400,
  /** The module has no default export with a `fetch` method. */
  missing_fetch_handler: 400,
  /** No token, or a token Flick does not know. */
  unauthorized: 401,
  /** A valid token that may not do this (another tenant's function, an admin-only route). */
  forbidden: 403,
  /** No such route. */
  not_found: 404,
  /** No function of that name (or not one the token may see). */
  function_not_found: 404,
  /** No version with that id for this function. */
  version_not_found: 404,
  /** No async invocation with that id (or not one the token may see). */
  invocation_not_found: 404,
  /** No spans kept for that invocation: not sampled, evicted, or not one the token may see. */
  trace_not_found: 404,
  /** No tenant of that name. */
  tenant_not_found: 404,
  /** The tenant has no KV namespace of that name. */
  kv_namespace_not_found: 404,
  /** The tenant has no SQL database of that name. */
  sql_database_not_found: 404,
  /** The route exists, the method does not. */
  method_not_allowed: 405,
  /** The function name belongs to another tenant. */
  name_taken: 409,
  /** A tenant of that name exists already. */
  tenant_exists: 409,
  /** The tenant has a KV namespace of that name already. */
  kv_namespace_exists: 409,
  /** The tenant has a SQL database of that name already. */
  sql_database_exists: 409,
  /** The body is larger than the documented limit; nothing ran. */
  payload_too_large: 413,
  /** The function runs its maximum instances, all busy (or is stopped: max instances 0); retry after `Retry-After`. */
  function_limit: 429,
  /** The tenant has as many requests in flight as its concurrency limit; retry after `Retry-After`. */
  tenant_limit: 429,
  /** No worker host can take another instance now (capacity, constraints); retry after `Retry-After`. */
  no_capacity: 429,
  /** The tenant's async queue holds its maximum of messages or bytes; retry after `Retry-After`. */
  queue_full: 429,
  /** The change would take the tenant past a quota the operator set (provisioned instances or memory); the message names it. */
  quota_exceeded: 403,

  // ── the platform's or the function's fault: logged with cause ──
  /** Unexpected failure inside Flick; logged with its cause. */
  internal: 500,
  /** The function threw, rejected, or returned something that is not a Response. */
  function_error: 502,
  /** The function's instance ran out of its memory limit and was discarded. */
  memory_limit: 502,
  /** The invocation used more CPU time than its `--cpu-limit`; the instance was stopped. */
  cpu_limit: 502,
  /** The instance was discarded because another request on it hit a limit. */
  instance_terminated: 502,
  /** The worker host process running the instance died; it is restarted. */
  host_crashed: 502,
  /** The node is shutting down or not ready yet. */
  unavailable: 503,
  /** The store could not durably take the write (disk full, database locked): nothing was acknowledged; retry after `Retry-After`. */
  store_unavailable: 503,
  /** The invocation ran past its timeout and was stopped. */
  timeout: 504,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof errorCodes;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && Object.hasOwn(errorCodes, value);
}
