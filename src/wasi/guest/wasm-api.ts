/**
 * The part of the WebAssembly JS API the WASI runner uses, typed here: the project's lib
 * settings declare no WebAssembly values (neither Node's types nor ES2024 have them).
 */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

export interface WasmModule {
  readonly __brand?: "WebAssembly.Module";
}

export interface WasmImportExport {
  module?: string;
  name: string;
  kind: "function" | "table" | "memory" | "global" | "tag";
}

export interface WasmApi {
  Module: {
    new (bytes: Uint8Array): WasmModule;
    imports(module: WasmModule): Required<WasmImportExport>[];
    exports(module: WasmModule): WasmImportExport[];
  };
  Instance: new (module: WasmModule, imports?: object) => { exports: Record<string, unknown> };
  Memory: new (descriptor: { initial: number; maximum?: number }) => WasmMemory;
  LinkError: ErrorConstructor;
  RuntimeError: ErrorConstructor;
}

export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
