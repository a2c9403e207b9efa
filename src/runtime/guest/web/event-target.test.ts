import assert from "node:assert/strict";
import { test } from "node:test";
import { AbortController } from "./abort.ts";
import { CustomEvent, ErrorEvent, Event, PromiseRejectionEvent } from "./event.ts";
import { EventTarget, setExceptionReporter } from "./event-target.ts";

const reported: unknown[] = [];
setExceptionReporter((e) => reported.push(e));

test("Event: constructor, init dictionary, constants, and brand checks", () => {
  assert.throws(() => new (Event as unknown as new () => Event)(), /1 argument required/);
  const e = new Event("ping", { bubbles: true, cancelable: true });
  assert.deepEqual([e.type, e.bubbles, e.cancelable, e.composed, e.eventPhase, e.defaultPrevented, e.isTrusted], ["ping", true, true, false, 0, false, false]);
  assert.equal(Event.AT_TARGET, 2);
  assert.equal(e.BUBBLING_PHASE, 3);
  assert.equal(Object.prototype.toString.call(e), "[object Event]");
  assert.ok(Object.getOwnPropertyDescriptor(e, "isTrusted")?.get, "isTrusted is an own unforgeable accessor");
  assert.throws(() => Reflect.get(Event.prototype, "type", {}), /Illegal invocation/);
  assert.equal(typeof e.timeStamp, "number");
});

test("preventDefault only cancels cancelable events, and not in passive listeners", () => {
  const target = new EventTarget();
  const plain = new Event("x");
  plain.preventDefault();
  assert.equal(plain.defaultPrevented, false);
  target.addEventListener("x", (e) => (e as Event).preventDefault(), { passive: true });
  assert.equal(target.dispatchEvent(new Event("x", { cancelable: true })), true);
  const other = new EventTarget();
  other.addEventListener("x", (e) => (e as Event).preventDefault());
  const cancelable = new Event("x", { cancelable: true });
  assert.equal(other.dispatchEvent(cancelable), false);
  assert.equal(cancelable.defaultPrevented, true);
  assert.equal(cancelable.returnValue, false);
});

test("listeners run capture first, once removes, duplicates are ignored, handleEvent objects work", () => {
  const target = new EventTarget();
  const order: string[] = [];
  const f = () => order.push("f");
  target.addEventListener("go", f);
  target.addEventListener("go", f);
  target.addEventListener("go", () => order.push("capture"), { capture: true });
  target.addEventListener("go", { handleEvent: () => order.push("object") });
  target.addEventListener("go", () => order.push("once"), { once: true });
  target.dispatchEvent(new Event("go"));
  target.dispatchEvent(new Event("go"));
  assert.deepEqual(order, ["capture", "f", "object", "once", "capture", "f", "object"]);
  target.removeEventListener("go", f);
  order.length = 0;
  target.dispatchEvent(new Event("go"));
  assert.deepEqual(order, ["capture", "object"]);
});

test("dispatch sets target and phase, clears them after, and stopImmediatePropagation stops the rest", () => {
  const target = new EventTarget();
  const seen: unknown[] = [];
  target.addEventListener("e", function (this: unknown, e) {
    const ev = e as Event;
    seen.push(this === target, ev.target === target, ev.currentTarget === target, ev.eventPhase, ev.composedPath()[0] === target);
    ev.stopImmediatePropagation();
  });
  target.addEventListener("e", () => seen.push("not reached"));
  const event = new Event("e");
  target.dispatchEvent(event);
  assert.deepEqual(seen, [true, true, true, 2, true]);
  assert.equal(event.currentTarget, null);
  assert.equal(event.eventPhase, 0);
  assert.equal(event.target, target);
});

test("redispatching an event being dispatched is an InvalidStateError; listener exceptions are reported", () => {
  const target = new EventTarget();
  let inner: unknown;
  target.addEventListener("e", (e) => {
    try {
      target.dispatchEvent(e);
    } catch (err) {
      inner = err;
    }
    throw new Error("listener failed");
  });
  target.addEventListener("e", () => reported.push("second ran"));
  reported.length = 0;
  target.dispatchEvent(new Event("e"));
  assert.equal((inner as DOMException).name, "InvalidStateError");
  assert.equal((reported[0] as Error).message, "listener failed");
  assert.equal(reported[1], "second ran");
  assert.throws(() => target.dispatchEvent({ type: "fake" }), /not of type 'Event'/);
});

test("a listener added with an aborted or later-aborted signal does not run", () => {
  const target = new EventTarget();
  const controller = new AbortController();
  let calls = 0;
  target.addEventListener("e", () => calls++, { signal: controller.signal });
  target.dispatchEvent(new Event("e"));
  controller.abort();
  target.dispatchEvent(new Event("e"));
  target.addEventListener("e", () => calls++, { signal: controller.signal });
  target.dispatchEvent(new Event("e"));
  assert.equal(calls, 1);
  assert.throws(() => target.addEventListener("e", () => {}, { signal: {} as AbortSignal }), /AbortSignal/);
});

test("CustomEvent, ErrorEvent and PromiseRejectionEvent carry their init members", () => {
  assert.deepEqual(new CustomEvent("c", { detail: { a: 1 } }).detail, { a: 1 });
  assert.equal(new CustomEvent("c").detail, null);
  const error = new Error("e");
  const ee = new ErrorEvent("error", { message: "m", filename: "f.js", lineno: 3, colno: 4, error });
  assert.deepEqual([ee.message, ee.filename, ee.lineno, ee.colno, ee.error === error], ["m", "f.js", 3, 4, true]);
  const promise = Promise.resolve();
  const pre = new PromiseRejectionEvent("unhandledrejection", { promise, reason: 42 });
  assert.deepEqual([pre.promise === promise, pre.reason], [true, 42]);
  assert.throws(() => new PromiseRejectionEvent("x", {} as never), /promise/);
  assert.ok(ee instanceof Event && pre instanceof Event);
});
