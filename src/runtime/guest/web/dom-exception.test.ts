import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DOMException, isDOMException } from "./dom-exception.ts";

describe("DOMException", () => {
  test("defaults to an empty message and the name Error", () => {
    const error = new DOMException();
    assert.equal(error.message, "");
    assert.equal(error.name, "Error");
    assert.equal(error.code, 0);
  });

  test("takes a message and a name and derives the legacy code", () => {
    const error = new DOMException("stop", "AbortError");
    assert.equal(error.message, "stop");
    assert.equal(error.name, "AbortError");
    assert.equal(error.code, 20);
    assert.equal(new DOMException("", "InvalidCharacterError").code, 5);
    assert.equal(new DOMException("", "DataCloneError").code, 25);
    assert.equal(new DOMException("", "NotAllowedError").code, 0);
  });

  test("accepts an options object with a name and a cause", () => {
    const cause = new Error("root");
    const error = new DOMException("wrapped", { name: "TimeoutError", cause } as unknown as string);
    assert.equal(error.name, "TimeoutError");
    assert.equal(error.code, 23);
    assert.equal((error as unknown as { cause: unknown }).cause, cause);
  });

  test("is an Error whose name, message and code are prototype getters", () => {
    const error = new DOMException("m", "SyntaxError");
    assert.ok(error instanceof Error);
    assert.equal(Object.getPrototypeOf(DOMException.prototype), Error.prototype);
    assert.equal(Object.hasOwn(error, "message"), false);
    assert.equal(Object.hasOwn(error, "name"), false);
    assert.equal(typeof Object.getOwnPropertyDescriptor(DOMException.prototype, "code")!.get, "function");
    assert.equal(String(error), "SyntaxError: m");
    assert.equal(Object.prototype.toString.call(error), "[object DOMException]");
  });

  test("has a stack that starts with its name and message", () => {
    const error = new DOMException("gone", "NotFoundError");
    assert.match(error.stack!, /^NotFoundError: gone\n/);
  });

  test("exposes the legacy constants on the constructor and the prototype", () => {
    const constants = DOMException as unknown as Record<string, number>;
    assert.equal(constants.INDEX_SIZE_ERR, 1);
    assert.equal(constants.ABORT_ERR, 20);
    assert.equal(constants.DATA_CLONE_ERR, 25);
    assert.equal((DOMException.prototype as unknown as Record<string, number>).TIMEOUT_ERR, 23);
    assert.throws(() => {
      "use strict";
      constants.ABORT_ERR = 1;
    }, TypeError);
  });

  test("getters are brand-checked", () => {
    const getter = Object.getOwnPropertyDescriptor(DOMException.prototype, "name")!.get!;
    assert.throws(() => getter.call(new Error("x")), TypeError);
    assert.equal(isDOMException(new DOMException()), true);
    assert.equal(isDOMException(Object.create(DOMException.prototype)), false);
  });

  test("converts message and name to strings", () => {
    const error = new DOMException(42 as unknown as string, 7 as unknown as string);
    assert.equal(error.message, "42");
    assert.equal(error.name, "7");
  });
});

describe("the DOMException interface object", () => {
  test("inherits from Function.prototype while its prototype inherits from Error.prototype", () => {
    assert.equal(Object.getPrototypeOf(DOMException), Function.prototype);
    assert.equal(DOMException.length, 0);
    assert.equal(DOMException.name, "DOMException");
  });

  test("instances are real Error objects", () => {
    const isError = (Error as unknown as { isError?: (v: unknown) => boolean }).isError;
    if (isError !== undefined) assert.equal(isError(new DOMException()), true);
  });

  test("can be subclassed", () => {
    class Custom extends DOMException {
      extra = 1;
    }
    const error = new Custom("m", "AbortError");
    assert.ok(error instanceof Custom);
    assert.equal(error.name, "AbortError");
    assert.equal(error.extra, 1);
  });
});

test("QuotaExceededError is a DOMException subclass with quota and requested", async () => {
  const { QuotaExceededError } = await import("./dom-exception.ts");
  const e = new QuotaExceededError("too much", { quota: 10, requested: 12 });
  assert.ok(e instanceof DOMException);
  assert.ok(e instanceof Error);
  assert.deepEqual([e.name, e.code, e.message, e.quota, e.requested], ["QuotaExceededError", 22, "too much", 10, 12]);
  const bare = new QuotaExceededError();
  assert.deepEqual([bare.quota, bare.requested, Object.prototype.toString.call(bare)], [null, null, "[object QuotaExceededError]"]);
  assert.throws(() => new QuotaExceededError("x", { quota: -1 }), RangeError);
  assert.throws(() => new QuotaExceededError("x", { quota: 5, requested: 4 }), RangeError);
  assert.throws(() => new QuotaExceededError("x", { quota: Number.NaN }), TypeError);
});
