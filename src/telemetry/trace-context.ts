/**
 * W3C Trace Context (level 1): reading a caller's `traceparent` / `tracestate`, and the
 * sampling decision for an invocation, made once where it arrives.
 *
 * Sampling is parent-based, as OpenTelemetry's default sampler: a caller's sampled flag
 * decides; without a valid caller context, a new trace is sampled with probability
 * `ratio` (`flick up --trace-sample`). An unsampled invocation records nothing, but the
 * context still travels on (flags 00), so a downstream system sees one trace id.
 */
import { randomBytes } from "node:crypto";

/** version-traceid-parentid-flags, lowercase hex. */
const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A caller's context, as its headers gave it. */
export interface TraceParent {
  traceId: string;
  /** The caller's span: the parent of the first span recorded here. */
  spanId: string;
  sampled: boolean;
  /** `tracestate`, passed on as it came (when printable and at most 512 bytes). */
  state: string | undefined;
}

/**
 * Random ids from a pool: one `randomBytes` call per 256 span ids instead of one each
 * (the call, not the bytes, is what costs: a sampled request makes four ids or more).
 */
let pool = "";
let at = 0;

function randomHex(chars: number): string {
  if (at + chars > pool.length) {
    pool = randomBytes(2048).toString("hex");
    at = 0;
  }
  const id = pool.slice(at, (at += chars));
  // All zeros is an invalid id (W3C); with 2^64 values it does not happen, but never send one.
  return id === zeroTraceId || id === zeroSpanId ? randomHex(chars) : id;
}

const zeroTraceId = "0".repeat(32);
const zeroSpanId = "0".repeat(16);

export function newTraceId(): string {
  return randomHex(32);
}

export function newSpanId(): string {
  return randomHex(16);
}

/** `traceparent` / `tracestate` from a header value pair; undefined when absent or malformed (then a new trace starts). */
export function parseTraceparent(parent: string | undefined, state: string | undefined): TraceParent | undefined {
  if (parent === undefined) return undefined;
  const m = traceparentPattern.exec(parent.trim().toLowerCase());
  // Version ff is forbidden; all-zero ids are invalid. A future version may append fields (the `(-.*)?`), version 00 may not.
  if (m === null || m[1] === "ff" || (m[1] === "00" && m[5] !== undefined) || /^0+$/.test(m[2]!) || /^0+$/.test(m[3]!)) return undefined;
  const s = state?.trim();
  return {
    traceId: m[2]!,
    spanId: m[3]!,
    sampled: (parseInt(m[4]!, 16) & 1) === 1,
    state: s !== undefined && s.length > 0 && s.length <= 512 && /^[\x20-\x7e]*$/.test(s) ? s : undefined,
  };
}

/** The caller's context from a flat header list (name, value, …). */
export function traceParentOf(headers: readonly string[]): TraceParent | undefined {
  let parent: string | undefined;
  let state: string | undefined;
  for (let i = 0; i + 1 < headers.length; i += 2) {
    const name = headers[i]!;
    // Most requests carry neither: skip the lowercasing unless the length fits.
    if (name.length === 11 && name.toLowerCase() === "traceparent") parent = headers[i + 1];
    else if (name.length === 10 && name.toLowerCase() === "tracestate") state = headers[i + 1];
  }
  return parseTraceparent(parent, state);
}

export function formatTraceparent(traceId: string, spanId: string, sampled: boolean): string {
  return `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;
}

/** `headers` (name, value, …) with a call's trace context, unless they carry a `traceparent` already (the function set its own). */
export function withTraceHeaders(headers: string[], parent: string, state: string | undefined): string[] {
  for (let i = 0; i + 1 < headers.length; i += 2) if (headers[i]!.toLowerCase() === "traceparent") return headers;
  return state === undefined ? [...headers, "traceparent", parent] : [...headers, "traceparent", parent, "tracestate", state];
}

/** A URL for a span attribute: no credentials, query or fragment (they may hold secrets). */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`.slice(0, 512);
  } catch {
    return "";
  }
}
