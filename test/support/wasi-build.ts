/**
 * Builds the WASI test programs from their sources in the repo: C and Rust with the
 * compilers a Debian machine gets from apt (`.ci/run` installs them), AssemblyScript with
 * its compiler from the npm registry.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { repoRoot, tempDir } from "./node-process.ts";

/** How clang finds wasi-libc: Debian installs it multiarch (/usr/lib/wasm32-wasi), others as a sysroot. */
function sysrootArgs(): string[] {
  if (existsSync("/usr/lib/wasm32-wasi/libc.a")) return [];
  const sysroot = ["/usr/share/wasi-sysroot", "/usr/lib/wasi-sysroot"].find((s) => existsSync(path.join(s, "include")));
  if (sysroot === undefined) throw new Error("wasi-libc is not installed: apt-get install wasi-libc (.ci/run does)");
  return [`--sysroot=${sysroot}`];
}

/** clang's name on this machine (Debian 12 has clang-14 and a `clang` link). */
function clang(): string {
  for (const name of ["clang", "clang-19", "clang-16", "clang-15", "clang-14"]) {
    try {
      execFileSync(name, ["--version"], { stdio: "ignore" });
      return name;
    } catch {
      // next
    }
  }
  throw new Error("clang is not installed: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32 (.ci/run does)");
}

