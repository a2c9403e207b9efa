/**
 * Runs web-platform-tests inside Flick functions, the way a user's code runs: every
 * `*.any.js` test becomes one deployed function (testharness.js + its META scripts + the
 * test, in one module) on a real node, and one request to it returns the harness results.
 *
 *   npm run wpt -- --dir <wpt checkout> [--json out.json] [--update] [url encoding/...]
 *
 * The WPT files are not part of this repository; point `--dir` at a checkout of
 * github.com/web-platform-tests/wpt (or any copy of its folders, such as the subset Node.js
 * ships in test/fixtures/wpt). `test/wpt/expectations.json` lists the subtests known to
 * fail, each with the reason; the run fails on any other failure, and on an expected
 * failure that now passes (so the list shrinks as the runtime gets better). `--update`
 * rewrites the entries of the files this run covered, keeping the reasons already written
 * (and the entries of folders it did not run).
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { startTestNode, type TestNode } from "../support/node-process.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    dir: { type: "string", default: process.env.FLICK_WPT_DIR },
    json: { type: "string" },
    update: { type: "boolean", default: false },
    verbose: { type: "boolean", short: "v", default: false },
  },
});

if (!values.dir || !existsSync(path.join(values.dir, "resources", "testharness.js"))) {
  console.error(
    "npm run wpt needs a web-platform-tests checkout: --dir <path> or FLICK_WPT_DIR, a folder holding resources/testharness.js.\n" +
      "Get one with `git clone --depth 1 https://github.com/web-platform-tests/wpt`.",
  );
  process.exit(2);
}
const root = path.resolve(values.dir);
const expectationsFile = new URL("./expectations.json", import.meta.url);
/** test file → subtest name → why it fails. A subtest name of "*" means the whole file. */
type Expectations = Record<string, Record<string, string>>;
const expectations: Expectations = existsSync(expectationsFile) ? JSON.parse(readFileSync(expectationsFile, "utf8")) : {};

const statusNames = ["PASS", "FAIL", "TIMEOUT", "NOTRUN", "PRECONDITION_FAILED"];
const harnessNames = ["OK", "ERROR", "TIMEOUT", "PRECONDITION_FAILED"];

interface SubtestResult {
  name: string;
  status: string;
  message: string | null;
  stack?: string | null;
}
interface FileResult {
  file: string;
  harness: string;
  harnessMessage: string | null;
  subtests: SubtestResult[];
}

/** Every `*.any.js` below the given folders (or the whole checkout's default set). */
function collect(targets: string[]): string[] {
  const files: string[] = [];
  const walk = (abs: string) => {
    if (statSync(abs).isDirectory()) {
      for (const name of readdirSync(abs).sort()) if (name !== "resources" && name !== "support") walk(path.join(abs, name));
    } else if (abs.endsWith(".any.js")) files.push(path.relative(root, abs));
  };
  for (const target of targets) walk(path.join(root, target));
  return files;
}

interface Meta {
  scripts: string[];
  globals: string[];
  long: boolean;
}

function readMeta(source: string): Meta {
  const meta: Meta = { scripts: [], globals: ["window", "dedicatedworker"], long: false };
  for (const line of source.split("\n")) {
    const m = /^\/\/ META: *(\w+)=(.*)$/.exec(line.trim());
    if (!m) {
      if (line.trim() && !line.startsWith("//")) break;
      continue;
    }
    const key = m[1]!;
    const value = m[2]!;
    if (key === "script") meta.scripts.push(value.trim());
    if (key === "global") meta.globals = value.split(",").map((g) => g.trim());
    if (key === "timeout") meta.long = value.trim() === "long";
  }
  return meta;
}

/** A Flick function is a worker-like scope: tests limited to window-only globals are skipped. */
function runsInWorkers(meta: Meta): boolean {
  return meta.globals.some((g) => ["worker", "dedicatedworker", "sharedworker", "serviceworker", "shadowrealm", "jsshell", "dedicatedworker-module"].includes(g));
}

function resolveFrom(testFile: string, ref: string): string {
  return ref.startsWith("/") ? ref.slice(1) : path.join(path.dirname(testFile), ref);
}

/**
 * Files a test fetches by relative URL (its JSON data, mostly) are served from the bundle:
 * a Flick function has no `location` to resolve them against and no WPT server to ask.
 */
