/**
 * Bundles a function's entry with its npm dependencies into one ES module, the way it
 * will run in an isolate: no Node built-ins, Workers/browser export conditions, imports
 * resolved from the entry's own folder (its package.json and node_modules).
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import * as path from "node:path";
import * as esbuild from "esbuild";
import { FlickError } from "../errors/index.ts";
import { bundleHash } from "./content-hash.ts";

export interface BundledFunction {
  code: string;
  /** WebAssembly modules the code imports, by SHA-256 (hex); shipped with the deploy. */
  wasm: Record<string, Uint8Array>;
  /** Absolute paths of every source file in the bundle, for `flick dev` to watch. */
  inputs: string[];
  /** The bundle's source map (JSON), its sources relative to where the command ran: stack traces name them. */
  sourceMap: string;
  warnings: string[];
}

const nodeBuiltins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

const refuseNodeBuiltins: esbuild.Plugin = {
  name: "flick-no-node-builtins",
  setup(build) {
    build.onResolve({ filter: /^[a-z:_/]+$/ }, (args) => {
      if (!nodeBuiltins.has(args.path) && !args.path.startsWith("node:")) return undefined;
      return {
        errors: [
          {
            text: `"${args.path}" is a Node.js built-in module, and functions run in a V8 isolate without Node APIs. Use the Web API instead (fetch, crypto, URL, TextEncoder, streams) or a package that works in Workers/browsers.`,
          },
        ],
      };
    });
  },
};

/** "file:line:col: text", the file relative to where the command ran (esbuild reports it relative to the entry's folder). */
function formatMessage(m: esbuild.Message, cwd: string, buildDir: string): string {
  if (m.location === null) return m.text;
  const file = path.relative(cwd, path.resolve(buildDir, m.location.file)) || m.location.file;
  return `${file}:${m.location.line}:${m.location.column + 1}: ${m.text}`;
}

/**
 * `import mod from "./x.wasm"` (as in Workers) becomes a WebAssembly.Module: the import
 * is replaced by a lookup of the module's hash, and its bytes travel beside the bundle.
 */
function wasmModules(found: Record<string, Uint8Array>): esbuild.Plugin {
  return {
    name: "flick-wasm-modules",
    setup(build) {
      build.onResolve({ filter: /\.wasm(\?module)?$/ }, (args) => ({
        path: path.resolve(args.resolveDir, args.path.replace(/\?module$/, "")),
        namespace: "flick-wasm",
      }));
      build.onLoad({ filter: /.*/, namespace: "flick-wasm" }, async (args) => {
        const bytes = new Uint8Array(await readFile(args.path));
        const hash = bundleHash(bytes);
        found[hash] = bytes;
        return { contents: `export default globalThis[Symbol.for("flick.wasm")](${JSON.stringify(hash)});`, loader: "js" };
      });
    },
  };
}

/** Bundles `entry`; a syntax error or unresolvable import is a 400 `invalid_bundle` naming file:line. */
export async function bundleFunction(entry: string, cwd = process.cwd()): Promise<BundledFunction> {
  const absolute = path.resolve(cwd, entry);
  if (!existsSync(absolute)) {
    throw new FlickError("bad_request", `the entry ${entry} does not exist (looked for ${absolute}); pass the path of your function's .ts or .js file`);
  }
  const wasm: Record<string, Uint8Array> = {};
  let result: esbuild.BuildResult<{ write: false; metafile: true }>;
  try {
    result = await esbuild.build({
      entryPoints: [absolute],
      absWorkingDir: path.dirname(absolute),
      bundle: true,
      write: false,
      // Not written (write: false): it only names the map's sources relative to the entry's folder.
      outfile: path.join(path.dirname(absolute), "flick-bundle.js"),
      // External: the code carries no sourceMappingURL comment, so it (and its version id) is as before.
      sourcemap: "external",
      sourcesContent: false,
      metafile: true,
      format: "esm",
      platform: "neutral",
      target: "es2024",
      mainFields: ["browser", "module", "main"],
      conditions: ["workerd", "worker", "browser"],
      resolveExtensions: [".ts", ".tsx", ".mts", ".js", ".mjs", ".jsx", ".json"],
      logLevel: "silent",
      legalComments: "none",
      plugins: [refuseNodeBuiltins, wasmModules(wasm)],
    });
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw err;
    const lines = failure.errors.map((m) => formatMessage(m, cwd, path.dirname(absolute)));
    throw new FlickError("invalid_bundle", `could not bundle ${path.relative(cwd, absolute) || entry}:\n${lines.join("\n")}`, {
      details: { errors: lines },
    });
  }
  const out = result.outputFiles.find((f) => f.path.endsWith(".js"));
  const mapFile = result.outputFiles.find((f) => f.path.endsWith(".js.map"));
  if (out === undefined) throw new FlickError("invalid_bundle", `esbuild produced no output for ${entry}`);
  const dir = path.dirname(absolute);
  const map = JSON.parse(mapFile?.text ?? '{"version":3,"sources":[],"mappings":""}') as { sources: string[] };
  map.sources = map.sources.map((s) => (s.includes(":") ? s : path.relative(cwd, path.resolve(dir, s)) || s));
  return {
    code: out.text,
    sourceMap: JSON.stringify(map),
    wasm,
    inputs: Object.keys(result.metafile.inputs).filter((p) => !p.startsWith("flick-wasm:")).map((p) => path.resolve(dir, p)),
    warnings: result.warnings.map((m) => formatMessage(m, cwd, dir)),
  };
}
