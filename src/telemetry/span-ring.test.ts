// The window `flick trace` reads: spans kept as protobuf bytes read back as they were
// recorded; the oldest segment is forgotten whole when the ring comes round; a span too
// big for a segment is not kept; and what the exporter is handed is the same bytes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeTraceRequest } from "../../test/support/otlp-proto-decode.ts";
import type { SpanData } from "./invocation-trace.ts";
import { ProtoSpanChunk, protoEnvelope } from "./otlp-span-proto.ts";
import { SpanRing } from "./span-ring.ts";
import { TraceSink } from "./trace-sink.ts";

const hex = (n: number, width: number) => n.toString(16).padStart(width, "0");

function span(i: number, over: Partial<SpanData> = {}): SpanData {
  return {
    traceId: hex(Math.floor(i / 3) + 1, 32),
    spanId: hex(i + 1, 16),
    name: `GET /fn/f${i}`,
    kind: "server",
    startMs: 1_765_000_000_000 + i + 0.25,
    endMs: 1_765_000_000_001 + i + 0.5,
    attributes: { "flick.invocation_id": `inv-${i}`, "flick.tenant": "acme", "http.response.status_code": 200, "flick.cold": i % 2 === 0, "flick.cpu_ms": 0.125, "flick.attempt": -1 },
    ...over,
  };
}

test("kept spans read back as they were recorded, found by trace and by invocation", () => {
  const ring = new SpanRing(64 * 1024, 4);
  const spans = Array.from({ length: 30 }, (_, i) => span(i, i === 4 ? { parentSpanId: hex(99, 16), kind: "client", error: "timeout: ran past 30 s", name: "fetch GET ✓" } : {}));
  for (const s of spans) assert.equal(ring.put(s), true);
  assert.deepEqual(ring.spansOf(spans[4]!.traceId).sort((a, b) => a.startMs - b.startMs), spans.slice(3, 6));
  assert.equal(ring.traceIdOf("inv-29"), spans[29]!.traceId);
  assert.equal(ring.traceIdOf("inv-300"), undefined);
  // Only the invocation id attribute counts: not a longer id it starts, not a path that quotes it.
  const decoys = new SpanRing(64 * 1024, 4);
  decoys.put(span(40, { attributes: { "flick.invocation_id": "inv-77" } }));
  decoys.put(span(41, { attributes: { "url.path": "/inv-7", "flick.invocation_id": "other" } }));
  decoys.put(span(42, { attributes: { "flick.invocation_id": "inv-7" } }));
  assert.equal(decoys.traceIdOf("inv-7"), span(42).traceId);
  assert.deepEqual(ring.spansOf("not hex"), []);
});

test("when the ring comes round the oldest segment is forgotten, the rest kept", () => {
  const ring = new SpanRing(4 * 4096, 4); // four 4 KiB segments
  const n = 400;
  for (let i = 0; i < n; i++) ring.put(span(i));
  const kept = Array.from({ length: n }, (_, i) => ring.traceIdOf(`inv-${i}`) !== undefined);
  const first = kept.indexOf(true);
  assert.ok(first > 0, "the oldest spans are gone");
  assert.ok(kept.slice(first).every(Boolean), "everything after the oldest kept span is kept");
  assert.ok(n - first > 30 && n - first < 120, `${n - first} spans kept in 16 KiB`);
});

test("a span bigger than a segment is not kept; the exporter still gets it, and gets the kept ones' bytes as they are", () => {
  const records: Buffer[] = [];
  const whole: SpanData[] = [];
  const sink = new TraceSink({
    ringBytes: 16 * 4096,
    exporter: {
      spans: (s) => void whole.push(...s),
      spanRecord: (r) => void records.push(Buffer.from(r.bytes.subarray(r.start, r.end))),
      logs: () => undefined,
      shutdown: async () => undefined,
    },
  });
  const big = span(1, { attributes: { "url.path": "/x".repeat(10_000) } });
  sink.add([span(0), big]);
  assert.deepEqual(whole, [big]);
  assert.deepEqual(sink.spansOf(big.traceId), [span(0)]);
  // The bytes handed over are a whole span, as an export request carries it.
  const chunk = new ProtoSpanChunk(protoEnvelope({}, { name: "flick", version: "" }), 4096);
  assert.equal(records.length, 1);
  chunk.addRecord({ bytes: records[0]!, start: 0, end: records[0]!.length });
  const got = (decodeTraceRequest(chunk.seal())["resourceSpans"] as { scopeSpans: { spans: { spanId: string }[] }[] }[])[0]!.scopeSpans[0]!.spans;
  assert.deepEqual(got.map((s) => s.spanId), [span(0).spanId]);
});
