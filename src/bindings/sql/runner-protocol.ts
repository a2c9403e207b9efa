/**
 * What the node and a SQL runner process (runner-main.ts) say to each other: a request runs
 * statements on one database file; the answer is their results or an error. Values are
 * SQLite's: null, number, string, bytes (booleans and the like are converted before).
 */
export type SqlValue = null | number | string | Uint8Array;

export interface SqlStatement {
  sql: string;
  params: SqlValue[];
}

export interface StatementResult {
  columns: string[];
  rows: SqlValue[][];
  meta: { changes: number; lastRowId: number; durationMs: number; sizeAfter: number; rowsRead: number; rowsWritten: number };
}

export type RunnerRequest =
  | {
      id: number;
      op: "run";
      file: string;
      /** What the database may grow to in this run, bytes (SQLite's max_page_count): its own limit or its tenant's share (tenant-sql-quota.ts). */
      maxBytes: number;
      statements: SqlStatement[];
      /** All in one transaction, rolled back whole when one fails (batch, exec, migrations). */
      transaction: boolean;
      /** What the results may weigh, bytes (beyond: an error, nothing returned). */
      resultMaxBytes: number;
    }
  /** The database as SQL text (`flick db export`). */
  | { id: number; op: "dump"; file: string; maxBytes: number }
  /** Closes the file (before it is removed). */
  | { id: number; op: "close"; file: string };

/** `sizeAfter`: the database's size once a run ended, kept or rolled back (page_count × page_size), when the runner could read it. */
export type RunnerAnswer =
  | { id: number; results: StatementResult[]; sizeAfter?: number; dump?: undefined; error?: undefined }
  | { id: number; dump: string; results?: undefined; error?: undefined; sizeAfter?: undefined }
  | { id: number; error: { code: "sql" | "size_limit" | "result_limit" | "refused"; message: string }; sizeAfter?: number; results?: undefined; dump?: undefined };
