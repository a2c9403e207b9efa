/**
 * A KV binding's host side: checks the call's shape and limits again, counts it against the
 * invocation's 1,000 KV operations (KV operations are not subrequests, as in Workers), and
 * passes it on to the node, where the namespace is looked up for the caller's tenant.
 */
import { answer, type BindingHost } from "../host-types.ts";
import { callProblem, kvContract } from "./contract.ts";

export const kvHost: BindingHost = {
  kind: kvContract.kind,
  async call(ctx, binding, target, method, strings, buffers) {
    const problem = callProblem(method, strings, buffers);
    if (problem !== null) return answer(`env.${binding}: ${problem}`, "TypeError");
    if (!ctx.count(kvContract.kind, kvContract.operationsPerInvocation)) {
      return answer(`env.${binding}.${method}(): too many KV operations: one request may make at most ${kvContract.operationsPerInvocation}`);
    }
    const span = { name: `flick.kv.${method}`, kind: "client" as const, attributes: () => ({ "flick.binding": binding, "flick.namespace": target }) };
    try {
      return await ctx.call(span, method, strings, buffers, (result) => result.error || undefined);
    } catch (err) {
      return answer(`env.${binding}.${method}() failed inside Flick: ${err instanceof Error ? err.message : String(err)}`);
    }
  },
};
