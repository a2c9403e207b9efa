/**
 * A SQL binding's calls on the binding channel, shared by its guest, host and platform
 * sides. SQL text and results can be larger than one channel string may be, so a call is
 * UTF-8 JSON in the first buffer, with blob parameters in the buffers after it
 * (`{ "$b": i }` names buffer i + 1); the answer is UTF-8 JSON in the first buffer.
 *
 *   query  { sql, params }                 → { columns, rows, meta }
 *   batch  { statements: [{ sql, params }] } → [{ columns, rows, meta }, …]  (one transaction)
 *   exec   { sql }                          → { count, duration }            (one transaction)
 *
 * Rows are arrays in column order; a blob comes back as an array of byte values, as D1
 * gives it.
 */
import { utf8Length } from "../kv/contract.ts";

export const sqlContract = {
  kind: "sql",
  query: "query",
  batch: "batch",
  exec: "exec",
  /** SQL text per statement, UTF-8 bytes (D1's limit). */
  maxSqlBytes: 100_000,
  /** Bound parameters per statement (D1's limit). */
  maxParams: 100,
  /** Statements per batch. */
  maxBatch: 1000,
  /** Statements one invocation may run (a batch counts each). */
  statementsPerInvocation: 1000,
} as const;

/** A parameter as it travels: null, a number, text, or a blob by its buffer. */
export type WireParam = null | number | string | { $b: number };

export interface WireStatement {
  sql: string;
  params: WireParam[];
}

export interface WireResult {
  columns: string[];
  rows: unknown[][];
  meta: { duration: number; changes: number; last_row_id: number; rows_read: number; rows_written: number; size_after: number; changed_db: boolean };
}

/** Why a statement cannot be sent, or null (the guest, the host and the platform check with it). */
export function statementProblem(s: unknown, blobs: number): string | null {
  if (typeof s !== "object" || s === null) return "malformed statement";
  const { sql, params } = s as { sql?: unknown; params?: unknown };
  if (typeof sql !== "string" || !Array.isArray(params)) return "malformed statement";
  if (sql.trim() === "") return "the SQL is empty";
  if (sql.length * 3 > sqlContract.maxSqlBytes && utf8Length(sql) > sqlContract.maxSqlBytes) {
    return `the SQL is over ${sqlContract.maxSqlBytes} bytes; bind values as parameters instead of writing them into the text`;
  }
  if (params.length > sqlContract.maxParams) return `${params.length} parameters, over the ${sqlContract.maxParams} a statement may bind`;
  for (const p of params) {
    if (p === null || typeof p === "string" || (typeof p === "number" && Number.isFinite(p))) continue;
    if (typeof p === "object" && typeof (p as { $b?: unknown }).$b === "number" && Number.isInteger((p as { $b: number }).$b) && (p as { $b: number }).$b >= 0 && (p as { $b: number }).$b < blobs) continue;
    return "malformed parameter";
  }
  return null;
}
