/**
 * Removes what hostile code could use against the platform or other tenants, before any
 * user code runs:
 * - code generation from strings (`eval`, `Function` and its async/generator variants)
 *   throws EvalError, as in Workers: every constructor path leads to a refusing stub;
 * - WebAssembly cannot compile bytes made at run time (deploy-time modules only);
 * - no shared memory: no SharedArrayBuffer, no Atomics.wait, no shared Wasm memory;
 * - memory V8 does not count stays within the instance's limit: resizable ArrayBuffers
 *   and Wasm memories count what they have committed, checked when JavaScript grows them
 *   and at the end of every entry (array-buffer-guards.ts, wasm-memory-guards.ts,
 *   memory-reservations.ts), and Array builtins that would loop over more elements than
 *   the limit holds stop the instance instead (array-guards.ts).
 */
import { installArrayBufferGuards } from "./array-buffer-guards.ts";
import { installArrayGuards } from "./array-guards.ts";
import { setGarbageCollector } from "./memory-reservations.ts";
import { installProxyBrand } from "./proxy-brand.ts";
import { createWasmMemoryGuards } from "./wasm-memory-guards.ts";

const message = "Code generation from strings is disallowed in Flick functions (as in Workers); ship the code in the bundle instead.";

/** A plain function (so `new` reaches it too) that refuses, named like what it replaces. */
function refusing(name: string): (...args: unknown[]) => never {
  const stub = function (): never {
    throw new EvalError(message);
  };
  Object.defineProperty(stub, "name", { value: name });
  return stub;
}

function lockConstructor(prototype: object, name: string, refuse = refusing): (...args: unknown[]) => never {
  const stub = refuse(name);
  Object.defineProperty(stub, "prototype", { value: prototype, writable: false, enumerable: false, configurable: false });
  Object.defineProperty(prototype, "constructor", { value: stub, writable: false, enumerable: false, configurable: false });
  return stub;
}

/** The real WebAssembly.Module, kept for modules shipped with the deploy (never user bytes). */
let compileShipped: ((bytes: Uint8Array) => object) | undefined;

/** Compiles Wasm bytes the host vouches for (a deploy-time module); see wasm-modules.ts. */
export function compileShippedModule(bytes: Uint8Array): object {
  if (compileShipped === undefined) throw new Error("WebAssembly is not available");
  return compileShipped(bytes);
}

export function lockdown(global: typeof globalThis): void {
  const define = (target: object, key: PropertyKey, value: unknown) =>
    Object.defineProperty(target, key, { value, writable: false, enumerable: false, configurable: false });

  define(global, "eval", refusing("eval"));
  define(global, "Function", lockConstructor(Function.prototype, "Function"));
  lockConstructor(Object.getPrototypeOf(async function () {}) as object, "AsyncFunction");
  lockConstructor(Object.getPrototypeOf(function* () {}) as object, "GeneratorFunction");
  lockConstructor(Object.getPrototypeOf(async function* () {}) as object, "AsyncGeneratorFunction");
  installProxyBrand(global);
  installArrayBufferGuards(global);
  installArrayGuards(global);
}

/**
 * The part of the lockdown for globals V8 installs when a context is created rather than
 * keeping them in a startup snapshot (WebAssembly, SharedArrayBuffer, Atomics.wait): run
 * again on every isolate made from a snapshot. Idempotent.
 */
export function lockdownContextFeatures(global: typeof globalThis): void {
  const define = (target: object, key: PropertyKey, value: unknown) =>
    Object.defineProperty(target, key, { value, writable: false, enumerable: false, configurable: false });
  const wasm = (global as { WebAssembly?: Record<string, unknown> }).WebAssembly;
  const locked = wasm !== undefined && Object.getOwnPropertyDescriptor(wasm, "compile")?.configurable === false;
  if (wasm !== undefined && !locked) {
    const refuseWasm = (name: string) => {
      const stub = function (): never {
        throw new (wasm["CompileError"] as ErrorConstructor)(
          "WebAssembly.compile of bytes made at run time is disallowed in Flick functions; ship the .wasm module with the deploy.",
        );
      };
      Object.defineProperty(stub, "name", { value: name });
      return stub;
    };
    const Module = wasm["Module"] as ({ prototype: object } & (new (bytes: Uint8Array) => object)) | undefined;
    const memoryGuards = Module === undefined ? undefined : createWasmMemoryGuards(wasm);
    if (memoryGuards !== undefined) compileShipped = memoryGuards.compileShipped;
    // The promise-returning entry points refuse with a rejected promise, as they fail.
    for (const name of ["compile", "compileStreaming", "instantiateStreaming"]) {
      if (!(name in wasm)) continue;
      const refuse = refuseWasm(name);
      const rejecting = function (): Promise<never> {
        try {
          return refuse();
        } catch (err) {
          return Promise.reject(err);
        }
      };
      Object.defineProperty(rejecting, "name", { value: name });
      define(wasm, name, rejecting);
    }
    // instantiate(module, imports) with a deploy-time Module stays; instantiate(bytes) is refused.
    // Instantiating counts the memories the module defines (wasm-memory-guards.ts).
    if (wasm["instantiate"] !== undefined && memoryGuards !== undefined) {
      const refuse = refuseWasm("instantiate");
      const safeInstantiate = function instantiateModule(source: unknown, imports?: unknown): Promise<unknown> {
        if (!memoryGuards.isShippedModule(source)) {
          try {
            refuse();
          } catch (err) {
            return Promise.reject(err);
          }
        }
        return memoryGuards.instantiate(source as object, imports);
      };
      Object.defineProperty(safeInstantiate, "name", { value: "instantiate" });
      define(wasm, "instantiate", safeInstantiate);
    }
    if (Module !== undefined) {
      const locked = lockConstructor(Module.prototype, "Module", refuseWasm);
      // What a compiled module imports and exports (as in Workers): reads a Module, compiles nothing.
      for (const name of ["imports", "exports", "customSections"]) {
        const real = (Module as unknown as Record<string, unknown>)[name];
        if (typeof real === "function") define(locked, name, real);
      }
      define(wasm, "Module", locked);
    }
    // WebAssembly.Memory (refusing `shared`, read once), Memory.prototype.grow and
    // WebAssembly.Instance count what their memories hold.
    memoryGuards?.install(define);
  }

  // V8's `gc` (when the host runs with --expose-gc, installed in every new context) is
  // the memory count's, to collect before refusing growth; not user code's.
  const gc = (global as { gc?: unknown }).gc;
  if (typeof gc === "function") {
    setGarbageCollector(gc as () => void);
    // Not configurable: it can only be overwritten.
    Object.defineProperty(global, "gc", { value: undefined });
  }

  delete (global as { SharedArrayBuffer?: unknown }).SharedArrayBuffer;
  const atomics = (global as unknown as { Atomics?: Record<string, unknown> }).Atomics;
  if (atomics !== undefined) {
    delete atomics["wait"];
    delete atomics["waitAsync"];
  }
}
