/**
 * EventTarget (DOM §2.7) for targets without a tree: listeners with capture, once,
 * passive and signal options, `handleEvent` objects, and the dispatch algorithm reduced
 * to its at-target steps (capture listeners, then the others). The global scope is an
 * EventTarget too; `makeEventTarget(globalThis)` gives it a listener list.
 */
import { eventState, isEvent, AT_TARGET, NONE } from "./event.ts";
import { newDOMException } from "./dom-exception.ts";
import { ReflectApply, WeakMapCtor } from "./intrinsics.ts";
import { defineInterface, dictGet, illegalInvocation, isObject, methodContext, requireArgs, toBoolean, toStringES } from "./idl.ts";

interface Listener {
  type: string;
  callback: object;
  capture: boolean;
  passive: boolean;
  once: boolean;
  removed: boolean;
}

/** What an abort signal must offer for `{ signal }` in addEventListener (abort.ts implements it). */
export interface SignalHooks {
  isAbortSignal(value: unknown): boolean;
  aborted(signal: object): boolean;
  onAbort(signal: object, algorithm: () => void): void;
}

const listeners = new WeakMapCtor<object, Listener[]>();
let signalHooks: SignalHooks | undefined;
let reportExceptionHook: (error: unknown) => void = () => {};

/** abort.ts registers how to recognise and watch AbortSignals (it imports this file, not the reverse). */
export function setSignalHooks(hooks: SignalHooks): void {
  signalHooks = hooks;
}

/** Where an exception thrown by a listener goes (HTML "report the exception"); set by the runtime. */
export function setExceptionReporter(report: (error: unknown) => void): void {
  reportExceptionHook = report;
}

/** HTML "report the exception", through whatever reporter the runtime installed. */
export function reportException(error: unknown): void {
  reportExceptionHook(error);
}

let globalTarget: object | undefined;

/**
 * Gives `target` a listener list, so EventTarget's methods accept it as `this`. With
 * `isGlobal`, it is also the receiver of unqualified calls (`addEventListener(…)` in
 * module code), as WebIDL does for operations of the global object.
 */
export function makeEventTarget(target: object, isGlobal = false): void {
  if (!listeners.has(target)) listeners.set(target, []);
  if (isGlobal) globalTarget = target;
}

/** Whether `target` has a live listener for `type` (the runtime asks for the global "fetch"). */
export function hasListeners(target: object, type: string): boolean {
  const list = listeners.get(target);
  if (list === undefined) return false;
  for (let i = 0; i < list.length; i++) if (list[i]!.type === type && !list[i]!.removed) return true;
  return false;
}

/** The global scope as an event target (the one of the current context). */
export function globalEventTarget(): object | undefined {
  return globalTarget;
}

function receiver(self: unknown): object {
  return self === undefined || self === null ? (globalTarget ?? {}) : (self as object);
}

function listOf(target: unknown): Listener[] {
  const list = isObject(target) ? listeners.get(target) : undefined;
  if (list === undefined) throw illegalInvocation();
  return list;
}

/** "flatten more" for add, "flatten" for remove: a boolean is `capture`. */
function flatten(options: unknown, more: boolean, context: string) {
  if (!isObject(options)) return { capture: toBoolean(options), once: false, passive: false, signal: undefined as object | undefined };
  const capture = toBoolean(dictGet(options, "capture"));
  if (!more) return { capture, once: false, passive: false, signal: undefined };
  const once = toBoolean(dictGet(options, "once"));
  const passiveRaw = dictGet(options, "passive");
  const signal = dictGet(options, "signal");
  if (signal !== undefined && (signalHooks === undefined || !signalHooks.isAbortSignal(signal))) {
    throw new TypeError(`${context}: Failed to read the 'signal' property from 'AddEventListenerOptions': Failed to convert value to 'AbortSignal'.`);
  }
  return { capture, once, passive: passiveRaw === undefined ? false : toBoolean(passiveRaw), signal: signal as object | undefined };
}

function removeListener(list: Listener[], listener: Listener): void {
  listener.removed = true;
  const i = list.indexOf(listener);
  if (i >= 0) list.splice(i, 1);
}

export class EventTarget {
  constructor() {
    listeners.set(this, []);
  }

  addEventListener(type: string, callback: EventListenerOrObject | null, options?: boolean | AddEventListenerOptions): void {
    const context = methodContext("EventTarget", "addEventListener");
    const list = listOf(receiver(this));
    requireArgs(arguments.length, 2, context);
    const t = toStringES(type);
    if (callback !== null && callback !== undefined && !isObject(callback)) {
      throw new TypeError(`${context}: parameter 2 is not of type 'Object'.`);
    }
    const { capture, once, passive, signal } = flatten(options, true, context);
    if (signal !== undefined && signalHooks!.aborted(signal)) return;
    if (callback === null || callback === undefined) return;
    for (const l of list) if (l.type === t && l.callback === callback && l.capture === capture) return;
    const listener: Listener = { type: t, callback, capture, passive, once, removed: false };
    list.push(listener);
    if (signal !== undefined) signalHooks!.onAbort(signal, () => removeListener(list, listener));
  }

