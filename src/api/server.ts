/**
 * The admin API over node:http: `/api/v1/…`, JSON in and out, `Authorization: Bearer`.
 * Every failure is a FlickError rendered by the platform error contract.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type * as z from "zod";
import { FlickError, asFlickError } from "../errors/index.ts";
import type { InvocationStatus } from "../model/index.ts";
import { apiPrefix } from "./prefix.ts";
import type { ApiBackend, LogScope, Principal } from "./backend.ts";
import { logFilterOf, logMatches } from "./log-filter.ts";
import { readBytes, readJson } from "./read-json.ts";
import {
  createTenantRequest, deployRequest, describeIssues, functionName, kvBulkDelete, kvBulkPut, kvCreateRequest, kvNamespaceName, kvPutEntry, kvValueMaxBytes, sqlCreateRequest, sqlDatabaseName, sqlMigrateRequest, sqlQueryRequest, tenantName, invokeRequest, replayRequest, promoteRequest, rollbackRequest, scaleRequest, secretRequest, tenantUpdateRequest, trafficRequest,
} from "./schemas.ts";
import { seriesQuery } from "./series-query.ts";

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown): void {
  const error = asFlickError(err);
  if (error.status >= 500 && error.code === "internal") process.emitWarning(`flick: internal error: ${String(error.cause ?? error)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const retryAfter = error.details?.["retryAfterSeconds"];
  const headers: Record<string, string> = { "x-flick-error": error.code };
  if (typeof retryAfter === "number") headers["retry-after"] = String(retryAfter);
  sendJson(res, error.status, { error: error.toData() }, headers);
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = describeIssues(result.error);
  throw new FlickError("validation_failed", `invalid request: ${problems.join("; ")}`, { details: { fields: problems } });
}

/** A path segment, percent-decoded; malformed encoding (`%E0%A4%A`) is the caller's 400, not our 500. */
function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new FlickError("bad_request", `the path segment "${raw}" is not valid percent-encoding (each % takes two hex digits, together valid UTF-8)`);
  }
}

function secretParam(raw: string): string {
  const name = decodeParam(raw);
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
    throw new FlickError("validation_failed", `invalid secret name "${name}": names are letters, digits and _, not starting with a digit`);
  }
  return name;
}

function nameParam(raw: string): string {
  const name = decodeParam(raw);
  const result = functionName.safeParse(name);
  if (!result.success) throw new FlickError("validation_failed", `invalid function name "${name}": ${result.error.issues.map((i) => i.message).join("; ")}`);
  return name;
}

const invocationStatuses: readonly InvocationStatus[] = ["queued", "running", "completed", "dead"];

function intParam(url: URL, key: string): number | undefined {
  const raw = url.searchParams.get(key);
  if (raw === null || raw === "") return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new FlickError("validation_failed", `query parameter ${key}=${raw} must be a non-negative integer`);
  return n;
}

/** An `Idempotency-Key` header, checked: 1–255 visible ASCII characters. */
function idempotencyKeyOf(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  const key = Array.isArray(header) ? (header[0] ?? "") : header;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) {
    throw new FlickError("validation_failed", "Idempotency-Key must be 1-255 visible ASCII characters (a UUID is a good choice)");
  }
  return key;
}

type Handler = (ctx: { req: IncomingMessage; res: ServerResponse; url: URL; who: Principal; params: string[] }) => Promise<void>;

