/**
 * One node per data dir. Two nodes on one data dir would share its database and bundles,
 * take each other's socket and remove each other's `node.json`. The lock is an exclusive
 * SQLite lock on `<data-dir>/node.lock`, held by the node's process until it stops: the
 * kernel drops it when the process dies, however it dies, so a crashed node leaves nothing
 * stale behind and no process id has to be trusted. (It is a POSIX record lock: it keeps
 * out other processes, not a second node in the same process.)
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { DatabaseSync } from "node:sqlite";
import { FlickError } from "../errors/index.ts";

export interface DataDirLock {
  release(): void;
}

/** What `flick up` wrote about the node that holds the lock, for the message. */
function holder(dataDir: string): string {
  const info = path.join(dataDir, "node.json");
  try {
    if (!existsSync(info)) return "another Flick node";
    const { url, pid } = JSON.parse(readFileSync(info, "utf8")) as { url?: unknown; pid?: unknown };
    const parts = [typeof pid === "number" ? `pid ${pid}` : "", typeof url === "string" ? url : ""].filter((p) => p !== "");
    return parts.length === 0 ? "another Flick node" : `another Flick node (${parts.join(", ")})`;
  } catch {
    return "another Flick node";
  }
}

/** Takes the data dir's lock, or throws `unavailable` naming the node that has it. */
export function lockDataDir(dataDir: string): DataDirLock {
  const db = new DatabaseSync(path.join(dataDir, "node.lock"));
  try {
    db.exec("PRAGMA busy_timeout = 0; PRAGMA locking_mode = EXCLUSIVE;");
    // The first write takes the lock; in exclusive locking mode it is never given back.
    db.exec("BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS held (at INTEGER); DELETE FROM held; INSERT INTO held VALUES (unixepoch()); COMMIT;");
  } catch (err) {
    db.close();
    if (/locked|busy/i.test((err as Error).message)) {
      throw new FlickError(
        "unavailable",
        `data dir ${dataDir} is in use by ${holder(dataDir)}: stop that node first (Ctrl-C where it runs), or give this one its own --data-dir`,
      );
    }
    throw err;
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}
