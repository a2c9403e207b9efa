/**
 * OTLP's protobuf trace export request, read back into the shape of its JSON mapping
 * (ids as hex, times as decimal nanosecond strings, integers as strings), so a test
 * receiver checks both encodings the same way. Written from opentelemetry-proto's
 * trace/v1 and common/v1 messages; unknown fields are skipped as protobuf says.
 */

type Field = { field: number; wire: number; value: bigint | Buffer };

function varint(buf: Buffer, at: { i: number }): bigint {
  let out = 0n;
  let shift = 0n;
  for (;;) {
    if (at.i >= buf.length) throw new Error("protobuf: a varint runs past the end");
    const b = buf[at.i++]!;
    out |= BigInt(b & 127) << shift;
    if (b < 128) return out;
    shift += 7n;
    if (shift > 63n) throw new Error("protobuf: a varint longer than ten bytes");
  }
}

/** The fields of one message, in order. */
export function protoFields(buf: Buffer): Field[] {
  const out: Field[] = [];
  const at = { i: 0 };
  while (at.i < buf.length) {
    const key = Number(varint(buf, at));
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 0) throw new Error("protobuf: field number 0");
    if (wire === 0) out.push({ field, wire, value: varint(buf, at) });
    else if (wire === 1 || wire === 5) {
      const n = wire === 1 ? 8 : 4;
      if (at.i + n > buf.length) throw new Error("protobuf: a fixed field runs past the end");
      out.push({ field, wire, value: buf.subarray(at.i, at.i + n) });
      at.i += n;
    } else if (wire === 2) {
      const n = Number(varint(buf, at));
      if (at.i + n > buf.length) throw new Error(`protobuf: field ${field} says ${n} bytes, ${buf.length - at.i} are left`);
      out.push({ field, wire, value: buf.subarray(at.i, at.i + n) });
      at.i += n;
    } else throw new Error(`protobuf: wire type ${wire} (field ${field})`);
  }
  return out;
}

const bytes = (f: Field): Buffer => {
  if (f.wire !== 2) throw new Error(`protobuf: field ${f.field} is not length-delimited`);
  return f.value as Buffer;
};
const text = (f: Field): string => bytes(f).toString("utf8");
const number = (f: Field): bigint => {
  if (f.wire !== 0) throw new Error(`protobuf: field ${f.field} is not a varint`);
  return f.value as bigint;
};

function anyValue(buf: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of protoFields(buf)) {
    if (f.field === 1) out["stringValue"] = text(f);
    else if (f.field === 2) out["boolValue"] = number(f) !== 0n;
    else if (f.field === 3) out["intValue"] = String(BigInt.asIntN(64, number(f)));
    else if (f.field === 4) out["doubleValue"] = (f.value as Buffer).readDoubleLE(0);
  }
  return out;
}

function keyValue(buf: Buffer): { key: string; value: Record<string, unknown> } {
  let key = "";
  let value: Record<string, unknown> = {};
  for (const f of protoFields(buf)) {
    if (f.field === 1) key = text(f);
    else if (f.field === 2) value = anyValue(bytes(f));
  }
  return { key, value };
}

function span(buf: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = { attributes: [], status: { code: 0 } };
  for (const f of protoFields(buf)) {
    switch (f.field) {
      case 1: out["traceId"] = bytes(f).toString("hex"); break;
      case 2: out["spanId"] = bytes(f).toString("hex"); break;
      case 3: out["traceState"] = text(f); break;
      case 4: out["parentSpanId"] = bytes(f).toString("hex"); break;
      case 5: out["name"] = text(f); break;
      case 6: out["kind"] = Number(number(f)); break;
      case 7: out["startTimeUnixNano"] = String((f.value as Buffer).readBigUInt64LE(0)); break;
      case 8: out["endTimeUnixNano"] = String((f.value as Buffer).readBigUInt64LE(0)); break;
      case 9: (out["attributes"] as unknown[]).push(keyValue(bytes(f))); break;
      case 15: {
        const status: Record<string, unknown> = { code: 0 };
        for (const s of protoFields(bytes(f))) {
          if (s.field === 2) status["message"] = text(s);
          else if (s.field === 3) status["code"] = Number(number(s));
        }
        out["status"] = status;
        break;
      }
    }
  }
  return out;
}

/** An ExportTraceServiceRequest as its JSON mapping would have it (the fields Flick writes). */
export function decodeTraceRequest(body: Buffer): Record<string, unknown> {
  const resourceSpans: unknown[] = [];
  for (const rsField of protoFields(body)) {
    if (rsField.field !== 1) continue;
    const rs: { resource: { attributes: unknown[] }; scopeSpans: unknown[] } = { resource: { attributes: [] }, scopeSpans: [] };
    for (const f of protoFields(bytes(rsField))) {
      if (f.field === 1) {
        for (const r of protoFields(bytes(f))) if (r.field === 1) rs.resource.attributes.push(keyValue(bytes(r)));
      } else if (f.field === 2) {
        const ss: { scope: Record<string, string>; spans: unknown[] } = { scope: {}, spans: [] };
        for (const s of protoFields(bytes(f))) {
          if (s.field === 1) {
            for (const sc of protoFields(bytes(s))) {
              if (sc.field === 1) ss.scope["name"] = text(sc);
              else if (sc.field === 2) ss.scope["version"] = text(sc);
            }
          } else if (s.field === 2) ss.spans.push(span(bytes(s)));
        }
        rs.scopeSpans.push(ss);
      }
    }
    resourceSpans.push(rs);
  }
  return { resourceSpans };
}
