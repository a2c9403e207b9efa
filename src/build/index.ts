export { bundleFunction, type BundledFunction } from "./bundle-function.ts";
export { bundleGuestScript, bundleRuntime } from "./bundle-runtime.ts";
export { bundleHash, versionId } from "./content-hash.ts";
export { scriptForm, scriptFormMinBytes, scriptFormWithMap } from "./script-form.ts";
export { SourceMap, type OriginalPosition } from "./source-map.ts";
