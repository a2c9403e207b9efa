import assert from "node:assert/strict";
import { test } from "node:test";
import { AbortController, AbortSignal } from "./abort.ts";
import { Request } from "./request.ts";

test("abort() sets aborted and reason, runs onabort and listeners once", () => {
  const controller = new AbortController();
  const calls: string[] = [];
  controller.signal.onabort = (e) => calls.push(`onabort ${e.type} ${e.isTrusted}`);
  controller.signal.addEventListener("abort", () => calls.push("listener"));
  assert.equal(controller.signal.aborted, false);
  controller.abort("why");
  controller.abort("again");
  assert.deepEqual(calls, ["onabort abort true", "listener"]);
  assert.equal(controller.signal.reason, "why");
  assert.throws(() => controller.signal.throwIfAborted(), (e) => e === "why");
});

test("the default reason is an AbortError DOMException; AbortSignal.abort() is already aborted", () => {
  const controller = new AbortController();
  controller.abort();
  assert.equal((controller.signal.reason as DOMException).name, "AbortError");
  const signal = AbortSignal.abort();
  assert.equal(signal.aborted, true);
  assert.equal((signal.reason as DOMException).name, "AbortError");
  assert.throws(() => new (AbortSignal as unknown as new () => AbortSignal)(), /Illegal constructor/);
});

test("AbortSignal.timeout aborts with a TimeoutError", async () => {
  const signal = AbortSignal.timeout(5);
  assert.equal(signal.aborted, false);
  await new Promise((resolve) => signal.addEventListener("abort", resolve));
  assert.equal((signal.reason as DOMException).name, "TimeoutError");
  assert.throws(() => AbortSignal.timeout(-1), TypeError);
});

test("AbortSignal.any follows every source, and takes an already-aborted one's reason", () => {
  const a = new AbortController();
  const b = new AbortController();
  const any = AbortSignal.any([a.signal, b.signal]);
  const nested = AbortSignal.any([any]);
  b.abort("b went");
  assert.equal(any.aborted, true);
  assert.equal(any.reason, "b went");
  assert.equal(nested.reason, "b went");
  a.abort("a too");
  assert.equal(any.reason, "b went");
  assert.equal(AbortSignal.any([AbortSignal.abort("early")]).reason, "early");
  assert.throws(() => AbortSignal.any([{} as AbortSignal]), TypeError);
});

test("a Request's signal follows the signal it was built from", () => {
  const controller = new AbortController();
  const request = new Request("https://example.com/", { signal: controller.signal });
  const copy = new Request(request);
  assert.equal(request.signal.aborted, false);
  assert.notEqual(request.signal, controller.signal);
  controller.abort("stop");
  assert.equal(request.signal.aborted, true);
  assert.equal(copy.signal.reason, "stop");
  assert.equal(new Request("https://example.com/").signal.aborted, false);
  assert.ok(new Request("https://example.com/").signal instanceof AbortSignal);
});
