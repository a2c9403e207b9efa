/**
 * What a JetStream store makes of NATS failing under it: unreachable, timing out, or a
 * stream without a leader (during an election, or without quorum), or a replicated stream
 * that cannot be placed yet (servers still joining) is 503
 * `store_unavailable` with Retry-After, and the write did not happen (JetStream
 * acknowledges only what a majority stored). Any other error is passed on as it is.
 */
import { FlickError } from "../errors/index.ts";

export async function storeUnavailable<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof FlickError) throw err;
    const text = `${String(err)} ${String((err as Error).cause ?? "")}`;
    if (/replicas > 1 not supported in non-clustered mode/i.test(text)) {
      // Not a passing failure: a single NATS server keeps one copy, and will never keep three.
      throw new FlickError("bad_request", `${what}: the NATS server is a single server, not a cluster, so it keeps one copy of each stream; start every node with --cluster-replicas 1, or run three NATS servers as a cluster for three copies (docs/cluster.md)`, { cause: err });
    }
    if (/timeout|no responders|503|closed|disconnect|not enabled|unavailable|no suitable peers/i.test(text)) {
      throw new FlickError("store_unavailable", `${what}: the cluster's store (NATS JetStream) did not answer (${String(err)}); nothing was changed, retry in 1 s`, {
        details: { retryAfterSeconds: 1 },
        cause: err,
      });
    }
    throw err;
  }
}
