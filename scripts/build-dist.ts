/**
 * What `npm pack` ships (run by `prepack`; `postpack` removes it): the TypeScript compiled
 * to JavaScript under dist/, because Node refuses to strip types under node_modules. Every
 * non-test `.ts` of bin/ and src/ becomes a `.js` beside the same relative paths, with its
 * relative `.ts` specifiers (imports, and the two `new URL("….ts", import.meta.url)` paths
 * to the worker host and the guest runtime) pointing at `.js`. The examples are bundled with
 * their npm dependencies (hono is a dev dependency), and package.json is copied for
 * `flick --version`. In the checkout, nothing changes: Node runs the TypeScript itself.
 *
 * Usage: node scripts/build-dist.ts [outDir]   (default: dist)
 */
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const out = path.resolve(root, process.argv[2] ?? "dist");

/** `.ts` files under `dir` (relative to the root), tests and declarations left out. */
function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir)).flatMap((entry) => {
    const rel = path.join(dir, entry);
    if (statSync(path.join(root, rel)).isDirectory()) return sources(rel);
    return entry.endsWith(".ts") && !entry.endsWith(".test.ts") && !entry.endsWith(".d.ts") ? [rel] : [];
  });
}

/** Relative specifiers ending in `.ts`, in any quotes: the compiled files import each other as `.js`. */
export function toJsSpecifiers(code: string): string {
  return code.replace(/(["'`])(\.{1,2}\/[^"'`\n]+?)\.ts\1/g, "$1$2.js$1");
}

rmSync(out, { recursive: true, force: true });
let files = 0;
for (const file of [...sources("bin"), ...sources("src")]) {
  const text = readFileSync(path.join(root, file), "utf8");
  const { code } = await esbuild.transform(text, { loader: "ts", format: "esm", target: "esnext", sourcefile: file, legalComments: "inline" });
  const target = path.join(out, file.replace(/\.ts$/, ".js"));
  mkdirSync(path.dirname(target), { recursive: true });
  // The shebang survives the transform; keep the file executable for `flick` itself.
  writeFileSync(target, toJsSpecifiers(code), { mode: file.startsWith("bin") ? 0o755 : 0o644 });
  files++;
}
mkdirSync(path.join(out, "examples"), { recursive: true });
for (const example of readdirSync(path.join(root, "examples")).filter((f) => /\.(ts|js)$/.test(f) && !f.endsWith(".d.ts"))) {
  await esbuild.build({
    entryPoints: [path.join(root, "examples", example)],
    outfile: path.join(out, "examples", example.replace(/\.ts$/, ".js")),
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2024",
    logLevel: "warning",
  });
}
copyFileSync(path.join(root, "package.json"), path.join(out, "package.json"));
console.log(`dist: ${files} files compiled, examples bundled, into ${path.relative(root, out) || out}`);
