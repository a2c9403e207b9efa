/**
 * Event and its subclasses the platform fires (DOM §2.2, HTML §8.1.7): Event, CustomEvent,
 * ErrorEvent, PromiseRejectionEvent. Internal state lives in a WeakMap keyed by the event
 * so user code cannot forge or reach it; EventTarget (event-target.ts) drives dispatch.
 */
import { performanceNow } from "../clock.ts";
import { ObjectDefineProperty, WeakMapCtor } from "./intrinsics.ts";
import {
  constructContext, defineInterface, dictGet, illegalInvocation, requireArgs, toBoolean, toDictionary, toStringES,
} from "./idl.ts";

export interface EventState {
  type: string;
  target: object | null;
  currentTarget: object | null;
  eventPhase: number;
  bubbles: boolean;
  cancelable: boolean;
  composed: boolean;
  timeStamp: number;
  isTrusted: boolean;
  stopPropagation: boolean;
  stopImmediatePropagation: boolean;
  canceled: boolean;
  inPassiveListener: boolean;
  initialized: boolean;
  dispatching: boolean;
}

const states = new WeakMapCtor<object, EventState>();

/** The internal state of an event; throws "Illegal invocation" for anything else. */
export function eventState(event: unknown): EventState {
  const state = typeof event === "object" && event !== null ? states.get(event) : undefined;
  if (state === undefined) throw illegalInvocation();
  return state;
}

export function isEvent(value: unknown): value is Event {
  return typeof value === "object" && value !== null && states.has(value);
}

const NONE = 0;
const CAPTURING_PHASE = 1;
const AT_TARGET = 2;
const BUBBLING_PHASE = 3;

function isTrustedGetter(this: unknown): boolean {
  return eventState(this).isTrusted;
}

export class Event {
  static readonly NONE = NONE;
  static readonly CAPTURING_PHASE = CAPTURING_PHASE;
  static readonly AT_TARGET = AT_TARGET;
  static readonly BUBBLING_PHASE = BUBBLING_PHASE;
  // Defined per instance and on the prototype below; declared for the type checker.
  declare readonly isTrusted: boolean;
  declare readonly NONE: 0;
  declare readonly CAPTURING_PHASE: 1;
  declare readonly AT_TARGET: 2;
  declare readonly BUBBLING_PHASE: 3;

  constructor(type: string, eventInitDict?: EventInit) {
    const context = constructContext(new.target?.name ?? "Event");
    requireArgs(arguments.length, 1, context);
    const t = toStringES(type);
    const init = toDictionary(eventInitDict, context, "EventInit");
    states.set(this, {
      type: t,
      target: null,
      currentTarget: null,
      eventPhase: NONE,
      bubbles: toBoolean(dictGet(init, "bubbles")),
      cancelable: toBoolean(dictGet(init, "cancelable")),
      composed: toBoolean(dictGet(init, "composed")),
      timeStamp: performanceNow(),
      isTrusted: false,
      stopPropagation: false,
      stopImmediatePropagation: false,
      canceled: false,
      inPassiveListener: false,
      initialized: true,
      dispatching: false,
    });
    // [LegacyUnforgeable]: an own, non-configurable accessor on every instance.
    ObjectDefineProperty(this, "isTrusted", { get: isTrustedGetter, enumerable: true, configurable: false });
  }

  get type(): string {
    return eventState(this).type;
  }
  get target(): object | null {
    return eventState(this).target;
  }
  get srcElement(): object | null {
    return eventState(this).target;
  }
  get currentTarget(): object | null {
    return eventState(this).currentTarget;
  }
  composedPath(): object[] {
    const s = eventState(this);
    return s.currentTarget === null ? [] : [s.currentTarget];
  }
  get eventPhase(): number {
    return eventState(this).eventPhase;
  }
  stopPropagation(): void {
    eventState(this).stopPropagation = true;
  }
  get cancelBubble(): boolean {
    return eventState(this).stopPropagation;
  }
  set cancelBubble(value: boolean) {
    if (toBoolean(value)) eventState(this).stopPropagation = true;
  }
  stopImmediatePropagation(): void {
    const s = eventState(this);
    s.stopPropagation = true;
    s.stopImmediatePropagation = true;
  }
  get bubbles(): boolean {
    return eventState(this).bubbles;
  }
  get cancelable(): boolean {
    return eventState(this).cancelable;
  }
  get returnValue(): boolean {
    return !eventState(this).canceled;
  }
  set returnValue(value: boolean) {
    if (!toBoolean(value)) setCanceled(eventState(this));
  }
  preventDefault(): void {
    setCanceled(eventState(this));
  }
  get defaultPrevented(): boolean {
    return eventState(this).canceled;
  }
  get composed(): boolean {
    return eventState(this).composed;
  }
  get timeStamp(): number {
    return eventState(this).timeStamp;
  }
  initEvent(type: string, bubbles?: boolean, cancelable?: boolean): void {
    const s = eventState(this);
    requireArgs(arguments.length, 1, "Failed to execute 'initEvent' on 'Event'");
    if (s.dispatching) return;
    s.initialized = true;
    s.stopPropagation = false;
    s.stopImmediatePropagation = false;
    s.canceled = false;
    s.isTrusted = false;
    s.target = null;
    s.type = toStringES(type);
    s.bubbles = toBoolean(bubbles);
    s.cancelable = toBoolean(cancelable);
  }
}

