/**
 * `flick up --examples` (what `npm start` runs): deploys every function in `examples/`
 * so a fresh node answers `curl localhost:8080/fn/hello` at once.
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { bundleFunction } from "../build/index.ts";
import type { Platform } from "./platform.ts";

export const examplesDir = fileURLToPath(new URL("../../examples/", import.meta.url));

export async function deployExamples(platform: Platform, dir = examplesDir): Promise<string[]> {
  const names: string[] = [];
  for (const file of readdirSync(dir).sort()) {
    if (!/\.(ts|js)$/.test(file) || file.endsWith(".d.ts") || file.endsWith(".test.ts")) continue;
    const name = path.basename(file).replace(/\.(ts|js)$/, "");
    const { code, wasm, sourceMap } = await bundleFunction(path.join(dir, file), dir);
    const shipped = Object.fromEntries(Object.entries(wasm).map(([h, b]) => [h, Buffer.from(b).toString("base64")]));
    await platform.deploy({ role: "admin" }, name, Object.keys(shipped).length === 0 ? { code, sourceMap } : { code, sourceMap, wasm: shipped });
    names.push(name);
  }
  return names;
}
