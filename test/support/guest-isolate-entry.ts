// The entry of the test bundle: the runtime exactly as the host bundles it
// (src/build/bundle-runtime.ts bundles bootstrap.ts). See guest-isolate.ts.
import "../../src/runtime/guest/bootstrap.ts";
