/**
 * TransformStreamDefaultController (Streams §6.3).
 */
import { defineInterface, illegalInvocation } from "./idl.ts";
import {
  transformControllerDesiredSize,
  transformControllerEnqueue,
  transformControllerError,
  transformControllerTerminate,
  type TransformControllerSlots,
} from "./transform-stream.ts";

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;

function isController(value: unknown): value is TransformStreamDefaultController {
  return typeof value === "object" && value !== null && hasSlots(value);
}

export class TransformStreamDefaultController<O = unknown> {
  #slots: TransformControllerSlots;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(token?: unknown, slots?: TransformControllerSlots) {
    if (token !== kInternal) throw new TypeError("Illegal constructor");
    this.#slots = slots!;
  }

  get desiredSize(): number | null {
    if (!isController(this)) throw illegalInvocation();
    return transformControllerDesiredSize(this.#slots);
  }

  enqueue(chunk: O = undefined as O): void {
    if (!isController(this)) throw illegalInvocation();
    transformControllerEnqueue(this.#slots, chunk);
  }

  error(reason: unknown = undefined): void {
    if (!isController(this)) throw illegalInvocation();
    transformControllerError(this.#slots, reason);
  }

  terminate(): void {
    if (!isController(this)) throw illegalInvocation();
    transformControllerTerminate(this.#slots);
  }
}
defineInterface(TransformStreamDefaultController, "TransformStreamDefaultController");

/** The public controller for a controller record. */
export function createTransformControllerObject(slots: TransformControllerSlots): TransformStreamDefaultController {
  return new TransformStreamDefaultController(kInternal, slots);
}
