/**
 * One mapping from "the disk or the database refused a write" to `store_unavailable`
 * (503, `Retry-After: 1`): a fault outside Flick that passes (space freed, a lock
 * released), never a bug, so never `500 internal`. SQLite reports it as a result code
 * (`errcode` on node:sqlite's error, extended codes keep the primary one in the low byte);
 * the file system as an errno code on bundle writes. `sqlite-queue.ts` keeps a copy of the
 * SQLite half with queue wording; it should call this one.
 */
import { FlickError } from "../errors/index.ts";

/** SQLite primary result codes that mean "cannot write now", not "Flick has a bug". */
const sqliteCodes = new Map<number, string>([
  [5, "the database is locked by another process (SQLITE_BUSY)"],
  [6, "the database is locked (SQLITE_LOCKED)"],
  [8, "the database is read-only (SQLITE_READONLY)"],
  [10, "a disk I/O error (SQLITE_IOERR)"],
  [13, "the disk is full (SQLITE_FULL)"],
  [14, "the database cannot be opened (SQLITE_CANTOPEN)"],
]);

/** errno codes of file writes that mean the same. */
const fsCodes = new Map<string, string>([
  ["ENOSPC", "the disk is full (ENOSPC)"],
  ["EDQUOT", "the disk quota is used up (EDQUOT)"],
  ["EFBIG", "the file would pass the process's file size limit (EFBIG)"],
  ["EIO", "a disk I/O error (EIO)"],
  ["EROFS", "the file system is read-only (EROFS)"],
  ["EMFILE", "too many open files (EMFILE)"],
  ["ENFILE", "too many open files on the system (ENFILE)"],
]);

/** Why the write failed, if it is a fault of the disk or the database; undefined for anything else. */
export function unavailableReason(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const { errcode, code } = err as { errcode?: unknown; code?: unknown };
  if (typeof errcode === "number") return sqliteCodes.get(errcode & 0xff);
  if (typeof code === "string") return fsCodes.get(code);
  return undefined;
}

/**
 * `err` as a `store_unavailable` FlickError when the disk or the database refused the
 * write; any other error as it is. `what` says what was not done ("the deploy of f").
 */
export function storeUnavailable(err: unknown, what: string): unknown {
  if (err instanceof FlickError) return err;
  const why = unavailableReason(err);
  if (why === undefined) return err;
  return new FlickError("store_unavailable", `${what} was not stored: ${why}; nothing was changed, retry in 1 s`, {
    details: { retryAfterSeconds: 1 },
    cause: err,
  });
}
