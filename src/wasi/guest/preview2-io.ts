/**
 * WASI 0.2's base interfaces for a component transpiled by jco (src/wasi/bundle-component.ts),
 * implemented inside the isolate: `wasi:io` (error, poll, streams), `wasi:clocks`,
 * `wasi:random`, `wasi:cli` (environment, exit, stdio, terminals) and an empty
 * `wasi:filesystem`. jco's glue calls them in its own conventions: a resource is a class,
 * a `result` error is thrown as `{ payload }`, 64-bit numbers are bigints.
 *
 * Only an outgoing request waits (preview2-http.ts): streams are over bytes already there
 * (a body is read whole before the component sees it) or into a growing list (a body it
 * writes), so every pollable on them is ready. A clock pollable is ready once the clock
 * reaches it, and blocking on it moves this run's clock on by the time asked (the guest
 * clock stands still while code runs, as for WASI preview 1's `poll_oneoff`:
 * runtime/guest/clock.ts).
 */
import type { LineLog } from "./line-log.ts";

/** A `result` error for jco's glue: thrown, the payload becomes the `err` case. */
export class ResultError {
  readonly payload: unknown;
  constructor(payload: unknown) {
    this.payload = payload;
  }
}

/** `wasi:cli/exit`: thrown through the component's frames to end the run. */
export class ComponentExit {
  readonly ok: boolean;
  constructor(ok: boolean) {
    this.ok = ok;
  }
}

/** `wasi:io/error.error`: what a failed stream operation says. */
export class IoError {
  readonly #message: string;
  constructor(message: string) {
    this.#message = message;
  }
  toDebugString(): string {
    return this.#message;
  }
}

const closed = () => new ResultError({ tag: "closed" });

/** This run's clocks: the guest clock plus what the component slept. */
export class RunClock {
  /** ns added by blocking on clock pollables. */
  slept = 0n;
  monotonicNs(): bigint {
    return BigInt(Math.round(performance.now() * 1e6)) + this.slept;
  }
  realtimeNs(): bigint {
    return BigInt(Date.now()) * 1_000_000n + this.slept;
  }
}

/**
 * `wasi:io/poll.pollable`: ready now, when the run's clock reaches a deadline, or when a
 * promise settles (an outgoing request's answer). Blocking on a promise returns it: the
 * glue imports `block` and `poll` through JSPI (WebAssembly.Suspending), so the component's
 * stack is suspended until the answer comes, while the isolate serves other requests.
 */
