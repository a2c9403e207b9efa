/**
 * Blank instances made ahead of need: isolate, context and runtime ready, host connected
 * — everything a cold start does before it compiles the function. A cold start with one
 * only compiles and runs the module (~0.1 ms for a hello world).
 *
 * Refilled in the background: one blank instance at a time, only once the host has had
 * no request for `quietMs`. Most of the making runs on an isolate thread, but creating
 * the isolate itself and the thread it takes compete with requests for the same cores
 * (measured before entries were asynchronous: refilling right after a take left cold
 * starts as slow as without a pool). Sized adaptively: the target doubles when a cold
 * start finds the pool empty (up to `max`), and shrinks by one each minute nothing missed.
 * Only for functions with the pool's memory limit (an isolate's limit is fixed at
 * creation): the default, which most functions keep.
 */
import type { Instance } from "./instance.ts";

export interface IsolatePoolOptions {
  memoryMiB: number;
  initial: number;
  max: number;
  make: () => Promise<Instance>;
  /** Refill only after this long without a request (default 3 ms). */
  quietMs?: number;
}

export class IsolatePool {
  readonly memoryMiB: number;
  private readonly ready: Instance[] = [];
  private readonly options: IsolatePoolOptions;
  private target: number;
  private refilling = false;
  private missedSinceDecay = false;
  private lastActivity = 0;
  private disposed = false;
  private readonly decay: NodeJS.Timeout;
  hits = 0;
  misses = 0;

  constructor(options: IsolatePoolOptions) {
    this.options = options;
    this.memoryMiB = options.memoryMiB;
    this.target = options.initial;
    this.decay = setInterval(() => this.shrink(), 60_000);
    this.decay.unref();
    this.refill();
  }

  /** The host is serving a request: refilling waits until it has been quiet a while. */
  touch(): void {
    this.lastActivity = performance.now();
  }

  get size(): number {
    return this.ready.length;
  }

  get targetSize(): number {
    return this.target;
  }

  /** A blank instance with `memoryMiB`, or undefined (none ready, or another limit). */
  take(memoryMiB: number): Instance | undefined {
    if (memoryMiB !== this.memoryMiB) return undefined;
    const instance = this.ready.pop();
    if (instance === undefined) {
      this.misses++;
      this.missedSinceDecay = true;
      this.target = Math.min(this.options.max, Math.max(1, this.target * 2));
    } else this.hits++;
    this.refill();
    return instance;
  }

  private refill(): void {
    if (this.refilling) return;
    this.refilling = true;
    const quiet = this.options.quietMs ?? 3;
    const step = () => {
      if (this.ready.length >= this.target) {
        this.refilling = false;
        return;
      }
      const since = performance.now() - this.lastActivity;
      if (since < quiet) {
        setTimeout(step, Math.ceil(quiet - since));
        return;
      }
      this.options.make().then(
        (instance) => {
          if (this.disposed) instance.dispose();
          else this.ready.push(instance);
          setImmediate(step);
        },
        (err: unknown) => {
          // A host that cannot make isolates will say so on the cold path too; stop here.
          this.refilling = false;
          process.emitWarning(`flick: the isolate pool could not make a blank instance: ${String(err)}`);
        },
      );
    };
    setTimeout(step, quiet);
  }

  private shrink(): void {
    if (!this.missedSinceDecay && this.target > this.options.initial) {
      this.target--;
      while (this.ready.length > this.target) this.ready.pop()!.dispose();
    }
    this.missedSinceDecay = false;
  }

  dispose(): void {
    this.disposed = true;
    clearInterval(this.decay);
    for (const instance of this.ready.splice(0)) instance.dispose();
  }
}
