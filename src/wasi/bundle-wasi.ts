/**
 * `flick deploy prog.wasm`: a WASI preview 1 program becomes a function (a WebAssembly
 * component goes to bundle-component.ts instead). The module is
 * checked here (a core module that is a WASI command: `_start`, `memory`, imports only
 * from `wasi_snapshot_preview1`), and bundled with the guest side (guest/serve-wasi.ts),
 * its `--arg`s and its `--dir`s (read now, shipped inside the bundle, seen read-only by
 * every invocation under a writable overlay of its own).
 *
 * The result is an ordinary function bundle: the program runs inside the function's
 * isolate with the function's limits, and the module travels like any imported `.wasm`.
 */
import { lstatSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { FlickError } from "../errors/index.ts";
import { bundleHash } from "../build/content-hash.ts";
import type { BundledFunction } from "../build/index.ts";
import { wasm, type WasmModule } from "./guest/wasm-api.ts";
import { bundleComponent } from "./bundle-component.ts";
import { importMemoryChecked } from "./import-memory.ts";

/** What the shipped directories may hold at most, in all (they travel inside the bundle). */
export const maxShippedBytes = 8 * 2 ** 20;
export const maxShippedFiles = 2000;

export interface WasiOptions {
  args?: string[];
  /** `local:/guest` pairs (a local directory, where the program sees it). */
  dirs?: string[];
}

// .ts here, .js in the published package (scripts/build-dist.ts compiles src/): this file's own extension.
const guestEntry = fileURLToPath(new URL(`./guest/serve-wasi${import.meta.url.slice(import.meta.url.lastIndexOf("."))}`, import.meta.url));

/** Which kind of WebAssembly binary: a core module, a component, or neither. */
export function wasmKind(bytes: Uint8Array): "module" | "component" | undefined {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) return undefined;
  if (bytes[4] === 1 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 0) return "module";
  if (bytes[6] === 1 && bytes[7] === 0) return "component"; // version 0x0d, layer 1
  return undefined;
}

/** Refuses, with what to do, a module that is not a WASI preview 1 command. */
function checkCommand(file: string, bytes: Uint8Array): void {
  const kind = wasmKind(bytes);
  if (kind === undefined) throw new FlickError("invalid_bundle", `${file} is not a WebAssembly binary (no \\0asm header); give a .wasm built for wasm32-wasi`);
  let module: WasmModule;
  try {
    module = new wasm.Module(bytes);
  } catch (err) {
    throw new FlickError("invalid_bundle", `${file} does not compile: ${(err as Error).message}`);
  }
  const exports = new Map(wasm.Module.exports(module).map((e) => [e.name, e.kind]));
  if (exports.get("_start") !== "function") {
    throw new FlickError("invalid_bundle", `${file} exports no _start function: build it as a WASI command (a program with main), not a reactor or library`);
  }
  if (exports.get("memory") !== "memory") throw new FlickError("invalid_bundle", `${file} exports no memory named "memory"; WASI programs share theirs with the host`);
  const foreign = wasm.Module.imports(module).filter((i) => i.module !== "wasi_snapshot_preview1");
  if (foreign.length > 0) {
    const names = foreign.slice(0, 5).map((i) => `${i.module}.${i.name}`).join(", ");
    throw new FlickError("invalid_bundle", `${file} imports ${names}${foreign.length > 5 ? ", …" : ""}: only wasi_snapshot_preview1 is provided; link everything else into the module`);
  }
}

/** A local directory's files (symlinks and special files left out), as relative paths to bytes. */
function readDir(local: string, budget: { bytes: number; files: number; newestMs: number }): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const st = lstatSync(full);
      const relName = rel === "" ? name : `${rel}/${name}`;
      if (st.isDirectory()) walk(full, relName);
      else if (st.isFile()) {
        budget.bytes -= st.size;
        budget.newestMs = Math.max(budget.newestMs, st.mtimeMs);
        budget.files -= 1;
        if (budget.bytes < 0 || budget.files < 0) {
          throw new FlickError("bad_request", `--dir ${local}: more than ${maxShippedBytes / 2 ** 20} MiB or ${maxShippedFiles} files in the shipped directories; ship less, or fetch large data at run time`);
        }
        out[relName] = readFileSync(full).toString("base64");
      }
    }
  };
  walk(local, "");
  return out;
}

/** `local:/guest` → [local directory, guest path without slashes at the ends]. */
export function parseDir(spec: string, cwd: string): [string, string] {
  const colon = spec.lastIndexOf(":");
  const local = colon <= 0 ? spec : spec.slice(0, colon);
  const guest = (colon <= 0 ? spec : spec.slice(colon + 1)).replace(/^\/+|\/+$/g, "");
  const full = path.resolve(cwd, local);
  let isDir = false;
  try {
    isDir = lstatSync(full).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new FlickError("bad_request", `--dir ${spec}: ${full} is not a directory; give LOCAL:/GUEST, e.g. --dir ./static:/static`);
  if (guest === "" || guest.split("/").some((p) => p === ".." || p === ".")) {
    throw new FlickError("bad_request", `--dir ${spec}: the guest path must be an absolute path below /, e.g. /data`);
  }
  return [full, guest];
}

export async function bundleWasi(entry: string, options: WasiOptions = {}, cwd = process.cwd()): Promise<BundledFunction> {
  const file = path.resolve(cwd, entry);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(readFileSync(file));
  } catch {
    throw new FlickError("bad_request", `the entry ${entry} does not exist (looked for ${file}); pass the path of your .wasm program`);
  }
  const shown = path.relative(cwd, file) || entry;
  if (wasmKind(bytes) === "component") {
    if ((options.args ?? []).length > 0 || (options.dirs ?? []).length > 0) {
      throw new FlickError("bad_request", `${shown} is a WebAssembly component: --arg and --dir (and [wasi] args and dirs) are for WASI preview 1 programs; give a component its settings with --env`);
    }
    return bundleComponent(file, shown, bytes);
  }
  checkCommand(shown, bytes);
  const budget = { bytes: maxShippedBytes, files: maxShippedFiles, newestMs: 0 };
  const dirs: Record<string, Record<string, string>> = {};
  for (const spec of options.dirs ?? []) {
    const [local, guest] = parseDir(spec, cwd);
    dirs[guest] = readDir(local, budget);
  }
  // Its memory imported, for the runner to keep between runs (import-memory.ts).
  const imported = importMemoryChecked(bytes);
  const shipped = imported?.bytes ?? bytes;
  const hash = bundleHash(shipped);
  // The files' time is the newest local one: a redeploy of the same files is the same version.
  const config = {
    program: path.basename(file),
    args: options.args ?? [],
    dirs,
    shippedNs: `${Math.floor(budget.newestMs)}000000`,
    memory: imported?.type ?? null,
  };
  const contents = [
    `import { serveWasi, decodeShipped } from ${JSON.stringify(guestEntry)};`,
    `const program = globalThis[Symbol.for("flick.wasm")](${JSON.stringify(hash)});`,
    `const config = ${JSON.stringify(config)};`,
    `export default serveWasi(program, { ...config, dirs: decodeShipped(config.dirs) });`,
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
      logLevel: "silent",
      legalComments: "none",
    });
  } catch (err) {
    throw new FlickError("internal", `could not bundle the WASI runner for ${entry}: ${(err as Error).message}`);
  }
  const out = result.outputFiles[0];
  if (out === undefined) throw new FlickError("internal", `esbuild produced no output for ${entry}`);
  return { code: out.text, wasm: { [hash]: shipped }, inputs: [file], sourceMap: '{"version":3,"sources":[],"mappings":""}', warnings: [] };
}
