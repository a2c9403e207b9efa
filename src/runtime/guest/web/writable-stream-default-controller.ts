/**
 * WritableStreamDefaultController (Streams §5.4).
 */
import { defineInterface, illegalInvocation } from "./idl.ts";
import { ObjectDefineProperty, ObjectFreeze } from "./intrinsics.ts";
import { addAbortAlgorithm, controllerError, type AbortState, type WritableControllerSlots } from "./writable-stream-ops.ts";

const kInternal = Symbol("internal");
let hasSlots!: (v: object) => boolean;

/**
 * What `controller.signal` returns until the runtime has AbortSignal: the same `aborted`
 * and `reason`, and `addEventListener("abort", fn)` for the one event it fires.
 * TODO: return a real AbortSignal once the runtime implements AbortController/EventTarget.
 */
export interface StreamAbortSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: string, listener: () => void): void;
  removeEventListener(type: string, listener: () => void): void;
  throwIfAborted(): void;
}

function makeSignal(state: AbortState): StreamAbortSignal {
  const listeners: (() => void)[] = [];
  addAbortAlgorithm(state, () => {
    for (let i = 0; i < listeners.length; i++) listeners[i]!();
  });
  const signal: StreamAbortSignal = {
    get aborted() {
      return state.aborted;
    },
    get reason() {
      return state.reason;
    },
    addEventListener(type, listener) {
      if (type === "abort" && typeof listener === "function" && !state.aborted) listeners.push(listener);
    },
    removeEventListener(type, listener) {
      if (type !== "abort") return;
      const i = listeners.indexOf(listener);
      if (i >= 0) listeners.splice(i, 1);
    },
    throwIfAborted() {
      if (state.aborted) throw state.reason;
    },
  };
  ObjectDefineProperty(signal, Symbol.toStringTag, { value: "AbortSignal" });
  return ObjectFreeze(signal);
}

export class WritableStreamDefaultController {
  #slots: WritableControllerSlots;
  #signal: StreamAbortSignal | undefined;

  static {
    hasSlots = (v) => #slots in v;
  }

  constructor(token?: unknown, slots?: WritableControllerSlots) {
    if (token !== kInternal) throw new TypeError("Illegal constructor");
    this.#slots = slots!;
  }

  get signal(): StreamAbortSignal {
    if (!isController(this)) throw illegalInvocation();
    return (this.#signal ??= makeSignal(this.#slots.abortState));
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
