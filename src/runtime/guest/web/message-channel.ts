/**
 * MessageChannel, MessagePort and MessageEvent (HTML §9.4–9.5) within one isolate:
 * messages are structured clones, queued on the receiving port until it is started
 * (`start()` or setting `onmessage`), and delivered one per microtask-queued job in
 * order (there are no other event loop tasks in a function's isolate).
 */
import { Event, type EventInit } from "./event.ts";
import { EventTarget, defineEventHandler, dispatch } from "./event-target.ts";
import { newDOMException } from "./dom-exception.ts";
import { constructContext, defineInterface, dictGet, illegalInvocation, isObject, methodContext, requireArgs, toDictionary, toStringES } from "./idl.ts";
import { PromisePrototypeThen, PromiseResolve } from "./intrinsics.ts";
import { structuredClone } from "./structured-clone.ts";

interface MessageFields {
  data: unknown;
  origin: string;
  lastEventId: string;
  source: unknown;
  ports: readonly MessagePort[];
}
const messageFields = new WeakMap<object, MessageFields>();
function field<K extends keyof MessageFields>(event: unknown, key: K): MessageFields[K] {
  const f = isObject(event) ? messageFields.get(event) : undefined;
  if (f === undefined) throw illegalInvocation();
  return f[key];
}

export class MessageEvent extends Event {
  constructor(type: string, eventInitDict?: EventInit & Partial<MessageFields>) {
    super(type, eventInitDict);
    const init = toDictionary(eventInitDict, constructContext("MessageEvent"), "MessageEventInit");
    const ports = dictGet(init, "ports");
    messageFields.set(this, {
      data: dictGet(init, "data") ?? null,
      origin: dictGet(init, "origin") === undefined ? "" : toStringES(dictGet(init, "origin")),
      lastEventId: dictGet(init, "lastEventId") === undefined ? "" : toStringES(dictGet(init, "lastEventId")),
      source: dictGet(init, "source") ?? null,
      ports: Object.freeze(ports === undefined ? [] : [...(ports as Iterable<MessagePort>)]),
    });
  }
  get data(): unknown {
    return field(this, "data");
  }
  get origin(): string {
    return field(this, "origin");
  }
  get lastEventId(): string {
    return field(this, "lastEventId");
  }
  get source(): unknown {
    return field(this, "source");
  }
  get ports(): readonly MessagePort[] {
    return field(this, "ports");
  }
}
defineInterface(MessageEvent, "MessageEvent");

interface PortState {
  entangled: MessagePort | null;
  started: boolean;
  closed: boolean;
  queue: unknown[];
}
const ports = new WeakMap<object, PortState>();
const kCreate = Symbol("create");

function portState(port: unknown): PortState {
  const s = isObject(port) ? ports.get(port) : undefined;
  if (s === undefined) throw illegalInvocation();
  return s;
}

function isPort(value: unknown): boolean {
  return isObject(value) && ports.has(value);
}

function deliverLater(port: MessagePort): void {
  const s = portState(port);
  if (!s.started || s.queue.length === 0) return;
  // A promise job, captured from the intrinsics (user code cannot intercept delivery).
  PromisePrototypeThen(PromiseResolve(undefined), () => {
    if (s.closed || s.queue.length === 0) return;
    const data = s.queue.shift();
    dispatch(port, new MessageEvent("message", { data }), true);
    deliverLater(port);
  });
}

export class MessagePort extends EventTarget {
  declare onmessage: ((event: MessageEvent) => unknown) | null;
  declare onmessageerror: ((event: MessageEvent) => unknown) | null;

  constructor(key?: unknown) {
    if (key !== kCreate) throw new TypeError(`${constructContext("MessagePort")}: Illegal constructor`);
    super();
    ports.set(this, { entangled: null, started: false, closed: false, queue: [] });
  }

  postMessage(message: unknown, transferOrOptions?: unknown): void {
    const context = methodContext("MessagePort", "postMessage");
    const s = portState(this);
    requireArgs(arguments.length, 1, context);
    const transfer = Array.isArray(transferOrOptions) ? transferOrOptions : dictGet(toDictionary(transferOrOptions, context, "StructuredSerializeOptions"), "transfer");
    if (transfer !== undefined && [...(transfer as Iterable<unknown>)].some(isPort)) {
      throw newDOMException(`${context}: transferring a MessagePort is not supported in Flick functions.`, "DataCloneError");
    }
    const clone = structuredClone(message, transfer === undefined ? undefined : { transfer: transfer as unknown[] });
    const target = s.entangled;
    if (target === null || s.closed) return;
    const t = portState(target);
    if (t.closed) return;
    t.queue.push(clone);
    deliverLater(target);
  }

  start(): void {
    const s = portState(this);
    if (s.started) return;
    s.started = true;
    deliverLater(this);
  }

  close(): void {
    const s = portState(this);
    s.closed = true;
    if (s.entangled !== null) {
      portState(s.entangled).entangled = null;
      s.entangled = null;
    }
  }
}
defineEventHandler(MessagePort.prototype, "message", "message", isPort);
defineEventHandler(MessagePort.prototype, "messageerror", "messageerror", isPort);
// Setting onmessage starts the port (HTML's "implicitly started").
{
  const desc = Object.getOwnPropertyDescriptor(MessagePort.prototype, "onmessage")!;
  Object.defineProperty(MessagePort.prototype, "onmessage", {
    ...desc,
    set(this: MessagePort, value: unknown) {
      desc.set!.call(this, value);
      this.start();
    },
  });
}
defineInterface(MessagePort, "MessagePort");

const channels = new WeakMap<object, [MessagePort, MessagePort]>();

export class MessageChannel {
  constructor() {
    const a = new MessagePort(kCreate);
    const b = new MessagePort(kCreate);
    portState(a).entangled = b;
    portState(b).entangled = a;
    channels.set(this, [a, b]);
  }
  get port1(): MessagePort {
    const c = channels.get(this);
    if (c === undefined) throw illegalInvocation();
    return c[0];
  }
  get port2(): MessagePort {
    const c = channels.get(this);
    if (c === undefined) throw illegalInvocation();
    return c[1];
  }
}
defineInterface(MessageChannel, "MessageChannel");
