/**
 * A queue binding's calls on the binding channel (runtime/guest/binding-channel.ts), shared
 * by its guest and host sides: `send` carries the messages' bodies as buffers and their
 * content types as strings, one of each per message, and answers nothing once they are
 * durable. The guest checks the limits for a clear error where the call is made; the host
 * checks them again on what arrived.
 */
export const queueContract = {
  kind: "queue",
  send: "send",
  /** Messages per `sendBatch`. */
  maxBatch: 100,
  /** Bytes per message: the async payload limit (model/limits.ts `asyncPayloadMaxBytes`). */
  maxMessageBytes: 1024 * 1024,
} as const;
