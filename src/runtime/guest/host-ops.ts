/**
 * The guest's side of the host contract (../contract.ts).
 *
 * Guest code never waits for its host, except for the four sync calls (random bytes,
 * IDNA, a shipped Wasm module, an Encoding Standard index): everything else it asks for
 * is a host op appended to the outbox, which the host takes after each entry — with the
 * entry's microtasks run, so a response made by an `async fetch` travels with the entry
 * that started it. Answers come back as events of a later entry (dispatcher.ts).
 *
 * The sync calls are captured at connect and reachable from nowhere else: user code
 * reaches the host only through the Web APIs built on top.
 */
import { checkHostOp, type HostOp, type SyncHostCalls } from "../contract.ts";

let calls: SyncHostCalls | undefined;
let more: (() => void) | undefined;
let outbox: HostOp[] = [];
/** The outbox `run` last resolved with, kept until the host says it has it. */
let unacked: HostOp[] = [];
/** `run` has resolved: an op now waits for the host to come back (`more`). */
let closed = false;
let toldMore = false;
const push = Array.prototype.push;

/** Called once when the host connects the isolate; a second call is a runtime bug. */
export function installSyncCalls(sync: SyncHostCalls, onMore: () => void): void {
  if (calls !== undefined) throw new Error("the host is already connected");
  calls = Object.freeze({ ...sync });
  more = onMore;
  outbox = [];
  unacked = [];
  closed = false;
  toldMore = false;
}

/** The sync calls; throws before connect (a runtime bug, never user error). */
export function syncCalls(): SyncHostCalls {
  if (calls === undefined) throw new Error("the host is not connected");
  return calls;
}

/**
 * Hands `op` to the host with this entry. A malformed op is a runtime bug (the Web APIs
 * check user input first): it throws here, where it happens, rather than being dropped by
 * the host, which checks every op again.
 */
export function emit(op: HostOp): void {
  const problem = checkHostOp(op);
  if (problem !== null) throw new TypeError(`internal error in the Flick runtime: ${problem}`);
  Reflect.apply(push, outbox, [op]);
  switch (op[0]) {
    case "wake":
    case "fetch":
    case "zlibWrite":
    case "subtle":
    case "binding":
      asked++;
  }
  if (closed && !toldMore) {
    toldMore = true;
    more?.();
  }
}

/** An entry starts: the host has the last outbox (`acked`), or took it again with `take`. */
export function openOutbox(acked: boolean): void {
  if (acked) unacked = [];
  closed = false;
  toldMore = false;
}

/** Ops emitted so far whose answer comes in a later entry (a timer, a fetch, a crypto call…). */
let asked = 0;

/** How many ops so far asked the host for something that answers in a later entry. */
export function repliesAsked(): number {
  return asked;
}

/** How many ops wait in the outbox (the dispatcher watches it to see microtasks make progress). */
export function outboxSize(): number {
  return outbox.length;
}

/** `run` resolves with these: the outbox so far (kept until acknowledged); later ops call `more`. */
export function closeOutbox(): HostOp[] {
  const ops = outbox;
  outbox = [];
  unacked = ops;
  closed = true;
  return ops;
}

/**
 * The host's `take`: the ops emitted since `run` resolved (`acked`: the host has what it
 * resolved with — the `more` path), or those too (its result was lost).
 */
export function takeOutbox(acked: boolean): HostOp[] {
  if (acked) unacked = [];
  const ops = unacked.length === 0 ? outbox : [...unacked, ...outbox];
  unacked = [];
  outbox = [];
  toldMore = false;
  return ops;
}

const U8 = Uint8Array;

/**
 * A copy of `bytes` for an op: ops leave the isolate at the end of the entry, and the
 * guest must not see its later writes to a buffer it handed over reach the host.
 */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new U8(bytes);
}

/**
 * Bytes that arrived with an entry, as a buffer of their own: the events of one entry may
 * share one ArrayBuffer (they were copied in together), and a byte stream transfers the
 * buffer of every chunk it takes — which would empty the other events' bytes.
 */
export function ownBytes<T extends Uint8Array>(bytes: T): T {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : (copyBytes(bytes) as T);
}