  removeEventListener(type: string, callback: EventListenerOrObject | null, options?: boolean | EventListenerOptions): void {
    const context = methodContext("EventTarget", "removeEventListener");
    const list = listOf(receiver(this));
    requireArgs(arguments.length, 2, context);
    const t = toStringES(type);
    const { capture } = flatten(options, false, context);
    for (const l of list) {
      if (l.type === t && l.callback === callback && l.capture === capture) {
        removeListener(list, l);
        return;
      }
    }
  }

  dispatchEvent(event: unknown): boolean {
    const context = methodContext("EventTarget", "dispatchEvent");
    const self = receiver(this);
    listOf(self);
    requireArgs(arguments.length, 1, context);
    if (!isEvent(event)) throw new TypeError(`${context}: parameter 1 is not of type 'Event'.`);
    const s = eventState(event);
    if (s.dispatching || !s.initialized) throw newDOMException(`${context}: The event is already being dispatched.`, "InvalidStateError");
    s.isTrusted = false;
    return dispatch(self, event);
  }
}
defineInterface(EventTarget, "EventTarget");

export type EventListenerOrObject = ((event: unknown) => unknown) | { handleEvent(event: unknown): unknown };
export interface EventListenerOptions {
  capture?: boolean;
}
export interface AddEventListenerOptions extends EventListenerOptions {
  once?: boolean;
  passive?: boolean;
  signal?: unknown;
}

/** DOM "dispatch" for a target with no parent; also how the platform fires its own events. */
export function dispatch(target: object, event: object, trusted = false): boolean {
  const s = eventState(event);
  const list = listOf(target);
  s.dispatching = true;
  if (trusted) s.isTrusted = true;
  s.target = target;
  s.currentTarget = target;
  s.eventPhase = AT_TARGET;
  // At the target, capture listeners run in the capturing pass and the others in the bubbling pass.
  for (const phase of ["capturing", "bubbling"] as const) {
    if (s.stopPropagation) break;
    const snapshot = list.slice();
    for (const l of snapshot) {
      if (l.removed || l.type !== s.type) continue;
      if (phase === "capturing" ? !l.capture : l.capture) continue;
      if (l.once) removeListener(list, l);
      if (l.passive) s.inPassiveListener = true;
      try {
        if (typeof l.callback === "function") ReflectApply(l.callback, target, [event]);
        else {
          const handleEvent = (l.callback as { handleEvent?: unknown }).handleEvent;
          if (typeof handleEvent !== "function") throw new TypeError("The listener's handleEvent is not callable.");
          ReflectApply(handleEvent, l.callback, [event]);
        }
      } catch (error) {
        reportExceptionHook(error);
      }
      s.inPassiveListener = false;
      if (s.stopImmediatePropagation) break;
    }
    if (s.stopImmediatePropagation) break;
  }
  s.eventPhase = NONE;
  s.currentTarget = null;
  s.dispatching = false;
  s.stopPropagation = false;
  s.stopImmediatePropagation = false;
  return !s.canceled;
}

/**
 * An event handler IDL attribute (`onabort`, `onerror`): stores the handler and, on first
 * set, registers one listener that calls whatever handler is current.
 */
export function defineEventHandler(proto: object, name: string, type: string, isTarget: (v: unknown) => boolean): void {
  const handlers = new WeakMapCtor<object, unknown>();
  Object.defineProperty(proto, `on${name}`, {
    get(this: object) {
      if (!isTarget(this)) throw illegalInvocation();
      return handlers.get(this) ?? null;
    },
    set(this: object, value: unknown) {
      if (!isTarget(this)) throw illegalInvocation();
      const first = !handlers.has(this);
      handlers.set(this, typeof value === "function" || (isObject(value) && typeof value !== "function") ? value : null);
      if (first) {
        const self = this;
        listOf(self).push({
          type,
          callback: function (this: unknown, event: unknown) {
            const h = handlers.get(self);
            if (typeof h !== "function") return;
            const result = ReflectApply(h, self, [event]);
            if (result === false) eventState(event).canceled = eventState(event).cancelable;
          },
          capture: false,
          passive: false,
          once: false,
          removed: false,
        });
      }
    },
    enumerable: true,
    configurable: true,
  });
}
