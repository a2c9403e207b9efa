/**
 * Batches IPC messages: everything sent during one turn of the event loop leaves as one
 * array in one write, flushed by setImmediate (after the I/O that produced them). Under
 * load this turns one syscall per message into one per loop turn; the receiver unpacks.
 */
export class MessageBatch<T> {
  private queue: T[] = [];
  private scheduled = false;
  private readonly write: (messages: T[]) => void;

  constructor(write: (messages: T[]) => void) {
    this.write = write;
  }

  send(message: T): void {
    this.queue.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.queue.length === 0) return;
    const messages = this.queue;
    this.queue = [];
    this.write(messages);
  }

  /** Drops what is queued (the other side is gone). */
  clear(): void {
    this.queue = [];
  }
}
