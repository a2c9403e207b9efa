/**
 * What the JetStream KV backend makes of NATS failing under it, told apart by the errors'
 * classes and JetStream's codes (never their text): unreachable, timing out, no responders
 * (a stream between leaders) or a 5xx from JetStream (no quorum) is 503 `store_unavailable`
 * with Retry-After, as the rest of the cluster's store answers. Anything else passes as it is.
 */
import { JetStreamApiCodes, JetStreamApiError } from "@nats-io/jetstream";
import { ClosedConnectionError, ConnectionError, DrainingConnectionError, NoRespondersError, RequestError, TimeoutError } from "@nats-io/transport-node";
import { FlickError } from "../../errors/index.ts";

/** JetStream's code for a message delete that found no such message (it was replaced or deleted). */
const msgDeleteFailed = 10057;

function unreachable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof TimeoutError || e instanceof NoRespondersError || e instanceof RequestError) return true;
    if (e instanceof ClosedConnectionError || e instanceof DrainingConnectionError || e instanceof ConnectionError) return true;
    if (e instanceof JetStreamApiError && e.status >= 500) return true;
  }
  return false;
}

/** Runs `work`; NATS out of reach becomes `store_unavailable` naming `what`. */
export async function natsUnavailable<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof FlickError || !unreachable(err)) throw err;
    throw new FlickError("store_unavailable", `${what}: the cluster's store (NATS JetStream) did not answer (${String(err)}); retry in 1 s`, {
      details: { retryAfterSeconds: 1 },
      cause: err,
    });
  }
}

/** A write that expected a revision found another: someone wrote the key since it was read. */
export const isConflict = (err: unknown): boolean =>
  err instanceof JetStreamApiError && (err.code === JetStreamApiCodes.StreamWrongLastSequence || err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

/** A delete of a message by its sequence found it gone (or failed otherwise: the caller reads again to know). */
export const isDeleteMiss = (err: unknown): boolean => err instanceof JetStreamApiError && err.code === msgDeleteFailed;
