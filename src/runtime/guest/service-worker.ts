/**
 * The older entry styles a function may be written in, besides `export default { fetch }`:
 *
 * - Cloudflare's "service worker" syntax: `addEventListener("fetch", (event) =>
 *   event.respondWith(…))` at module scope, with vars and secrets as globals.
 * - Vercel Edge / Next.js style: `export default function handler(request, context)`,
 *   `context.waitUntil` included.
 *
 * Each becomes the same fetch handler the dispatcher calls with (request, env, ctx).
 */
import { Event } from "./web/event.ts";
import { dispatch, hasListeners } from "./web/event-target.ts";
import { newDOMException } from "./web/dom-exception.ts";
import { defineInterface } from "./web/idl.ts";

export type FetchHandler = (request: unknown, env: unknown, ctx: { waitUntil(p: unknown): void; passThroughOnException(): void }) => unknown;

const fetchEventState = new WeakMap<object, { request: unknown; response: unknown; responded: boolean; ctx: Parameters<FetchHandler>[2] }>();
const kCreate = Symbol("create");

/** The event a service-worker style function's "fetch" listeners get. */
export class FetchEvent extends Event {
  constructor(type: string, init?: unknown, key?: unknown) {
    super(type, init as never);
    if (key !== kCreate) throw new TypeError("Failed to construct 'FetchEvent': Illegal constructor");
  }
  get request(): unknown {
    const s = fetchEventState.get(this);
    if (s === undefined) throw new TypeError("Illegal invocation");
    return s.request;
  }
  /** Answers the request with a Response (or a promise of one); once, and during dispatch. */
  respondWith(response: unknown): void {
    const s = fetchEventState.get(this);
    if (s === undefined) throw new TypeError("Illegal invocation");
    if (s.responded) throw newDOMException("Failed to execute 'respondWith' on 'FetchEvent': The event has already been responded to.", "InvalidStateError");
    s.responded = true;
    s.response = response;
  }
  waitUntil(promise: unknown): void {
    const s = fetchEventState.get(this);
    if (s === undefined) throw new TypeError("Illegal invocation");
    s.ctx.waitUntil(promise);
  }
  passThroughOnException(): void {}
}
defineInterface(FetchEvent, "FetchEvent");

/** A handler for `addEventListener("fetch", …)` functions, or undefined when none listens. */
/** The platform's words about how the function was used, not the function's own exception. */
export class HandlerMisuse extends Error {}

export function serviceWorkerHandler(global: object): FetchHandler | undefined {
  if (!hasListeners(global, "fetch")) return undefined;
  return (request, _env, ctx) => {
    const event = new FetchEvent("fetch", { cancelable: true }, kCreate);
    const state = { request, response: undefined as unknown, responded: false, ctx };
    fetchEventState.set(event, state);
    dispatch(global, event, true);
    if (!state.responded) {
      throw new HandlerMisuse("no \"fetch\" listener called event.respondWith(); call it synchronously in the listener with a Response or a promise of one");
    }
    return state.response;
  };
}

/** A default-exported function (Vercel Edge style): called with (request, context). */
export function functionHandler(fn: (request: unknown, context: unknown) => unknown): FetchHandler {
  return (request, _env, ctx) => fn(request, ctx);
}
