/**
 * setTimeout/setInterval backed by host timers. A timer belongs to the invocation that
 * set it: the host cancels it when that invocation ends, so no callback ever runs for a
 * finished request (Workers does the same). At module scope there is no invocation and
 * timers are refused, as Workers refuses I/O in global scope.
 */
import { hostOps } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";

interface Timer {
  invocation: number;
  callback: (...args: unknown[]) => void;
  args: unknown[];
  repeatMs: number | null;
}

const timers = new Map<number, Timer>();
let nextId = 1;

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
  const id = nextId++;
  const delay = delayOf(ms);
  timers.set(id, { invocation, callback: callback as Timer["callback"], args, repeatMs: repeat ? Math.max(delay, 1) : null });
  hostOps().timerStart(invocation, id, delay);
  return id;
}

function clear(id: unknown): void {
  const n = Number(id);
  if (timers.delete(n)) hostOps().timerClear(n);
}

/** Called by the dispatcher when the host says timer `id` is due. */
export function fireTimer(id: number): void {
  const timer = timers.get(id);
  if (timer === undefined) return;
  if (timer.repeatMs === null) timers.delete(id);
  else hostOps().timerStart(timer.invocation, id, timer.repeatMs);
  enterInvocation(timer.invocation);
  Reflect.apply(timer.callback, globalThis, timer.args);
}

/** Forgets the timers of a finished invocation (the host has already cancelled them). */
export function dropTimersOf(invocation: number): void {
  for (const [id, timer] of timers) if (timer.invocation === invocation) timers.delete(id);
}

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
