/** `flick trace <invocation id>`: the spans the node kept of one invocation's trace, as a tree. */
import type { SpanInfo, TraceInfo } from "../api/index.ts";
import { connectionHelp, connectionOptions, jsonHelp, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";

export const trace: Command = {
  name: "trace",
  summary: "Show the spans of one invocation's trace as a tree: gateway, admission, cold start, execution, fetches.",
  usage: "trace <invocation id> [--json]",
  optionHelp: [jsonHelp, ...connectionHelp],
  examples: [
    "flick trace 6f1c0e2a-…        (the x-flick-invocation-id of a response, or an async invocation's id)",
    "curl -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' …   (always sampled)",
  ],
  options: { ...connectionOptions, ...jsonOption },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const found = await clientFor(resolveConnection(values as never)).getTrace(positionals[0]!);
    if (values["json"] === true) return void printJson(found);
    process.stdout.write(formatTrace(found));
  },
};

/**
 * One line per span, children under their parent in start order, each with its offset
 * from the trace's first span and its length:
 *   +0.0 ms  12.4 ms  GET /fn/front  200  front
 *   +0.1 ms   0.0 ms  ├─ flick.admission
 */
export function formatTrace(t: TraceInfo): string {
  const ids = new Set(t.spans.map((s) => s.spanId));
  const children = new Map<string | null, SpanInfo[]>();
  for (const s of t.spans) {
    // A span whose parent is not here (the caller's, or another tenant's) is shown as a root.
    const parent = s.parentSpanId !== null && ids.has(s.parentSpanId) ? s.parentSpanId : null;
    const list = children.get(parent) ?? [];
    list.push(s);
    children.set(parent, list);
  }
  for (const list of children.values()) list.sort((a, b) => a.startMs - b.startMs);
  const origin = Math.min(...t.spans.map((s) => s.startMs));
  const lines = [`trace ${t.traceId}  (${t.spans.length} span${t.spans.length === 1 ? "" : "s"})`];
  const seen = new Set<string>();
  const walk = (span: SpanInfo, prefix: string, last: boolean, root: boolean): void => {
    if (seen.has(span.spanId)) return;
    seen.add(span.spanId);
    const branch = root ? "" : last ? "└─ " : "├─ ";
    const offset = `+${(span.startMs - origin).toFixed(1)} ms`.padStart(10);
    const length = `${span.durationMs.toFixed(1)} ms`.padStart(9);
    lines.push(`${offset} ${length}  ${prefix}${branch}${span.name}${details(span)}`);
    const kids = children.get(span.spanId) ?? [];
    kids.forEach((k, i) => walk(k, root ? prefix : prefix + (last ? "   " : "│  "), i === kids.length - 1, false));
  };
  for (const r of children.get(null) ?? []) walk(r, "", true, true);
  return `${lines.join("\n")}\n`;
}

function details(s: SpanInfo): string {
  const a = s.attributes;
  const parts: string[] = [];
  const status = a["http.response.status_code"];
  if (status !== undefined) parts.push(String(status));
  if (a["url.full"] !== undefined) parts.push(String(a["url.full"]));
  if (a["flick.cold_start.kind"] !== undefined) parts.push(`${a["flick.cold_start.kind"]}, code cache ${a["flick.code_cache"] ?? "-"}`);
  if (a["flick.function"] !== undefined) parts.push(`${a["flick.function"]}${a["flick.cold"] === true ? " (cold)" : ""}`);
  if (a["flick.cpu_ms"] !== undefined) parts.push(`CPU ${a["flick.cpu_ms"]} ms`);
  if (a["flick.invocation_id"] !== undefined && s.kind === "server") parts.push(String(a["flick.invocation_id"]));
  if (s.error !== null) parts.push(`error: ${s.error}`);
  return parts.length === 0 ? "" : `  ${parts.join("  ")}`;
}
