/**
 * ReadableByteStreamController (Streams §4.7).
 */
import { defineInterface, illegalInvocation, methodContext, requireArgs } from "./idl.ts";
import { ArrayBufferIsView, ArrayBufferPrototypeGetByteLength, viewBuffer, viewByteLength } from "./intrinsics.ts";
import {
  byteControllerClose,
  byteControllerEnqueue,
  byteControllerError,
  byteControllerGetBYOBRequest,
  byteControllerGetDesiredSize,
} from "./readable-byte-stream-controller-ops.ts";
import type { ByteControllerSlots } from "./readable-stream-slots.ts";
import type { ReadableStreamBYOBRequest } from "./readable-stream-byob-request.ts";

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;

function isController(value: unknown): value is ReadableByteStreamController {
  return typeof value === "object" && value !== null && hasSlots(value);
}

export class ReadableByteStreamController {
  #slots: ByteControllerSlots;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(token?: unknown, slots?: ByteControllerSlots) {
    if (token !== kInternal) throw new TypeError("Illegal constructor");
    this.#slots = slots!;
  }

  get byobRequest(): ReadableStreamBYOBRequest | null {
    if (!isController(this)) throw illegalInvocation();
    const request = byteControllerGetBYOBRequest(this.#slots);
    return request === null ? null : request.object;
  }

  get desiredSize(): number | null {
    if (!isController(this)) throw illegalInvocation();
    return byteControllerGetDesiredSize(this.#slots);
  }

  close(): void {
    if (!isController(this)) throw illegalInvocation();
    const slots = this.#slots;
    const context = methodContext("ReadableByteStreamController", "close");
    if (slots.closeRequested) throw new TypeError(`${context}: The stream has already been closed; do not close it again!`);
    if (slots.stream.state !== "readable") throw new TypeError(`${context}: The stream is not in a state that permits close`);
    byteControllerClose(slots);
  }

  enqueue(chunk: ArrayBufferView): void {
    if (!isController(this)) throw illegalInvocation();
    const context = methodContext("ReadableByteStreamController", "enqueue");
    requireArgs(arguments.length, 1, context);
    if (!ArrayBufferIsView(chunk)) throw new TypeError(`${context}: parameter 1 is not of type 'ArrayBufferView'.`);
    const slots = this.#slots;
    if (viewByteLength(chunk) === 0) throw new TypeError(`${context}: chunk must have non-zero byteLength`);
    if (ArrayBufferPrototypeGetByteLength(viewBuffer(chunk) as ArrayBuffer) === 0) throw new TypeError(`${context}: chunk's buffer must have non-zero byteLength`);
    if (slots.closeRequested) throw new TypeError(`${context}: stream is closed or draining`);
    if (slots.stream.state !== "readable") throw new TypeError(`${context}: The stream is not in the readable state and cannot be enqueued to`);
    byteControllerEnqueue(slots, chunk);
  }

  error(e: unknown = undefined): void {
    if (!isController(this)) throw illegalInvocation();
    byteControllerError(this.#slots, e);
  }
}
defineInterface(ReadableByteStreamController, "ReadableByteStreamController");

/** The public controller for a controller record. */
export function createByteControllerObject(slots: ByteControllerSlots): ReadableByteStreamController {
  return new ReadableByteStreamController(kInternal, slots);
}