export function createApiHandler(backend: ApiBackend): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const routes: { method: string; pattern: RegExp; handler: Handler }[] = [];
  const route = (method: string, pattern: RegExp, handler: Handler) => routes.push({ method, pattern, handler });

  route("GET", /^\/whoami$/, async ({ res, who }) =>
    sendJson(res, 200, { role: who.role, tenant: who.role === "tenant" ? who.tenant : null }),
  );
  route("GET", /^\/functions$/, async ({ res, who }) => sendJson(res, 200, { functions: await backend.listFunctions(who) }));
  route("PUT", /^\/functions\/([^/]+)$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const body = parse(deployRequest, await readJson(req));
    const result = await backend.deploy(who, name, body);
    sendJson(res, result.changed ? 201 : 200, result);
  });
  route("PUT", /^\/functions\/([^/]+)\/secrets\/([^/]+)$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const secret = secretParam(params[1]!);
    const body = parse(secretRequest, await readJson(req));
    const result = await backend.changeSecret(who, name, secret, body.value);
    sendJson(res, result.changed ? 201 : 200, result);
  });
  route("DELETE", /^\/functions\/([^/]+)\/secrets\/([^/]+)$/, async ({ res, who, params }) => {
    const name = nameParam(params[0]!);
    const result = await backend.changeSecret(who, name, secretParam(params[1]!), null);
    sendJson(res, 200, result);
  });
  route("GET", /^\/functions\/([^/]+)$/, async ({ res, who, params }) => sendJson(res, 200, await backend.getFunction(who, nameParam(params[0]!))));
  route("DELETE", /^\/functions\/([^/]+)$/, async ({ res, who, params }) => {
    await backend.removeFunction(who, nameParam(params[0]!));
    sendJson(res, 200, { removed: true });
  });
  route("GET", /^\/functions\/([^/]+)\/versions$/, async ({ res, who, params }) =>
    sendJson(res, 200, { versions: await backend.listVersions(who, nameParam(params[0]!)) }),
  );
  route("POST", /^\/functions\/([^/]+)\/rollback$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const body = parse(rollbackRequest, await readJson(req));
    sendJson(res, 200, await backend.rollback(who, name, body.to));
  });
  route("POST", /^\/functions\/([^/]+)\/traffic$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const body = parse(trafficRequest, await readJson(req));
    sendJson(res, 200, await backend.traffic(who, name, body.split));
  });
  route("POST", /^\/functions\/([^/]+)\/promote$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const body = parse(promoteRequest, await readJson(req));
    sendJson(res, 200, await backend.promote(who, name, body.version));
  });
  /** Log lines of `scope` as JSON, or with follow=1 an NDJSON stream kept open until the client goes away. */
  const logs = async (req: IncomingMessage, res: ServerResponse, url: URL, who: Principal, scope: LogScope) => {
    const filter = logFilterOf(url);
    const query = { sinceMs: intParam(url, "since"), afterId: intParam(url, "after"), limit: Math.min(intParam(url, "limit") ?? 1000, 10_000) };
    const lines = await backend.readLogs(who, scope, {
      ...filter,
      limit: query.limit,
      ...(query.sinceMs === undefined ? {} : { sinceMs: query.sinceMs }),
      ...(query.afterId === undefined ? {} : { afterId: query.afterId }),
    });
    if (url.searchParams.get("follow") !== "1") {
      sendJson(res, 200, { lines });
      return;
    }
    res.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
    // Sent now, not with the first line: a follow that starts with nothing to print is open too.
    res.flushHeaders();
    let last = lines.at(-1)?.id ?? query.afterId ?? 0;
    const write = (batch: typeof lines) => {
      for (const line of batch) {
        if (line.id <= last || !logMatches(line, filter)) continue;
        last = line.id;
        res.write(`${JSON.stringify(line)}\n`);
      }
    };
    for (const line of lines) res.write(`${JSON.stringify(line)}\n`);
    const stop = await backend.followLogs(who, scope, write);
    // Catch lines stored between the read above and the subscription.
    write(await backend.readLogs(who, scope, { ...filter, afterId: last, limit: 10_000 }));
    const keepAlive = setInterval(() => res.write("\n"), 15_000);
    req.socket.once("close", () => {
      clearInterval(keepAlive);
      stop();
    });
  };
  route("GET", /^\/functions\/([^/]+)\/logs$/, async ({ req, res, url, who, params }) => logs(req, res, url, who, { function: nameParam(params[0]!) }));
  // `flick tail`: every function of a tenant (a tenant token's own; the admin names one, or reads all).
  route("GET", /^\/logs$/, async ({ req, res, url, who }) => {
    const tenant = url.searchParams.get("tenant");
    if (tenant !== null && !tenantName.safeParse(tenant).success) throw new FlickError("validation_failed", `tenant=${tenant}: not a tenant name`);
    await logs(req, res, url, who, tenant === null ? {} : { tenant });
  });
  route("GET", /^\/usage$/, async ({ res, url, who }) => {
    const now = Date.now();
    const by = url.searchParams.get("by") ?? "function";
    if (by !== "function" && by !== "hour" && by !== "tenant") throw new FlickError("validation_failed", `by=${by}: expected function, hour or tenant`);
    const tenant = url.searchParams.get("tenant");
    if (tenant !== null && !tenantName.safeParse(tenant).success) throw new FlickError("validation_failed", `tenant=${tenant}: not a tenant name`);
    const sinceMs = intParam(url, "since") ?? now - 24 * 3_600_000;
    const untilMs = intParam(url, "until") ?? now + 3_600_000;
    if (sinceMs >= untilMs) throw new FlickError("validation_failed", `since (${sinceMs}) must be before until (${untilMs})`);
    sendJson(res, 200, await backend.usage(who, { sinceMs: Math.floor(sinceMs / 3_600_000) * 3_600_000, untilMs, by, ...(tenant === null ? {} : { tenant }) }));
  });
  // — KV namespaces (`flick kv`): ?tenant= is the admin's choice; a tenant token acts for its own —
  const kvTenant = (url: URL): string | undefined => {
    const tenant = url.searchParams.get("tenant");
    if (tenant === null) return undefined;
    if (!tenantName.safeParse(tenant).success) throw new FlickError("validation_failed", `tenant=${tenant.slice(0, 80)}: not a tenant name`);
    return tenant;
  };
  const kvName = (raw: string): string => parse(kvNamespaceName, decodeParam(raw));
  route("GET", /^\/kv$/, async ({ res, url, who }) => sendJson(res, 200, { namespaces: await backend.kvNamespaces(who, kvTenant(url)) }));
  route("POST", /^\/kv$/, async ({ req, res, who }) => {
    const body = parse(kvCreateRequest, await readJson(req));
    sendJson(res, 201, await backend.kvCreate(who, body.tenant, body.name));
  });
  route("DELETE", /^\/kv\/([^/]+)$/, async ({ res, url, who, params }) => {
    await backend.kvRemove(who, kvTenant(url), kvName(params[0]!));
    sendJson(res, 200, { removed: true });
  });
  route("GET", /^\/kv\/([^/]+)\/keys$/, async ({ res, url, who, params }) => {
    const cursor = url.searchParams.get("cursor");
    const page = await backend.kvKeys(who, kvTenant(url), kvName(params[0]!), url.searchParams.get("prefix") ?? "", cursor === "" ? null : cursor, intParam(url, "limit") ?? 1000);
    sendJson(res, 200, page);
  });
  route("GET", /^\/kv\/([^/]+)\/values\/([^/]+)$/, async ({ res, url, who, params }) => {
    const found = await backend.kvGet(who, kvTenant(url), kvName(params[0]!), decodeParam(params[1]!));
    sendJson(res, 200, { value: Buffer.from(found.value).toString("base64"), metadata: found.metadata, expiration: found.expiration });
  });
  // One value, sent as the raw body (up to the 25 MiB value limit); options in the query.
  route("PUT", /^\/kv\/([^/]+)\/values\/([^/]+)$/, async ({ req, res, url, who, params }) => {
    const name = kvName(params[0]!);
    const key = decodeParam(params[1]!);
    const metadataText = url.searchParams.get("metadata");
    let metadata: unknown;
    if (metadataText !== null) {
      try {
        metadata = JSON.parse(metadataText);
      } catch {
        throw new FlickError("validation_failed", "metadata= must be JSON (URL-encoded)");
      }
    }
    const value = await readBytes(req, kvValueMaxBytes, "the KV value limit");
    const entry = parse(kvPutEntry, {
      key, value: value.toString("base64"), base64: true,
      ...(intParam(url, "expiration") === undefined ? {} : { expiration: intParam(url, "expiration") }),
      ...(intParam(url, "expiration_ttl") === undefined ? {} : { expiration_ttl: intParam(url, "expiration_ttl") }),
      ...(metadata === undefined ? {} : { metadata }),
    });
    await backend.kvPut(who, kvTenant(url), name, [entry]);
    sendJson(res, 200, { written: 1 });
  });
  route("DELETE", /^\/kv\/([^/]+)\/values\/([^/]+)$/, async ({ res, url, who, params }) => {
    await backend.kvDelete(who, kvTenant(url), kvName(params[0]!), [decodeParam(params[1]!)]);
    sendJson(res, 200, { deleted: 1 });
  });
  route("PUT", /^\/kv\/([^/]+)\/bulk$/, async ({ req, res, url, who, params }) => {
    const entries = parse(kvBulkPut, await readJson(req));
    sendJson(res, 200, { written: await backend.kvPut(who, kvTenant(url), kvName(params[0]!), entries) });
  });
  route("POST", /^\/kv\/([^/]+)\/bulk\/delete$/, async ({ req, res, url, who, params }) => {
    const keys = parse(kvBulkDelete, await readJson(req));
    await backend.kvDelete(who, kvTenant(url), kvName(params[0]!), keys);
    sendJson(res, 200, { deleted: keys.length });
  });
  // — SQL databases (`flick db`), tenants as for KV —
  const dbName = (raw: string): string => parse(sqlDatabaseName, decodeParam(raw));
  route("GET", /^\/db$/, async ({ res, url, who }) => sendJson(res, 200, { databases: await backend.sqlDatabases(who, kvTenant(url)) }));
  route("POST", /^\/db$/, async ({ req, res, who }) => {
    const body = parse(sqlCreateRequest, await readJson(req));
    sendJson(res, 201, await backend.sqlCreate(who, body.tenant, body.name));
  });
  route("DELETE", /^\/db\/([^/]+)$/, async ({ res, url, who, params }) => {
    await backend.sqlRemove(who, kvTenant(url), dbName(params[0]!));
    sendJson(res, 200, { removed: true });
  });
  route("POST", /^\/db\/([^/]+)\/query$/, async ({ req, res, url, who, params }) => {
    const body = parse(sqlQueryRequest, await readJson(req));
    sendJson(res, 200, { results: await backend.sqlQuery(who, kvTenant(url), dbName(params[0]!), body.sql) });
  });
  route("POST", /^\/db\/([^/]+)\/migrate$/, async ({ req, res, url, who, params }) => {
    const body = parse(sqlMigrateRequest, await readJson(req));
    sendJson(res, 200, { applied: await backend.sqlMigrate(who, kvTenant(url), dbName(params[0]!), body.migrations) });
  });
  route("GET", /^\/db\/([^/]+)\/export$/, async ({ res, url, who, params }) => {
    const text = await backend.sqlExport(who, kvTenant(url), dbName(params[0]!));
    res.writeHead(200, { "content-type": "application/sql; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  });
  route("GET", /^\/metrics\/series$/, async ({ res, url, who }) => sendJson(res, 200, await backend.metricsSeries(who, seriesQuery(url))));
  route("POST", /^\/tenants$/, async ({ req, res, who }) => {
    const body = parse(createTenantRequest, await readJson(req));
    sendJson(res, 201, await backend.createTenant(who, body.name));
  });
  route("GET", /^\/tenants$/, async ({ res, who }) => sendJson(res, 200, { tenants: await backend.listTenants(who) }));
  route("GET", /^\/nodes$/, async ({ res, who }) => sendJson(res, 200, { nodes: await backend.listNodes(who) }));
  route("GET", /^\/tenants\/([^/]+)\/storage$/, async ({ res, who, params }) => {
    const tenant = decodeParam(params[0]!);
    if (!tenantName.safeParse(tenant).success) throw new FlickError("validation_failed", `${tenant.slice(0, 80)}: not a tenant name`);
    sendJson(res, 200, await backend.tenantStorage(who, tenant));
  });
  route("PATCH", /^\/tenants\/([^/]+)$/, async ({ req, res, who, params }) => {
    const body = parse(tenantUpdateRequest, await readJson(req));
    sendJson(res, 200, await backend.updateTenant(who, decodeParam(params[0]!), body));
  });
  route("POST", /^\/functions\/([^/]+)\/invocations$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const body = parse(invokeRequest, await readJson(req));
    const trace = req.headers["traceparent"];
    const state = req.headers["tracestate"];
    const caller = {
      ...(typeof trace === "string" ? { traceparent: trace } : {}),
      ...(typeof state === "string" ? { tracestate: state } : {}),
    };
    const result = await backend.invokeAsync(who, name, body, idempotencyKeyOf(req.headers["idempotency-key"]), caller);
    sendJson(res, 202, result, { location: `${apiPrefix}/invocations/${result.id}` });
  });
  route("GET", /^\/invocations\/([^/]+)$/, async ({ res, who, params }) => sendJson(res, 200, await backend.getInvocation(who, decodeParam(params[0]!))));
  route("GET", /^\/invocations\/([^/]+)\/trace$/, async ({ res, who, params }) => sendJson(res, 200, await backend.traceOf(who, decodeParam(params[0]!))));
  route("GET", /^\/functions\/([^/]+)\/invocations$/, async ({ res, url, who, params }) => {
    const status = url.searchParams.get("status");
    if (status !== null && !invocationStatuses.includes(status as InvocationStatus)) {
      throw new FlickError("validation_failed", `query parameter status=${status}: an invocation's status is ${invocationStatuses.join(", ")} (or leave it out for all)`);
    }
    const limit = Math.min(intParam(url, "limit") ?? 100, 1000);
    sendJson(res, 200, { invocations: await backend.listInvocations(who, nameParam(params[0]!), status as InvocationStatus | null, limit) });
  });
  route("GET", /^\/functions\/([^/]+)\/dlq$/, async ({ res, url, who, params }) =>
    sendJson(res, 200, { invocations: await backend.listDead(who, nameParam(params[0]!), Math.min(intParam(url, "limit") ?? 100, 10_000)) }),
  );
  route("POST", /^\/functions\/([^/]+)\/dlq\/replay$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const body = parse(replayRequest, await readJson(req));
    sendJson(res, 200, { replayed: await backend.replayDead(who, name, body.ids ?? null) });
  });
  route("POST", /^\/functions\/([^/]+)\/scale$/, async ({ req, res, who, params }) => {
    const name = nameParam(params[0]!);
    const body = parse(scaleRequest, await readJson(req));
    sendJson(res, 200, await backend.scale(who, name, body));
  });

  return async (req, res, url) => {
    try {
      const path = url.pathname.slice(apiPrefix.length) || "/";
      const matching = routes.filter((r) => r.pattern.test(path));
      if (matching.length === 0) throw new FlickError("not_found", `no API route ${req.method} ${url.pathname}; see docs/api.md`);
      const match = matching.find((r) => r.method === req.method);
      if (match === undefined) {
        throw new FlickError("method_not_allowed", `${req.method} is not allowed on ${url.pathname}; use ${matching.map((r) => r.method).join(" or ")}`);
      }
      const who = await backend.authenticate(req.headers.authorization);
      if (who === undefined) {
        throw new FlickError(
          "unauthorized",
          req.headers.authorization === undefined
            ? "missing token: send `Authorization: Bearer <token>` (the admin token is in <data-dir>/admin.token; tenant tokens come from `flick tenants create`)"
            : "unknown token: check FLICK_TOKEN or the token you were given",
        );
      }
      const params = match.pattern.exec(path)!.slice(1);
      await match.handler({ req, res, url, who, params });
    } catch (err) {
      sendError(res, err);
    }
  };
}
