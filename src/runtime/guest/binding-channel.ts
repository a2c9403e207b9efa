/**
 * The guest's half of the channel every binding kind shares (src/bindings/): a method call
 * on `env.NAME` goes to the host as one "binding" op — kind, name, method, and the
 * arguments as the kind's contract encodes them (strings and byte buffers) — and comes back
 * as a "bindingDone" event. The guest names only the binding; the host knows what it points
 * at and checks everything again.
 */
import { emit } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";
import { newDOMException } from "./web/dom-exception.ts";

export interface BindingAnswer {
  strings: string[];
  buffers: Uint8Array[];
}

const pending = new Map<number, { invocation: number; resolve(answer: BindingAnswer): void; reject(error: unknown): void }>();
let nextOp = 1;

/**
 * Calls `method` of binding `name` (of `kind`); resolves with the host's answer, rejects with
 * its error. `onOp` learns the call's op (to forget it on abort).
 */
export function callBinding(kind: string, name: string, method: string, strings: string[], buffers: Uint8Array[], onOp?: (op: number) => void): Promise<BindingAnswer> {
  return new Promise<BindingAnswer>((resolve, reject) => {
    const invocation = currentInvocation();
    if (invocation === 0) throw new Error(`env.${name}.${method}() cannot be called at module scope: call it while handling a request`);
    const op = nextOp++;
    onOp?.(op);
    pending.set(op, { invocation, resolve, reject });
    try {
      emit(["binding", invocation, op, kind, name, method, strings, buffers]);
    } catch (err) {
      pending.delete(op);
      throw err;
    }
  });
}

/**
 * Abandons call `op`: its answer, when it comes, is dropped (an aborted service fetch: the
 * callee is not stopped, as an outbound request that reached its server is not).
 */
export function forgetBindingCall(op: number): boolean {
  return pending.delete(op);
}

/** The host's answer to a binding call: no error name and the method's result, else the error to reject with. */
export function bindingDone(op: number, errorName: string, errorMessage: string, strings: string[], buffers: Uint8Array[]): void {
  const p = pending.get(op);
  if (p === undefined) return;
  pending.delete(op);
  enterInvocation(p.invocation);
  if (errorName === "") p.resolve({ strings, buffers });
  else if (errorName === "TypeError") p.reject(new TypeError(errorMessage));
  else if (errorName === "RangeError") p.reject(new RangeError(errorMessage));
  else if (errorName === "TimeoutError" || errorName === "AbortError") p.reject(newDOMException(errorMessage, errorName));
  else p.reject(new Error(errorMessage));
}
