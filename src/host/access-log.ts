/**
 * Access lines on the node's output, one per `/fn/` request a host answered: written in
 * one batch per event-loop turn (a write per request would cost a syscall each under load).
 */
import type { AccessEntry } from "../gateway/index.ts";

/** How a host prints access lines (`flick up --log-format`): text, JSON objects, or not at all. */
export type AccessLogFormat = "text" | "json" | "off";

/** `2026-12-06T09:45:01.123Z hello GET /fn/hello 200 0.8ms cold id=…` */
export function formatAccess(entry: AccessEntry, format: Exclude<AccessLogFormat, "off">): string {
  const time = new Date(entry.atMs).toISOString();
  if (format === "json") {
    return JSON.stringify({ time, function: entry.fn, method: entry.method, path: entry.path, status: entry.status, ms: Math.round(entry.ms * 10) / 10, cold: entry.cold, invocationId: entry.invocationId });
  }
  return `${time} ${entry.fn} ${entry.method} ${entry.path} ${entry.status} ${entry.ms.toFixed(1)}ms${entry.cold ? " cold" : ""} id=${entry.invocationId}`;
}

export function accessLogger(format: Exclude<AccessLogFormat, "off">, write: (text: string) => void = (text) => void process.stdout.write(text)): (entry: AccessEntry) => void {
  let lines: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    const text = `${lines.join("\n")}\n`;
    lines = [];
    write(text);
  };
  return (entry) => {
    lines.push(formatAccess(entry, format));
    if (!scheduled) {
      scheduled = true;
      setImmediate(flush);
    }
  };
}
