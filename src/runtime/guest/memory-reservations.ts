/**
 * The one pool of memory V8 and isolated-vm do not count: resizable ArrayBuffers and
 * WebAssembly memories. V8 reserves their address space at creation and commits pages as
 * they grow, outside the allocator isolated-vm limits, so a guard reserves the most each
 * can ever hold (`maxByteLength`, a memory's maximum in pages × 64 KiB) before it is made,
 * and the sum of live reservations stays within the instance's memory limit. The pool is
 * on top of the heap the limit already counts: an instance holds at most its limit in
 * the heap and its limit again in these.
 *
 * A reservation ends when every object holding the memory has been collected: a
 * FinalizationRegistry releases it when V8 runs its cleanup task (isolated-vm runs those
 * only on asynchronous entries), and a pool that looks full first reclaims: it runs a
 * full collection if the host exposed V8's `gc` (captured by the lockdown and removed
 * from the global), then sweeps the reservations whose WeakRefs the collector cleared.
 * Without `gc`, memory dropped but not yet collected still counts, and making and
 * dropping large reservations (an instance per request of a module without a maximum)
 * can reach the limit before V8 happens to collect. Within one entry into the isolate
 * nothing comes back: a WeakRef keeps its target until the job ends (ECMA-262
 * AddToKeptObjects), and the registry's callbacks run between entries. Measured: 600
 * resizable buffers of 128 KiB made and dropped in one entry of a 32 MiB instance stop
 * it; one per entry, 600 times, runs.
 */
import { instanceMemoryLimitBytes, memoryLimitReached } from "./memory-limit.ts";

const FunctionPrototypeCall = Function.prototype.call;
function uncurryThis<T, A extends unknown[], R>(fn: (this: T, ...args: A) => R): (self: T, ...args: A) => R {
  return FunctionPrototypeCall.bind(fn) as unknown as (self: T, ...args: A) => R;
}

// Captured at load: user code may replace any of these later.
const WeakRefCtor = WeakRef;
const WeakRefDeref = uncurryThis(WeakRef.prototype.deref) as (self: WeakRef<object>) => object | undefined;
const FinalizationRegistryCtor = FinalizationRegistry;
const RegistryRegister = uncurryThis(FinalizationRegistry.prototype.register) as (
  self: FinalizationRegistry<Reservation>,
  target: object,
  held: Reservation,
  token: object,
) => void;
const RegistryUnregister = uncurryThis(FinalizationRegistry.prototype.unregister) as (
  self: FinalizationRegistry<Reservation>,
  token: object,
) => boolean;
const ObjectSetPrototypeOf = Object.setPrototypeOf;
const SetCtor = Set;
const SetAdd = uncurryThis(Set.prototype.add) as (self: Set<Reservation>, value: Reservation) => Set<Reservation>;
const SetDelete = uncurryThis(Set.prototype.delete) as (self: Set<Reservation>, value: Reservation) => boolean;
const SetForEach = uncurryThis(Set.prototype.forEach) as (self: Set<Reservation>, fn: (value: Reservation) => void) => void;

/** Bytes held for one resizable ArrayBuffer or for the memories of one Wasm memory owner. */
export interface Reservation {
  readonly bytes: number;
  released: boolean;
  /** The objects whose collection ends it (all of them); empty until `holdUntilCollected`. */
  refs: WeakRef<object>[];
  /** Registrations whose finalizer has not run yet. */
  pending: number;
}

let reservedBytes = 0;
const live = new SetCtor<Reservation>();
// Created on first use rather than at load: the runtime's load runs into the startup snapshot.
let registry: FinalizationRegistry<Reservation> | undefined;

function collected(reservation: Reservation): void {
  if (reservation.released) return;
  reservation.pending--;
  if (reservation.pending <= 0) releaseReservation(reservation);
}

/** Gives a reservation's bytes back to the pool (idempotent). */
export function releaseReservation(reservation: Reservation): void {
  if (reservation.released) return;
  reservation.released = true;
  reservedBytes -= reservation.bytes;
  SetDelete(live, reservation);
  if (registry !== undefined) RegistryUnregister(registry, reservation);
}

let collectGarbage: (() => void) | undefined;

/** V8's `gc` when the host exposes it (`--expose-gc`): the pool collects before it refuses. */
export function setGarbageCollector(gc: () => void): void {
  collectGarbage = gc;
}

/** Releases the reservations whose objects are all gone; the cleanup task may not have run. */
function sweep(): void {
  SetForEach(live, (reservation) => {
    const refs = reservation.refs;
    if (refs.length === 0) return;
    for (let i = 0; i < refs.length; i++) if (WeakRefDeref(refs[i]!) !== undefined) return;
    releaseReservation(reservation);
  });
}

/** Bytes the pool can give now. */
export function freeBytes(): number {
  return instanceMemoryLimitBytes() - reservedBytes;
}

/**
 * Gives back what unreachable objects held (collecting first when possible) and returns
 * the bytes free then. Sweeping dereferences every live WeakRef, which keeps its target
 * for the rest of the job, so collect before, never after, a sweep in the same job.
 */
export function reclaim(): number {
  collectGarbage?.();
  sweep();
  return freeBytes();
}

/**
 * Takes `bytes` from the pool for an object about to be made, or stops the instance
 * (`memoryLimitReached(what)`) when the limit cannot hold them. The caller either hands
 * the reservation to `holdUntilCollected` or releases it if making the object failed.
 */
export function reserve(bytes: number, what: string): Reservation {
  if (!(bytes <= freeBytes()) && !(bytes <= reclaim())) memoryLimitReached(what);
  reservedBytes += bytes;
  const reservation: Reservation = { bytes, released: false, refs: [], pending: 0 };
  SetAdd(live, reservation);
  return reservation;
}

/** Keeps `reservation` until every one of `holders` has been collected. */
export function holdUntilCollected(reservation: Reservation, holders: readonly object[]): void {
  if (reservation.released) return;
  registry ??= new FinalizationRegistryCtor<Reservation>(collected);
  // No prototype: writing an index must not reach a setter user code put on Array.prototype.
  const refs = ObjectSetPrototypeOf([], null) as WeakRef<object>[];
  for (let i = 0; i < holders.length; i++) {
    const holder = holders[i]!;
    refs[i] = new WeakRefCtor(holder);
    RegistryRegister(registry, holder, reservation, reservation);
  }
  reservation.refs = refs;
  reservation.pending = holders.length;
}

/** Moves a reservation from the object that held it to the one that took its memory over. */
export function moveReservation(reservation: Reservation, holder: object): void {
  if (reservation.released) return;
  if (registry !== undefined) RegistryUnregister(registry, reservation);
  holdUntilCollected(reservation, [holder]);
}
