#!/usr/bin/env node
// The `flick` command: on a Node too old for Flick, one line saying what to install;
// else the CLI (TypeScript, run natively by Node 24).
import "../scripts/require-node.cjs";

await import("./flick.ts");
