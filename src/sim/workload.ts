/**
 * What `flick sim` replays: a set of functions and their arrivals, in time order, on a
 * virtual clock that starts at 0. A workload comes from a trace file (azure-trace.ts) or
 * from the seeded generator (synthetic.ts); the simulator (simulate.ts) only reads this
 * shape. The same workload, read again, yields the same arrivals: every figure the
 * simulator prints follows from its input and seed.
 */

export interface SimFunction {
  /** `<tenant>/<name>`, the scheduler's key for the function. */
  fn: string;
  tenant: string;
  /** Memory one instance holds while it is loaded, MiB (the trace's allocated memory). */
  memoryMiB: number;
}

/** A buffer of arrivals, filled in place: `count` of them from index 0. */
export interface ArrivalBatch {
  /** When the request arrives, virtual ms from the start. */
  atMs: Float64Array;
  /** Index into `Workload.functions`. */
  fn: Int32Array;
  /** How long it runs once it has a slot, ms. */
  durationMs: Float64Array;
}

/** Which functions a shard of a parallel replay runs: those with index % count === index. */
export interface Shard {
  index: number;
  count: number;
}

export interface Workload {
  /** Says where it came from, for reports: a trace's directory, or the generator's settings. */
  name: string;
  functions: readonly SimFunction[];
  /** The span the arrivals cover, ms (a day for the Azure sample). */
  durationMs: number;
  /**
   * A new reader from the first arrival. Each call of the reader fills `batch` from index 0
   * with the next arrivals, at most `batch.atMs.length`, in ascending time (ties in
   * ascending function index), and returns how many it wrote; 0 when there are no more.
   * With `shard`, the reader may leave out the functions f with f % count !== index (the
   * simulator skips them anyway); the others' arrivals are the same either way.
   */
  arrivals(shard?: Shard): (batch: ArrivalBatch) => number;
}

export function arrivalBatch(capacity: number): ArrivalBatch {
  return { atMs: new Float64Array(capacity), fn: new Int32Array(capacity), durationMs: new Float64Array(capacity) };
}
