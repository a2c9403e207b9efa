/**
 * `flick init [dir]`: a TypeScript function to start from — its flick.toml, the module, a
 * test that runs it with `npm test`, package.json and .gitignore (local secrets and data
 * dirs kept out of git). It never writes over a file that is already there.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { FlickError } from "../errors/index.ts";
import { functionNamePattern } from "../model/index.ts";
import { jsonOption, printJson, type Command } from "./command.ts";
import { devDataDir, devSecretsFile } from "./dev.ts";
import { envDeclarations, typesFileName } from "./types.ts";

function files(name: string): Record<string, string> {
  return {
    "flick.toml": `# The function in this folder (settings reference: docs/config.md in the Flick repository).
# \`flick deploy\` makes it live; \`flick dev\` runs it on a local node of its own.
# Secrets do not go here: \`flick secret put NAME\` (live), ${devSecretsFile} (flick dev).
name = "${name}"
entry = "src/index.ts"
memory = 128        # MiB, 16..1024
timeout = "30s"

[env]
GREETING = "Hello"
`,
    "src/index.ts": `// \`Env\` (what the function finds in env) is declared in ${typesFileName}, which
// \`flick types\` writes from flick.toml: run it again after changing the file.
export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const name = new URL(request.url).searchParams.get("name") ?? "world";
    return Response.json({ message: \`\${env.GREETING}, \${name}!\` });
  },
};
`,
    "test/index.test.ts": `// Runs the function's handler directly: npm test.
import assert from "node:assert/strict";
import { test } from "node:test";
import worker from "../src/index.ts";

test("greets by name", async () => {
  const res = await worker.fetch(new Request("http://localhost/?name=Ada"), { GREETING: "Hello" });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { message: "Hello, Ada!" });
});

test("greets the world without a name", async () => {
  const res = await worker.fetch(new Request("http://localhost/"), { GREETING: "Hi" });
  assert.deepEqual(await res.json(), { message: "Hi, world!" });
});
`,
    "package.json": `${JSON.stringify(
      {
        name,
        private: true,
        type: "module",
        engines: { node: ">=24" },
        scripts: { test: 'node --test "test/**/*.test.ts"', dev: "flick dev", deploy: "flick deploy", types: "flick types" },
        // For editors and tsc only: Node 24 runs the TypeScript itself.
        devDependencies: { "@types/node": "^24.0.0" },
      },
      null,
      2,
    )}\n`,
    "tsconfig.json": `${JSON.stringify(
      {
        compilerOptions: {
          target: "ES2023", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2023", "DOM"], strict: true,
          noEmit: true, allowImportingTsExtensions: true, verbatimModuleSyntax: true, erasableSyntaxOnly: true, skipLibCheck: true,
        },
        include: ["src", "test", typesFileName],
      },
      null,
      2,
    )}\n`,
    [typesFileName]: envDeclarations("flick.toml", ["GREETING"], []),
    ".gitignore": `node_modules/\n.flick/\n${devDataDir}/\n${devSecretsFile}\n`,
  };
}

export const init: Command = {
  name: "init",
  summary: "Start a TypeScript function: flick.toml, src/index.ts, a test, env types, package.json.",
  usage: "init [dir] [--name N]",
  optionHelp: ["--name N            the function's name (default: the folder's name)", "--json              print {name, dir, files} as JSON"],
  examples: ["flick init hello && cd hello && npm test && flick deploy"],
  options: { name: { type: "string" }, ...jsonOption },
  positionals: { min: 0, max: 1 },
  async run({ values, positionals }) {
    const dir = path.resolve(positionals[0] ?? ".");
    const fromDir = path.basename(dir).toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63) || "fn";
    const name = (values["name"] as string | undefined) ?? fromDir;
    if (!functionNamePattern.test(name)) {
      throw new FlickError("bad_request", `--name ${name}: function names are 1-63 lowercase letters, digits and dashes, starting and ending with a letter or digit`);
    }
    const wanted = files(name);
    const there = Object.keys(wanted).filter((f) => existsSync(path.join(dir, f)));
    if (there.length > 0) {
      throw new FlickError("bad_request", `${dir} already has ${there.join(", ")}; nothing was written (init a new folder: flick init my-function)`);
    }
    for (const [file, contents] of Object.entries(wanted)) {
      mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      writeFileSync(path.join(dir, file), contents, { flag: "wx" });
    }
    if (values["json"] === true) return void printJson({ name, dir, files: Object.keys(wanted) });
    const rel = path.relative(process.cwd(), dir) || ".";
    console.log(`${name}: a new function in ${rel}`);
    for (const file of Object.keys(wanted)) console.log(`  ${file}`);
    console.log("");
    console.log("Next:");
    if (rel !== ".") console.log(`  cd ${rel}`);
    console.log("  npm test          run its test");
    console.log("  flick dev         run it locally, redeploying on save");
    console.log("  flick deploy      make it live on the node (flick up)");
  },
};
