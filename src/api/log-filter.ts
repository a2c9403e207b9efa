/**
 * Log filters as the API takes them (`level=error,warn&invocation=<id>&q=<text>`), and the
 * same test for lines that arrive while a follow is open (the store applies it to reads).
 */
import { FlickError } from "../errors/index.ts";
import type { LogLevel, LogLine } from "../model/index.ts";
import type { LogFilter } from "./backend.ts";

const levels: readonly LogLevel[] = ["debug", "info", "log", "warn", "error"];

export function logFilterOf(url: URL): LogFilter {
  const filter: LogFilter = {};
  const level = url.searchParams.get("level");
  if (level !== null) {
    const wanted = level.split(",").map((l) => l.trim()).filter((l) => l !== "");
    const bad = wanted.find((l) => !levels.includes(l as LogLevel));
    if (bad !== undefined) throw new FlickError("validation_failed", `level=${bad}: levels are ${levels.join(", ")} (comma-separated)`);
    filter.levels = wanted as LogLevel[];
  }
  const invocation = url.searchParams.get("invocation");
  if (invocation !== null) {
    if (invocation.length === 0 || invocation.length > 100) throw new FlickError("validation_failed", "invocation: an invocation id is 1-100 characters");
    filter.invocationId = invocation;
  }
  const status = url.searchParams.get("status");
  if (status !== null) filter.status = statusRange(status);
  const text = url.searchParams.get("q");
  if (text !== null) {
    if (text.length === 0 || text.length > 1000) throw new FlickError("validation_failed", "q: the text to find is 1-1000 characters");
    filter.text = text;
  }
  return filter;
}

/** "5xx", "502" or "400-499" as a range of statuses. */
export function statusRange(text: string): { min: number; max: number } {
  const klass = /^([1-5])xx$/i.exec(text);
  if (klass !== null) return { min: Number(klass[1]) * 100, max: Number(klass[1]) * 100 + 99 };
  const range = /^(\d{3})(?:-(\d{3}))?$/.exec(text);
  if (range !== null && Number(range[1]) <= Number(range[2] ?? range[1])) return { min: Number(range[1]), max: Number(range[2] ?? range[1]) };
  throw new FlickError("validation_failed", `status=${text}: expected a class (5xx), a status (502) or a range (400-499)`);
}

export function logMatches(line: LogLine, filter: LogFilter): boolean {
  if (filter.status !== undefined && (line.request === undefined || line.request.status < filter.status.min || line.request.status > filter.status.max)) return false;
  if (filter.levels !== undefined && filter.levels.length > 0 && !filter.levels.includes(line.level)) return false;
  if (filter.invocationId !== undefined && line.invocationId !== filter.invocationId) return false;
  if (filter.text !== undefined && !line.message.includes(filter.text)) return false;
  return true;
}
