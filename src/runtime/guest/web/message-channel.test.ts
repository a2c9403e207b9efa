import assert from "node:assert/strict";
import { test } from "node:test";
import { MessageChannel, MessageEvent } from "./message-channel.ts";

const next = (port: { addEventListener(t: string, f: (e: unknown) => void, o?: unknown): void; start(): void }) =>
  new Promise<MessageEvent>((resolve) => {
    port.addEventListener("message", (e) => resolve(e as MessageEvent), { once: true });
    port.start();
  });

test("messages are structured clones delivered in order once the port is started", async () => {
  const { port1, port2 } = new MessageChannel();
  const sent = { n: 1, nested: { list: [1, 2] } };
  port1.postMessage(sent);
  port1.postMessage("second");
  const seen: unknown[] = [];
  await new Promise<void>((resolve) => {
    port2.onmessage = (e) => {
      seen.push(e.data);
      if (seen.length === 2) resolve();
    };
  });
  assert.deepEqual(seen, [sent, "second"]);
  assert.notEqual(seen[0], sent, "a copy, not the same object");
});

test("nothing is delivered before start(), and close() stops delivery both ways", async () => {
  const { port1, port2 } = new MessageChannel();
  let got = 0;
  port2.addEventListener("message", () => got++);
  port1.postMessage("queued");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(got, 0);
  const event = await next(port2);
  assert.equal(event.data, "queued");
  port1.close();
  port1.postMessage("dropped");
  port2.postMessage("dropped too");
  await new Promise((r) => setTimeout(r, 5));
  assert.equal(got, 1);
});

test("ArrayBuffers can be transferred; uncloneable data throws DataCloneError", async () => {
  const { port1, port2 } = new MessageChannel();
  const buffer = new Uint8Array([1, 2, 3]).buffer;
  port1.postMessage(buffer, [buffer]);
  assert.equal(buffer.byteLength, 0);
  assert.deepEqual([...new Uint8Array((await next(port2)).data as ArrayBuffer)], [1, 2, 3]);
  assert.throws(() => port1.postMessage(() => 1), (e: Error) => e.name === "DataCloneError");
  assert.throws(() => port1.postMessage(null, [port2]), (e: Error) => e.name === "DataCloneError");
});

test("MessageEvent carries its init members", () => {
  const e = new MessageEvent("message", { data: { a: 1 }, origin: "o", lastEventId: "7" });
  assert.deepEqual([e.data, e.origin, e.lastEventId, e.source, e.ports.length], [{ a: 1 }, "o", "7", null, 0]);
  assert.equal(new MessageEvent("message").data, null);
});
