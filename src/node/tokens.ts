/**
 * API tokens: random secrets shown once; the store keeps only their SHA-256.
 * The admin token is written to `<data-dir>/admin.token` (0600) so the CLI on the same
 * machine finds it.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { TokenRecord } from "../model/index.ts";
import type { Store } from "../store/index.ts";

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export function mintToken(tenant: string | null, nowMs: number): { token: string; record: TokenRecord } {
  const token = `flk_${randomBytes(24).toString("base64url")}`;
  const hash = hashToken(token);
  return { token, record: { id: `tok_${hash.slice(0, 12)}`, hash, tenant, createdAtMs: nowMs } };
}

export const adminTokenFile = "admin.token";

/** Returns the admin token, minting one (and writing the file) on first start or when the file is gone. */
export async function ensureAdminToken(store: Store, dataDir: string, nowMs: number): Promise<string> {
  const file = path.join(dataDir, adminTokenFile);
  if (existsSync(file)) {
    const token = readFileSync(file, "utf8").trim();
    const record = await store.tokenByHash(hashToken(token));
    if (record !== undefined && record.tenant === null) return token;
  }
  const { token, record } = mintToken(null, nowMs);
  await store.addToken(record);
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return token;
}