/** `source` (a .c file) compiled for wasm32-wasi; returns the .wasm's path. */
export function buildC(source: string, options: { stackBytes?: number } = {}): string {
  const out = path.join(tempDir("flick-wasi-build-"), `${path.basename(source, ".c")}.wasm`);
  const args = ["--target=wasm32-wasi", ...sysrootArgs(), "-O2", "-o", out, source];
  if (options.stackBytes !== undefined) args.push(`-Wl,-z,stack-size=${options.stackBytes}`);
  try {
    execFileSync(clang(), args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(`clang could not build ${source}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  return out;
}

/**
 * `source` (a .rs file) compiled for WASI preview 1: Debian's rustc with
 * libstd-rust-dev-wasm32 (target wasm32-wasi), else a rustc whose target is wasm32-wasip1.
 */
export function buildRust(source: string): string {
  const out = path.join(tempDir("flick-wasi-build-"), `${path.basename(source, ".rs")}.wasm`);
  const candidates: [string, string][] = [["/usr/bin/rustc", "wasm32-wasi"], ["rustc", "wasm32-wasip1"]];
  const failures: string[] = [];
  for (const [rustc, target] of candidates) {
    try {
      execFileSync(rustc, ["--target", target, "-O", "-C", "strip=symbols", "-o", out, source], { stdio: ["ignore", "pipe", "pipe"] });
      return out;
    } catch (err) {
      failures.push(`${rustc} --target ${target}: ${String((err as { stderr?: Buffer }).stderr ?? err).trim().split("\n")[0]}`);
    }
  }
  throw new Error(`no rustc here builds for WASI (apt-get install rustc libstd-rust-dev-wasm32; .ci/run does):\n${failures.join("\n")}`);
}

/**
 * AssemblyScript's compiler and its WASI shim, pinned, installed on first use into
 * test/.tools (gitignored) rather than as devDependencies: the compiler brings binaryen,
 * 94 MB that every `npm install` would fetch for two tests.
 */
const assemblyScript = ["assemblyscript@0.28.20", "@assemblyscript/wasi-shim@0.1.0"];
/** Each tool in its own folder: npm prunes what a folder's install did not ask for, and two test files may install at once. */
const toolsRoot = path.join(repoRoot, "test", ".tools");

function ascReady(): { asc: string; shimConfig: string; toolsDir: string } {
  const toolsDir = path.join(toolsRoot, "assemblyscript");
  const asc = path.join(toolsDir, "node_modules", "assemblyscript", "bin", "asc.js");
  const shimConfig = path.join(toolsDir, "node_modules", "@assemblyscript", "wasi-shim", "asconfig.json");
  if (!existsSync(asc) || !existsSync(shimConfig)) {
    try {
      execFileSync("npm", ["install", "--prefix", toolsDir, "--no-save", "--no-audit", "--no-fund", "--no-package-lock", ...assemblyScript], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      throw new Error(`could not install ${assemblyScript.join(" and ")} from the npm registry into ${toolsDir}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
  }
  return { asc, shimConfig, toolsDir };
}

/** `source` (an AssemblyScript .ts file) compiled for WASI preview 1 with asc and the WASI shim. */
export function buildAssemblyScript(source: string): string {
  const { asc, shimConfig, toolsDir } = ascReady();
  const out = path.join(tempDir("flick-wasi-build-"), `${path.basename(source, ".ts").replace(/\./g, "-")}.wasm`);
  try {
    // asc finds the shim's library only from the tools' own folder (its config names it relatively).
    execFileSync(process.execPath, [asc, source, "--config", path.relative(toolsDir, shimConfig), "--optimize", "-o", out], { cwd: toolsDir, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(`asc could not build ${source}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  return out;
}

/**
 * componentize-js (JavaScript into a WebAssembly component, with the StarlingMonkey engine),
 * pinned, installed on first use into test/.tools like the AssemblyScript compiler: it and
 * the jco it brings are 390 MB. Its splicer imports preview2-shim, which it lists only as a
 * development dependency: installed beside it, at the version that reads the WIT folder.
 */
const componentizeJs = ["@bytecodealliance/componentize-js@0.23.0", "@bytecodealliance/preview2-shim@0.25.0"];

/**
 * `source` (a JavaScript fetch-event handler) built into a `wasi:http/proxy` component with
 * componentize-js; returns the component's path. The world is test/wasi/component/world.wit;
 * the WASI packages it includes come from the installed jco's WIT, at the version the
 * engine was built against (read from the engine itself).
 */
export function buildComponent(source: string): string {
  const toolsDir = path.join(toolsRoot, "componentize-js");
  const packageDir = path.join(toolsDir, "node_modules", "@bytecodealliance", "componentize-js");
  const shim = path.join(toolsDir, "node_modules", "@bytecodealliance", "preview2-shim", "package.json");
  if (!existsSync(path.join(packageDir, "package.json")) || !existsSync(shim)) {
    try {
      execFileSync("npm", ["install", "--prefix", toolsDir, "--no-save", "--no-audit", "--no-fund", "--no-package-lock", ...componentizeJs], { stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      throw new Error(`could not install ${componentizeJs.join(" and ")} from the npm registry into ${toolsDir}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
    }
  }
  const engine = readFileSync(path.join(packageDir, "lib", "starlingmonkey_embedding.wasm")).toString("latin1");
  const version = /wasi:http\/incoming-handler@(0\.2\.\d+)/.exec(engine)?.[1];
  if (version === undefined) throw new Error(`${componentizeJs[0]}'s engine names no wasi:http/incoming-handler@0.2.x export`);
  const builtin = path.join(toolsDir, "node_modules", "@bytecodealliance", "jco", "lib", "wit", "builtin");
  const witVersion = readdirSync(builtin).filter((d) => d.startsWith("0.2.")).sort((a, b) => Number(b.split(".")[2]) - Number(a.split(".")[2]))[0];
  if (witVersion === undefined) throw new Error(`no WASI 0.2 WIT in ${builtin}`);

  const dir = tempDir("flick-component-build-");
  const wit = path.join(dir, "wit");
  mkdirSync(path.join(wit, "deps"), { recursive: true });
  const world = readFileSync(path.join(repoRoot, "test", "wasi", "component", "world.wit"), "utf8");
  writeFileSync(path.join(wit, "world.wit"), world.replaceAll("WASI_VERSION", version));
  for (const pkg of readdirSync(path.join(builtin, witVersion))) {
    mkdirSync(path.join(wit, "deps", pkg));
    const text = readFileSync(path.join(builtin, witVersion, pkg, "package.wit"), "utf8");
    writeFileSync(path.join(wit, "deps", pkg, "package.wit"), text.replaceAll(`@${witVersion}`, `@${version}`));
  }
  const out = path.join(dir, `${path.basename(source, ".js")}.wasm`);
  // The engine's splicer reads files through WASI, which sees the working directory only: relative paths.
  writeFileSync(path.join(dir, "handler.js"), readFileSync(source));
  const script = `import { componentize } from ${JSON.stringify(path.join(packageDir, "src", "componentize.js"))};
import { writeFileSync } from "node:fs";
const { component } = await componentize({ sourcePath: "handler.js", witPath: "wit", worldName: "handler" });
writeFileSync(${JSON.stringify(out)}, component);`;
  try {
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  } catch (err) {
    throw new Error(`componentize-js could not build ${source}: ${String((err as { stderr?: Buffer }).stderr ?? err)}`);
  }
  return out;
}
