/**
 * A kept trace as the API shows it (`GET /api/v1/invocations/<id>/trace`, `flick trace`):
 * to a tenant, only the spans of its own invocations. A trace id is the caller's to
 * choose, so one trace may cross tenants; a span without a tenant belongs to the nearest
 * ancestor that has one (a fetch's span to its invocation's request span).
 */
import type { SpanInfo } from "../api/index.ts";
import type { SpanData } from "../telemetry/index.ts";

export function visibleSpans(spans: readonly SpanData[], tenant: string | null): SpanData[] {
  if (tenant === null) return [...spans];
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const owner = (span: SpanData): string | undefined => {
    // Bounded walk: ids are unique per trace, but a hostile parent chain must not loop.
    let s: SpanData | undefined = span;
    for (let hops = 0; s !== undefined && hops < 64; hops++) {
      const t = s.attributes["flick.tenant"];
      if (typeof t === "string") return t;
      s = s.parentSpanId === undefined ? undefined : byId.get(s.parentSpanId);
    }
    return undefined;
  };
  return spans.filter((s) => owner(s) === tenant);
}

export function spanInfo(s: SpanData): SpanInfo {
  return {
    spanId: s.spanId,
    parentSpanId: s.parentSpanId ?? null,
    name: s.name,
    kind: s.kind,
    startMs: s.startMs,
    durationMs: Math.round((s.endMs - s.startMs) * 1000) / 1000,
    attributes: s.attributes,
    error: s.error ?? null,
  };
}
