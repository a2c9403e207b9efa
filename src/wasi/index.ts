export { bundleWasi, maxShippedBytes, maxShippedFiles, parseDir, wasmKind, type WasiOptions } from "./bundle-wasi.ts";
