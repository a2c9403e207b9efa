/**
 * WebAssembly modules shipped with the deploy. The bundler turns `import mod from
 * "./x.wasm"` into a call of the global `Symbol.for("flick.wasm")` function with the
 * module's SHA-256; the host hands over the bytes only for hashes that came with this
 * version, and they are compiled with the real WebAssembly.Module (run-time compilation
 * of other bytes stays refused). Compiled once per isolate.
 */
import { syncCalls } from "./host-ops.ts";
import { compileShippedModule } from "./lockdown.ts";

const compiled = new Map<string, object>();

export const wasmModuleKey = Symbol.for("flick.wasm");

export function shippedWasmModule(hash: unknown): object {
  const key = String(hash);
  let module = compiled.get(key);
  if (module === undefined) {
    const bytes = syncCalls().wasmModule(key);
    if (bytes === null) throw new Error(`WebAssembly module ${key} was not shipped with this deploy`);
    module = compileShippedModule(bytes);
    compiled.set(key, module);
  }
  return module;
}
