/**
 * DOMException (WebIDL §3.14.1, https://webidl.spec.whatwg.org/#idl-DOMException).
 *
 * DOMException.prototype inherits from Error.prototype, as WebIDL requires, and `name`,
 * `message` and `code` are getters on the prototype rather than own properties (WPT checks
 * that).
 * The legacy `code` is looked up from the error-names table; names outside it give 0.
 */
import {
  ObjectDefineProperty,
  ObjectGetOwnPropertyDescriptor,
  ObjectSetPrototypeOf,
  SymbolToStringTag,
  WeakMapCtor,
} from "./intrinsics.ts";
import { illegalInvocation, isObject, toStringES } from "./idl.ts";

/** V8's Error.captureStackTrace, captured so the stack header reads "AbortError: …". */
const ErrorCaptureStackTrace = (Error as unknown as { captureStackTrace?: (target: object, ctor?: unknown) => void })
  .captureStackTrace;

// WebIDL "error names" table: name → legacy code (0 for names without one).
const LEGACY_CODES: { readonly [name: string]: number } = {
  __proto__: null as unknown as number,
  IndexSizeError: 1,
  HierarchyRequestError: 3,
  WrongDocumentError: 4,
  InvalidCharacterError: 5,
  NoModificationAllowedError: 7,
  NotFoundError: 8,
  NotSupportedError: 9,
  InUseAttributeError: 10,
  InvalidStateError: 11,
  SyntaxError: 12,
  InvalidModificationError: 13,
  NamespaceError: 14,
  InvalidAccessError: 15,
  TypeMismatchError: 17,
  SecurityError: 18,
  NetworkError: 19,
  AbortError: 20,
  URLMismatchError: 21,
  QuotaExceededError: 22,
  TimeoutError: 23,
  InvalidNodeTypeError: 24,
  DataCloneError: 25,
};

// The legacy constants, exposed on both the interface object and its prototype.
const CONSTANTS: readonly (readonly [string, number])[] = [
  ["INDEX_SIZE_ERR", 1],
  ["DOMSTRING_SIZE_ERR", 2],
  ["HIERARCHY_REQUEST_ERR", 3],
  ["WRONG_DOCUMENT_ERR", 4],
  ["INVALID_CHARACTER_ERR", 5],
  ["NO_DATA_ALLOWED_ERR", 6],
  ["NO_MODIFICATION_ALLOWED_ERR", 7],
  ["NOT_FOUND_ERR", 8],
  ["NOT_SUPPORTED_ERR", 9],
  ["INUSE_ATTRIBUTE_ERR", 10],
  ["INVALID_STATE_ERR", 11],
  ["SYNTAX_ERR", 12],
  ["INVALID_MODIFICATION_ERR", 13],
  ["NAMESPACE_ERR", 14],
  ["INVALID_ACCESS_ERR", 15],
  ["VALIDATION_ERR", 16],
  ["TYPE_MISMATCH_ERR", 17],
  ["SECURITY_ERR", 18],
  ["NETWORK_ERR", 19],
  ["ABORT_ERR", 20],
  ["URL_MISMATCH_ERR", 21],
  ["QUOTA_EXCEEDED_ERR", 22],
  ["TIMEOUT_ERR", 23],
  ["INVALID_NODE_TYPE_ERR", 24],
  ["DATA_CLONE_ERR", 25],
];

export interface DOMExceptionOptions {
  name?: string;
  cause?: unknown;
}

interface Slots {
  name: string;
  message: string;
}

/** Internal state by instance; a WeakMap because the constructor returns an Error object, not `this`. */
const slots = new WeakMapCtor<object, Slots>();
const WeakMapPrototypeGet = Function.prototype.call.bind(WeakMap.prototype.get) as (
  self: WeakMap<object, Slots>,
  key: object,
) => Slots | undefined;
const WeakMapPrototypeSet = Function.prototype.call.bind(WeakMap.prototype.set) as (
  self: WeakMap<object, Slots>,
  key: object,
  value: Slots,
) => void;
const ReflectConstruct = Reflect.construct;
const ErrorCtor = Error;

function slotsOf(self: unknown): Slots {
  const s = typeof self === "object" && self !== null ? WeakMapPrototypeGet(slots, self) : undefined;
  if (s === undefined) throw illegalInvocation();
  return s;
}

/**
 * Not `class … extends Error`: WebIDL wants DOMException's own [[Prototype]] to be
 * Function.prototype (only DOMException.prototype inherits from Error.prototype), and a
 * derived class would have Error there. Instances are still real Error objects with
 * [[ErrorData]] (so Error.isError and V8's stack capture work), made with
 * Reflect.construct(Error, [], new.target).
 */
export class DOMException {
  declare readonly stack?: string;

