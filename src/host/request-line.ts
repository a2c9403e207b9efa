/**
 * An invocation's request line: one log line, written when it ended, that says what it was
 * and how it went — `GET /cart → 200 (12.3 ms, cold, CPU 1.2 ms)` — with the same as data
 * (`RequestFields`). Written for the invocations worth reading about: those that printed
 * something, failed, or answered 5xx; a quiet success costs no log line (its numbers are
 * in the metrics and the usage). docs/observability.md.
 */
import type { LogLevel, RequestFields } from "../model/index.ts";
import type { InvocationEnd, WireLogLine, WireRequest } from "./protocol.ts";

export function requestLine(
  request: WireRequest, status: number | undefined, end: InvocationEnd, codeStatus: number | undefined,
  arrivalEpochMs: number, ms: number, cold: boolean, logged: boolean,
): WireLogLine | undefined {
  const shown = status ?? codeStatus ?? 500;
  if (!logged && end.error === null && shown < 500 && end.logs.length === 0) return undefined;
  const { method, path } = whatRan(request);
  const fields: RequestFields = {
    method, path, status: shown, ms: Math.round(ms * 10) / 10, cold, cpuMs: Math.round((end.cpuMs ?? 0) * 100) / 100,
    ...(end.error === null ? {} : { code: end.error.code }),
  };
  const level: LogLevel = end.error !== null || shown >= 500 ? "error" : "info";
  const how = [`${fields.ms} ms`, ...(cold ? ["cold"] : []), `CPU ${fields.cpuMs} ms`].join(", ");
  return [arrivalEpochMs, level, `${method} ${path} → ${shown}${fields.code === undefined ? "" : ` ${fields.code}`} (${how})`, fields];
}

/** What an invocation ran, for people: the method and path (no query), or `scheduled` and the cron, or `queue` and the batch size. */
export function whatRan(request: WireRequest): { method: string; path: string } {
  let method = request.method;
  let path = "/";
  if (request.scheduled !== undefined) {
    method = "scheduled";
    path = request.scheduled.cron;
  } else if (request.queue !== undefined) {
    method = "queue";
    path = `${request.queue.messages.length} message${request.queue.messages.length === 1 ? "" : "s"}`;
  } else {
    const start = request.url.indexOf("/", request.url.indexOf("//") + 2);
    const query = request.url.indexOf("?", start);
    path = start < 0 ? "/" : request.url.slice(start, query < 0 ? undefined : query);
  }
  if (path.length > 200) path = `${path.slice(0, 199)}…`;
  return { method, path };
}
