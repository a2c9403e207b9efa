/**
 * WritableStreamDefaultController (Streams §5.4).
 */
import { defineInterface, illegalInvocation } from "./idl.ts";
import type { AbortSignal } from "./abort.ts";
import { abortSignalOf, controllerError, type WritableControllerSlots } from "./writable-stream-ops.ts";

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;

export class WritableStreamDefaultController {
  #slots: WritableControllerSlots;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(token?: unknown, slots?: WritableControllerSlots) {
    if (token !== kInternal) throw new TypeError("Illegal constructor");
    this.#slots = slots!;
  }

  get signal(): AbortSignal {
    if (!isController(this)) throw illegalInvocation();
    return abortSignalOf(this.#slots.abortState);
  }

  error(e: unknown = undefined): void {
    if (!isController(this)) throw illegalInvocation();
    const slots = this.#slots;
    if (slots.stream.state !== "writable") return;
    controllerError(slots, e);
  }
}
defineInterface(WritableStreamDefaultController, "WritableStreamDefaultController");

function isController(value: unknown): value is WritableStreamDefaultController {
  return typeof value === "object" && value !== null && hasSlots(value);
}

/** The public controller object for a controller record. */
export function createWritableControllerObject(slots: WritableControllerSlots): WritableStreamDefaultController {
  return new WritableStreamDefaultController(kInternal, slots);
}
