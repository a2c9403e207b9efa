/**
 * What `npm pack` ships (run by `prepack`; `postpack` removes it): the TypeScript compiled
 * to JavaScript under dist/, because Node refuses to strip types under node_modules.
 * `tsc -p tsconfig.dist.json` erases the types of every non-test file of bin/ and src/ and
 * rewrites relative `.ts` imports to `.js` (only imports: a `.ts` inside a string, such as
 * `flick init`'s templates, stays as written). The examples are bundled with their npm
 * dependencies (hono is a dev dependency), the dashboard's static files are copied beside its
 * handler, the TextDecoder's index file beside its reader, and package.json is copied for
 * `flick --version`.
 * In the checkout nothing changes: Node runs the TypeScript itself.
 *
 * Usage: node scripts/build-dist.ts
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("../", import.meta.url));
const out = path.join(root, "dist");

rmSync(out, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [path.join(root, "node_modules", "typescript", "bin", "tsc"), "-p", path.join(root, "tsconfig.dist.json")], { cwd: root, encoding: "utf8" });
if (tsc.status !== 0) {
  console.error(`build-dist: tsc failed (exit ${tsc.status}):\n${tsc.stdout}${tsc.stderr}`);
  process.exit(1);
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
// The dashboard's page, styles and browser scripts are served as they are (src/dashboard/serve-dashboard.ts
// finds them beside itself): tsc compiles only .ts, so they are copied.
cpSync(path.join(root, "src", "dashboard", "static"), path.join(out, "src", "dashboard", "static"), { recursive: true });
// The Encoding Standard's CJK indexes, which src/host/encoding-indexes.ts reads beside itself.
copyFileSync(path.join(root, "src", "host", "encoding-indexes.bin"), path.join(out, "src", "host", "encoding-indexes.bin"));
copyFileSync(path.join(root, "package.json"), path.join(out, "package.json"));
console.log("dist: bin/ and src/ compiled, examples bundled, dashboard and index files copied");
