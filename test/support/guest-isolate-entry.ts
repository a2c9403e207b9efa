// The runtime as the host bundles it, plus `setInstanceMemoryLimit` for the tests to call
// (the host's `connect` will pass the limit the same way). See guest-isolate.ts.
import "../../src/runtime/guest/bootstrap.ts";
import { setInstanceMemoryLimit } from "../../src/runtime/guest/memory-limit.ts";

Object.defineProperty(globalThis, "__flickTestSetMemoryLimit", { value: setInstanceMemoryLimit, configurable: true });
