import { functionTarget } from "../settings-target.ts";
/** A queue binding's names (../settings.ts): `env.NAME.send(body)` queues async invocations of another function of the tenant. */
export const queueSettings = {
  kind: "queue",
  apiKey: "queueBindings",
  flag: "queue-binding",
  table: "queues",
  help: "env.NAME.send(body) queues async invocations of FN (same tenant; repeatable)",
  target: functionTarget,
  typeName: "FlickQueue",
  typeDeclaration: `/** \`env.NAME.send()\` of a queue binding: resolves once the messages are durable. */
interface FlickQueue {
  send(body: unknown): Promise<void>;
  sendBatch(messages: { body: unknown }[]): Promise<void>;
}`,
} as const;
