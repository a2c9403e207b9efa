/**
 * Source maps (format version 3), for stack traces: a bundle runs in the isolate as
 * `<tenant>/<name>.js`, and its stack frames say `(default/api.js:120:17)`; with the map the
 * bundle was made with, they say `(src/routes.ts:14:9)` — in logs, error bodies and
 * `flick dev`. Only what that needs: decoding `mappings` (base64 VLQ) and finding the
 * segment at or before a generated position.
 */

const base64 = new Map<string, number>([..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"].map((c, i) => [c, i]));

/** One mapped segment of a generated line: [generated column, source index, original line, original column] (0-based). */
type Segment = [number, number, number, number];

export interface OriginalPosition {
  source: string;
  /** 1-based, as stack traces print them. */
  line: number;
  column: number;
}

export class SourceMap {
  private readonly sources: string[];
  /** Segments by generated line (0-based), sorted by generated column. */
  private readonly lines: Segment[][] = [];

  /** Throws on a map that is not version 3 JSON with mappings. */
  constructor(json: string) {
    const map = JSON.parse(json) as { version?: unknown; sources?: unknown; sourceRoot?: unknown; mappings?: unknown };
    if (map.version !== 3 || !Array.isArray(map.sources) || typeof map.mappings !== "string") throw new Error("not a version 3 source map");
    const root = typeof map.sourceRoot === "string" && map.sourceRoot !== "" ? map.sourceRoot.replace(/\/?$/, "/") : "";
    this.sources = map.sources.map((s) => `${root}${String(s)}`);
    let source = 0;
    let originalLine = 0;
    let originalColumn = 0;
    for (const line of map.mappings.split(";")) {
      const segments: Segment[] = [];
      let column = 0;
      for (const text of line.split(",")) {
        if (text === "") continue;
        const fields = decodeVlq(text);
        column += fields[0]!;
        if (fields.length < 4) continue; // a generated position with no original: nothing to map to
        source += fields[1]!;
        originalLine += fields[2]!;
        originalColumn += fields[3]!;
        segments.push([column, source, originalLine, originalColumn]);
      }
      this.lines.push(segments);
    }
  }

  /** Where 1-based generated `line`:`column` came from, or undefined when it is not mapped. */
  original(line: number, column: number): OriginalPosition | undefined {
    const segments = this.lines[line - 1];
    if (segments === undefined || segments.length === 0) return undefined;
    // The last segment starting at or before the column (binary search).
    let lo = 0;
    let hi = segments.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (segments[mid]![0] <= column - 1) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const segment = segments[found === -1 ? 0 : found]!;
    const source = this.sources[segment[1]];
    return source === undefined ? undefined : { source, line: segment[2] + 1, column: segment[3] + 1 };
  }

  /**
   * `text` with every `<file>:<line>:<column>` of the generated file rewritten to the
   * original position (`lineOffset`: lines the runner put before the generated code).
   */
  mapStack(text: string, file: string, lineOffset = 0): string {
    const escaped = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return text.replace(new RegExp(`${escaped}:(\\d+):(\\d+)`, "g"), (whole, line: string, column: string) => {
      const at = this.original(Number(line) - lineOffset, Number(column));
      return at === undefined ? whole : `${at.source}:${at.line}:${at.column}`;
    });
  }
}

/** The signed integers of one base64 VLQ segment. */
function decodeVlq(text: string): number[] {
  const out: number[] = [];
  let value = 0;
  let shift = 0;
  for (const char of text) {
    const digit = base64.get(char);
    if (digit === undefined) throw new Error(`source map: "${char}" is not base64`);
    value += (digit & 31) * 2 ** shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    out.push(value % 2 === 1 ? -(value - 1) / 2 : value / 2);
    value = 0;
    shift = 0;
  }
  return out;
}
