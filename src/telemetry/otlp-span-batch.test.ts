// Spans posted to a real OTLP/HTTP receiver on 127.0.0.1, in protobuf and in JSON, decode
// as opentelemetry-proto says: ids, exact nanosecond times, proto kinds and status codes,
// typed attributes; the resource and scope once per batch; the protobuf bytes read the
// same as the OpenTelemetry SDK's own serializer makes of the same spans; what a
// collector refuses is counted, not retried.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";
import { decodeTraceRequest } from "../../test/support/otlp-proto-decode.ts";
import { OtlpReceiver } from "../../test/support/otlp-receiver.ts";
import type { SpanData } from "./invocation-trace.ts";
import { otlpSpanProtocol } from "./otlp-export.ts";
import { OtlpSpanBatch, otlpHeaders, type OtlpProtocol } from "./otlp-span-batch.ts";
import { unixNanos } from "./otlp-span-json.ts";
import { ProtoSpanChunk, protoEnvelope } from "./otlp-span-proto.ts";

const receiver = new OtlpReceiver();
before(() => receiver.start());
after(() => receiver.close());

const span = (over: Partial<SpanData> = {}): SpanData => ({
  traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", name: "GET /fn/hello", kind: "server",
  startMs: 1_765_000_000_123.25, endMs: 1_765_000_000_125.5, attributes: {}, ...over,
});

test("times are exact decimal nanoseconds, however many digits an epoch in ms has", () => {
  assert.equal(unixNanos(1_765_000_000_123.5), "1765000000123500000");
  assert.equal(unixNanos(1_765_000_000_123), "1765000000123000000");
  assert.equal(unixNanos(0.000001), "1");
  assert.equal(unixNanos(1.9999999), "2000000", "a fraction that rounds up carries into the milliseconds");
});

for (const protocol of ["http/protobuf", "http/json"] as const) {
  test(`spans arrive as opentelemetry-proto says, resource and scope with them (${protocol})`, { timeout: 30_000 }, async (t) => {
    const traceId = protocol === "http/json" ? "0af7651916cd43dd8448eb211c80319c" : "1af7651916cd43dd8448eb211c80319c";
    const batch = new OtlpSpanBatch({ url: `${receiver.url}/v1/traces`, protocol, resource: { "service.name": "flick", "service.instance.id": "host-0" }, scope: { name: "flick", version: "1.2.3" } });
    batch.add([
      span({ traceId, attributes: { "http.request.method": "GET", "http.response.status_code": 200, "flick.cold": true, "flick.cpu_ms": 0.25, "quote\"d": "line\nbreak", "flick.attempt": -3, "ünï": "côdé ✓ 😀" } }),
      span({ traceId, spanId: "00f067aa0ba902b7", parentSpanId: "b7ad6b7169203331", name: "flick.execution", kind: "internal", error: "timeout: the function ran past 30 s" }),
      span({ traceId, spanId: "1111111111111111", name: "fetch GET", kind: "client" }),
    ]);
    await batch.flush();
    const got = await receiver.until(() => (receiver.trace(traceId).length === 3 ? receiver.trace(traceId) : undefined), t.signal);
    const [root, execution, fetchSpan] = got;
    assert.deepEqual(receiver.rejected, []);
    assert.equal(receiver.traceEncodings.at(-1), protocol === "http/json" ? "json" : "protobuf");
    assert.deepEqual(
      { kind: root!.kind, start: root!.startNs, end: root!.endNs, parent: root!.parentSpanId, status: root!.status },
      { kind: 2, start: 1_765_000_000_123_250_000n, end: 1_765_000_000_125_500_000n, parent: "", status: { code: 0 } },
    );
    assert.deepEqual(root!.attributes, { "http.request.method": "GET", "http.response.status_code": 200, "flick.cold": true, "flick.cpu_ms": 0.25, "quote\"d": "line\nbreak", "flick.attempt": -3, "ünï": "côdé ✓ 😀" });
    assert.deepEqual(root!.resource, { "service.name": "flick", "service.instance.id": "host-0" });
    assert.deepEqual({ kind: execution!.kind, parent: execution!.parentSpanId, status: execution!.status }, { kind: 1, parent: "b7ad6b7169203331", status: { code: 2, message: "timeout: the function ran past 30 s" } });
    assert.equal(fetchSpan!.kind, 3);
    await batch.shutdown();
  });
}

