/**
 * Time as the guest sees it. The host hands over its clock on every entry into the
 * isolate (a request, a timer) and the guest clock stands still until the next one, so
 * `Date.now()`, `new Date()` and `performance.now()` do not advance during synchronous
 * execution — a timer for Spectre-style attacks is gone — and do advance across I/O.
 * Cloudflare Workers makes the same choice.
 */
let clock = 0;
let timeOrigin = 0;

/** Called by the dispatcher at every entry with the host's Date.now(). */
export function setClock(nowMs: number): void {
  if (typeof nowMs === "number" && nowMs > clock) clock = nowMs;
  if (timeOrigin === 0) timeOrigin = clock;
}

const OriginalDate = Date;
const originalNow = Date.now;

/** The guest clock; before the bootstrap sets it (unit tests under Node) the real one. */
/** At connect: this isolate's time origin and clock (a snapshot was made earlier). */
export function resetClock(nowMs: number): void {
  clock = nowMs;
  timeOrigin = nowMs;
}

/** Date.now() as the guest sees it: whole milliseconds of the frozen clock. */
export function now(): number {
  return clock === 0 ? originalNow() : Math.floor(clock);
}

/** performance.now(): ms since this isolate's time origin (what Event.timeStamp uses too). */
export function performanceNow(): number {
  return clock === 0 ? 0 : clock - timeOrigin;
}

/** `Date` with the frozen clock for "now"; every other use is the original. */
function createDate(): DateConstructor {
  const FlickDate = function Date(this: unknown, ...args: unknown[]): unknown {
    if (new.target === undefined) return new OriginalDate(clock).toString();
    return Reflect.construct(OriginalDate, args.length === 0 ? [clock] : args, new.target);
  } as unknown as DateConstructor;
  Object.defineProperty(FlickDate, "length", { value: 7 });
  Object.defineProperty(FlickDate, "prototype", { value: OriginalDate.prototype, writable: false, enumerable: false, configurable: false });
  Object.defineProperty(OriginalDate.prototype, "constructor", { value: FlickDate, writable: true, enumerable: false, configurable: true });
  for (const key of ["parse", "UTC"] as const) {
    Object.defineProperty(FlickDate, key, { value: OriginalDate[key], writable: true, enumerable: false, configurable: true });
  }
  Object.defineProperty(FlickDate, "now", {
    value: function now(): number {
      return Math.floor(clock);
    },
    writable: true,
    enumerable: false,
    configurable: true,
  });
  return FlickDate;
}

class Performance {
  constructor() {
    throw new TypeError("Illegal constructor");
  }
}
Object.defineProperties(Performance.prototype, {
  now: {
    value: function now(): number {
      return performanceNow();
    },
    writable: true,
    enumerable: true,
    configurable: true,
  },
  timeOrigin: {
    get(): number {
      return timeOrigin;
    },
    enumerable: true,
    configurable: true,
  },
  toJSON: {
    value: function toJSON(): object {
      return { timeOrigin };
    },
    writable: true,
    enumerable: true,
    configurable: true,
  },
  [Symbol.toStringTag]: { value: "Performance", configurable: true },
});

/**
 * HR-Time's `interface Performance : EventTarget`. EventTarget is passed in: this module is
 * below the Web layer (intrinsics.ts reads the clock), so it must not import it.
 */
export function clockGlobals(eventTarget: { EventTarget: { prototype: object }; makeEventTarget(target: object): void }): Record<string, unknown> {
  Object.setPrototypeOf(Performance, eventTarget.EventTarget);
  Object.setPrototypeOf(Performance.prototype, eventTarget.EventTarget.prototype);
  const performance = Object.create(Performance.prototype) as Performance;
  eventTarget.makeEventTarget(performance);
  return { Date: createDate(), Performance, performance };
}
