/**
 * The guest's half of the channel every binding kind shares (src/bindings/): a method call
 * on `env.NAME` goes to the host as one "binding" op — kind, name, method, and the
 * arguments as the kind's contract encodes them (strings and byte buffers) — and comes back
 * as a "bindingDone" event. The guest names only the binding; the host knows what it points
 * at and checks everything again.
 */
import { emit } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";

export interface BindingAnswer {
  strings: string[];
  buffers: Uint8Array[];
}

const pending = new Map<number, { invocation: number; resolve(answer: BindingAnswer): void; reject(error: unknown): void }>();
let nextOp = 1;

/** Calls `method` of binding `name` (of `kind`); resolves with the host's answer, rejects with its error. */
export function callBinding(kind: string, name: string, method: string, strings: string[], buffers: Uint8Array[]): Promise<BindingAnswer> {
  return new Promise<BindingAnswer>((resolve, reject) => {
    const invocation = currentInvocation();
    if (invocation === 0) throw new Error(`env.${name}.${method}() cannot be called at module scope: call it while handling a request`);
    const op = nextOp++;
    pending.set(op, { invocation, resolve, reject });
    try {
      emit(["binding", invocation, op, kind, name, method, strings, buffers]);
    } catch (err) {
      pending.delete(op);
      throw err;
    }
  });
}

/** The host's answer to a binding call: "" and the method's result, else why it failed. */
export function bindingDone(op: number, error: string, strings: string[], buffers: Uint8Array[]): void {
  const p = pending.get(op);
  if (p === undefined) return;
  pending.delete(op);
  enterInvocation(p.invocation);
  if (error === "") p.resolve({ strings, buffers });
  else p.reject(new Error(error));
}