/** What the OpenTelemetry SDK's own protobuf serializer makes of a span: the reference for Flick's encoder. */
function sdkReadableSpan(s: SpanData, resource: { attributes: Record<string, string> }, scope: { name: string; version: string }): unknown {
  const hr = (ms: number): [number, number] => {
    const ns = BigInt(unixNanos(ms));
    return [Number(ns / 1_000_000_000n), Number(ns % 1_000_000_000n)];
  };
  const sdkKinds = { internal: 0, server: 1, client: 2, producer: 3, consumer: 4 };
  return {
    name: s.name,
    kind: sdkKinds[s.kind],
    spanContext: () => ({ traceId: s.traceId, spanId: s.spanId, traceFlags: 1 }),
    parentSpanContext: s.parentSpanId === undefined ? undefined : { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: 1 },
    startTime: hr(s.startMs),
    endTime: hr(s.endMs),
    attributes: s.attributes,
    droppedAttributesCount: 0,
    events: [],
    droppedEventsCount: 0,
    links: [],
    droppedLinksCount: 0,
    status: s.error === undefined ? { code: 0 } : { code: 2, message: s.error },
    resource,
    instrumentationScope: scope,
  };
}

test("protobuf spans read back the same as the OpenTelemetry SDK's serializer makes of them", () => {
  const resource = { "service.name": "flick", "service.version": "0.1.0" };
  const scope = { name: "flick", version: "0.1.0" };
  const long = "x".repeat(200); // a string and a KeyValue past 127 bytes: two-byte lengths
  const huge = "/a".repeat(10_000); // a span past 16,383 bytes: a three-byte length
  const spans: SpanData[] = [
    span({ attributes: { "http.request.method": "GET", "url.path": "/", "flick.cold": false, "http.response.status_code": 200, "flick.cpu_ms": 0.176, "flick.invocation_id": "6e7828c3-e482-4c1e-aba6-38b7e67c24f0" } }),
    span({ spanId: "00f067aa0ba902b7", parentSpanId: "b7ad6b7169203331", name: "crypto.subtle.digest", kind: "internal", error: `boom ${long}` }),
    span({ spanId: "2222222222222222", name: "fetch POST", kind: "client", attributes: { "url.full": `https://example.com/${long}`, "ünï": "😀 côdé", big: 2 ** 40, none: 0 } }),
    span({ spanId: "3333333333333333", name: "GET /fn/long", startMs: 1_765_000_000_999.999_9, endMs: 1_765_000_001_000, attributes: { "url.path": huge } }),
    span({ spanId: "4444444444444444", name: "", kind: "producer", attributes: {} }),
    span({ spanId: "5555555555555555", name: "x", kind: "consumer", startMs: 0.000_001, endMs: 1 }),
  ];
  const chunk = new ProtoSpanChunk(protoEnvelope(resource, scope), 1 << 16);
  for (const s of spans) assert.ok(chunk.add(s));
  const ours = decodeTraceRequest(chunk.seal());
  // The SDK groups spans by resource and scope object: one of each for all.
  const sdkResource = { attributes: resource };
  const theirs = decodeTraceRequest(Buffer.from(ProtobufTraceSerializer.serializeRequest(spans.map((s) => sdkReadableSpan(s, sdkResource, scope)) as never)!));
  assert.deepEqual(ours, theirs);
  const got = (ours["resourceSpans"] as { scopeSpans: { spans: { attributes: unknown[] }[] }[] }[])[0]!.scopeSpans[0]!.spans;
  assert.equal(got.length, spans.length, "every span decoded (the comparison is not of two empty lists)");
  assert.equal(got[0]!.attributes.length, 6);
});

