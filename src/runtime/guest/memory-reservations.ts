/**
 * What the memory V8 and isolated-vm do not count holds: resizable ArrayBuffers and
 * WebAssembly memories. V8 reserves their address space at creation and commits pages as
 * they grow, outside the allocator isolated-vm limits, so the guards track each live one
 * with the bytes it has committed — its current byte length — and keep the sum within the
 * instance's memory limit, on top of the heap the limit already counts: an instance holds
 * at most its limit in the heap and its limit again in these. Maxima count for nothing
 * (a growable memory declaring 2 GiB commits what it uses), except where a size cannot be
 * read: the memories a shipped instance defines but does not export count at their capped
 * maximum, held by the instance (wasm-memory-guards.ts).
 *
 * When the sum is checked:
 * - growth JavaScript asks for (making one, `resize`, `transfer`, `grow`) before it
 *   happens, with `ensureRoom`: over the limit, `memoryLimitReached` and nothing grows;
 * - growth inside Wasm (the `memory.grow` instruction) is not seen by JavaScript: the
 *   dispatcher calls `checkCommittedMemory` at the end of every entry, which reads every
 *   live Wasm memory's size and stops the instance when the sum is over. Until then, one
 *   entry's Wasm code can take each memory up to its capped maximum (at most the limit each).
 *
 * Address space is budgeted too. V8 reserves it at creation, whatever is committed: a
 * Wasm memory takes 8 GiB (16 GiB with memory64) of guard regions, a resizable buffer its
 * `maxByteLength`; measured on x64, 16,000 live memories or 1,000,000 buffers of 128 MiB
 * use up a process's 128 TiB, after which no isolate on the host can make a Wasm memory
 * (and large allocations fail). Each instance may hold `addressSpaceBudgetBytes` (64 GiB:
 * 8 memories, or 512 buffers reaching a 128 MiB limit) — `ensureRoom` refuses more,
 * after a collection, and stops the instance as over its memory limit; a host's
 * instances together stay far inside the process's space.
 *
 * An object stops counting once it has been collected: a FinalizationRegistry drops it
 * when V8 runs its cleanup task (isolated-vm runs those only on asynchronous entries), and
 * the counts drop the ones whose WeakRefs the collector cleared. When JavaScript's growth
 * finds the limit reached, the count first runs a full collection if the host exposed
 * V8's `gc` (captured by the lockdown and removed from the global). Without `gc`, what
 * was dropped but not yet collected still counts. Within one entry into the isolate
 * nothing comes back: a WeakRef keeps its target until the job ends (ECMA-262
 * AddToKeptObjects), and the registry's callbacks run between entries.
 */
import { addressSpaceLimitReached, instanceMemoryLimitBytes, memoryLimitExceeded, memoryLimitReached } from "./memory-limit.ts";

const FunctionPrototypeCall = Function.prototype.call;
function uncurryThis<T, A extends unknown[], R>(fn: (this: T, ...args: A) => R): (self: T, ...args: A) => R {
  return FunctionPrototypeCall.bind(fn) as unknown as (self: T, ...args: A) => R;
}

// Captured at load: user code may replace any of these later.
const WeakRefCtor = WeakRef;
const WeakRefDeref = uncurryThis(WeakRef.prototype.deref) as (self: WeakRef<object>) => object | undefined;
const FinalizationRegistryCtor = FinalizationRegistry;
const RegistryRegister = uncurryThis(FinalizationRegistry.prototype.register) as (
  self: FinalizationRegistry<Committed>,
  target: object,
  held: Committed,
  token: object,
) => void;
const RegistryUnregister = uncurryThis(FinalizationRegistry.prototype.unregister) as (
  self: FinalizationRegistry<Committed>,
  token: object,
) => boolean;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const SetCtor = Set;
const SetAdd = uncurryThis(Set.prototype.add) as (self: Set<Committed>, value: Committed) => Set<Committed>;
const SetDelete = uncurryThis(Set.prototype.delete) as (self: Set<Committed>, value: Committed) => boolean;
const SetForEach = uncurryThis(Set.prototype.forEach) as (self: Set<Committed>, fn: (value: Committed) => void) => void;
const MathCeil = Math.ceil;

