/**
 * Backup and restore of a data dir, online: `flick backup` copies a running node's state
 * into a new folder that is itself a data dir (`flick up --data-dir <backup>` runs it), and
 * `flick restore` copies one into a data dir no node is using.
 *
 * What is copied, and in which order, so the copy is consistent while the node writes:
 * 1. `flick.db` (functions, versions, tenants, tokens, logs) and `queue.db` (async
 *    invocations), each through SQLite's online backup API: a transaction-consistent
 *    snapshot, whatever the node commits meanwhile.
 * 2. `bundles/`: content-addressed and written once (write, fsync, rename) before the
 *    version that names them is committed, so every bundle the snapshot refers to is
 *    already complete; copied after the databases, none is missing.
 * 3. `secret.key` (without it sealed secrets cannot be opened; a node started with
 *    `--secret-key-file` has none: the operator keeps that key) and `admin.token`.
 * Left out: what a node rebuilds or owns only while it runs — the runtime snapshot, code
 * caches, the lock, `node.json`, the socket. Async invocations acknowledged after the
 * snapshot are not in the backup: a backup is a point in time.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { backup, DatabaseSync } from "node:sqlite";
import { FlickError } from "../errors/index.ts";
import { lockDataDir } from "./data-dir-lock.ts";

const databases = ["flick.db", "queue.db"];
const keyFiles = ["secret.key", "admin.token"];
/** Bundles, their script forms, their source maps and WebAssembly modules; not code caches or temp files. */
const bundleFile = /^[0-9a-f]{64}(\.script\.js|\.js|\.wasm)(\.map)?$/;

export interface BackupSummary {
  dir: string;
  databases: string[];
  bundles: number;
  bytes: number;
}

function emptyTarget(dir: string, what: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new FlickError("bad_request", `${dir} is not empty; ${what} into a new folder (nothing was written)`);
  }
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Copies the data dir's state (see above) from `from` into the empty or new folder `to`. */
async function copyState(from: string, to: string): Promise<BackupSummary> {
  if (!existsSync(path.join(from, "flick.db"))) {
    throw new FlickError("bad_request", `${from} holds no Flick state (no flick.db); give the data dir (--data-dir) or a folder flick backup made`);
  }
  let bytes = 0;
  const copied: string[] = [];
  for (const name of databases) {
    const source = path.join(from, name);
    if (!existsSync(source)) continue;
    const db = new DatabaseSync(source, { readOnly: true });
    try {
      await backup(db, path.join(to, name));
    } finally {
      db.close();
    }
    chmodSync(path.join(to, name), 0o600);
    bytes += statSync(path.join(to, name)).size;
    copied.push(name);
  }
  const bundles = path.join(from, "bundles");
  let count = 0;
  if (existsSync(bundles)) {
    mkdirSync(path.join(to, "bundles"), { mode: 0o700 });
    for (const file of readdirSync(bundles).filter((f) => bundleFile.test(f))) {
      copyFileSync(path.join(bundles, file), path.join(to, "bundles", file));
      chmodSync(path.join(to, "bundles", file), 0o600);
      bytes += statSync(path.join(to, "bundles", file)).size;
      count++;
    }
  }
  for (const name of keyFiles) {
    if (!existsSync(path.join(from, name))) continue;
    copyFileSync(path.join(from, name), path.join(to, name));
    chmodSync(path.join(to, name), 0o600);
  }
  return { dir: to, databases: copied, bundles: count, bytes };
}

/** `flick backup`: the data dir (a node may be running on it) into a new folder. */
export async function backupDataDir(dataDir: string, to: string): Promise<BackupSummary> {
  emptyTarget(to, "back up");
  const summary = await copyState(dataDir, to);
  writeFileSync(path.join(to, "BACKUP.json"), `${JSON.stringify({ from: dataDir, atMs: Date.now(), ...summary }, null, 2)}\n`, { mode: 0o600 });
  return summary;
}

/** `flick restore`: a backup into a data dir that is new or empty, and that no node uses. */
export async function restoreDataDir(backupDir: string, dataDir: string): Promise<BackupSummary> {
  // A node whose key is the operator's (--secret-key-file) has no secret.key to back up.
  if (!existsSync(path.join(backupDir, "BACKUP.json")) && !existsSync(path.join(backupDir, "secret.key"))) {
    throw new FlickError("bad_request", `${backupDir} has neither BACKUP.json nor secret.key: it is not a backup \`flick backup\` made; restore from one of those`);
  }
  emptyTarget(dataDir, "restore");
  // Nothing may start on it while the files go in.
  const lock = lockDataDir(dataDir);
  try {
    return await copyState(backupDir, dataDir);
  } finally {
    lock.release();
  }
}