test("a chunk refuses a span it has no room for, and a span bigger than a whole request still goes", { timeout: 30_000 }, async (t) => {
  const chunk = new ProtoSpanChunk(protoEnvelope({}, { name: "flick", version: "" }), 1024);
  let taken = 0;
  while (chunk.add(span({ spanId: (taken + 1).toString(16).padStart(16, "0") }))) taken++;
  assert.ok(taken >= 5 && taken < 30, `${taken} small spans in 1 KiB`);
  const spans = (decodeTraceRequest(chunk.seal())["resourceSpans"] as { scopeSpans: { spans: unknown[] }[] }[])[0]!.scopeSpans[0]!.spans;
  assert.equal(spans.length, taken);

  const traceId = "2af7651916cd43dd8448eb211c80319c";
  const batch = new OtlpSpanBatch({ url: `${receiver.url}/v1/traces`, resource: {}, scope: { name: "flick", version: "" } });
  batch.add([span({ traceId, attributes: { "url.path": "/p".repeat(600_000) } }), span({ traceId, spanId: "00f067aa0ba902b7" })]);
  await batch.flush();
  const got = await receiver.until(() => (receiver.trace(traceId).length === 2 ? receiver.trace(traceId) : undefined), t.signal);
  assert.equal((got[0]!.attributes["url.path"] as string).length, 1_200_000);
  await batch.shutdown();
});

test("a full request goes at 2,048 spans without waiting for the timer", { timeout: 30_000 }, async (t) => {
  const traceId = "3af7651916cd43dd8448eb211c80319c";
  const batch = new OtlpSpanBatch({ url: `${receiver.url}/v1/traces`, resource: {}, scope: { name: "flick", version: "" }, delayMs: 3_600_000 });
  batch.add(Array.from({ length: 2048 }, (_, i) => span({ traceId, spanId: (i + 1).toString(16).padStart(16, "0") })));
  const got = await receiver.until(() => (receiver.trace(traceId).length === 2048 ? receiver.trace(traceId) : undefined), t.signal);
  assert.equal(new Set(got.map((s) => s.spanId)).size, 2048);
  await batch.shutdown();
});

test("the span protocol comes from the OpenTelemetry variables; gRPC is refused with what to do", () => {
  const protocols: [Record<string, string>, OtlpProtocol][] = [
    [{}, "http/protobuf"],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }, "http/json"],
    [{ OTEL_EXPORTER_OTLP_PROTOCOL: "http/json", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf" }, "http/protobuf"],
  ];
  for (const [env, want] of protocols) assert.equal(otlpSpanProtocol(env), want);
  assert.throws(() => otlpSpanProtocol({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "grpc" }), /OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=grpc: .*http\/protobuf .*collector in between/);
});

test("a batch the collector refuses is dropped and counted, and the queue has a bound until the collector answers", { timeout: 30_000 }, async (t) => {
  let answer: (() => void) | undefined;
  const answered = new Promise<void>((resolve) => (answer = resolve));
  const refusing = createServer((req, res) => {
    req.resume();
    // The first request is held until the test has seen the queue full.
    req.on("end", () => void answered.then(() => res.writeHead(503).end()));
  });
  await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
  t.after(() => {
    refusing.closeAllConnections();
    refusing.close();
  });
  const url = `http://127.0.0.1:${(refusing.address() as { port: number }).port}/v1/traces`;
  const batch = new OtlpSpanBatch({ url, resource: {}, scope: { name: "flick", version: "" }, maxQueue: 5, maxBatch: 100 });
  t.after(() => batch.shutdown());
  batch.add(Array.from({ length: 8 }, (_, i) => span({ spanId: `${i}`.padStart(16, "0") })));
  assert.equal(batch.dropped, 3, "three over the queue's five");
  const sent = batch.flush();
  batch.add([span({ spanId: "0000000000000009" })]);
  assert.equal(batch.dropped, 4, "spans in a request not yet answered still count against the queue");
  answer!();
  await sent;
  assert.equal(batch.dropped, 9, "the five sent were refused");
  batch.add(Array.from({ length: 5 }, (_, i) => span({ spanId: `${i + 10}`.padStart(16, "0") })));
  assert.equal(batch.dropped, 9, "once answered, the queue has room again");
});

test("collector headers come from OTEL_EXPORTER_OTLP_HEADERS, percent-decoded", () => {
  assert.deepEqual(otlpHeaders("api-key=abc%3D%3D, x-team = core"), { "api-key": "abc==", "x-team": "core" });
  assert.deepEqual(otlpHeaders(undefined), {});
  assert.deepEqual(otlpHeaders("novalue,=x"), {});
});
