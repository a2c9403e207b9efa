/**
 * `flick deploy handler.wasm` for a WebAssembly component: one that exports
 * `wasi:http/incoming-handler` (WASI 0.2), as Spin, `wasmtime serve` and wasmCloud run.
 * jco (`@bytecodealliance/jco-transpile`) transpiles it here, at deploy, into core modules
 * and JavaScript glue; the glue is bundled with Flick's own WASI 0.2 interfaces
 * (guest/serve-component.ts) and the core modules ship beside it, like any imported `.wasm`.
 * The component then runs inside the function's isolate with the function's limits.
 *
 * jco is an optional dependency: installed by default, left out by
 * `npm install --omit=optional`, in which case deploying a component says what to install.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { FlickError } from "../errors/index.ts";
import { bundleHash } from "../build/content-hash.ts";
import type { BundledFunction } from "../build/index.ts";
import type { ImportedMemoryType } from "./guest/kept-memory.ts";
import { importMemoryChecked } from "./import-memory.ts";

// .ts here, .js in the published package (scripts/build-dist.ts compiles src/): this file's own extension.
const guestEntry = fileURLToPath(new URL(`./guest/serve-component${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url));
const jcoPackage = "@bytecodealliance/jco-transpile";

/** The interfaces Flick gives a component (guest/preview2-io.ts, guest/preview2-http.ts), without versions. */
export const providedInterfaces = new Set([
  "wasi:io/error",
  "wasi:io/poll",
  "wasi:io/streams",
  "wasi:clocks/monotonic-clock",
  "wasi:clocks/wall-clock",
  "wasi:random/random",
  "wasi:random/insecure",
  "wasi:random/insecure-seed",
  "wasi:cli/environment",
  "wasi:cli/exit",
  "wasi:cli/stdin",
  "wasi:cli/stdout",
  "wasi:cli/stderr",
  "wasi:cli/terminal-input",
  "wasi:cli/terminal-output",
  "wasi:cli/terminal-stdin",
  "wasi:cli/terminal-stdout",
  "wasi:cli/terminal-stderr",
  "wasi:filesystem/preopens",
  "wasi:filesystem/types",
  "wasi:http/types",
  "wasi:http/outgoing-handler",
]);

interface Transpiled {
  files: Record<string, Uint8Array>;
  imports: string[];
  exports: [string, "function" | "instance"][];
}
type TranspileBytes = (component: Uint8Array, options: Record<string, unknown>) => Promise<Transpiled>;

async function loadJco(): Promise<TranspileBytes> {
  try {
    const jco = (await import(jcoPackage)) as { transpileBytes: TranspileBytes };
    return jco.transpileBytes;
  } catch (err) {
    throw new FlickError("bad_request", `deploying a WebAssembly component needs ${jcoPackage}, which is not installed here (${(err as Error).message.split("\n")[0]}); run \`npm install ${jcoPackage}\` where Flick is installed, or deploy a WASI preview 1 program (wasm32-wasip1) instead`);
  }
}

const unversioned = (name: string) => name.replace(/@[^@/]*$/, "");

/** The component transpiled and bundled as a Flick function. */
export async function bundleComponent(file: string, shownName: string, bytes: Uint8Array): Promise<BundledFunction> {
  const transpileBytes = await loadJco();
  let out: Transpiled;
  try {
    // Sync instantiation: the runner instantiates inside a request; every core module a
    // file (base64Cutoff 0), because Flick compiles only the modules shipped with a deploy.
    // JSPI for waiting: `handle` returns a promise, and blocking on a pollable (an outgoing
    // request's answer) suspends the component's stack instead of the isolate.
    out = await transpileBytes(bytes, {
      name: "component",
      instantiation: "sync",
      wasiShim: false,
      base64Cutoff: 0,
      outDir: "",
      asyncMode: "jspi",
      asyncImports: ["wasi:io/poll#poll", "wasi:io/poll#[method]pollable.block"],
      asyncExports: ["wasi:http/incoming-handler#handle"],
    });
  } catch (err) {
    throw new FlickError("invalid_bundle", `${shownName}: jco could not transpile the component: ${String((err as Error).message ?? err).split("\n").slice(0, 6).join(" ")}`);
  }
  const missing = out.imports.map(unversioned).filter((name) => !providedInterfaces.has(name));
  if (missing.length > 0) {
    throw new FlickError("invalid_bundle", `${shownName} imports ${missing.join(", ")}, which Flick does not provide to components (it provides ${[...providedInterfaces].join(", ")}); build it for the wasi:http/proxy world`);
  }
  const handler = out.exports.find(([name]) => unversioned(name) === "wasi:http/incoming-handler");
  if (handler === undefined) {
    const exported = out.exports.map(([name]) => name).join(", ") || "nothing";
    throw new FlickError("invalid_bundle", `${shownName} is a component that exports ${exported}, not wasi:http/incoming-handler; Flick serves HTTP components (the wasi:http/proxy world), as Spin and wasmtime serve do`);
  }

  const wasm: Record<string, Uint8Array> = {};
  const coreHashes: Record<string, string> = {};
  const memories: Record<string, ImportedMemoryType> = {};
  const dir = mkdtempSync(path.join(tmpdir(), "flick-component-"));
  try {
    let glue: string | undefined;
    for (const [name, content] of Object.entries(out.files)) {
      const base = path.basename(name);
      if (base.endsWith(".wasm")) {
        // The module that defines the memory imports it instead, for the runner to keep between requests.
        const imported = importMemoryChecked(content);
        const shipped = imported?.bytes ?? content;
        const hash = bundleHash(shipped);
        wasm[hash] = shipped;
        coreHashes[base] = hash;
        if (imported !== undefined) memories[base] = imported.type;
      } else if (base === "component.js") {
        glue = path.join(dir, "component.js");
        writeFileSync(glue, content);
      }
    }
    if (glue === undefined) throw new FlickError("internal", `jco produced no component.js for ${shownName}`);
    const contents = [
      `import { serveComponent } from ${JSON.stringify(guestEntry)};`,
      `import { instantiate } from ${JSON.stringify(glue)};`,
      `const modules = ${JSON.stringify(coreHashes)};`,
      `const memories = ${JSON.stringify(memories)};`,
      `const shipped = globalThis[Symbol.for("flick.wasm")];`,
      "export default serveComponent(instantiate, (name) => shipped(modules[name.split('/').pop()]), (name) => memories[name.split('/').pop()]);",
    ].join("\n");
    let result: esbuild.BuildResult<{ write: false }>;
    try {
      result = await esbuild.build({
        stdin: { contents, resolveDir: path.dirname(guestEntry), sourcefile: `${path.basename(file)}.js`, loader: "js" },
        bundle: true,
        write: false,
        format: "esm",
        platform: "neutral",
        target: "es2024",
        minify: true,
        logLevel: "silent",
        legalComments: "none",
      });
    } catch (err) {
      throw new FlickError("internal", `could not bundle the component runner for ${shownName}: ${(err as Error).message}`);
    }
    const code = result.outputFiles[0]?.text;
    if (code === undefined) throw new FlickError("internal", `esbuild produced no output for ${shownName}`);
    return { code, wasm, inputs: [file], sourceMap: '{"version":3,"sources":[],"mappings":""}', warnings: [] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
