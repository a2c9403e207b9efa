/**
 * `console` for functions: every method formats its arguments as browsers do and sends
 * one line to the host, tagged with the invocation that is running (0 at module scope).
 */
import { formatLogArgs } from "./web/console-format.ts";
import { hostOps } from "./host-ops.ts";
import { currentInvocation } from "./invocation-scope.ts";

type Level = "debug" | "info" | "log" | "warn" | "error";

function emit(level: Level, args: readonly unknown[]): void {
  hostOps().log(currentInvocation(), level, formatLogArgs(args));
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
    dir: (value: unknown) => log(value),
    dirxml: log,
    table: log,
    assert(condition?: unknown, ...args: unknown[]): void {
      if (condition) return;
      emit("error", args.length === 0 ? ["Assertion failed"] : ["Assertion failed:", ...args]);
    },
    count(label = "default"): void {
      const n = (counts.get(label) ?? 0) + 1;
      counts.set(label, n);
      log(`${label}: ${n}`);
    },
    countReset(label = "default"): void {
      counts.delete(label);
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
    time(label = "default"): void {
      timers.set(label, Date.now());
    },
    timeLog(label = "default", ...args: unknown[]): void {
      const start = timers.get(label);
      if (start === undefined) emit("warn", [`Timer '${label}' does not exist`]);
      else log(`${label}: ${Date.now() - start}ms`, ...args);
    },
    timeEnd(label = "default"): void {
      consoleObject.timeLog(label);
      timers.delete(label);
    },
    clear(): void {},
    profile(): void {},
    profileEnd(): void {},
    timeStamp(): void {},
  };
  return consoleObject;
}
