/**
 * Enforces the component rules of docs/architecture.md by reading the imports of every
 * non-test `.ts` file under src/. A file's component is the first folder under src/.
 *
 * - A value import from component A into component B (A ≠ B) needs B in A's row of
 *   `allowed` below. `node` is the composition root and may import everything.
 * - `import type` / `export type … from` vanish at run time, so they may cross into any
 *   component, except: `runtime` may import nothing outside itself, not even types (it runs
 *   inside a V8 isolate), and `cli` / `node` may only be imported where the table allows it.
 *   `import { type A } from "x"` is NOT type-only: Node keeps it as `import {} from "x"`.
 * - Packages and Node built-ins: `runtime` may import none at all; `control` may not import
 *   the Node built-ins that do I/O.
 * - Relative imports must resolve to a file inside src/.
 * - A binding kind is one folder, src/bindings/<kind>/, whose guest side runs inside the
 *   isolate: its `guest.ts`, `guest-*.ts` and `contract.ts` (and src/bindings/guest.ts, the
 *   guest registry) belong to `runtime` and follow its rules; the rest of the folder is
 *   `bindings`.
 *
 * Usage: node scripts/check-deps.ts [root]   (root defaults to the repository; part of npm test)
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/** component → the components it may import values from. Keep in step with docs/architecture.md. */
export const allowed: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  model: [],
  runtime: [],
  build: ["errors", "model"],
  control: ["errors", "model"],
  store: ["errors", "model"],
  // A worker host runs the gateway on its own listener and checks the host⇄guest contract
  // (runtime/contract.ts, plain data and pure functions) on its side.
  host: ["bindings", "build", "errors", "gateway", "model", "runtime", "telemetry"],
  gateway: ["control", "errors", "model", "telemetry", "bus"],
  api: ["bindings", "control", "store", "queue", "telemetry", "errors", "model"],
  queue: ["store", "bus", "errors", "model", "control"],
  telemetry: ["errors", "model"],
  // Flick nodes as one platform over NATS JetStream (docs/cluster.md).
  cluster: ["errors", "model", "store"],
  bus: ["errors", "model"],
  sim: ["control", "errors", "model"],
  // The web dashboard's static files and their handler; the page reads the admin API over HTTP.
  dashboard: ["errors"],
  node: ["*"],
  cli: ["api", "bindings", "build", "node", "errors", "model", "sim", "wasi"],
  // WASI programs: the deploy-side check and bundling; guest/ is bundled into functions.
  wasi: ["build", "errors", "model"],
  // Binding kinds, one folder each (docs/bindings.md): settings, guest and host sides.
  bindings: ["errors", "model", "queue", "runtime", "telemetry"],
};

/** The files of src/bindings/ that run inside the isolate, and so belong to `runtime`. */
const guestFileOfBindings = /^bindings\/(?:guest\.ts|[^/]+\/(?:guest(?:-[a-z0-9-]+)?|contract)\.ts)$/;

/** A source file's component, from its path under src/ (posix separators). */
export function componentOf(inSrc: string): string {
  if (guestFileOfBindings.test(inSrc)) return "runtime";
  return inSrc.split("/")[0]!;
}

/** Components that even a type-only import may reach only where the table allows it. */
const closedToTypes = new Set(["cli", "node"]);

/** Node built-ins (without `node:` and subpath) that mean I/O; control/ is pure logic. */
export const ioBuiltins: ReadonlySet<string> = new Set([
  "fs",
  "net",
  "http",
  "https",
  "http2",
  "tls",
  "dns",
  "child_process",
  "cluster",
  "sqlite",
  "dgram",
  "worker_threads",
]);

export interface ImportRef {
  specifier: string;
  /** 1-based line of the `import` / `export` keyword. */
  line: number;
  /** Erased at run time: `import type`, `export type … from`, `typeof import("x")`, `import("x").T`. */
  typeOnly: boolean;
}

// ---------------------------------------------------------------------------------------
// Tokenizer: just enough JavaScript/TypeScript lexing to tell code from comments, strings,
// template literals and regular expressions, so import-like text inside them is ignored.

type TokenKind = "name" | "string" | "punct" | "other";

interface Token {
  kind: TokenKind;
  value: string;
  line: number;
}

