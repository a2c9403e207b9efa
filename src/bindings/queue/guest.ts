/**
 * `env.JOBS` of a queue binding, inside the isolate: `send(body)` and `sendBatch(messages)`
 * queue async invocations of the bound function and resolve once they are durable. A body
 * is text, bytes, or anything else as JSON.
 */
import { callBinding } from "../../runtime/guest/binding-channel.ts";
import { TextEncoder } from "../../runtime/guest/web/text-encoding.ts";
import { queueContract } from "./contract.ts";

const encoder = new TextEncoder();

/** A message body as bytes and a content type. */
function encode(body: unknown, binding: string): [Uint8Array, string] {
  let bytes: Uint8Array;
  let type: string;
  if (typeof body === "string") [bytes, type] = [encoder.encode(body), "text/plain; charset=utf-8"];
  else if (body instanceof ArrayBuffer) [bytes, type] = [new Uint8Array(body.slice(0)), "application/octet-stream"];
  else if (ArrayBuffer.isView(body)) [bytes, type] = [new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer), "application/octet-stream"];
  else {
    const json = JSON.stringify(body);
    if (json === undefined) throw new TypeError(`env.${binding}.send(): the body must be a string, bytes, or JSON-serialisable (got ${typeof body})`);
    [bytes, type] = [encoder.encode(json), "application/json"];
  }
  if (bytes.byteLength > queueContract.maxMessageBytes) {
    throw new RangeError(`env.${binding}.send(): a message is ${bytes.byteLength} bytes, over the ${queueContract.maxMessageBytes}-byte limit; send a reference to large data`);
  }
  return [bytes, type];
}

async function send(binding: string, bodies: unknown[]): Promise<void> {
  if (bodies.length > queueContract.maxBatch) throw new RangeError(`env.${binding}.sendBatch(): at most ${queueContract.maxBatch} messages per batch, got ${bodies.length}`);
  const encoded = bodies.map((b) => encode(b, binding));
  await callBinding(queueContract.kind, binding, queueContract.send, encoded.map((e) => e[1]), encoded.map((e) => e[0]));
}

export function queueBinding(name: string): object {
  return Object.freeze({
    send: (body: unknown) => send(name, [body]),
    sendBatch: (messages: unknown) => {
      if (!Array.isArray(messages)) return Promise.reject(new TypeError(`env.${name}.sendBatch(): pass an array of { body } objects`));
      return send(name, messages.map((m: unknown) => (typeof m === "object" && m !== null && "body" in m ? (m as { body: unknown }).body : m)));
    },
  });
}
