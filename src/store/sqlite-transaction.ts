import type { DatabaseSync } from "node:sqlite";

/**
 * Runs `work` in one `BEGIN IMMEDIATE` transaction (the write lock taken up front, so two
 * writers never deadlock upgrading a read lock); rolled back when it throws.
 */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = work();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    try {
      db.exec("ROLLBACK");
    } catch {}
    throw err;
  }
}
