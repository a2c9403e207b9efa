/**
 * Stack frames of a function's bundle, rewritten to the user's files and lines: the source
 * map a deploy kept beside the code (`<bundle>.map`, or `<script>.map` for the script form)
 * is read the first time a line names the bundle, and kept for the host's next lines.
 */
import { readFileSync } from "node:fs";
import { SourceMap } from "../build/index.ts";

/** Parsed maps by path; null: none there, or unreadable (lines stay as they are). */
const maps = new Map<string, SourceMap | null>();
const kept = 64;

function mapAt(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map !== undefined) return map;
  try {
    map = new SourceMap(readFileSync(file, "utf8"));
  } catch {
    map = null;
  }
  if (maps.size >= kept) maps.delete(maps.keys().next().value!);
  maps.set(file, map);
  return map;
}

/** `text` with each `<scriptName>:<line>:<col>` mapped through the map at `mapFile`. */
export function mapStack(text: string, scriptName: string, mapFile: string): string {
  if (!text.includes(`${scriptName}:`)) return text;
  const map = mapAt(mapFile);
  return map === null ? text : map.mapStack(text, scriptName);
}
