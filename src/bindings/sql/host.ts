/**
 * A SQL binding's host side: checks the call's shape and statements again, counts each
 * statement against the invocation's 1,000 (they are not subrequests, as in D1), and passes
 * the call on to the node, where the database is looked up for the caller's tenant.
 */
import { answer, type BindingHost } from "../host-types.ts";
import { sqlContract, statementProblem } from "./contract.ts";

/** The statements a call carries, or why it is malformed. */
export function statementsOf(method: string, buffers: readonly Uint8Array[]): unknown[] | string {
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(buffers[0] ?? new Uint8Array(0)).toString("utf8"));
  } catch {
    return "malformed call";
  }
  const blobs = buffers.length - 1;
  let statements: unknown[];
  if (method === sqlContract.query) statements = [body];
  else if (method === sqlContract.batch) {
    const list = (body as { statements?: unknown } | null)?.statements;
    if (!Array.isArray(list) || list.length === 0 || list.length > sqlContract.maxBatch) return `a batch is 1 to ${sqlContract.maxBatch} statements`;
    statements = list;
  } else if (method === sqlContract.exec) statements = [{ sql: (body as { sql?: unknown } | null)?.sql, params: [] }];
  else return `${method.slice(0, 64)}() is not a method of a SQL binding (prepare, batch, exec)`;
  for (const s of statements) {
    const problem = statementProblem(s, blobs);
    if (problem !== null) return problem;
  }
  return statements;
}

export const sqlHost: BindingHost = {
  kind: sqlContract.kind,
  async call(ctx, binding, target, method, strings, buffers) {
    const statements = statementsOf(method, buffers);
    if (typeof statements === "string") return answer(`env.${binding}: ${statements}`, "TypeError");
    for (let i = 0; i < statements.length; i++) {
      if (!ctx.count(sqlContract.kind, sqlContract.statementsPerInvocation)) {
        return answer(`env.${binding}: too many SQL statements: one request may run at most ${sqlContract.statementsPerInvocation}`);
      }
    }
    const span = { name: `flick.sql.${method}`, kind: "client" as const, attributes: () => ({ "flick.binding": binding, "db.namespace": target, "db.operation.batch.size": statements.length }) };
    try {
      return await ctx.call(span, method, strings, buffers, (result) => result.error || undefined);
    } catch (err) {
      return answer(`env.${binding}.${method}() failed inside Flick: ${err instanceof Error ? err.message : String(err)}`);
    }
  },
};