  /**
   * `new DOMException(message = "", name = "Error")`. Like Node and Deno, the second argument
   * may also be an options object `{ name, cause }` (the proposed WebIDL extension).
   */
  constructor(message: unknown = undefined, options: unknown = undefined) {
    const messageString = message === undefined ? "" : toStringES(message);
    let name = "Error";
    let hasCause = false;
    let cause: unknown;
    if (isObject(options)) {
      const opts = options as DOMExceptionOptions;
      if ("cause" in opts) {
        hasCause = true;
        cause = opts.cause;
      }
      const n = opts.name;
      if (n !== undefined) name = toStringES(n);
    } else if (options !== undefined) {
      name = toStringES(options);
    }
    // No message to Error(): the message must not become an own property.
    const self = ReflectConstruct(ErrorCtor, [], new.target) as DOMException;
    WeakMapPrototypeSet(slots, self, { name, message: messageString });
    if (hasCause) {
      ObjectDefineProperty(self, "cause", { value: cause, writable: true, enumerable: false, configurable: true });
    }
    // Re-capture now that name and message exist, so the stack starts "Name: message".
    if (ErrorCaptureStackTrace !== undefined) ErrorCaptureStackTrace(self, new.target);
    return self;
  }

  get name(): string {
    return slotsOf(this).name;
  }

  get message(): string {
    return slotsOf(this).message;
  }

  get code(): number {
    return LEGACY_CODES[slotsOf(this).name] ?? 0;
  }
}

ObjectSetPrototypeOf(DOMException.prototype, Error.prototype);

/** True for objects created by our DOMException constructor (a brand check, not instanceof). */
export function isDOMException(value: unknown): value is DOMException {
  return typeof value === "object" && value !== null && WeakMapPrototypeGet(slots, value) !== undefined;
}

for (let i = 0; i < CONSTANTS.length; i++) {
  const [key, value] = CONSTANTS[i]!;
  const desc = { value, writable: false, enumerable: true, configurable: false };
  ObjectDefineProperty(DOMException, key, desc);
  ObjectDefineProperty(DOMException.prototype, key, desc);
}
// Attributes are enumerable accessors on the prototype, as for any WebIDL interface.
for (const key of ["name", "message", "code"]) {
  const desc = ObjectGetOwnPropertyDescriptor(DOMException.prototype, key)!;
  desc.enumerable = true;
  ObjectDefineProperty(DOMException.prototype, key, desc);
}
ObjectDefineProperty(DOMException.prototype, SymbolToStringTag, {
  value: "DOMException",
  writable: false,
  enumerable: false,
  configurable: true,
});

/** Shorthand for the runtime's own throws: `throw newDOMException("…", "InvalidCharacterError")`. */
export function newDOMException(message: string, name: string): DOMException {
  return new DOMException(message, name);
}

/**
 * QuotaExceededError (WebIDL, 2025): a DOMException subclass named "QuotaExceededError"
 * (legacy code 22) that can say how much was asked for and what the limit is.
 */
const quotaSlots = new WeakMapCtor<object, { quota: number | null; requested: number | null }>();

function optionalDouble(dict: Record<string, unknown>, key: string): number | null {
  const v = dict[key];
  if (v === undefined) return null;
  const n = +(v as number);
  if (!Number.isFinite(n)) throw new TypeError(`Failed to construct 'QuotaExceededError': ${key} is not a finite number.`);
  if (n < 0) throw new RangeError(`Failed to construct 'QuotaExceededError': ${key} must not be negative.`);
  return n;
}

export class QuotaExceededError extends DOMException {
  constructor(message: unknown = undefined, options: unknown = undefined) {
    super(message, { name: "QuotaExceededError" });
    let quota: number | null = null;
    let requested: number | null = null;
    if (options !== undefined && options !== null) {
      if (!isObject(options)) throw new TypeError("Failed to construct 'QuotaExceededError': options is not an object.");
      quota = optionalDouble(options as Record<string, unknown>, "quota");
      requested = optionalDouble(options as Record<string, unknown>, "requested");
      if (quota !== null && requested !== null && requested < quota) {
        throw new RangeError("Failed to construct 'QuotaExceededError': requested is less than quota.");
      }
    }
    quotaSlots.set(this, { quota, requested });
  }

  get quota(): number | null {
    const s = quotaSlots.get(this);
    if (s === undefined) throw illegalInvocation();
    return s.quota;
  }

  get requested(): number | null {
    const s = quotaSlots.get(this);
    if (s === undefined) throw illegalInvocation();
    return s.requested;
  }
}
for (const key of ["quota", "requested"]) {
  const desc = ObjectGetOwnPropertyDescriptor(QuotaExceededError.prototype, key)!;
  desc.enumerable = true;
  ObjectDefineProperty(QuotaExceededError.prototype, key, desc);
}
ObjectDefineProperty(QuotaExceededError.prototype, SymbolToStringTag, { value: "QuotaExceededError", writable: false, enumerable: false, configurable: true });
