/** Small parsers for CLI flag values, each failing with a message that says how to fix it. */
import { FlickError } from "../errors/index.ts";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "1500ms", "10m", "1h"; a bare number is seconds (as Lambda counts timeouts). With `range`, within it. */
export function parseDuration(text: string, flag: string, range?: { min: number; max: number }): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new FlickError("bad_request", `${flag} ${text}: expected a duration like 30s, 1500ms, 10m or 1h`);
  const ms = Math.round(Number(match[1]) * units[match[2] ?? "s"]!);
  if (range !== undefined && (ms < range.min || ms > range.max)) {
    throw new FlickError("bad_request", `${flag} ${text}: must be ${formatDuration(range.min)}..${formatDuration(range.max)}`);
  }
  return ms;
}

/** "K=V" into [K, V]. */
export function parsePair(text: string, flag: string): [string, string] {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new FlickError("bad_request", `${flag} ${text}: expected NAME=value`);
  return [text.slice(0, eq), text.slice(eq + 1)];
}

/** "zone=a,disk=ssd" into { zone: "a", disk: "ssd" }. */
export function parseLabels(text: string, flag: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of text.split(",").map((p) => p.trim()).filter((p) => p !== "")) {
    const [key, value] = parsePair(part, flag);
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) throw new FlickError("bad_request", `${flag} ${text}: label names are letters, digits, ".", "-" and "_"`);
    labels[key] = value;
  }
  return labels;
}

/** "name: value" or "name:value" into [name, value]. */
export function parseHeader(text: string): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new FlickError("bad_request", `--header ${text}: expected name:value`);
  return [text.slice(0, colon).trim(), text.slice(colon + 1).trim()];
}

/** A whole number; with `range`, within it (the error names the flag and the range, in `unit`). */
export function parseInteger(text: string, flag: string, range?: { min: number; max: number }, unit = ""): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new FlickError("bad_request", `${flag} ${text}: expected a whole number`);
  if (range !== undefined && (n < range.min || n > range.max)) {
    throw new FlickError("bad_request", `${flag} ${text}: must be ${range.min}..${range.max}${unit === "" ? "" : ` ${unit}`}`);
  }
  return n;
}

/** A probability (0…1) or a percentage (`1%`): `--trace-sample`. */
export function parseProbability(text: string, flag: string): number {
  const percent = text.trim().endsWith("%");
  const n = Number(percent ? text.trim().slice(0, -1) : text) / (percent ? 100 : 1);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0 || n > 1) {
    throw new FlickError("bad_request", `${flag} ${text}: expected a probability from 0 to 1, or a percentage (0.01 and 1% both record 1 % of new traces)`);
  }
  return n;
}

/** Milliseconds as a flag would say them: 1500ms, 30s, 15m, 6h. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [["d", 86_400_000], ["h", 3_600_000], ["m", 60_000], ["s", 1000]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}

/** A function name from a file name: "My Handler.ts" → "my-handler". */
export function nameFromEntry(entry: string): string {
  const base = entry.replace(/^.*[\\/]/, "").replace(/\.[^.]+$/, "");
  const name = base === "index" || base === "worker" || base === "main"
    ? entry.replace(/[\\/][^\\/]*$/, "").replace(/^.*[\\/]/, "")
    : base;
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "fn";
}
