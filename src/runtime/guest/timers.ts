/**
 * setTimeout/setInterval, kept here in the isolate: per invocation, a min-heap of due
 * times in guest memory (so a million timers cost the tenant's own memory limit, not its
 * host's), and a `wake` op telling the host when that invocation's earliest timer is due —
 * the host holds one timer per instance, whatever the guest does, and enters with a
 * "timers" event for the invocation, so the time its callbacks take is charged to it.
 *
 * A timer belongs to the invocation that set it and goes when that invocation ends, so no
 * callback ever runs for a finished request (Workers does the same). At module scope there
 * is no invocation and timers are refused, as Workers refuses I/O in global scope.
 */
import { now as guestNow } from "./clock.ts";
import { emit } from "./host-ops.ts";
import { currentInvocation, enterInvocation, onInvocationEnd } from "./invocation-scope.ts";

interface Timer {
  id: number;
  invocation: number;
  callback: (...args: unknown[]) => void;
  args: unknown[];
  repeatMs: number | null;
  dueMs: number;
  /** Order among timers due at the same time: the order they were set in. */
  seq: number;
}

/** An invocation's timers: live ones by id, and a heap that may hold cleared ones until they surface. */
interface Timers {
  live: Map<number, Timer>;
  heap: Timer[];
  /** The wake time the host was last told (0: none). */
  wakeAt: number;
}

/** Active timers one invocation may hold (docs/limits.md). */
export const maxTimersPerInvocation = 10_000;

const byInvocation = new Map<number, Timers>();
const owner = new Map<number, number>();
let nextId = 1;
let nextSeq = 1;

function before(a: Timer, b: Timer): boolean {
  return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
}

function heapPush(heap: Timer[], t: Timer): void {
  let i = heap.length;
  heap[i] = t;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i]!, heap[parent]!)) break;
    [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
    i = parent;
  }
}

function heapPop(heap: Timer[]): Timer | undefined {
  const top = heap[0];
  const last = heap.pop();
  if (heap.length > 0 && last !== undefined) {
    heap[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && before(heap[l]!, heap[m]!)) m = l;
      if (r < heap.length && before(heap[r]!, heap[m]!)) m = r;
      if (m === i) break;
      [heap[i], heap[m]] = [heap[m]!, heap[i]!];
      i = m;
    }
  }
  return top;
}

/** The earliest live timer, dropping cleared ones off the top (and compacting a heap they dominate). */
function peek(t: Timers): Timer | undefined {
  if (t.heap.length > 64 && t.heap.length > 2 * t.live.size) {
    const live = t.heap.filter((x) => t.live.get(x.id) === x);
    t.heap = [];
    for (const x of live) heapPush(t.heap, x);
  }
  while (t.heap.length > 0 && t.live.get(t.heap[0]!.id) !== t.heap[0]) heapPop(t.heap);
  return t.heap[0];
}

/** Tells the host when the invocation's earliest timer is due, when that changed. */
function updateWake(invocation: number, t: Timers): void {
  const next = peek(t);
  const at = next === undefined ? 0 : next.dueMs;
  if (at !== t.wakeAt) {
    t.wakeAt = at;
    emit(["wake", invocation, at]);
  }
  if (at === 0) byInvocation.delete(invocation);
}

/** HTML's timeout argument is a WebIDL `long`: ToInt32 (so 2**32 wraps to 0), negatives become 0. */
function delayOf(ms: unknown): number {
  const n = Number(ms) | 0;
  return n > 0 ? n : 0;
}

function start(callback: unknown, ms: unknown, args: unknown[], repeat: boolean, api: string): number {
  const invocation = currentInvocation();
  if (invocation === 0) {
    throw new Error(`${api}() cannot be called at module scope: timers belong to a request. Call it inside fetch().`);
  }
  if (typeof callback !== "function") {
    throw new TypeError(`${api}: the callback must be a function (strings are not evaluated)`);
  }
  let t = byInvocation.get(invocation);
  if (t === undefined) {
    t = { live: new Map(), heap: [], wakeAt: 0 };
    byInvocation.set(invocation, t);
  }
  if (t.live.size >= maxTimersPerInvocation) {
    throw new RangeError(`${api}: this request already has ${maxTimersPerInvocation} timers pending, the limit; clear some or wait for them`);
  }
  const id = nextId++;
  const delay = delayOf(ms);
  const timer: Timer = {
    id, invocation, callback: callback as Timer["callback"], args,
    repeatMs: repeat ? Math.max(delay, 1) : null, dueMs: guestNow() + delay, seq: nextSeq++,
  };
  t.live.set(id, timer);
  owner.set(id, invocation);
  heapPush(t.heap, timer);
  updateWake(invocation, t);
  return id;
}

function clear(id: unknown): void {
  const n = Number(id);
  const invocation = owner.get(n);
  if (invocation === undefined) return;
  owner.delete(n);
  const t = byInvocation.get(invocation);
  if (t === undefined) return;
  t.live.delete(n);
  updateWake(invocation, t);
}

/**
 * The host says `invocation`'s earliest timer is due: runs each of its timers due now, in
 * due order. Timers set by these callbacks run in a later entry, even with delay 0.
 * `onError` gets a callback's exception.
 */
export function fireDueTimers(invocation: number, onError: (invocation: number, err: unknown) => void): void {
  const t = byInvocation.get(invocation);
  if (t === undefined) return;
  t.wakeAt = -1; // the host's timer fired: tell it again whatever comes next
  const now = guestNow();
  const lastSeq = nextSeq;
  const due: Timer[] = [];
  for (let x = peek(t); x !== undefined && x.dueMs <= now && x.seq < lastSeq; x = peek(t)) due.push(heapPop(t.heap)!);
  for (const timer of due) {
    if (t.live.get(timer.id) !== timer) continue; // cleared by an earlier callback
    if (timer.repeatMs === null) {
      t.live.delete(timer.id);
      owner.delete(timer.id);
    } else {
      timer.dueMs = now + timer.repeatMs;
      timer.seq = nextSeq++;
      heapPush(t.heap, timer);
    }
    enterInvocation(invocation);
    try {
      Reflect.apply(timer.callback, globalThis, timer.args);
    } catch (err) {
      onError(invocation, err);
    }
    if (!byInvocation.has(invocation)) return; // the invocation ended in that callback
  }
  updateWake(invocation, t);
}

// An ended invocation's timers go with it (the host forgets its wake time itself).
onInvocationEnd((invocation) => {
  const t = byInvocation.get(invocation);
  if (t === undefined) return;
  byInvocation.delete(invocation);
  for (const id of t.live.keys()) owner.delete(id);
});

export const timerGlobals = {
  setTimeout(callback: unknown, ms?: unknown, ...args: unknown[]): number {
    return start(callback, ms, args, false, "setTimeout");
  },
  setInterval(callback: unknown, ms?: unknown, ...args: unknown[]): number {
    return start(callback, ms, args, true, "setInterval");
  },
  clearTimeout: clear,
  clearInterval: clear,
};