/**
 * Reads the bytes a Wasm memory has committed now (its byte length; only native getters).
 * Nothing else needs reading: resizable buffers change length only through JavaScript,
 * whose guards keep their count exact (`setCommitted`).
 */
export type Measure = (target: object) => number;

/** The bytes one resizable buffer, one memory, or one instance's unexported memories hold. */
export interface Committed {
  /** As last counted. */
  bytes: number;
  /** Address space V8 reserved for it at creation (fixed). */
  readonly reserved: number;
  /** Reads `bytes` again from the first holder (a Wasm memory); undefined: kept right by the guards, or fixed. */
  readonly measure: Measure | undefined;
  dropped: boolean;
  /** The objects whose collection ends it (all of them); the first is the one measured. */
  readonly refs: WeakRef<object>[];
  /** Registrations whose finalizer has not run yet. */
  pending: number;
}

/** The sum of `bytes` over `live`: exact after a count, else what the guards last saw. */
let committedBytes = 0;
/** The sum of `reserved` over `live`. */
let reservedBytes = 0;
const GiB = 1024 * 1024 * 1024;
/** Address space one instance may hold in Wasm memories and resizable buffers. */
export const addressSpaceBudgetBytes = 64 * GiB;
/** What V8 (x64, with trap-handler guard regions) reserves for one Wasm memory, measured. */
export const wasmMemoryReservation = (is64: boolean): number => (is64 ? 16 : 8) * GiB;
const live = new SetCtor<Committed>();
/** The live ones with a `measure`: what can grow where JavaScript does not see it. */
const measured = new SetCtor<Committed>();
/** `measured.size`, read at the end of every entry: 0 is the common case, and costs one comparison. */
let measuredCount = 0;
// Created on first use rather than at load: the runtime's load runs into the startup snapshot.
let registry: FinalizationRegistry<Committed> | undefined;

function collected(committed: Committed): void {
  if (committed.dropped) return;
  committed.pending--;
  if (committed.pending <= 0) untrack(committed);
}

/**
 * Starts counting `bytes` for memory that lives as long as any of `holders`, measured on
 * `holders[0]` when `measure` is given. The caller made room first (`ensureRoom`).
 */
export function track(holders: readonly object[], bytes: number, measure: Measure | undefined, reserved: number): Committed {
  registry ??= new FinalizationRegistryCtor<Committed>(collected);
  // No prototype: writing an index must not reach a setter user code put on Array.prototype.
  const refs = ObjectSetPrototypeOf([], null) as WeakRef<object>[];
  const committed: Committed = { bytes, reserved, measure, dropped: false, refs, pending: holders.length };
  for (let i = 0; i < holders.length; i++) {
    const holder = holders[i]!;
    refs[i] = new WeakRefCtor(holder);
    RegistryRegister(registry, holder, committed, committed);
  }
  SetAdd(live, committed);
  if (measure !== undefined) {
    SetAdd(measured, committed);
    measuredCount++;
  }
  committedBytes += bytes;
  reservedBytes += reserved;
  return committed;
}

/** Stops counting it: its holders were collected, or its memory went where the allocator counts it (idempotent). */
export function untrack(committed: Committed): void {
  if (committed.dropped) return;
  committed.dropped = true;
  committedBytes -= committed.bytes;
  reservedBytes -= committed.reserved;
  SetDelete(live, committed);
  if (committed.measure !== undefined) {
    SetDelete(measured, committed);
    measuredCount--;
  }
  if (registry !== undefined) RegistryUnregister(registry, committed);
}

/** After growth the caller made room for (or a shrink): what it holds now. */
export function setCommitted(committed: Committed, bytes: number): void {
  if (committed.dropped) return;
  committedBytes += bytes - committed.bytes;
  committed.bytes = bytes;
}

