/**
 * A queue binding's host side: `send` on the binding channel queues the messages as async
 * invocations of the bound function, durable before the guest's promise resolves. The
 * limits are checked again on what arrived, whatever the guest's getters said.
 */
import { limits } from "../../model/index.ts";
import { answer, type BindingHost } from "../host-types.ts";
import { queueContract } from "./contract.ts";

/** Queue messages per send/sendBatch, and bytes per message (the async payload limit). */
export const queueSendLimits = { messages: queueContract.maxBatch, messageBytes: limits.asyncPayloadMaxBytes } as const;

export const queueHost: BindingHost = {
  kind: queueContract.kind,
  async call(ctx, binding, target, method, contentTypes, bodies) {
    if (method !== queueContract.send) return answer(`env.${binding}.${method.slice(0, 64)}() is not a method of a queue binding`);
    if (bodies.length === 0 || bodies.length > queueSendLimits.messages || contentTypes.length !== bodies.length) {
      return answer(`env.${binding}.sendBatch(): send 1 to ${queueSendLimits.messages} messages at a time`);
    }
    for (const body of bodies) {
      if (body.byteLength > queueSendLimits.messageBytes) {
        return answer(`env.${binding}.send(): a message is ${body.byteLength} bytes, over the ${queueSendLimits.messageBytes}-byte limit; send a reference to large data`);
      }
    }
    const refused = ctx.subrequest(`env.${binding}.send`);
    if (refused !== null) return answer(refused);
    const attributes = { "flick.target": target.slice(target.indexOf("/") + 1), "messaging.batch.message_count": bodies.length };
    const span = { name: "flick.queue.send", kind: "producer" as const, attributes: () => attributes };
    try {
      // The messages' attempts continue this trace, as children of the send's span.
      return await ctx.call(span, queueContract.send, contentTypes, bodies, (result) => result.error || undefined);
    } catch (err) {
      return answer(`the messages were not queued: ${err instanceof Error ? err.message : String(err)}`);
    }
  },
};
