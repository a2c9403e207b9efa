/**
 * A queue binding's platform side: a `send` becomes durable async invocations of the bound
 * function — all of the messages or none — batched for its `queue` handler when it exports
 * one, else each a POST to its `fetch`. The messages go one queue hop further than the
 * sender (queue/hops.ts) and their attempts continue the sender's trace.
 */
import { hopsOfSend } from "../../queue/index.ts";
import { epochMs, sendQueueTrace } from "../../telemetry/index.ts";
import { checkFunctionTarget, result, type BindingPlatformKind } from "../platform-types.ts";
import { queueContract } from "./contract.ts";
import { queueSendLimits } from "./host.ts";

export const queuePlatform: BindingPlatformKind = {
  kind: queueContract.kind,
  open: (node) => ({
    checkTarget: (tenant, fn, binding, target) => checkFunctionTarget(node, queueContract.kind, tenant, fn, binding, target),
    async call(call, tenant) {
      const target = node.liveFunction(call.target);
      if (target === undefined) return result(`the bound function "${call.target}" is not deployed (any more)`);
      if (target.tenant !== tenant) return result(`"${call.target}" belongs to another tenant`);
      const bodies = call.buffers;
      if (call.method !== queueContract.send || bodies.length === 0 || bodies.length > queueSendLimits.messages || call.strings.length !== bodies.length
        || bodies.some((b) => b.byteLength > queueSendLimits.messageBytes)) {
        return result(`a queue send of 1 to ${queueSendLimits.messages} messages of at most ${queueSendLimits.messageBytes} bytes each`);
      }
      const kind = target.handlers.includes("queue") ? "queue" : "fetch";
      const hops = hopsOfSend(call.hops);
      const trace = sendQueueTrace(node.traces, call.trace, call.traceState);
      const started = epochMs(performance.now());
      let failed: string | undefined;
      try {
        await node.submit(bodies.map((payload, i) => ({
          function: call.target, tenant, kind, payload, contentType: call.strings[i]!, idempotencyKey: null, hops,
          trace: trace?.trace ?? null, traceState: trace?.traceState ?? null,
        })));
        return result("");
      } catch (err) {
        failed = err instanceof Error ? err.message : String(err);
        return result(`the messages were not queued: ${failed}`);
      } finally {
        trace?.record(started, started, epochMs(performance.now()), { "flick.messages": bodies.length }, failed);
      }
    },
    close: async () => {},
  }),
};
