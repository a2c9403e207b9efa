/** Small parsers for CLI flag values, each failing with a message that says how to fix it. */
import { FlickError } from "../errors/index.ts";

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "1500ms", "10m", "1h"; a bare number is seconds (as Lambda counts timeouts). */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (match === null) throw new FlickError("bad_request", `${flag} ${text}: expected a duration like 30s, 1500ms, 10m or 1h`);
  return Math.round(Number(match[1]) * units[match[2] ?? "s"]!);
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

export function parseInteger(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new FlickError("bad_request", `${flag} ${text}: expected a whole number`);
  return n;
}

/** A function name from a file name: "My Handler.ts" → "my-handler". */
export function nameFromEntry(entry: string): string {
  const base = entry.replace(/^.*[\\/]/, "").replace(/\.[^.]+$/, "");
  const name = base === "index" || base === "worker" || base === "main"
    ? entry.replace(/[\\/][^\\/]*$/, "").replace(/^.*[\\/]/, "")
    : base;
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "fn";
}
