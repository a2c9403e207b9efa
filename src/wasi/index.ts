export { bundleWasi, type WasiOptions } from "./bundle-wasi.ts";
