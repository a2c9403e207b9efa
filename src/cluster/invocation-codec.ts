/**
 * How an async invocation is written in JetStream: as a work message (what to run, and how
 * its earlier attempts went) and as a record (what `flick invocations` shows). Both are one
 * JSON head and the payload's raw bytes after it, so a payload is never base64'd:
 *
 *   [u32 big-endian: head length][head: JSON][payload bytes]
 */
import type { InvocationRecord } from "../model/index.ts";
import type { NewInvocation } from "../store/index.ts";

/** A work message: the invocation as queued, and what its attempts so far left behind. */
export type WorkState = Omit<NewInvocation, "payload"> & {
  attempts: number;
  failures: number;
  lastError: { code: string; message: string } | null;
};

/** A record as the invocations bucket keeps it: the public record, and who holds it while it runs. */
export type StoredRecord = InvocationRecord & { holder: string | null; ackSubject: string | null };

export function encode(head: object, payload: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(head));
  const out = new Uint8Array(4 + json.byteLength + payload.byteLength);
  new DataView(out.buffer).setUint32(0, json.byteLength);
  out.set(json, 4);
  out.set(payload, 4 + json.byteLength);
  return out;
}

export function decode<T>(bytes: Uint8Array): { head: T; payload: Uint8Array } {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0);
  const head = JSON.parse(new TextDecoder().decode(bytes.subarray(4, 4 + length))) as T;
  // A copy, and a plain Uint8Array whatever `bytes` is (the NATS client hands out Buffers).
  return { head, payload: new Uint8Array(bytes.subarray(4 + length)) };
}

export function encodeRecord(record: StoredRecord): Uint8Array {
  const { payload, ...head } = record;
  return encode(head, payload);
}

export function decodeRecord(bytes: Uint8Array): StoredRecord {
  const { head, payload } = decode<Omit<StoredRecord, "payload">>(bytes);
  return { ...head, payload };
}

/** The public record: without what only the queue needs. */
export function publicRecord(stored: StoredRecord): InvocationRecord {
  const { holder: _holder, ackSubject: _ack, ...record } = stored;
  return record;
}

/** A new invocation's first work message. */
export function firstState(item: NewInvocation): WorkState {
  const { payload: _payload, ...rest } = item;
  return { ...rest, trace: item.trace ?? null, traceState: item.traceState ?? null, attempts: 0, failures: 0, lastError: null };
}

/** The record of an invocation that waits to run, as its work message says. */
export function queuedRecord(state: WorkState, payload: Uint8Array, updatedAtMs: number): StoredRecord {
  return {
    id: state.id, function: state.function, tenant: state.tenant, kind: state.kind, status: "queued", payload, contentType: state.contentType,
    hops: state.hops, attempts: state.attempts, failures: state.failures, createdAtMs: state.createdAtMs, updatedAtMs, nextAtMs: state.nextAtMs,
    leaseUntilMs: null, idempotencyKey: state.idempotencyKey, result: null, lastError: state.lastError, deadReason: null,
    trace: state.trace ?? null, traceState: state.traceState ?? null, holder: null, ackSubject: null,
  };
}

/** The work message of a record that is to run again (a retry, a replay). */
export function stateOf(record: InvocationRecord): WorkState {
  return {
    id: record.id, function: record.function, tenant: record.tenant, kind: record.kind, contentType: record.contentType,
    idempotencyKey: record.idempotencyKey, createdAtMs: record.createdAtMs, nextAtMs: record.nextAtMs, hops: record.hops,
    trace: record.trace, traceState: record.traceState, attempts: record.attempts, failures: record.failures, lastError: record.lastError,
  };
}
