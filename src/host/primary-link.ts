/**
 * A worker host's line to the primary: the fork IPC channel, messages batched per
 * event-loop turn (message-batch.ts), and asks that wait for their answer by id.
 */
import { MessageBatch } from "./message-batch.ts";
import type { FromHost, ToHost } from "./protocol.ts";

/** The primary's answers to a host's asks (other messages with ids are the primary's own asks). */
type Answer = Extract<ToHost, { t: "acquired" | "authed" | "logsStored" }>;
const answerKinds = new Set(["acquired", "authed", "logsStored"]);

export class PrimaryLink {
  private readonly batch: MessageBatch<FromHost>;
  private readonly waiting = new Map<number, (answer: Answer) => void>();
  private nextId = 1;

  constructor(write: (messages: FromHost[]) => void) {
    this.batch = new MessageBatch(write);
  }

  send(message: FromHost): void {
    this.batch.send(message);
  }

  /** Writes what is batched now (before the process exits). */
  flush(): void {
    this.batch.flush();
  }

  /** Sends what `build` makes with a fresh id and resolves with the primary's answer to it. */
  ask<A extends Answer>(build: (id: number) => FromHost): Promise<A> {
    const id = this.nextId++;
    return new Promise<A>((resolve) => {
      this.waiting.set(id, resolve as (answer: Answer) => void);
      this.send(build(id));
    });
  }

  /** An answer from the primary: true when it was one this link waited for. */
  answer(message: ToHost): boolean {
    if (!answerKinds.has(message.t)) return false;
    const answer = message as Answer;
    const resolve = this.waiting.get(answer.id);
    if (resolve === undefined) return false;
    this.waiting.delete(answer.id);
    resolve(answer);
    return true;
  }
}