function fetchedResources(testFile: string, sources: string[]): Record<string, string> {
  const resources: Record<string, string> = {};
  for (const source of sources) {
    for (const m of source.matchAll(/fetch\(\s*["'`]([^"'`]+\.(?:json|txt))["'`]/g)) {
      const ref = m[1]!;
      const abs = path.join(root, resolveFrom(testFile, ref));
      if (existsSync(abs)) resources[ref] = readFileSync(abs, "utf8");
    }
    // idl_test(["url"], ["html"]) makes idlharness.js fetch /interfaces/<spec>.idl.
    for (const m of source.matchAll(/idl_test\(\s*\[([^\]]*)\]\s*,\s*\[([^\]]*)\]/g)) {
      for (const spec of `${m[1]},${m[2]}`.matchAll(/["'`]([\w-]+)["'`]/g)) {
        const abs = path.join(root, "interfaces", `${spec[1]}.idl`);
        if (existsSync(abs)) resources[`/interfaces/${spec[1]}.idl`] = readFileSync(abs, "utf8");
      }
    }
  }
  return resources;
}

function functionSource(testFile: string, meta: Meta): string {
  const harness = readFileSync(path.join(root, "resources", "testharness.js"), "utf8");
  const scripts = meta.scripts.map((s) => {
    const rel = resolveFrom(testFile, s);
    return `// ---- ${rel}\n${readFileSync(path.join(root, rel), "utf8")}`;
  });
  const test = readFileSync(path.join(root, testFile), "utf8");
  const resources = fetchedResources(testFile, [test, ...scripts]);
  // The test's globals (test, promise_test, assert_*) are declared by the harness on
  // `self`; everything runs inside one function so a request starts it and awaits the end.
  return `
const __resources = ${JSON.stringify(resources)};
function __run(__done) {
  // What a WPT server gives a dedicated worker: a location, and GLOBAL (from the .any.js wrapper).
  const location = new URL("http://web-platform.test:8000/${testFile.replace(/\.js$/, ".worker.js")}");
  const GLOBAL = { isWindow: () => false, isWorker: () => true, isShadowRealm: () => false };
  self.GLOBAL = GLOBAL;
  const fetch = (input, init) => {
    const key = typeof input === "string" ? input : String(input?.url ?? input);
    if (Object.hasOwn(__resources, key)) return Promise.resolve(new Response(__resources[key], { headers: { "content-type": key.endsWith(".json") ? "application/json" : "text/plain" } }));
    return globalThis.fetch(input, init);
  };
  ${harness}
  setup({ explicit_timeout: true });
  add_completion_callback((tests, status) => __done({
    harness: status.status, harnessMessage: status.message,
    subtests: tests.map((t) => ({ name: t.name, status: t.status, message: t.message, stack: t.stack })),
  }));
  ${scripts.join("\n")}
  // Top-level functions of a classic script are globals; here they are locals of __run.
  ${[...topLevelFunctions(scripts.join("\n"))].map((n) => `if (typeof ${n} === "function") self.${n} = ${n};`).join(" ")}
  // ---- ${testFile}
  ${test}
}
export default {
  async fetch() {
    const result = await new Promise((resolve) => __run.call(globalThis, resolve));
    return Response.json(result);
  },
};
`;
}

function topLevelFunctions(source: string): Set<string> {
  return new Set(Array.from(source.matchAll(/^(?:async\s+)?function\*?\s+([A-Za-z_$][\w$]*)/gm), (m) => m[1]!));
}

function functionName(index: number): string {
  return `wpt-${index}`;
}

async function runFile(node: TestNode, index: number, testFile: string): Promise<FileResult | null> {
  const source = readFileSync(path.join(root, testFile), "utf8");
  const meta = readMeta(source);
  if (!runsInWorkers(meta)) return null;
  const fail = (message: string): FileResult => ({ file: testFile, harness: "ERROR", harnessMessage: message, subtests: [] });
  const missing = meta.scripts.map((s) => resolveFrom(testFile, s)).filter((rel) => !existsSync(path.join(root, rel)));
  if (missing.length) return fail(`the checkout lacks ${missing.join(", ")}`);
  const name = functionName(index);
  try {
    await node.admin.deploy(name, { code: functionSource(testFile, meta), timeoutMs: meta.long ? 120_000 : 30_000, memoryMiB: 256 });
  } catch (e) {
    return fail(`deploy failed: ${(e as Error).message}`);
  }
  try {
    const res = await fetch(`${node.url}/fn/${name}`);
    const text = await res.text();
    if (!res.ok) return fail(`HTTP ${res.status}: ${text.slice(0, 500)}`);
    const raw = JSON.parse(text) as { harness: number; harnessMessage: string | null; subtests: { name: string; status: number; message: string | null; stack: string | null }[] };
    return {
      file: testFile,
      harness: harnessNames[raw.harness] ?? String(raw.harness),
      harnessMessage: raw.harnessMessage,
      subtests: raw.subtests.map((t) => ({ name: t.name, status: statusNames[t.status] ?? String(t.status), message: t.message, stack: t.stack })),
    };
  } catch (e) {
    return fail(`request failed: ${(e as Error).message}`);
  } finally {
    await node.admin.removeFunction(name).catch(() => {});
  }
}

const targets = positionals.length ? positionals : ["url", "encoding", "streams", "FileAPI", "dom/abort", "dom/events", "html/webappapis", "WebCryptoAPI", "compression", "console", "hr-time", "webmessaging", "urlpattern", "fetch/api"].filter((t) => existsSync(path.join(root, t)));
const files = collect(targets);
const node = await startTestNode({ hosts: 2, args: ["--egress-allow", "127.0.0.1"] });
const results: FileResult[] = [];
let unexpected = 0;
let passed = 0;
let total = 0;
const nowPassing: string[] = [];
try {
  for (const [i, file] of files.entries()) {
    const result = await runFile(node, i, file);
    if (!result) continue;
    results.push(result);
    const expected = expectations[file] ?? {};
    const lines: string[] = [];
    // "(harness)": the file may end in a harness error for the reason given (its subtests still count).
    if (result.harness !== "OK" && !expected["*"] && !expected["(harness)"]) {
      unexpected++;
      lines.push(`  harness ${result.harness}: ${result.harnessMessage}`);
    }
    for (const t of result.subtests) {
      total++;
      if (t.status === "PASS") {
        passed++;
        if (expected[t.name]) nowPassing.push(`${file} :: ${t.name}`);
      } else if (!expected[t.name] && !expected["*"]) {
        unexpected++;
        lines.push(`  ${t.status} ${t.name}: ${(t.message ?? "").slice(0, 300)}`);
      }
    }
    const ok = result.subtests.filter((t) => t.status === "PASS").length;
    console.log(`${lines.length ? "✗" : "✓"} ${file}  ${ok}/${result.subtests.length}`);
    if (lines.length && values.verbose) console.log(lines.join("\n"));
  }
} finally {
  await node.kill();
}

console.log(`\n${passed}/${total} subtests pass in ${results.length} files; ${unexpected} unexpected failures; ${nowPassing.length} expected failures now pass`);
for (const p of nowPassing) console.log(`  now passes: ${p}`);
if (values.json) writeFileSync(values.json, JSON.stringify(results, null, 2));
if (values.update) {
  const updated: Expectations = {};
  for (const r of results) {
    const failing = r.subtests.filter((t) => t.status !== "PASS");
    const old = expectations[r.file] ?? {};
    const broken = r.harness !== "OK" && r.subtests.length === 0;
    // A whole-file expectation stays one while anything in the file still fails.
    if (old["*"] !== undefined && (broken || failing.length)) updated[r.file] = { "*": old["*"] };
    else if (broken) updated[r.file] = { "*": `harness ${r.harness}: ${r.harnessMessage ?? ""}`.slice(0, 200) };
    else if (failing.length) updated[r.file] = Object.fromEntries(failing.map((t) => [t.name, old[t.name] ?? "TODO: reason"]));
  }
  // Files this run did not cover (other folders) keep their entries, in their place.
  const ran = new Set(results.map((r) => r.file));
  const next: Expectations = {};
  for (const [file, entry] of Object.entries(expectations)) {
    if (!ran.has(file)) next[file] = entry;
    else if (updated[file] !== undefined) next[file] = updated[file];
  }
  for (const [file, entry] of Object.entries(updated)) next[file] ??= entry;
  // ASCII only, as the file has always been: subtest names hold non-ASCII and lone surrogates.
  const json = JSON.stringify(next, null, 2).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  writeFileSync(expectationsFile, json + "\n");
  console.log(`wrote ${path.relative(process.cwd(), expectationsFile.pathname)}`);
}
process.exit(unexpected || nowPassing.length ? 1 : 0);
