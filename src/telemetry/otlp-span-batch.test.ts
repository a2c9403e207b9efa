// Spans posted to a real OTLP/HTTP receiver on 127.0.0.1 decode as the OTLP JSON mapping
// says: ids, exact nanosecond times, proto kinds and status codes, typed attributes; the
// resource and scope once per batch; what a collector refuses is counted, not retried.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, test } from "node:test";
import { OtlpReceiver } from "../../test/support/otlp-receiver.ts";
import type { SpanData } from "./invocation-trace.ts";
import { OtlpSpanBatch, otlpHeaders, unixNanos } from "./otlp-span-batch.ts";

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

test("spans arrive as the OTLP JSON mapping says, resource and scope with them", async (t) => {
  const batch = new OtlpSpanBatch({ url: `${receiver.url}/v1/traces`, resource: { "service.name": "flick", "service.instance.id": "host-0" }, scope: { name: "flick", version: "1.2.3" } });
  batch.add([
    span({ attributes: { "http.request.method": "GET", "http.response.status_code": 200, "flick.cold": true, "flick.cpu_ms": 0.25, "quote\"d": "line\nbreak" } }),
    span({ spanId: "00f067aa0ba902b7", parentSpanId: "b7ad6b7169203331", name: "flick.execution", kind: "internal", error: "timeout: the function ran past 30 s" }),
    span({ spanId: "1111111111111111", name: "fetch GET", kind: "client" }),
  ]);
  await batch.flush();
  const got = await receiver.until(() => (receiver.trace("0af7651916cd43dd8448eb211c80319c").length === 3 ? receiver.trace("0af7651916cd43dd8448eb211c80319c") : undefined), t.signal);
  const [root, execution, fetchSpan] = got;
  assert.deepEqual(receiver.rejected, []);
  assert.deepEqual(
    { kind: root!.kind, start: root!.startNs, end: root!.endNs, parent: root!.parentSpanId, status: root!.status },
    { kind: 2, start: 1_765_000_000_123_250_000n, end: 1_765_000_000_125_500_000n, parent: "", status: { code: 0 } },
  );
  assert.deepEqual(root!.attributes, { "http.request.method": "GET", "http.response.status_code": 200, "flick.cold": true, "flick.cpu_ms": 0.25, "quote\"d": "line\nbreak" });
  assert.deepEqual(root!.resource, { "service.name": "flick", "service.instance.id": "host-0" });
  assert.deepEqual({ kind: execution!.kind, parent: execution!.parentSpanId, status: execution!.status }, { kind: 1, parent: "b7ad6b7169203331", status: { code: 2, message: "timeout: the function ran past 30 s" } });
  assert.equal(fetchSpan!.kind, 3);
  await batch.shutdown();
});

test("a batch the collector refuses is dropped and counted, and the queue has a bound", async () => {
  const refusing = createServer((req, res) => {
    req.resume();
    req.on("end", () => res.writeHead(503).end());
  });
  await new Promise<void>((resolve) => refusing.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(refusing.address() as { port: number }).port}/v1/traces`;
  const batch = new OtlpSpanBatch({ url, resource: {}, scope: { name: "flick", version: "" }, maxQueue: 5, maxBatch: 100 });
  batch.add(Array.from({ length: 8 }, (_, i) => span({ spanId: `${i}`.padStart(16, "0") })));
  assert.equal(batch.dropped, 3, "three over the queue's five");
  await batch.flush();
  assert.equal(batch.dropped, 8, "the five sent were refused");
  await batch.shutdown();
  await new Promise<void>((resolve) => refusing.close(() => resolve()));
});

test("collector headers come from OTEL_EXPORTER_OTLP_HEADERS, percent-decoded", () => {
  assert.deepEqual(otlpHeaders("api-key=abc%3D%3D, x-team = core"), { "api-key": "abc==", "x-team": "core" });
  assert.deepEqual(otlpHeaders(undefined), {});
  assert.deepEqual(otlpHeaders("novalue,=x"), {});
});
