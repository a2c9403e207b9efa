/** A SQL binding's names (../settings.ts): `env.NAME` is a SQLite database of the tenant with D1's API (`flick db create`). */
export const sqlSettings = {
  kind: "sql",
  apiKey: "sqlBindings",
  flag: "sql-binding",
  table: "sql",
  help: "env.NAME is SQL database DB of the tenant, with D1's API (`flick db create DB` first; repeatable)",
  target: { pattern: /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, rule: "database names are 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit" },
  typeName: "FlickD1Database",
  typeDeclaration: `/** \`env.NAME\` of a SQL binding: D1's API on a SQLite database of the tenant. */
interface FlickD1Result<T = Record<string, unknown>> {
  results: T[];
  success: true;
  meta: { duration: number; changes: number; last_row_id: number; rows_read: number; rows_written: number; size_after: number; changed_db: boolean };
}
interface FlickD1PreparedStatement {
  bind(...values: unknown[]): FlickD1PreparedStatement;
  first<T = Record<string, unknown>>(column?: string): Promise<T | null>;
  all<T = Record<string, unknown>>(): Promise<FlickD1Result<T>>;
  run<T = Record<string, unknown>>(): Promise<FlickD1Result<T>>;
  raw<T = unknown[]>(options?: { columnNames?: boolean }): Promise<T[]>;
}
interface FlickD1Database {
  prepare(sql: string): FlickD1PreparedStatement;
  batch<T = Record<string, unknown>>(statements: FlickD1PreparedStatement[]): Promise<FlickD1Result<T>[]>;
  exec(sql: string): Promise<{ count: number; duration: number }>;
}`,
} as const;

/** Database names: what `flick db create` accepts and `--sql-binding NAME=DB` names. */
export const sqlDatabasePattern = sqlSettings.target.pattern;
