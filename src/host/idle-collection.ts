/**
 * Idle collection: an instance idle for `idleCollectMs` has its garbage collected once
 * (a "collect" entry: V8's memory-reducing full collection), so a warm instance that
 * waits holds less memory. One sweep a second over the host's instances finds them, so
 * the request path pays nothing.
 *
 * A collection costs about 5 ms of CPU on the isolate's thread for a hello world, and
 * 100 ms and more for a tenant's large heap, on the platform's time, not the tenant's.
 * So collections wait until an instance is really idle and run one at a time (the next
 * starts when one ends). While the host serves requests, at most 4 a second and at most
 * a tenth of a core: after one that took d ms the next waits 9·d. Once the host has been
 * quiet for a second, up to 100 a second. A burst of cold starts is then not followed by
 * a burst of collections competing with the next requests for the cores. (isolated-vm
 * never queues an entry: with all its threads busy it starts another. Hundreds of
 * collections posted at once shared the cores so thinly that some outlived the 1 s an
 * entry without a request may run, and their idle instances were stopped.)
 */

export const idleCollectMs = 10_000;
const collectsPerBusySweep = 4;
const collectsPerQuietSweep = 100;

/** What the collector asks of an instance. */
export interface Collectable {
  /** Idle long enough and not collected since its last use: posts its "collect" entry (true). */
  collectIfIdle(nowMs: number): boolean;
  /** Its "collect" entry is posted or running (it calls `collectionEnded` when it is over). */
  readonly collectPending: boolean;
}

const instances = new Set<Collectable>();
let sweeper: NodeJS.Timeout | undefined;
/** Epoch ms of the last invocation any instance of this host started. */
let lastInvokeMs = 0;
/** Collections this sweep may still start, and whether one is running. */
let budget = 0;
let running = false;
/** performance.now() of the running collection's start; no next one before `pausedUntil`. */
let startedAt = 0;
let pausedUntil = 0;
/** The last collections: start, end (performance.now() ms) and whether the host was serving (for tests). */
const log: { startedAt: number; endedAt: number; busy: boolean }[] = [];

export function trackIdle(instance: Collectable): void {
  instances.add(instance);
  if (sweeper === undefined) {
    sweeper = setInterval(sweep, 1_000);
    sweeper.unref();
  }
}

export function untrackIdle(instance: Collectable): void {
  instances.delete(instance);
}

/** An invocation started at `epochMs`: the host is serving. */
export function noteInvocation(epochMs: number): void {
  lastInvokeMs = epochMs;
}

function hostBusy(): boolean {
  return Date.now() - lastInvokeMs < 1_000;
}

function sweep(): void {
  budget = hostBusy() ? collectsPerBusySweep : collectsPerQuietSweep;
  next();
}

function next(): void {
  if (running || budget === 0 || performance.now() < pausedUntil) return;
  const now = Date.now();
  for (const instance of instances) {
    if (instance.collectIfIdle(now)) {
      running = true;
      startedAt = performance.now();
      budget--;
      return;
    }
  }
  budget = 0;
}

/** The running collection ended (its entry finished, or its instance went). */
export function collectionEnded(): void {
  running = false;
  const endedAt = performance.now();
  const busy = hostBusy();
  log.push({ startedAt, endedAt, busy });
  if (log.length > 32) log.shift();
  if (busy) {
    pausedUntil = endedAt + 9 * (endedAt - startedAt);
    setTimeout(next, Math.ceil(pausedUntil - endedAt) + 1).unref();
  } else next();
}

/** Collections posted or running on this host's instances (at most one; for tests). */
export function idleCollectionsRunning(): number {
  let n = 0;
  for (const instance of instances) if (instance.collectPending) n++;
  return n;
}

export function idleCollectionLog(): readonly { startedAt: number; endedAt: number; busy: boolean }[] {
  return log;
}