export class Pollable {
  readonly #clock: RunClock | undefined;
  readonly #deadlineNs: bigint;
  readonly #promise: Promise<unknown> | undefined;
  #settled = false;
  constructor(clock?: RunClock, deadlineNs = 0n, promise?: Promise<unknown>) {
    this.#clock = clock;
    this.#deadlineNs = deadlineNs;
    this.#promise = promise?.then(
      () => void (this.#settled = true),
      () => void (this.#settled = true),
    );
  }
  /** What this waits on in real time, while it has not settled. */
  pending(): Promise<unknown> | undefined {
    return this.#promise !== undefined && !this.#settled ? this.#promise : undefined;
  }
  /** ns of the run's clock until ready (0: ready; a pending promise never becomes ready by the clock). */
  waitNs(): bigint {
    if (this.#promise !== undefined) return this.#settled ? 0n : -1n;
    if (this.#clock === undefined) return 0n;
    const left = this.#deadlineNs - this.#clock.monotonicNs();
    return left > 0n ? left : 0n;
  }
  ready(): boolean {
    return this.waitNs() === 0n;
  }
  block(): void | Promise<void> {
    const pending = this.pending();
    if (pending !== undefined) return pending.then(() => undefined);
    const left = this.waitNs();
    if (left > 0n) this.#clock!.slept += left;
  }
}

function readyIndices(list: Pollable[]): Uint32Array {
  const ready: number[] = [];
  for (let i = 0; i < list.length; i++) if (list[i]!.ready()) ready.push(i);
  return Uint32Array.from(ready);
}

/**
 * `wasi:io/poll.poll`: the indices of the ready ones. When none is: it waits for the first
 * pending promise, in real time (a timeout the component set on a request must not fire at
 * once); with none pending, the run's clock moves on to the nearest deadline.
 */
export function poll(list: Pollable[]): Uint32Array | Promise<Uint32Array> {
  if (list.length === 0) throw new Error("wasi:io/poll.poll called with no pollables");
  const ready = readyIndices(list);
  if (ready.length > 0) return ready;
  const pending = list.map((p) => p.pending()).filter((p) => p !== undefined);
  if (pending.length > 0) return Promise.race(pending).then(() => readyIndices(list));
  let nearest = list[0]!;
  for (const p of list) if (p.waitNs() < nearest.waitNs()) nearest = p;
  void nearest.block();
  return readyIndices(list);
}

/** `wasi:io/streams.input-stream` over bytes that are all there. */
export class InputStream {
  #bytes: Uint8Array;
  #at = 0;
  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }
  read(len: bigint): Uint8Array {
    if (this.#at >= this.#bytes.length) throw closed();
    const n = Math.min(Number(len > 0x7fffffffn ? 0x7fffffffn : len), this.#bytes.length - this.#at);
    const out = this.#bytes.slice(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }
  blockingRead(len: bigint): Uint8Array {
    return this.read(len);
  }
  skip(len: bigint): bigint {
    return BigInt(this.read(len).length);
  }
  blockingSkip(len: bigint): bigint {
    return this.skip(len);
  }
  subscribe(): Pollable {
    return new Pollable();
  }
}

/** How much an output stream takes at once (`check-write`); it takes everything, in pieces this size. */
const writeBudget = 1n << 20n;

/** `wasi:io/streams.output-stream` into a sink, until it is closed. */
export class OutputStream {
  readonly #sink: (bytes: Uint8Array) => void;
  #closed = false;
  constructor(sink: (bytes: Uint8Array) => void) {
    this.#sink = sink;
  }
  close(): void {
    this.#closed = true;
  }
  checkWrite(): bigint {
    if (this.#closed) throw closed();
    return writeBudget;
  }
  write(contents: Uint8Array): void {
    if (this.#closed) throw closed();
    this.#sink(contents.slice());
  }
  blockingWriteAndFlush(contents: Uint8Array): void {
    this.write(contents);
  }
  flush(): void {
    if (this.#closed) throw closed();
  }
  blockingFlush(): void {
    this.flush();
  }
  subscribe(): Pollable {
    return new Pollable();
  }
  writeZeroes(len: bigint): void {
    this.write(new Uint8Array(Number(len)));
  }
  blockingWriteZeroesAndFlush(len: bigint): void {
    this.writeZeroes(len);
  }
  splice(src: InputStream, len: bigint): bigint {
    if (this.#closed) throw closed();
    const bytes = src.read(len);
    this.#sink(bytes);
    return BigInt(bytes.length);
  }
  blockingSplice(src: InputStream, len: bigint): bigint {
    return this.splice(src, len);
  }
}

class TerminalInput {}
class TerminalOutput {}
/** Never made: no directory is preopened. */
class Descriptor {}

/** What one run of a component sees: its environment, its stdio and its clock. */
export interface RunContext {
  env: [string, string][];
  clock: RunClock;
  stdout: LineLog;
  stderr: LineLog;
}

/**
 * The base interfaces, keyed as jco's glue asks for them (no version). `run()` is the
 * current run's context: the import object is made once per instance and lives across runs.
 */
export function baseInterfaces(run: () => RunContext): Record<string, Record<string, unknown>> {
  const bytes = (len: bigint) => {
    const out = new Uint8Array(Number(len));
    for (let at = 0; at < out.length; at += 65536) crypto.getRandomValues(out.subarray(at, Math.min(out.length, at + 65536)));
    return out;
  };
  const u64 = () => new DataView(bytes(8n).buffer).getBigUint64(0, true);
  return {
    "wasi:io/error": { Error: IoError },
    "wasi:io/poll": { Pollable, poll },
    "wasi:io/streams": { InputStream, OutputStream },
    "wasi:clocks/monotonic-clock": {
      now: () => run().clock.monotonicNs(),
      resolution: () => 1_000_000n,
      subscribeInstant: (when: bigint) => new Pollable(run().clock, when),
      subscribeDuration: (duration: bigint) => new Pollable(run().clock, run().clock.monotonicNs() + duration),
    },
    "wasi:clocks/wall-clock": {
      now: () => {
        const ns = run().clock.realtimeNs();
        return { seconds: ns / 1_000_000_000n, nanoseconds: Number(ns % 1_000_000_000n) };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
    },
    "wasi:random/random": { getRandomBytes: bytes, getRandomU64: u64 },
    "wasi:random/insecure": { getInsecureRandomBytes: bytes, getInsecureRandomU64: u64 },
    "wasi:random/insecure-seed": { insecureSeed: () => [u64(), u64()] },
    "wasi:cli/environment": {
      getEnvironment: () => run().env.map(([k, v]) => [k, v]),
      getArguments: () => [],
      initialCwd: () => undefined,
    },
    "wasi:cli/exit": {
      exit: (status: { tag: "ok" | "err" }) => {
        throw new ComponentExit(status.tag === "ok");
      },
    },
    "wasi:cli/stdin": { getStdin: () => new InputStream(new Uint8Array(0)) },
    "wasi:cli/stdout": { getStdout: () => new OutputStream((b) => run().stdout.write(b)) },
    "wasi:cli/stderr": { getStderr: () => new OutputStream((b) => run().stderr.write(b)) },
    "wasi:cli/terminal-input": { TerminalInput },
    "wasi:cli/terminal-output": { TerminalOutput },
    "wasi:cli/terminal-stdin": { getTerminalStdin: () => undefined },
    "wasi:cli/terminal-stdout": { getTerminalStdout: () => undefined },
    "wasi:cli/terminal-stderr": { getTerminalStderr: () => undefined },
    "wasi:filesystem/preopens": { getDirectories: () => [] },
    "wasi:filesystem/types": { Descriptor, filesystemErrorCode: () => undefined },
  };
}
