/**
 * Bindings in `env`: objects that reach other functions of the same tenant through the
 * host, never the network. A service binding (`env.API.fetch(request)`) calls the bound
 * function's instance directly; a queue binding (`env.JOBS.send(body)`,
 * `sendBatch(messages)`) queues async invocations of the bound function and resolves once
 * they are durable. The guest names only its binding; the host knows what it points at.
 */
import { fetchThrough } from "./fetch.ts";
import { emit, maxQueueBatch, maxQueueMessage } from "./host-ops.ts";
import { currentInvocation, enterInvocation } from "./invocation-scope.ts";
import { TextEncoder } from "./web/text-encoding.ts";

const pending = new Map<number, { invocation: number; resolve(): void; reject(error: unknown): void }>();
let nextOp = 1;
const encoder = new TextEncoder();

/** A message body as bytes and a content type: text, bytes, or anything else as JSON. */
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
  if (bytes.byteLength > maxQueueMessage) {
    throw new RangeError(`env.${binding}.send(): a message is ${bytes.byteLength} bytes, over the ${maxQueueMessage}-byte limit; send a reference to large data`);
  }
  return [bytes, type];
}

function send(binding: string, bodies: unknown[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const invocation = currentInvocation();
    if (invocation === 0) throw new Error(`env.${binding}.send() cannot be called at module scope: call it while handling a request`);
    if (bodies.length > maxQueueBatch) throw new RangeError(`env.${binding}.sendBatch(): at most ${maxQueueBatch} messages per batch, got ${bodies.length}`);
    const encoded = bodies.map((b) => encode(b, binding));
    const op = nextOp++;
    pending.set(op, { invocation, resolve, reject });
    try {
      emit(["queueSend", invocation, op, binding, encoded.map((e) => e[0]), encoded.map((e) => e[1])]);
    } catch (err) {
      pending.delete(op);
      throw err;
    }
  });
}

/** The host's answer to a send: "" when the messages are durable, else why not. */
export function queueDone(op: number, error: string): void {
  const p = pending.get(op);
  if (p === undefined) return;
  pending.delete(op);
  enterInvocation(p.invocation);
  if (error === "") p.resolve();
  else p.reject(new Error(error));
}

/** The env object of a binding, by kind ("service" or "queue"). */
export function bindingObject(name: string, kind: string): object {
  if (kind === "service") {
    return Object.freeze({
      fetch: (input: unknown, init?: unknown) => fetchThrough(name, input, init),
    });
  }
  return Object.freeze({
    send: (body: unknown) => send(name, [body]),
    sendBatch: (messages: unknown) => {
      if (!Array.isArray(messages)) return Promise.reject(new TypeError(`env.${name}.sendBatch(): pass an array of { body } objects`));
      return send(name, messages.map((m: unknown) => (typeof m === "object" && m !== null && "body" in m ? (m as { body: unknown }).body : m)));
    },
  });
}
