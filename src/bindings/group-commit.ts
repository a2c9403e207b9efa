/**
 * Writes to one SQLite file that arrive together, committed together: each is queued and
 * the queue is written in one transaction on the next turn of the event loop, fsynced
 * before any of them resolves (the file runs `synchronous=FULL`). Each write runs in its
 * own savepoint, so one that throws (over a quota, say) fails alone and leaves nothing.
 * KV namespaces and durable-object storage keep their files this way.
 */
import type { DatabaseSync } from "node:sqlite";
import { FlickError } from "../errors/index.ts";

interface Write {
  run(): void;
  resolve(): void;
  reject(err: unknown): void;
}

export class GroupCommit {
  private readonly db: DatabaseSync;
  private readonly what: string;
  private pending: Write[] = [];
  private flushing = false;
  private closed = false;

  /** `what` names the store in errors ("the KV store"). */
  constructor(db: DatabaseSync, what: string) {
    this.db = db;
    this.what = what;
  }

  /** Queues `work` for the next commit; resolves with its result once that commit is on disk. */
  write<T>(work: () => T): Promise<T> {
    if (this.closed) return Promise.reject(new FlickError("store_unavailable", `${this.what} is closed (the node is stopping)`));
    return new Promise<T>((resolve, reject) => {
      let result: T;
      this.pending.push({ run: () => void (result = work()), resolve: () => resolve(result), reject });
      if (!this.flushing) {
        this.flushing = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    const done: Write[] = [];
    const failed: [Write, unknown][] = [];
    try {
      this.db.exec("BEGIN IMMEDIATE");
      for (const w of batch) {
        this.db.exec("SAVEPOINT w");
        try {
          w.run();
          this.db.exec("RELEASE w");
          done.push(w);
        } catch (err) {
          this.db.exec("ROLLBACK TO w");
          this.db.exec("RELEASE w");
          failed.push([w, err]);
        }
      }
      this.db.exec("COMMIT");
    } catch (err) {
      try {
        this.db.exec("ROLLBACK");
      } catch {}
      const why = new FlickError("store_unavailable", `${this.what} could not write: ${err instanceof Error ? err.message : String(err)}`);
      for (const w of batch) w.reject(why);
      this.afterFlush();
      return;
    }
    for (const w of done) w.resolve();
    for (const [w, err] of failed) w.reject(err);
    this.afterFlush();
  }

  private afterFlush(): void {
    if (this.pending.length > 0) setImmediate(() => this.flush());
    else this.flushing = false;
  }

  /** Refuses new writes and waits for the queued ones to be written. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await new Promise((resolve) => setImmediate(resolve));
  }
}
