#!/usr/bin/env node
// The `flick` command: on a Node too old for Flick, one line saying what to install; else
// the CLI. Installed from the package, it runs the JavaScript compiled into dist/ (Node does
// not strip types under node_modules); in a checkout, the TypeScript itself (Node 24).
import "../scripts/require-node.cjs";
import { existsSync, mkdirSync } from "node:fs";
import * as nodeModule from "node:module";
import { homedir } from "node:os";
import { join } from "node:path";

// Compiled code (stripped TypeScript included) is cached between runs, which makes a CLI
// start about half as long from the second run on. In the user's own cache folder (0700),
// not a shared temp folder where another user could plant bytecode.
try {
  const dir = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "flick", "compile-cache");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  nodeModule.enableCompileCache?.(dir);
} catch {
  // No cache: the CLI starts as it did.
}

const compiled = new URL("../dist/bin/flick.js", import.meta.url);
await import(existsSync(compiled) ? compiled.href : "./flick.ts");
