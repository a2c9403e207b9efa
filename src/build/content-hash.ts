import { createHash } from "node:crypto";

/** Hex SHA-256 of a bundle: its name on disk. */
export function bundleHash(code: string | Uint8Array): string {
  return createHash("sha256").update(code).digest("hex");
}

/**
 * A version id: the first 16 hex digits of SHA-256 over everything that makes a version
 * behave differently — the bundle, its settings and its (sealed) secrets — so deploying
 * the same thing twice yields the same id and is a no-op.
 */
export function versionId(bundle: string, canonicalSettings: string, secretsDigest: string): string {
  return createHash("sha256").update(bundle).update("\0").update(canonicalSettings).update("\0").update(secretsDigest).digest("hex").slice(0, 16);
}
