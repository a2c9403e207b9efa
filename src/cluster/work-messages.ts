/**
 * The few JetStream consumer operations the async queue needs, spoken directly: a pull that
 * returns at once with what is there (the client library's pulls wait at least a second for
 * a full batch, which a claim must not), and the acknowledgements of a delivered message.
 * A delivery's reply subject names it; whichever connection publishes to that subject acks,
 * extends or gives it back, so a node that starts again can give back what it left running.
 */
import { createInbox, type Msg, type NatsConnection } from "@nats-io/transport-node";

/**
 * Up to `batch` messages waiting for `consumer`, without waiting for more to arrive; with
 * `waitMs`, waiting that long for the batch to fill (for a reader that knows they are there).
 *
 * A pull the server never answers (one that reached a consumer between leaders, or a server
 * too loaded to answer in `timeoutMs`) is an error, and its inbox stays open a while longer:
 * whatever the server still delivers there is given back at once, so it runs again now
 * rather than when its ack wait ends.
 */
export function pullNow(nc: NatsConnection, stream: string, consumer: string, batch: number, timeoutMs = 5000, waitMs?: number): Promise<Msg[]> {
  return new Promise((resolve, reject) => {
    const inbox = createInbox();
    const got: Msg[] = [];
    let settled = false;
    const done = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sub.unsubscribe();
      if (err === undefined) resolve(got);
      else reject(err);
    };
    const sub = nc.subscribe(inbox, {
      callback: (err, msg) => {
        if (err !== null) return done(err);
        // A status (404 no messages, 408 timed out, 409 over max ack pending) ends the pull.
        if ((msg.headers?.code ?? 0) >= 400) return settled ? sub.unsubscribe() : done();
        if (settled) {
          if (msg.reply !== undefined) giveBack(nc, msg.reply);
          return;
        }
        got.push(msg);
        if (got.length >= batch) done();
      },
    });
    const timer = setTimeout(() => {
      if (got.length > 0) return done();
      settled = true;
      reject(new Error(`timeout: consumer ${consumer} of ${stream} did not answer a pull in ${timeoutMs} ms`));
      setTimeout(() => sub.unsubscribe(), lateAnswerMs).unref();
    }, timeoutMs);
    const ask = waitMs === undefined ? { batch, no_wait: true } : { batch, expires: waitMs * 1_000_000 };
    nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`, JSON.stringify(ask), { reply: inbox });
  });
}

/** How long the inbox of an unanswered pull stays open to give back late deliveries. */
const lateAnswerMs = 60_000;

/**
 * How many times JetStream has delivered this message (1: the first time), from its reply
 * subject: `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.…`, or with a domain and
 * account hash after `$JS.ACK` (12 or more tokens).
 */
export function deliveryOf(ackSubject: string): { deliveries: number; seq: number } {
  const t = ackSubject.split(".");
  const at = t.length >= 12 ? 6 : 4;
  return { deliveries: Number(t[at]), seq: Number(t[at + 1]) };
}

/** Done with it: JetStream removes it from the work queue. */
export function ack(nc: NatsConnection, ackSubject: string): void {
  nc.publish(ackSubject, "+ACK");
}

/** Still working on it: its ack wait starts again. */
export function inProgress(nc: NatsConnection, ackSubject: string): void {
  nc.publish(ackSubject, "+WPI");
}

/** Give it back: delivered again after `delayMs` (0: at once). */
export function giveBack(nc: NatsConnection, ackSubject: string, delayMs = 0): void {
  nc.publish(ackSubject, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: Math.round(delayMs) * 1_000_000 })}` : "-NAK");
}
