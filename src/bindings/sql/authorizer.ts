/**
 * What SQL a tenant's database lets through, checked by SQLite as it prepares each statement
 * (`setAuthorizer`). Only the database's own tables: no ATTACH or DETACH (another file), no
 * extensions, pragmas limited to reading the schema and foreign-key settings, no virtual
 * tables beyond full-text search and r-trees, and no transaction control (a batch is one
 * transaction; the runner holds them). `VACUUM` never reaches the authorizer (`VACUUM INTO`
 * writes any file), so the runner refuses it by its first keyword.
 */
import { constants } from "node:sqlite";

/** Pragmas a function may run with an argument: they read the schema, check it, or set foreign-key checking. */
const pragmasWithArgument = new Set([
  "table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo", "foreign_key_list", "foreign_key_check",
  "quick_check", "integrity_check", "foreign_keys", "defer_foreign_keys", "user_version", "optimize",
]);
/** Pragmas a function may only read. */
const readOnlyPragmas = new Set(["page_count", "page_size", "freelist_count", "data_version", "collation_list", "function_list"]);
const allowedPragmas = [...pragmasWithArgument, ...readOnlyPragmas];
const allowedModules = new Set(["fts5", "fts4", "fts3", "rtree"]);

export interface SqlAuthorizer {
  /** SQLite's callback. */
  check(action: number, arg1: string | null, arg2: string | null, dbName: string | null, trigger: string | null): number;
  /** Why the last statement refused was refused (for its error message). */
  lastDenial: string;
  /** True while the runner runs its own statements (BEGIN, COMMIT, SAVEPOINT). */
  internal: boolean;
}

export function sqlAuthorizer(): SqlAuthorizer {
  const a: SqlAuthorizer = {
    lastDenial: "",
    internal: false,
    check(action, arg1, arg2, dbName) {
      const deny = (why: string) => {
        a.lastDenial = why;
        return constants.SQLITE_DENY;
      };
      if (a.internal) return constants.SQLITE_OK;
      switch (action) {
        case constants.SQLITE_ATTACH:
        case constants.SQLITE_DETACH:
          return deny("ATTACH and DETACH are not allowed: a function's database is one file");
        case constants.SQLITE_TRANSACTION:
        case constants.SQLITE_SAVEPOINT:
          return deny("BEGIN, COMMIT, ROLLBACK and SAVEPOINT are not allowed: use batch() to run statements in one transaction");
        case constants.SQLITE_PRAGMA: {
          const name = (arg1 ?? "").toLowerCase();
          // `PRAGMA foreign_keys = ON` and `PRAGMA table_info(t)` pass their argument as arg2.
          if (pragmasWithArgument.has(name) || (readOnlyPragmas.has(name) && arg2 === null)) return constants.SQLITE_OK;
          if (readOnlyPragmas.has(name)) return deny(`PRAGMA ${name} may be read, not set`);
          return deny(`PRAGMA ${name} is not allowed (allowed: ${allowedPragmas.join(", ")})`);
        }
        case constants.SQLITE_FUNCTION:
          if ((arg2 ?? "").toLowerCase() === "load_extension") return deny("load_extension() is not allowed");
          return constants.SQLITE_OK;
        case constants.SQLITE_CREATE_VTABLE:
        case constants.SQLITE_DROP_VTABLE:
          if (!allowedModules.has((arg2 ?? "").toLowerCase())) return deny(`virtual tables of module ${arg2 ?? "?"} are not allowed (fts5, fts4, fts3 and rtree are)`);
          return constants.SQLITE_OK;
        default:
          // Only the database's own schema ("main"), and what a statement makes for itself ("temp").
          if (dbName !== null && dbName !== "main" && dbName !== "temp") return deny(`database "${dbName}" is not this function's`);
          return constants.SQLITE_OK;
      }
    },
  };
  return a;
}
