/**
 * Runs a request through the node's request path (GatewayBackend.invoke: scheduler,
 * limits, instance, logs) and keeps the response in memory — for callers that are not an
 * HTTP client: async attempts and service binding calls. At most `maxBytes` of the body are
 * kept; past that the response is `truncated`, and with `cancelOnOverflow` the invocation
 * is stopped (a caller that cannot use the rest should not make the function produce it).
 */
import type { ErrorData } from "../errors/index.ts";
import type { GatewayBackend, RouteTarget } from "../gateway/index.ts";
import type { ClientGone, WireRequest } from "../host/index.ts";

export interface Collected {
  /** 0 when no response head came (the invocation failed first). */
  status: number;
  headers: string[];
  body: Uint8Array;
  truncated: boolean;
  error: ErrorData | null;
}

/** Throws what `invoke` throws: a FlickError (429 and its reason) when nothing ran. */
export async function collectResponse(
  backend: Pick<GatewayBackend, "invoke">,
  target: RouteTarget,
  request: WireRequest,
  invocationId: string,
  maxBytes: number,
  cancelOnOverflow = false,
): Promise<Collected> {
  let status = 0;
  let headers: string[] = [];
  const kept: Uint8Array[] = [];
  let keptBytes = 0;
  let truncated = false;
  const gone: ClientGone = {};
  const keep = (bytes: Uint8Array | null) => {
    if (bytes === null || bytes.byteLength === 0 || truncated) return;
    const room = maxBytes - keptBytes;
    if (bytes.byteLength > room) {
      truncated = true;
      if (cancelOnOverflow) gone.cancel?.();
    }
    if (room > 0) {
      kept.push(bytes.subarray(0, room));
      keptBytes += Math.min(room, bytes.byteLength);
    }
  };
  const { error } = await backend.invoke(
    target,
    request,
    invocationId,
    {
      head: (s, h, body) => {
        status = s;
        headers = h;
        keep(body);
      },
      chunk: (bytes, _end, written) => {
        keep(bytes);
        written();
      },
    },
    undefined,
    gone,
  );
  return { status, headers, body: kept.length === 1 ? kept[0]! : new Uint8Array(Buffer.concat(kept)), truncated, error };
}
