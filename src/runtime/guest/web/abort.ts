/**
 * AbortController and AbortSignal (DOM §3.1–3.2): abort with a reason, `abort()`,
 * `timeout()`, `any()` with dependent signals, abort algorithms run before the `abort`
 * event fires.
 */
import { newDOMException } from "./dom-exception.ts";
import { Event } from "./event.ts";
import { EventTarget, defineEventHandler, dispatch, setSignalHooks } from "./event-target.ts";
import { ReflectApply, WeakMapCtor } from "./intrinsics.ts";
import { constructContext, defineInterface, illegalInvocation, isObject, methodContext, requireArgs, toEnforceRangeUnsignedLongLong } from "./idl.ts";

interface SignalState {
  aborted: boolean;
  reason: unknown;
  algorithms: (() => void)[];
  /** For `any()`: the signals this one follows, and the ones that follow it. */
  sources: Set<AbortSignal>;
  dependents: Set<AbortSignal>;
  dependent: boolean;
}

const signals = new WeakMapCtor<object, SignalState>();
const kCreate = Symbol("create");

function stateOf(signal: unknown): SignalState {
  const s = isObject(signal) ? signals.get(signal) : undefined;
  if (s === undefined) throw illegalInvocation();
  return s;
}

export function isAbortSignal(value: unknown): value is AbortSignal {
  return isObject(value) && signals.has(value);
}

/** Timers come from the runtime (they belong to a request); set by the bootstrap. */
let startTimer: (callback: () => void, ms: number) => void = (callback, ms) => {
  (globalThis as unknown as { setTimeout(cb: () => void, ms: number): unknown }).setTimeout(callback, ms);
};
export function setAbortTimer(start: (callback: () => void, ms: number) => void): void {
  startTimer = start;
}

export class AbortSignal extends EventTarget {
  /** The `abort` event handler attribute, defined below by defineEventHandler. */
  declare onabort: ((this: AbortSignal, event: Event) => unknown) | null;
  constructor(key?: unknown) {
    if (key !== kCreate) throw new TypeError(`${constructContext("AbortSignal")}: Illegal constructor`);
    super();
    signals.set(this, { aborted: false, reason: undefined, algorithms: [], sources: new Set(), dependents: new Set(), dependent: false });
  }

  static abort(reason?: unknown): AbortSignal {
    const signal = createAbortSignal();
    const s = stateOf(signal);
    s.aborted = true;
    s.reason = reason === undefined ? newDOMException("signal is aborted without reason", "AbortError") : reason;
    return signal;
  }

  static timeout(milliseconds: number): AbortSignal {
    const context = methodContext("AbortSignal", "timeout");
    requireArgs(arguments.length, 1, context);
    const ms = toEnforceRangeUnsignedLongLong(milliseconds, context);
    const signal = createAbortSignal();
    startTimer(() => signalAbort(signal, newDOMException("signal timed out", "TimeoutError")), ms);
    return signal;
  }

  static any(signalList: Iterable<AbortSignal>): AbortSignal {
    const context = methodContext("AbortSignal", "any");
    requireArgs(arguments.length, 1, context);
    if (!isObject(signalList) || typeof (signalList as { [Symbol.iterator]?: unknown })[Symbol.iterator] !== "function") {
      throw new TypeError(`${context}: The provided value cannot be converted to a sequence.`);
    }
    const list = [...signalList];
    for (const item of list) if (!isAbortSignal(item)) throw new TypeError(`${context}: Failed to convert value to 'AbortSignal'.`);
    return createDependentAbortSignal(list);
  }

  get aborted(): boolean {
    return stateOf(this).aborted;
  }

  get reason(): unknown {
    return stateOf(this).reason;
  }

  throwIfAborted(): void {
    const s = stateOf(this);
    if (s.aborted) throw s.reason;
  }
}
defineEventHandler(AbortSignal.prototype, "abort", "abort", isAbortSignal);
defineInterface(AbortSignal, "AbortSignal");

export function createAbortSignal(): AbortSignal {
  return new AbortSignal(kCreate);
}

/** DOM "create a dependent abort signal". */
export function createDependentAbortSignal(sources: readonly AbortSignal[]): AbortSignal {
  const result = createAbortSignal();
  const r = stateOf(result);
  for (const source of sources) {
    const s = stateOf(source);
    if (s.aborted) {
      r.aborted = true;
      r.reason = s.reason;
      return result;
    }
  }
  r.dependent = true;
  for (const source of sources) {
    const s = stateOf(source);
    const roots = s.dependent ? [...s.sources] : [source];
    for (const root of roots) {
      r.sources.add(root);
      stateOf(root).dependents.add(result);
    }
  }
  return result;
}

/** DOM "signal abort". */
export function signalAbort(signal: AbortSignal, reason?: unknown): void {
  const s = stateOf(signal);
  if (s.aborted) return;
  s.aborted = true;
  s.reason = reason === undefined ? newDOMException("signal is aborted without reason", "AbortError") : reason;
  const toAbort: AbortSignal[] = [];
  for (const dependent of s.dependents) {
    const d = stateOf(dependent);
    if (!d.aborted) {
      d.aborted = true;
      d.reason = s.reason;
      toAbort.push(dependent);
    }
  }
  runAbortSteps(signal);
  for (const dependent of toAbort) runAbortSteps(dependent);
}

function runAbortSteps(signal: AbortSignal): void {
  const s = stateOf(signal);
  const algorithms = s.algorithms;
  s.algorithms = [];
  for (const algorithm of algorithms) ReflectApply(algorithm, undefined, []);
  dispatch(signal, new Event("abort"), true);
}

/** Adds an abort algorithm (runs once, before the `abort` event). */
export function addAbortAlgorithm(signal: AbortSignal, algorithm: () => void): void {
  const s = stateOf(signal);
  if (!s.aborted) s.algorithms.push(algorithm);
}

const controllers = new WeakMapCtor<object, AbortSignal>();

export class AbortController {
  constructor() {
    controllers.set(this, createAbortSignal());
  }

  get signal(): AbortSignal {
    const signal = controllers.get(this);
    if (signal === undefined) throw illegalInvocation();
    return signal;
  }

  abort(reason?: unknown): void {
    const signal = controllers.get(this);
    if (signal === undefined) throw illegalInvocation();
    signalAbort(signal, reason);
  }
}
defineInterface(AbortController, "AbortController");

setSignalHooks({
  isAbortSignal,
  aborted: (signal) => stateOf(signal).aborted,
  onAbort: (signal, algorithm) => addAbortAlgorithm(signal as AbortSignal, algorithm),
});
