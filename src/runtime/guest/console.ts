/**
 * `console` for functions: every method formats its arguments as browsers do and sends
 * one line to the host, tagged with the invocation that is running (0 at module scope).
 * Output is capped per invocation (contract.ts `logLimits`): a long line is cut, and past
 * the caps one marker line says how many lines were dropped — the host enforces the same
 * caps, this side only saves formatting and copying what would be dropped.
 */
import { logLimits } from "../contract.ts";
import { formatLogArgs } from "./web/console-format.ts";
import { emit as emitOp } from "./host-ops.ts";
import { currentInvocation, onInvocationEnd } from "./invocation-scope.ts";

type Level = "debug" | "info" | "log" | "warn" | "error";

interface Budget {
  lines: number;
  chars: number;
  dropped: number;
}
const budgets = new Map<number, Budget>();
onInvocationEnd((invocation) => budgets.delete(invocation));

/** Sends one line of `invocation`, within its caps. Also used by the runtime for its own lines. */
export function logLine(invocation: number, level: Level, message: string): void {
  let budget = budgets.get(invocation);
  if (budget === undefined) {
    budget = { lines: 0, chars: 0, dropped: 0 };
    budgets.set(invocation, budget);
  }
  if (budget.lines >= logLimits.linesPerInvocation || budget.chars >= logLimits.charsPerInvocation) {
    if (budget.dropped++ === 0) {
      emitOp(["log", invocation, "warn", `[flick: further console output of this invocation is dropped: it keeps at most ${logLimits.linesPerInvocation} lines and ${logLimits.charsPerInvocation} characters]`]);
    }
    return;
  }
  const text = message.length > logLimits.lineMaxChars ? `${message.slice(0, logLimits.lineMaxChars)}… [line cut at ${logLimits.lineMaxChars} characters]` : message;
  budget.lines++;
  budget.chars += text.length;
  emitOp(["log", invocation, level, text]);
}

function emit(level: Level, args: readonly unknown[]): void {
  const invocation = currentInvocation();
  const budget = budgets.get(invocation);
  // Past the caps nothing is formatted (formatting a huge object is the expensive part).
  if (budget !== undefined && (budget.lines >= logLimits.linesPerInvocation || budget.chars >= logLimits.charsPerInvocation) && budget.dropped > 0) {
    budget.dropped++;
    return;
  }
  logLine(invocation, level, formatLogArgs(args));
}

export function createConsole(): object {
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  let groupIndent = "";
  const line = (level: Level) =>
    function (...args: unknown[]): void {
      if (groupIndent === "") emit(level, args);
      else emit(level, [groupIndent + formatLogArgs(args)]);
    };
  const log = line("log");
  const consoleObject = {
    debug: line("debug"),
    info: line("info"),
    log,
    warn: line("warn"),
    error: line("error"),
    trace: line("debug"),
    // Lengths as WebIDL gives them: every argument of dir() and assert() is optional.
    dir: (...args: unknown[]) => log(args[0]),
    dirxml: log,
    table: log,
    assert(...all: unknown[]): void {
      const [condition, ...args] = all;
      if (condition) return;
      emit("error", args.length === 0 ? ["Assertion failed"] : ["Assertion failed:", ...args]);
    },
    count(label: unknown = "default"): void {
      const key = labelOf(label);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      emit("info", [`${key}: ${n}`]);
    },
    countReset(label: unknown = "default"): void {
      const key = labelOf(label);
      if (counts.has(key)) counts.set(key, 0);
      else emit("warn", [`Count for '${key}' does not exist`]);
    },
    group(...args: unknown[]): void {
      if (args.length > 0) log(...args);
      groupIndent += "  ";
    },
    groupCollapsed(...args: unknown[]): void {
      consoleObject.group(...args);
    },
    groupEnd(): void {
      groupIndent = groupIndent.slice(2);
    },
    time(label: unknown = "default"): void {
      const key = labelOf(label);
      if (timers.has(key)) emit("warn", [`Timer '${key}' already exists`]);
      else timers.set(key, Date.now());
    },
    timeLog(label: unknown = "default", ...args: unknown[]): void {
      const key = labelOf(label);
      const start = timers.get(key);
      if (start === undefined) emit("warn", [`Timer '${key}' does not exist`]);
      else emit("info", [`${key}: ${Date.now() - start}ms`, ...args]);
    },
    timeEnd(label: unknown = "default"): void {
      const key = labelOf(label);
      const start = timers.get(key);
      if (start === undefined) return emit("warn", [`Timer '${key}' does not exist`]);
      timers.delete(key);
      emit("info", [`${key}: ${Date.now() - start}ms`]);
    },
    clear(): void {},
    profile(): void {},
    profileEnd(): void {},
    timeStamp(): void {},
  };
  // A WebIDL namespace: its methods are enumerable own properties, its [[Prototype]] an
  // empty object over %Object.prototype%, its @@toStringTag "console".
  const namespace = Object.create(Object.create(Object.prototype) as object) as Record<PropertyKey, unknown>;
  for (const [name, fn] of Object.entries(consoleObject)) {
    Object.defineProperty(namespace, name, { value: fn, writable: true, enumerable: true, configurable: true });
  }
  Object.defineProperty(namespace, Symbol.toStringTag, { value: "console", writable: false, enumerable: false, configurable: true });
  return namespace;
}

/** A label is a DOMString: converted with ToString, whose errors reach the caller. */
function labelOf(label: unknown): string {
  return `${label as string}`;
}
