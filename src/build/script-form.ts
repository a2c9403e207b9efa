/**
 * The "script form" of a function's module: the same code as a classic script whose value
 * is the module's exports. Made once per version at deploy, it is what hosts run.
 *
 * Why: isolated-vm compiles ES modules without V8's consume-code-cache option, so only a
 * script can start from a V8 code cache; and V8 instantiates a module with thousands of
 * top-level declarations far slower than the same code in a function (measured on a
 * 650 KB bundle of 4,000 functions: module 24 ms, script 1.6 ms, script with code cache
 * 0.8 ms of compile and run).
 *
 * How: esbuild re-bundles the module (idempotent for a bundle), which gathers every export
 * into one trailing `export { local as name, … }` clause; that clause becomes an object of
 * getters (live bindings, as a namespace has) returned from a strict function around the
 * code. Modules a script cannot express — top-level await, `import.meta` — keep running as
 * modules: the form is null, or fails to compile in the host and is not kept.
 */
import * as esbuild from "esbuild";

/**
 * Versions smaller than this keep running as modules: for a small module, compiling it
 * from source is as fast as reading and checking a cache (measured in a host: hello world
 * adopts in ~0.1 ms as a module, and the cache's file read and check alone cost ~0.15 ms),
 * while a 675 KiB bundle starts ~5× faster as a script (`npm run bench`, "A function's own code").
 */
export const scriptFormMinBytes = 32 * 1024;

const trailingExports = /\nexport\s*\{([^{}]*)\};?\s*$/;
const identifier = /^[\p{ID_Start}$_][\p{ID_Continue}$\u200c\u200d]*$/u;

/** The script form of `code`, or null when it must stay a module. Never throws. */
export async function scriptForm(code: string): Promise<string | null> {
  return (await scriptFormWithMap(code, undefined))?.script ?? null;
}

/**
 * The script form and, given the bundle's source map, the script's: esbuild reads the
 * bundle's map from an inline sourceMappingURL and chains it, so the script's frames map
 * to the user's files; one `;` more in front for the wrapper's first line.
 */
export async function scriptFormWithMap(code: string, sourceMap: string | undefined): Promise<{ script: string; map: string | null } | null> {
  let text: string;
  let map: string | null = null;
  try {
    const inline = sourceMap === undefined ? "" : `\n//# sourceMappingURL=data:application/json;base64,${Buffer.from(sourceMap).toString("base64")}\n`;
    const result = await esbuild.build({
      stdin: { contents: code + inline, loader: "js", sourcefile: "bundle.js" },
      ...(sourceMap === undefined ? {} : { outfile: "script.js", sourcemap: "external" as const, sourcesContent: false }),
      bundle: true,
      write: false,
      format: "esm",
      platform: "neutral",
      target: "es2024",
      // A script has no top-level await: esbuild then refuses it, and the version stays a module.
      supported: { "top-level-await": false },
      logLevel: "silent",
      legalComments: "none",
    });
    text = result.outputFiles.find((f) => !f.path.endsWith(".map"))?.text ?? "";
    const mapped = result.outputFiles.find((f) => f.path.endsWith(".map"))?.text;
    if (mapped !== undefined) {
      const parsed = JSON.parse(mapped) as { mappings: string };
      parsed.mappings = `;${parsed.mappings}`;
      map = JSON.stringify(parsed);
    }
  } catch {
    return null; // an import left unbundled, or syntax esbuild refuses: the module path reports it
  }
  if (/\bimport\.meta\b/.test(text)) return null;
  const found = trailingExports.exec(text);
  let body = text;
  const getters: string[] = [];
  if (found !== null) {
    body = text.slice(0, found.index);
    for (const entry of found[1]!.split(",").map((e) => e.trim()).filter((e) => e !== "")) {
      const parts = /^(\S+)(?:\s+as\s+(.+))?$/.exec(entry);
      if (parts === null) return null;
      const local = parts[1]!;
      const exported = parts[2] ?? local;
      if (!identifier.test(local)) return null;
      const name = exported.startsWith('"') || exported.startsWith("'") ? exported : JSON.stringify(exported);
      getters.push(`get ${name}() { return ${local}; }`);
    }
  }
  // Any other import/export left at the start of a line means a shape this does not know.
  if (/^(?:import|export)\b/m.test(body)) return null;
  return { script: `(function () { "use strict";\n${body}\nreturn Object.freeze({ __proto__: null, ${getters.join(", ")} });\n})()`, map };
}
