/**
 * A stand-in for Request's `signal` until the runtime has AbortController/AbortSignal.
 * TODO: replace with a real AbortSignal ("create a dependent abort signal", Fetch §5.4
 * step 30) once EventTarget and AbortSignal exist in the guest runtime.
 *
 * It never aborts on its own; when the Request was built from a signal-bearing init or
 * another Request, `aborted` and `reason` follow that signal.
 */
import { ObjectDefineProperty, ObjectFreeze, ReflectApply, SymbolToStringTag } from "./intrinsics.ts";

export interface RequestSignal {
  readonly aborted: boolean;
  readonly reason: unknown;
  onabort: ((event: unknown) => void) | null;
  throwIfAborted(): void;
  addEventListener(type: string, listener: unknown, options?: unknown): void;
  removeEventListener(type: string, listener: unknown, options?: unknown): void;
}

interface FollowedSignal {
  readonly aborted?: unknown;
  readonly reason?: unknown;
}

/** A signal object for a Request, following `parent` if given. */
export function createRequestSignal(parent: FollowedSignal | null): RequestSignal {
  let onabort: ((event: unknown) => void) | null = null;
  const signal: RequestSignal = {
    get aborted() {
      return parent !== null && parent.aborted === true;
    },
    get reason() {
      return parent === null ? undefined : parent.reason;
    },
    get onabort() {
      return onabort;
    },
    set onabort(v) {
      onabort = typeof v === "function" ? v : null;
    },
    throwIfAborted() {
      if (parent !== null && parent.aborted === true) throw parent.reason;
    },
    addEventListener(type, listener, options) {
      // Forward to the followed signal when it is a real one, so "abort" still reaches listeners.
      const add = (parent as { addEventListener?: unknown } | null)?.addEventListener;
      if (typeof add === "function") ReflectApply(add, parent, [type, listener, options]);
    },
    removeEventListener(type, listener, options) {
      const remove = (parent as { removeEventListener?: unknown } | null)?.removeEventListener;
      if (typeof remove === "function") ReflectApply(remove, parent, [type, listener, options]);
    },
  };
  ObjectDefineProperty(signal, SymbolToStringTag, { value: "AbortSignal" });
  return ObjectFreeze(signal);
}
