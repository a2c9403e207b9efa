/**
 * The guest runtime (src/runtime/guest) as one script, built from its typed sources once
 * per process and loaded into every isolate before user code.
 */
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

// `.ts` in the checkout, `.js` in the package (compiled by scripts/build-dist.ts): esbuild bundles either.
const bootstrap = fileURLToPath(new URL(`../runtime/guest/bootstrap${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url));
let cached: Promise<string> | undefined;

export function bundleRuntime(): Promise<string> {
  cached ??= bundleGuestScript(bootstrap);
  return cached;
}

/** A guest script (the runtime, or a test's entry around it) as one IIFE, built as the host builds the runtime. */
export function bundleGuestScript(entry: string): Promise<string> {
  return esbuild
    .build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: "iife",
      platform: "neutral",
      target: "es2024",
      logLevel: "silent",
      legalComments: "none",
      // Every isolate holds the runtime's source (V8 keeps it for lazy compilation):
      // whitespace and syntax minified, 26% less; identifiers are kept, so class and
      // function names stay what the Web platform says they are.
      minifyWhitespace: true,
      minifySyntax: true,
    })
    .then((r) => r.outputFiles[0]!.text);
}
