#!/usr/bin/env node
// The `flick` command: on a Node too old for Flick, one line saying what to install; else
// the CLI. Installed from the package, it runs the JavaScript compiled into dist/ (Node does
// not strip types under node_modules); in a checkout, the TypeScript itself (Node 24).
import "../scripts/require-node.cjs";
import { existsSync } from "node:fs";

const compiled = new URL("../dist/bin/flick.js", import.meta.url);
await import(existsSync(compiled) ? compiled.href : "./flick.ts");