/** Keywords after which a `/` starts a regular expression rather than a division. */
const keywordsBeforeExpression = new Set([
  "return", "typeof", "instanceof", "in", "of", "new", "delete", "void", "throw",
  "case", "do", "else", "yield", "await", "extends", "satisfies", "as",
]);

const identifierStart = /[\p{ID_Start}$_\\]/u;
const identifierPart = /[\p{ID_Continue}$\u200c\u200d\\]/u;
const whitespace = /\s/;

function decodeEscape(source: string, at: number): { text: string; length: number } {
  const c = source[at]!;
  const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", b: "\b", f: "\f", v: "\v", "0": "\0" };
  if (c in simple) return { text: simple[c]!, length: 1 };
  if (c === "x") {
    const hex = source.slice(at + 1, at + 3);
    if (/^[0-9a-fA-F]{2}$/.test(hex)) return { text: String.fromCharCode(parseInt(hex, 16)), length: 3 };
  }
  if (c === "u") {
    const braced = /^\{([0-9a-fA-F]{1,6})\}/.exec(source.slice(at + 1, at + 9));
    if (braced !== null) return { text: String.fromCodePoint(parseInt(braced[1]!, 16)), length: 1 + braced[0].length };
    const hex = source.slice(at + 1, at + 5);
    if (/^[0-9a-fA-F]{4}$/.test(hex)) return { text: String.fromCharCode(parseInt(hex, 16)), length: 5 };
  }
  if (c === "\r" && source[at + 1] === "\n") return { text: "", length: 2 };
  if (c === "\n" || c === "\r" || c === "\u2028" || c === "\u2029") return { text: "", length: 1 };
  return { text: c, length: 1 };
}

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  /** What each open `{` belongs to: a block/object, or a `${` inside a template literal. */
  const braces: ("brace" | "template")[] = [];
  const n = source.length;
  let i = 0;
  let line = 1;
  const push = (kind: TokenKind, value: string, at: number) => tokens.push({ kind, value, line: at });

  if (source.startsWith("#!")) while (i < n && source[i] !== "\n") i++;

  /** Reads template text up to the closing backtick (true) or a `${` (false). */
  const readTemplate = (): { closed: boolean; text: string } => {
    let text = "";
    while (i < n) {
      const c = source[i]!;
      if (c === "\\") {
        if (source[i + 1] === "\n") line++;
        const escape = decodeEscape(source, i + 1);
        text += escape.text;
        i += 1 + escape.length;
        continue;
      }
      if (c === "`") {
        i++;
        return { closed: true, text };
      }
      if (c === "$" && source[i + 1] === "{") {
        i += 2;
        braces.push("template");
        return { closed: false, text };
      }
      if (c === "\n") line++;
      text += c;
      i++;
    }
    return { closed: true, text };
  };

  const regexAllowed = (): boolean => {
    const prev = tokens[tokens.length - 1];
    if (prev === undefined) return true;
    if (prev.kind === "name") return keywordsBeforeExpression.has(prev.value);
    if (prev.kind === "punct") return ![")", "]", "++", "--"].includes(prev.value);
    return false; // after a string, number, template or regex
  };

  while (i < n) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "\n") {
      line++;
      i++;
    } else if (whitespace.test(c)) {
      i++;
    } else if (c === "/" && next === "/") {
      while (i < n && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end === -1 ? n : end + 2;
      for (let k = i; k < stop; k++) if (source[k] === "\n") line++;
      i = stop;
    } else if (c === '"' || c === "'") {
      const start = line;
      let value = "";
      i++;
      while (i < n && source[i] !== c && source[i] !== "\n") {
        if (source[i] === "\\") {
          if (source[i + 1] === "\n") line++;
          const escape = decodeEscape(source, i + 1);
          value += escape.text;
          i += 1 + escape.length;
        } else {
          value += source[i];
          i++;
        }
      }
      i++; // closing quote (or the newline of an unterminated string, which is counted below)
      if (source[i - 1] === "\n") line++;
      push("string", value, start);
    } else if (c === "`") {
      const start = line;
      i++;
      const part = readTemplate();
      // A template without substitutions is as static as a string: `import(\`./x.ts\`)`.
      if (part.closed) push("string", part.text, start);
      else push("other", "`", start);
    } else if (c === "{") {
      braces.push("brace");
      push("punct", c, line);
      i++;
    } else if (c === "}") {
      i++;
      if (braces.pop() === "template") {
        readTemplate();
        push("other", "`", line);
      } else {
        push("punct", c, line);
      }
    } else if (c === "/" && regexAllowed()) {
      const start = line;
      let inClass = false;
      i++;
      while (i < n && source[i] !== "\n") {
        const r = source[i]!;
        if (r === "\\") {
          i += 2;
          continue;
        }
        i++;
        if (inClass) {
          if (r === "]") inClass = false;
        } else if (r === "[") inClass = true;
        else if (r === "/") break;
      }
      while (i < n && identifierPart.test(source[i]!)) i++;
      push("other", "/regex/", start);
    } else if (identifierStart.test(c)) {
      const start = i;
      i++;
      while (i < n && identifierPart.test(source[i]!)) i++;
      push("name", source.slice(start, i), line);
    } else if (c === "#" && next !== undefined && identifierStart.test(next)) {
      const start = i;
      i++;
      while (i < n && identifierPart.test(source[i]!)) i++;
      push("other", source.slice(start, i), line);
    } else if (/[0-9]/.test(c) || (c === "." && next !== undefined && /[0-9]/.test(next))) {
      const start = i;
      i++;
      while (i < n && /[0-9A-Za-z_.]/.test(source[i]!)) i++;
      push("other", source.slice(start, i), line);
    } else {
      const three = source.slice(i, i + 3);
      const two = source.slice(i, i + 2);
      let value: string = c;
      if (three === "...") value = three;
      else if (two === "?." && !/[0-9]/.test(source[i + 2] ?? "")) value = two;
      else if (two === "++" || two === "--" || two === "=>") value = two;
      push("punct", value, line);
      i += value.length;
    }
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------
// Import reader.

export interface ScanResult {
  imports: ImportRef[];
  /** Lines of `import` / `export … from` statements the reader could not make sense of. */
  unreadable: number[];
}

const promiseMethods = new Set(["then", "catch", "finally"]);

export function scanSource(source: string): ScanResult {
  const tokens = tokenize(source);
  const imports: ImportRef[] = [];
  const unreadable: number[] = [];
  const at = (k: number): Token | undefined => tokens[k];
  const isName = (k: number, value?: string) => at(k)?.kind === "name" && (value === undefined || at(k)!.value === value);
  const isPunct = (k: number, value: string) => at(k)?.kind === "punct" && at(k)!.value === value;
  const isString = (k: number) => at(k)?.kind === "string";

  /** From the token after an opening `{`, the index just past its matching `}`, or -1. */
  const skipBraces = (k: number): number => {
    let depth = 1;
    for (; k < tokens.length; k++) {
      if (isPunct(k, "{")) depth++;
      else if (isPunct(k, "}") && --depth === 0) return k + 1;
      else if (isPunct(k, ";")) return -1;
    }
    return -1;
  };

  /** `from "x"` at k: records it and returns true. */
  const from = (k: number, keyword: Token, typeOnly: boolean): boolean => {
    if (!isName(k, "from") || !isString(k + 1)) return false;
    imports.push({ specifier: at(k + 1)!.value, line: keyword.line, typeOnly });
    return true;
  };

  const readImport = (k: number): void => {
    const keyword = at(k)!;
    let j = k + 1;
    // import("x"), import.meta, import "x"
    if (isPunct(j, "(")) {
      if (!isString(j + 1) || !(isPunct(j + 2, ")") || isPunct(j + 2, ","))) return; // computed specifier
      let close = j + 2;
      if (isPunct(close, ",")) {
        while (close < tokens.length && !isPunct(close, ")")) close++;
      }
      // `typeof import("x")` and `import("x").Type` are type positions; a real dynamic import
      // is a promise, so only `.then` / `.catch` / `.finally` follow it directly.
      const typeOnly =
        isName(k - 1, "typeof") ||
        ((isPunct(close + 1, ".") || isPunct(close + 1, "?.")) && isName(close + 2) && !promiseMethods.has(at(close + 2)!.value));
      imports.push({ specifier: at(j + 1)!.value, line: keyword.line, typeOnly });
      return;
    }
    if (isPunct(j, ".")) return;
    if (isString(j)) {
      imports.push({ specifier: at(j)!.value, line: keyword.line, typeOnly: false });
      return;
    }
    // Not a statement: a member or key named `import` (`{ import: 1 }`, `import?: x`, `import = 1`).
    if (!isName(j) && !isPunct(j, "{") && !isPunct(j, "*")) return;

    let typeOnly = false;
    if (isName(j, "type")) {
      // `import type from "x"` and `import type, { a } from "x"` import a default named `type`.
      const defaultNamedType = (isName(j + 1, "from") && isString(j + 2)) || isPunct(j + 1, ",");
      if (!defaultNamedType && (isName(j + 1) || isPunct(j + 1, "{") || isPunct(j + 1, "*"))) {
        typeOnly = true;
        j++;
      }
    }
    if (isName(j) && !(isName(j, "from") && isString(j + 1))) {
      j++; // default binding
      if (isPunct(j, "=")) {
        // TypeScript `import x = require("y")`; `import x = A.B` is a namespace alias, not a module.
        if (isName(j + 1, "require") && isPunct(j + 2, "(") && isString(j + 3)) {
          imports.push({ specifier: at(j + 3)!.value, line: keyword.line, typeOnly });
        }
        return;
      }
      if (isPunct(j, ",")) j++;
      else if (from(j, keyword, typeOnly)) return;
      else {
        unreadable.push(keyword.line);
        return;
      }
    }
    if (isPunct(j, "{")) j = skipBraces(j + 1);
    else if (isPunct(j, "*") && isName(j + 1, "as") && isName(j + 2)) j += 3;
    else j = -1;
    if (j === -1 || !from(j, keyword, typeOnly)) unreadable.push(keyword.line);
  };

  const readExport = (k: number): void => {
    const keyword = at(k)!;
    let j = k + 1;
    let typeOnly = false;
    if (isName(j, "type") && (isPunct(j + 1, "{") || isPunct(j + 1, "*"))) {
      typeOnly = true;
      j++;
    }
    if (isPunct(j, "*")) {
      j++;
      if (isName(j, "as") && (isName(j + 1) || isString(j + 1))) j += 2;
      if (!from(j, keyword, typeOnly)) unreadable.push(keyword.line);
    } else if (isPunct(j, "{")) {
      j = skipBraces(j + 1);
      if (j !== -1) from(j, keyword, typeOnly); // without `from` it exports local names
    }
    // anything else (`export const`, `export default`, `export type T = …`) imports nothing
  };

  for (let k = 0; k < tokens.length; k++) {
    const token = tokens[k]!;
    if (token.kind !== "name" || (token.value !== "import" && token.value !== "export")) continue;
    if (isPunct(k - 1, ".") || isPunct(k - 1, "?.")) continue; // `x.import`
    if (isPunct(k + 1, ":") || isPunct(k + 1, "?")) continue; // `{ import: … }`, `import?: …`
    if (token.value === "import") readImport(k);
    else readExport(k);
  }
  return { imports, unreadable };
}

/** Every module specifier the source imports, with its line and whether it is type-only. */
export function scanImports(source: string): ImportRef[] {
  return scanSource(source).imports;
}

// ---------------------------------------------------------------------------------------
// Rules.

const notInTable = (component: string) =>
  `${component} is not a known component; add it to the table in scripts/check-deps.ts and docs/architecture.md`;

const allowedList = (component: string) => {
  const rules = allowed[component] ?? [];
  if (rules.includes("*")) return "everything";
  return rules.length === 0 ? "nothing" : rules.join(", ");
};

/** Why component `from` may not import component `to`, or undefined when it may. */
export function checkImport(from: string, to: string, typeOnly: boolean): string | undefined {
  if (from === to) return undefined;
  const rules = allowed[from];
  if (rules === undefined) return notInTable(from);
  if (allowed[to] === undefined) return notInTable(to);
  if (from === "runtime") return `runtime may not import ${to}: the guest runtime runs inside the isolate and imports nothing outside itself, not even types`;
  if (rules.includes("*") || rules.includes(to)) return undefined;
  if (typeOnly && !closedToTypes.has(to)) return undefined;
  const what = typeOnly ? `${from} may not import ${to}, not even types` : `${from} may not import ${to}`;
  return `${what} (allowed: ${allowedList(from)})`;
}

/** A bare specifier's top-level Node built-in name ("node:fs/promises" → "fs"), or undefined for a package. */
export function builtinName(specifier: string): string | undefined {
  if (specifier.startsWith("node:")) return specifier.slice("node:".length).split("/")[0];
  return builtinModules.includes(specifier) ? specifier.split("/")[0] : undefined;
}

/** Why component `from` may not import the package or built-in `specifier`, or undefined when it may. */
export function checkPackage(from: string, specifier: string, typeOnly: boolean): string | undefined {
  const builtin = builtinName(specifier);
  if (from === "runtime") {
    const what = builtin === undefined ? "package" : "Node built-in";
    return `runtime may not import the ${what} "${specifier}": the guest runtime runs inside the isolate and imports no packages or built-ins, not even types`;
  }
  if (from === "control" && !typeOnly && builtin !== undefined && ioBuiltins.has(builtin)) {
    return `control may not import "${specifier}": control is pure logic without I/O`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------
// The tree.

export interface CheckResult {
  files: number;
  imports: number;
  violations: string[];
}

const posix = (p: string) => p.split(path.sep).join("/");

function sourceFiles(src: string): string[] {
  return readdirSync(src, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.[cm]?ts$/.test(e.name) && !/\.test\.[cm]?ts$/.test(e.name) && !/\.d\.[cm]?ts$/.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

/** The path a relative or `file:` specifier names, or undefined for a bare specifier. */
function resolveSpecifier(file: string, specifier: string): string | undefined {
  if (specifier.startsWith("file:")) return fileURLToPath(specifier);
  if (specifier.startsWith("./") || specifier.startsWith("../") || specifier === "." || specifier === "..") {
    return path.resolve(path.dirname(file), specifier);
  }
  if (specifier.startsWith("/")) return specifier;
  return undefined;
}

/** Checks every non-test source file under `<root>/src`. */
export function checkTree(root: string): CheckResult {
  const src = path.join(root, "src");
  const violations: string[] = [];
  let imports = 0;
  const files = sourceFiles(src);
  for (const file of files) {
    const shown = posix(path.relative(root, file));
    const parts = path.relative(src, file).split(path.sep);
    if (parts.length < 2) {
      violations.push(`${shown}:1: source files belong in a component folder, src/<component>/`);
      continue;
    }
    const from = componentOf(parts.join("/"));
    if (allowed[from] === undefined) {
      violations.push(`${shown}:1: ${notInTable(from)}`);
      continue;
    }
    const scan = scanSource(readFileSync(file, "utf8"));
    for (const line of scan.unreadable) {
      violations.push(`${shown}:${line}: check-deps cannot read this import/export statement, so it cannot check it`);
    }
    for (const ref of scan.imports) {
      imports++;
      const where = `${shown}:${ref.line}`;
      const target = resolveSpecifier(file, ref.specifier);
      let problem: string | undefined;
      if (target === undefined) {
        problem = checkPackage(from, ref.specifier, ref.typeOnly);
      } else {
        const inSrc = path.relative(src, target);
        const targetParts = inSrc.split(path.sep);
        if (inSrc.startsWith("..") || path.isAbsolute(inSrc)) {
          problem = `imports "${ref.specifier}", which is outside src/`;
        } else if (!existsSync(target) || !statSync(target).isFile()) {
          problem = `"${ref.specifier}" does not resolve to a file`;
        } else if (targetParts.length < 2) {
          problem = `imports "${ref.specifier}", which is not in a component folder`;
        } else {
          problem = checkImport(from, componentOf(targetParts.join("/")), ref.typeOnly);
        }
      }
      if (problem !== undefined) violations.push(`${where}: ${problem}`);
    }
  }
  return { files: files.length, imports, violations };
}

if (import.meta.main) {
  const root = process.argv[2] === undefined ? fileURLToPath(new URL("../", import.meta.url)) : path.resolve(process.argv[2]);
  const { files, imports, violations } = checkTree(root);
  if (violations.length > 0) {
    for (const violation of violations) console.error(violation);
    console.error(`check-deps: ${violations.length} violation(s) of the component rules in ${files} files (see docs/architecture.md)`);
    process.exit(1);
  }
  console.log(`check-deps: ${files} files, ${imports} imports, all within the component rules`);
}
