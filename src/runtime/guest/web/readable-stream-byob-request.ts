/**
 * ReadableStreamBYOBRequest (Streams §4.8).
 */
import { defineInterface, illegalInvocation, methodContext, requireArgs, toEnforceRangeUnsignedLongLong } from "./idl.ts";
import { ArrayBufferIsView } from "./intrinsics.ts";
import { byteControllerRespond, byteControllerRespondWithNewView, viewIsDetached } from "./readable-byte-stream-controller-ops.ts";
import type { BYOBRequestSlots } from "./readable-stream-slots.ts";

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;

function isRequest(value: unknown): value is ReadableStreamBYOBRequest {
  return typeof value === "object" && value !== null && hasSlots(value);
}

export class ReadableStreamBYOBRequest {
  #slots: BYOBRequestSlots;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(token?: unknown, slots?: BYOBRequestSlots) {
    if (token !== kInternal) throw new TypeError("Illegal constructor");
    this.#slots = slots!;
  }

  get view(): ArrayBufferView<ArrayBuffer> | null {
    if (!isRequest(this)) throw illegalInvocation();
    return this.#slots.view;
  }

  respond(bytesWritten: number): void {
    if (!isRequest(this)) throw illegalInvocation();
    const context = methodContext("ReadableStreamBYOBRequest", "respond");
    requireArgs(arguments.length, 1, context);
    const n = toEnforceRangeUnsignedLongLong(bytesWritten, context);
    const slots = this.#slots;
    if (slots.controller === undefined) throw new TypeError(`${context}: This BYOB request has been invalidated`);
    if (viewIsDetached(slots.view!)) throw new TypeError(`${context}: The BYOB request's buffer has been detached`);
    byteControllerRespond(slots.controller, n);
  }

  respondWithNewView(view: ArrayBufferView): void {
    if (!isRequest(this)) throw illegalInvocation();
    const context = methodContext("ReadableStreamBYOBRequest", "respondWithNewView");
    requireArgs(arguments.length, 1, context);
    if (!ArrayBufferIsView(view)) throw new TypeError(`${context}: parameter 1 is not of type 'ArrayBufferView'.`);
    const slots = this.#slots;
    if (slots.controller === undefined) throw new TypeError(`${context}: This BYOB request has been invalidated`);
    if (viewIsDetached(view)) throw new TypeError(`${context}: The given view's buffer has been detached`);
    byteControllerRespondWithNewView(slots.controller, view);
  }
}
defineInterface(ReadableStreamBYOBRequest, "ReadableStreamBYOBRequest");

/** The public object for a BYOB request record. */
export function createBYOBRequestObject(slots: BYOBRequestSlots): ReadableStreamBYOBRequest {
  return new ReadableStreamBYOBRequest(kInternal, slots);
}
