/**
 * `env.DB` of a SQL binding, inside the isolate: D1's API — `prepare(sql).bind(…)` with
 * `first`, `all`, `run` and `raw`, `batch([…])` in one transaction, and `exec(sql)`.
 * Parameters are checked here for an error where the call is made, then again by the host
 * and the node.
 */
import { callBinding } from "../../runtime/guest/binding-channel.ts";
import { TextDecoder, TextEncoder } from "../../runtime/guest/web/text-encoding.ts";
import { sqlContract, statementProblem, type WireParam, type WireResult, type WireStatement } from "./contract.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A bound value as SQLite takes it: booleans as 0/1, bytes as a blob (kept in `blobs`). */
function param(binding: string, value: unknown, blobs: Uint8Array[]): WireParam {
  if (value === null || typeof value === "string") return value;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new TypeError(`env.${binding}: cannot bind ${value}; SQLite stores finite numbers`);
    return value;
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "bigint") {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) throw new RangeError(`env.${binding}: the bigint ${value} is outside the safe integer range; bind it as text`);
    return Number(value);
  }
  let bytes: Uint8Array | undefined;
  if (value instanceof ArrayBuffer) bytes = new Uint8Array(value.slice(0));
  else if (ArrayBuffer.isView(value)) bytes = new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength) as ArrayBuffer);
  if (bytes !== undefined) {
    blobs.push(bytes);
    return { $b: blobs.length - 1 };
  }
  throw new TypeError(`env.${binding}: cannot bind a value of type ${value === undefined ? "undefined" : typeof value}; bind null, a number, a string, a boolean or bytes`);
}

async function call(binding: string, method: string, body: unknown, blobs: Uint8Array[]): Promise<unknown> {
  const { buffers } = await callBinding(sqlContract.kind, binding, method, [], [encoder.encode(JSON.stringify(body)), ...blobs]);
  return JSON.parse(decoder.decode(buffers[0] ?? new Uint8Array(0)));
}

function objects(result: WireResult): Record<string, unknown>[] {
  return result.rows.map((row) => {
    const o: Record<string, unknown> = {};
    result.columns.forEach((c, i) => (o[c] = row[i]));
    return o;
  });
}

const d1Result = (result: WireResult) => ({ results: objects(result), success: true as const, meta: result.meta });

/** The statements of a batch (or one), encoded once: values converted, blobs collected. */
function wire(binding: string, statements: PreparedStatement[]): { statements: WireStatement[]; blobs: Uint8Array[] } {
  const blobs: Uint8Array[] = [];
  const encoded = statements.map((s) => s.encode(blobs));
  for (const s of encoded) {
    const problem = statementProblem(s, blobs.length);
    if (problem !== null) throw new RangeError(`env.${binding}: ${problem}`);
  }
  return { statements: encoded, blobs };
}

class PreparedStatement {
  readonly #binding: string;
  readonly #sql: string;
  readonly #values: readonly unknown[];

  constructor(binding: string, sql: string, values: readonly unknown[]) {
    this.#binding = binding;
    this.#sql = sql;
    this.#values = values;
  }

  /** This statement's SQL and parameters as they travel (blobs appended to `blobs`). */
  encode(blobs: Uint8Array[]): WireStatement {
    return { sql: this.#sql, params: this.#values.map((v) => param(this.#binding, v, blobs)) };
  }

  bind(...values: unknown[]): PreparedStatement {
    // Checked now, so a wrong value fails where it is bound.
    values.forEach((v) => param(this.#binding, v, []));
    return new PreparedStatement(this.#binding, this.#sql, values);
  }

  async #query(): Promise<WireResult> {
    const { statements, blobs } = wire(this.#binding, [this]);
    return (await call(this.#binding, sqlContract.query, statements[0], blobs)) as WireResult;
  }

  async all(): Promise<ReturnType<typeof d1Result>> {
    return d1Result(await this.#query());
  }

  async run(): Promise<ReturnType<typeof d1Result>> {
    return d1Result(await this.#query());
  }

  async first(column?: string): Promise<unknown> {
    const result = await this.#query();
    const row = result.rows[0];
    if (column === undefined) return row === undefined ? null : objects({ ...result, rows: [row] })[0];
    const at = result.columns.indexOf(column);
    if (at === -1) throw new Error(`env.${this.#binding}.first("${column}"): the statement has no column "${column}" (it has ${result.columns.join(", ") || "none"})`);
    return row === undefined ? null : row[at];
  }

  async raw(options?: { columnNames?: boolean }): Promise<unknown[][]> {
    const result = await this.#query();
    return options?.columnNames === true ? [result.columns, ...result.rows] : result.rows;
  }
}

export function sqlBinding(name: string): object {
  return Object.freeze({
    prepare(sql: unknown): PreparedStatement {
      if (typeof sql !== "string") throw new TypeError(`env.${name}.prepare(): the SQL is a string, got ${sql === null ? "null" : typeof sql}`);
      return new PreparedStatement(name, sql, []);
    },
    async batch(statements: unknown): Promise<ReturnType<typeof d1Result>[]> {
      if (!Array.isArray(statements) || statements.some((s) => !(s instanceof PreparedStatement))) {
        throw new TypeError(`env.${name}.batch(): pass an array of statements made by env.${name}.prepare()`);
      }
      if (statements.length === 0) return [];
      if (statements.length > sqlContract.maxBatch) throw new RangeError(`env.${name}.batch(): at most ${sqlContract.maxBatch} statements, got ${statements.length}`);
      const { statements: encoded, blobs } = wire(name, statements as PreparedStatement[]);
      const results = (await call(name, sqlContract.batch, { statements: encoded }, blobs)) as WireResult[];
      return results.map(d1Result);
    },
    async exec(sql: unknown): Promise<{ count: number; duration: number }> {
      if (typeof sql !== "string") throw new TypeError(`env.${name}.exec(): the SQL is a string`);
      const problem = statementProblem({ sql, params: [] }, 0);
      if (problem !== null) throw new RangeError(`env.${name}.exec(): ${problem}`);
      return (await call(name, sqlContract.exec, { sql }, [])) as { count: number; duration: number };
    },
  });
}
