/**
 * A file written whole or not at all, and still there after a power cut: written to a
 * temporary name, fsynced, renamed over, and the folder fsynced (the rename is an entry
 * in the folder, durable only once the folder is). A write that fails (disk full, file
 * size limit) takes its temporary file with it and rethrows.
 */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";

export function writeFileDurably(file: string, bytes: Uint8Array, mode = 0o600): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode });
    syncPath(tmp);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncPath(path.dirname(file));
}

function syncPath(at: string): void {
  const fd = openSync(at, "r");
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