let collectGarbage: (() => void) | undefined;
let gcWith: ((options: { type: "major" | "minor"; execution?: "sync"; flavor?: "regular" | "last-resort" }) => void) | undefined;

/** V8's `gc` when the host exposes it (`--expose-gc`): a check collects before it refuses. */
export function setGarbageCollector(gc: () => void): void {
  collectGarbage = gc;
  gcWith = gc as typeof gcWith;
}

/**
 * The instance went idle (the host's "collect" event): V8's memory-reducing full
 * collection ("last resort": it compacts and gives back what it can) returns the pages a
 * request's garbage took — measured on a warm hello-world instance, its heap from 3.9 to
 * 2.5 MiB physical. Without `gc`, nothing.
 */
export function collectIdle(): void {
  if (gcWith === undefined) return;
  gcWith({ type: "major", execution: "sync", flavor: "last-resort" });
}

/**
 * Counts again: drops what was collected, reads every measured size (growth inside Wasm
 * included), and returns the exact sum. Dereferencing every live WeakRef keeps its target
 * for the rest of the job, so collect before, never after, a count in the same job.
 */
function count(): number {
  let total = 0;
  SetForEach(live, (committed) => {
    const refs = committed.refs;
    const first = WeakRefDeref(refs[0]!);
    if (committed.measure !== undefined) {
      if (first === undefined) return untrack(committed);
      committed.bytes = committed.measure(first);
    } else if (first === undefined) {
      let alive = false;
      for (let i = 1; i < refs.length && !alive; i++) alive = WeakRefDeref(refs[i]!) !== undefined;
      if (!alive) return untrack(committed);
    }
    total += committed.bytes;
  });
  committedBytes = total;
  return total;
}

/**
 * Makes room for `extraBytes` more, about to be committed by JavaScript (a buffer or
 * memory made, resized, grown, transferred), and `extraReserved` more address space (a
 * buffer or memory made), or stops the instance when they do not fit: over the memory
 * limit `memoryLimitReached(what)`, over the address-space budget
 * `addressSpaceLimitReached`. What looks full is counted again (after a collection when
 * `gc` is there) before refusing.
 */
export function ensureRoom(extraBytes: number, what: string, extraReserved = 0): void {
  const bytes = extraBytes > 0 ? extraBytes : 0;
  const limit = instanceMemoryLimitBytes();
  if (committedBytes + bytes <= limit && reservedBytes + extraReserved <= addressSpaceBudgetBytes) return;
  collectGarbage?.();
  if (count() + bytes > limit) memoryLimitReached(what);
  if (reservedBytes + extraReserved > addressSpaceBudgetBytes) addressSpaceLimitReached(what, reservedBytes, addressSpaceBudgetBytes);
}

/** Reads a Wasm memory's size again (growth inside Wasm), or drops it when it was collected. */
function remeasure(committed: Committed): void {
  const target = WeakRefDeref(committed.refs[0]!);
  if (target === undefined) return untrack(committed);
  const bytes = committed.measure!(target);
  committedBytes += bytes - committed.bytes;
  committed.bytes = bytes;
}

/**
 * The end of an entry (dispatcher.ts `run`): reads what the live Wasm memories hold now —
 * the only growth the guards did not see, `memory.grow` inside Wasm — and tells the host
 * to stop the instance when the total is over the limit (counted again in full first).
 * Does not throw. One comparison when there is no Wasm memory; else about 0.1 µs each.
 */
export function checkCommittedMemory(): void {
  if (measuredCount === 0) return;
  const limit = instanceMemoryLimitBytes();
  SetForEach(measured, remeasure);
  if (committedBytes <= limit) return;
  const total = count();
  if (total > limit) {
    // In MiB rounded up to a tenth, so that a total just over the limit does not read as the limit.
    memoryLimitExceeded(`WebAssembly memories and resizable ArrayBuffers held ${MathCeil(total / 104857.6) / 10} MiB at the end of an entry`);
  }
}
