/** Deploys test functions from source text: written to a temp folder, bundled as `flick deploy` does. */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { DeployRequest, FlickClient } from "../../src/api/index.ts";
import { bundleFunction } from "../../src/build/index.ts";
import { tempDir } from "./node-process.ts";

export async function bundleSource(source: string, file = "index.ts"): Promise<string> {
  const dir = tempDir("flick-fn-");
  mkdirSync(dir, { recursive: true });
  const entry = path.join(dir, file);
  writeFileSync(entry, source);
  return (await bundleFunction(entry)).code;
}

export async function deploySource(client: FlickClient, name: string, source: string, settings: Omit<DeployRequest, "code"> = {}) {
  return client.deploy(name, { code: await bundleSource(source), ...settings });
}
