/**
 * Enforces the component rules of docs/architecture.md: which folder under src/ may
 * import which. Type-only imports are allowed across components (they vanish at run
 * time), except into the guest runtime, which must stand alone inside the isolate.
 * Usage: node scripts/check-deps.ts   (part of npm test)
 */
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** component → components it may import values from. */
export const allowed: Record<string, readonly string[]> = {
  errors: [],
  model: [],
  runtime: [],
  build: ["errors", "model"],
  control: ["errors", "model"],
  store: ["errors", "model"],
  host: ["build", "errors", "model", "telemetry"],
  gateway: ["control", "errors", "model", "telemetry", "bus"],
  api: ["control", "store", "queue", "telemetry", "errors", "model"],
  queue: ["store", "bus", "control", "errors", "model"],
  telemetry: ["errors", "model"],
  bus: ["errors", "model"],
  sim: ["control", "errors", "model"],
  node: ["*"],
  cli: ["api", "build", "node", "errors", "model"],
};

/** Node built-ins that mean I/O: control/ is pure logic. */
const ioModules = ["fs", "net", "http", "https", "child_process", "sqlite", "dgram", "worker_threads", "fs/promises"];

export interface ImportRef {
  specifier: string;
  line: number;
  typeOnly: boolean;
}

/** Blanks out comments and the contents of strings other than import specifiers, keeping line numbers. */
function stripComments(source: string): string {
  return source
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, " "))
    .replace(/(^|[^:"'`\\])\/\/[^\n]*/g, (m, pre: string) => pre + " ".repeat(m.length - pre.length));
}

export function scanImports(source: string): ImportRef[] {
  const text = stripComments(source);
  const lineAt = (index: number) => text.slice(0, index).split("\n").length;
  const refs: ImportRef[] = [];
  const statement = /(?:^|[;\n}])\s*(import|export)\s+(type\s+)?([^;'"`]*?)\s*from\s*["']([^"']+)["']|(?:^|[;\n}])\s*import\s*["']([^"']+)["']/g;
  for (const m of text.matchAll(statement)) {
    const specifier = m[4] ?? m[5]!;
    const index = m.index + m[0].indexOf(m[4] === undefined ? "import" : m[1]!);
    const clause = m[3] ?? "";
    // `import { type A, type B } from` is type-only too; `import x, { type y }` is not.
    const allTypes = /^\{\s*(type\s+[\w$]+(\s+as\s+[\w$]+)?\s*,?\s*)+\}$/.test(clause.trim());
    refs.push({ specifier, line: lineAt(index), typeOnly: m[2] !== undefined || allTypes });
  }
  for (const m of text.matchAll(/\bimport\s*\(\s*["']([^"']+)["']\s*\)/g)) {
    refs.push({ specifier: m[1]!, line: lineAt(m.index), typeOnly: false });
  }
  return refs.sort((a, b) => a.line - b.line);
}

/** Why `from` may not import `to`, or undefined when it may. */
export function checkImport(from: string, to: string, typeOnly: boolean): string | undefined {
  if (from === to) return undefined;
  const rules = allowed[from];
  if (rules === undefined) return `${from} is not in the component table; add it to scripts/check-deps.ts and docs/architecture.md`;
  if (allowed[to] === undefined) return `${to} is not in the component table; add it to scripts/check-deps.ts and docs/architecture.md`;
  if (from === "runtime") return "runtime runs inside the isolate and may import nothing outside itself, not even types";
  if (typeOnly || rules.includes("*") || rules.includes(to)) return undefined;
  return `${from} may not import ${to} (allowed: ${rules.length === 0 ? "nothing" : rules.join(", ")})`;
}

/** Rules for packages and Node built-ins. */
export function checkPackage(from: string, specifier: string, typeOnly: boolean): string | undefined {
  if (typeOnly) return undefined;
  if (from === "runtime") return `runtime runs inside the isolate: no packages or Node built-ins ("${specifier}")`;
  const bare = specifier.replace(/^node:/, "");
  if (from === "control" && ioModules.includes(bare)) return `control is pure logic without I/O; it may not import "${specifier}"`;
  return undefined;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith(".ts") && !e.name.endsWith(".test.ts"))
    .map((e) => path.join(e.parentPath, e.name));
}

export function checkTree(root: string): { files: number; imports: number; violations: string[] } {
  const src = path.join(root, "src");
  const violations: string[] = [];
  let imports = 0;
  const files = sourceFiles(src);
  for (const file of files) {
    const rel = path.relative(src, file);
    const from = rel.split(path.sep)[0]!;
    for (const ref of scanImports(readFileSync(file, "utf8"))) {
      imports++;
      const where = `${path.relative(root, file)}:${ref.line}`;
      let problem: string | undefined;
      if (ref.specifier.startsWith(".")) {
        const target = path.relative(src, path.resolve(path.dirname(file), ref.specifier));
        if (target.startsWith("..")) problem = `imports "${ref.specifier}" from outside src/`;
        else problem = checkImport(from, target.split(path.sep)[0]!, ref.typeOnly);
      } else problem = checkPackage(from, ref.specifier, ref.typeOnly);
      if (problem !== undefined) violations.push(`${where}: ${problem}`);
    }
  }
  return { files: files.length, imports, violations };
}

if (import.meta.main) {
  const root = fileURLToPath(new URL("../", import.meta.url));
  const { files, imports, violations } = checkTree(root);
  if (violations.length > 0) {
    for (const v of violations) console.error(v);
    console.error(`check-deps: ${violations.length} import(s) break the component rules (docs/architecture.md)`);
    process.exit(1);
  }
  console.log(`check-deps: ${files} files, ${imports} imports, all within the component rules`);
}