/** DOM "set the canceled flag": only for cancelable events, never inside a passive listener. */
function setCanceled(s: EventState): void {
  if (s.cancelable && !s.inPassiveListener) s.canceled = true;
}

export interface EventInit {
  bubbles?: boolean;
  cancelable?: boolean;
  composed?: boolean;
}

for (const [key, value] of [["NONE", NONE], ["CAPTURING_PHASE", CAPTURING_PHASE], ["AT_TARGET", AT_TARGET], ["BUBBLING_PHASE", BUBBLING_PHASE]] as const) {
  const desc = { value, writable: false, enumerable: true, configurable: false };
  ObjectDefineProperty(Event, key, desc);
  ObjectDefineProperty(Event.prototype, key, desc);
}
defineInterface(Event, "Event");

// — subclasses: extra read-only attributes set from the init dictionary —

const customDetail = new WeakMapCtor<object, unknown>();
export class CustomEvent<T = unknown> extends Event {
  constructor(type: string, eventInitDict?: EventInit & { detail?: T }) {
    super(type, eventInitDict);
    customDetail.set(this, dictGet(toDictionary(eventInitDict, constructContext("CustomEvent"), "CustomEventInit"), "detail") ?? null);
  }
  get detail(): T {
    if (!customDetail.has(this)) throw illegalInvocation();
    return customDetail.get(this) as T;
  }
  initCustomEvent(type: string, bubbles?: boolean, cancelable?: boolean, detail?: T): void {
    requireArgs(arguments.length, 1, "Failed to execute 'initCustomEvent' on 'CustomEvent'");
    if (eventState(this).dispatching) return;
    this.initEvent(type, bubbles, cancelable);
    customDetail.set(this, detail ?? null);
  }
}
defineInterface(CustomEvent, "CustomEvent");

interface ErrorFields {
  message: string;
  filename: string;
  lineno: number;
  colno: number;
  error: unknown;
}
const errorFields = new WeakMapCtor<object, ErrorFields>();
function errorField<K extends keyof ErrorFields>(event: unknown, key: K): ErrorFields[K] {
  const fields = typeof event === "object" && event !== null ? errorFields.get(event) : undefined;
  if (fields === undefined) throw illegalInvocation();
  return fields[key];
}
export class ErrorEvent extends Event {
  constructor(type: string, eventInitDict?: EventInit & Partial<ErrorFields>) {
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, constructContext("ErrorEvent"), "ErrorEventInit");
    const num = (v: unknown) => (v === undefined ? 0 : Number(v) >>> 0);
    const str = (v: unknown) => (v === undefined ? "" : toStringES(v));
    errorFields.set(this, {
      colno: num(dictGet(init, "colno")),
      error: dictGet(init, "error"),
      filename: str(dictGet(init, "filename")),
      lineno: num(dictGet(init, "lineno")),
      message: str(dictGet(init, "message")),
    });
  }
  get message(): string {
    return errorField(this, "message");
  }
  get filename(): string {
    return errorField(this, "filename");
  }
  get lineno(): number {
    return errorField(this, "lineno");
  }
  get colno(): number {
    return errorField(this, "colno");
  }
  get error(): unknown {
    return errorField(this, "error");
  }
}
defineInterface(ErrorEvent, "ErrorEvent");

const rejections = new WeakMapCtor<object, { promise: Promise<unknown>; reason: unknown }>();
export class PromiseRejectionEvent extends Event {
  constructor(type: string, eventInitDict: EventInit & { promise: Promise<unknown>; reason?: unknown }) {
    const context = constructContext("PromiseRejectionEvent");
    requireArgs(arguments.length, 2, context);
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, context, "PromiseRejectionEventInit");
    const promise = dictGet(init, "promise");
    if (promise === undefined) throw new TypeError(`${context}: required member promise is undefined.`);
    if (typeof promise !== "object" || promise === null) throw new TypeError(`${context}: member promise is not an object.`);
    rejections.set(this, { promise: promise as Promise<unknown>, reason: dictGet(init, "reason") });
  }
  get promise(): Promise<unknown> {
    const r = rejections.get(this);
    if (r === undefined) throw illegalInvocation();
    return r.promise;
  }
  get reason(): unknown {
    const r = rejections.get(this);
    if (r === undefined) throw illegalInvocation();
    return r.reason;
  }
}
defineInterface(PromiseRejectionEvent, "PromiseRejectionEvent");

export { NONE, CAPTURING_PHASE, AT_TARGET, BUBBLING_PHASE };
