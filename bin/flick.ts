#!/usr/bin/env node
// The `flick` command. Node 24 runs this TypeScript directly (type stripping).
import { main } from "../src/cli/index.ts";

process.exitCode = await main(process.argv.slice(2));
