/**
 * Where the CLI finds the node and its token: flags first, then FLICK_URL / FLICK_TOKEN,
 * then the local data dir (`node.json` written by `flick up`, and `admin.token`).
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
// The client alone, not the API folder's entry (its server and schemas cost the CLI ~90 ms at every start).
import { FlickClient } from "../api/client.ts";
import { FlickError } from "../errors/index.ts";

export const defaultDataDir = ".flick";
/** A function's settings file, beside its code (project-config.ts reads it). */
export const configFileName = "flick.toml";
export const nodeFile = "node.json";
export const adminTokenFile = "admin.token";

export interface Connection {
  url: string;
  token: string | undefined;
}

export function resolveConnection(flags: { url?: string | undefined; token?: string | undefined; "data-dir"?: string | undefined }, env = process.env): Connection {
  const dataDir = path.resolve(flags["data-dir"] ?? env["FLICK_DATA_DIR"] ?? defaultDataDir);
  let url = flags.url ?? env["FLICK_URL"];
  if (url === undefined) {
    const file = path.join(dataDir, nodeFile);
    if (existsSync(file)) url = (JSON.parse(readFileSync(file, "utf8")) as { url: string }).url;
  }
  if (url === undefined) {
    throw new FlickError(
      "unavailable",
      `no Flick node found: nothing in FLICK_URL and no ${path.join(dataDir, nodeFile)}. Start one with \`flick up\` (or \`npm start\`), or set FLICK_URL.`,
    );
  }
  let token = flags.token ?? env["FLICK_TOKEN"];
  if (token === undefined) {
    const file = path.join(dataDir, adminTokenFile);
    if (existsSync(file)) token = readFileSync(file, "utf8").trim();
  }
  return { url, token };
}

export function clientFor(connection: Connection): FlickClient {
  return new FlickClient(connection.url, connection.token);
}
