/**
 * A streamed request body, from its source (the client's socket, or the primary) into a
 * running invocation, at most `streamHighWaterBytes` ahead of what the function has read:
 * above that the source is not read further (TCP back-pressure) until the function reads on.
 */
import { streamHighWaterBytes, type InvocationControl } from "./protocol.ts";

export interface BodyPump {
  /** The function read `bytes` more. */
  credit(bytes: number): void;
  /** The invocation ended: stop reading the source. */
  stop(): void;
}

export function pumpBody(body: AsyncIterable<Uint8Array>, control: InvocationControl): BodyPump {
  let unread = 0;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pump: BodyPump = {
    credit(bytes) {
      unread -= bytes;
      if (unread <= streamHighWaterBytes) wake?.();
    },
    stop() {
      stopped = true;
      wake?.();
    },
  };
  void (async () => {
    try {
      for await (const bytes of body) {
        if (stopped) return;
        control.body(bytes, false);
        unread += bytes.byteLength;
        while (unread > streamHighWaterBytes && !stopped) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
      if (!stopped) control.body(new Uint8Array(0), true);
    } catch (err) {
      if (!stopped) control.body(new Uint8Array(0), true, (err as Error).message ?? String(err));
    }
  })();
  return pump;
}
