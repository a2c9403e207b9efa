/** Printing helpers: aligned tables, times, sizes. Plain text, no colour dependency. */
import type { LogLine } from "../model/index.ts";

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function time(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** "6h", "10m", "30s", "1500ms": the largest whole unit. */
export function duration(ms: number): string {
  if (ms >= 3_600_000 && ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

export function logLine(line: LogLine): string {
  const stamp = new Date(line.timeMs).toISOString();
  // A request line heads its invocation's lines; the others are indented under it.
  if (line.request !== undefined) return `${stamp}  ${line.level.padEnd(5)}  ${line.invocationId.slice(0, 8)}  ▸ ${line.message}`;
  return `${stamp}  ${line.level.padEnd(5)}  ${line.invocationId.slice(0, 8)}    ${line.message}`;
}
