import { setTimeout as sleep } from "node:timers/promises";
import { FlickError } from "../errors/index.ts";
import type { LogReadOptions } from "../api/client.ts";
import type { LogLevel, LogLine } from "../model/index.ts";
import { connectionHelp, connectionOptions, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { logLine } from "./format.ts";
import { parseDuration, parseInteger } from "./parse.ts";

const filterOptions = { level: { type: "string" }, invocation: { type: "string" }, grep: { type: "string" }, status: { type: "string" } } as const;
const filterHelp = [
  "--level L[,L…]      only these levels: debug, info, log, warn, error",
  "--invocation ID     only one invocation's lines (the x-flick-invocation-id of its answer)",
  "--grep TEXT         only lines whose message contains TEXT",
  "--status S          only invocations that answered S: a class (5xx), a status (502) or a range (400-499)",
  "                    (with -f, only their request lines: the status is known when an invocation ends)",
];

/** The filter flags as the client's options. */
function filterOf(values: Record<string, unknown>): LogReadOptions {
  const out: LogReadOptions = {};
  if (values["level"] !== undefined) {
    const levels = (values["level"] as string).split(",").map((l) => l.trim()).filter((l) => l !== "");
    const bad = levels.find((l) => !["debug", "info", "log", "warn", "error"].includes(l));
    if (bad !== undefined) throw new FlickError("bad_request", `--level ${bad}: levels are debug, info, log, warn, error (comma-separated)`);
    out.levels = levels as LogLevel[];
  }
  if (values["invocation"] !== undefined) out.invocationId = values["invocation"] as string;
  if (values["grep"] !== undefined) out.text = values["grep"] as string;
  if (values["status"] !== undefined) {
    const status = values["status"] as string;
    if (!/^([1-5]xx|\d{3}(-\d{3})?)$/i.test(status)) throw new FlickError("bad_request", `--status ${status}: expected a class (5xx), a status (502) or a range (400-499)`);
    out.status = status;
  }
  return out;
}

export const logs: Command = {
  name: "logs",
  summary: "Print what a function logged (console.*) under each invocation's request line; filter by level, status, text.",
  usage: "logs <name> [-f] [--since 10m] [--limit N] [--level error] [--invocation ID] [--grep TEXT]",
  optionHelp: [
    "-f, --follow        keep printing new lines as they arrive",
    "--since DUR         only lines from the last DUR, e.g. 10m, 2h (default: all kept)",
    "--limit N           at most the last N lines (default 1000)",
    ...filterHelp,
    "--json              one JSON object per line (the API's), as they come with -f",
    ...connectionHelp,
  ],
  examples: ["flick logs hello", "flick logs hello -f --since 5m", "flick logs api --level warn,error --grep timeout"],
  options: { ...connectionOptions, ...jsonOption, ...filterOptions, follow: { type: "boolean", short: "f" }, since: { type: "string" }, limit: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const name = positionals[0]!;
    const sinceMs = values["since"] === undefined ? undefined : Date.now() - parseDuration(values["since"] as string, "--since");
    if (values["follow"] === true) {
      await follow(name, values, sinceMs, filterOf(values));
      return;
    }
    const lines = await clientFor(resolveConnection(values as never)).readLogs(name, {
      ...filterOf(values),
      ...(sinceMs === undefined ? {} : { sinceMs }),
      limit: values["limit"] === undefined ? 1000 : Math.max(1, parseInteger(values["limit"] as string, "--limit")),
    });
    for (const line of values["json"] === true ? lines : requestLinesFirst(lines)) print(line, values["json"] === true, false);
  },
};

/**
 * Each invocation's lines under its request line: the request line is written when the
 * invocation ends, after what it printed, so it is moved up to the invocation's first line.
 */
function requestLinesFirst(lines: LogLine[]): LogLine[] {
  const groups = new Map<string, LogLine[]>();
  for (const line of lines) {
    const group = groups.get(line.invocationId);
    if (group === undefined) groups.set(line.invocationId, [line]);
    else if (line.request !== undefined) group.unshift(line);
    else group.push(line);
  }
  return [...groups.values()].flat();
}

export const tail: Command = {
  name: "tail",
  summary: "Follow the logs of every function you can see (a tenant's all, or with --tenant one tenant's).",
  usage: "tail [--tenant T] [--since 10m] [--level error] [--grep TEXT] [--json]",
  optionHelp: [
    "--tenant T          admin only: one tenant's functions (default: every tenant's)",
    "--since DUR         start with lines from the last DUR (default: only new lines)",
    ...filterHelp,
    "--json              one JSON object per line (the API's)",
    ...connectionHelp,
  ],
  examples: ["flick tail", "FLICK_TOKEN=flk_… flick tail --level error", "flick tail --tenant acme --grep checkout"],
  options: { ...connectionOptions, ...jsonOption, ...filterOptions, tenant: { type: "string" }, since: { type: "string" } },
  positionals: { min: 0, max: 0 },
  async run({ values }) {
    const sinceMs = Date.now() - (values["since"] === undefined ? 0 : parseDuration(values["since"] as string, "--since"));
    await follow(null, values, sinceMs, { ...filterOf(values), ...(values["tenant"] === undefined ? {} : { tenant: values["tenant"] as string }) });
  },
};

/** A line as text, with its function's name in front when several functions' lines mix (`flick tail`). */
function print(line: LogLine, json: boolean, named: boolean): void {
  if (json) printJson(line, true);
  else console.log(named ? `${line.function.padEnd(16)} ${logLine(line)}` : logLine(line));
}

/**
 * `flick logs -f`: prints lines until Ctrl-C. When the node goes away (stopped, restarted,
 * unreachable) it says so once and reconnects when the node is back, where it left off:
 * from the last line it printed, so nothing is shown twice or skipped. The connection is
 * resolved again each time (a restarted `flick up` may be on another port).
 */
async function follow(name: string | null, values: Record<string, unknown>, sinceMs: number | undefined, filter: LogReadOptions): Promise<void> {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  let lastId: number | undefined;
  let away = false;
  let waitMs = 250;
  let url = "the node";
  while (!controller.signal.aborted) {
    // One attempt: Ctrl-C stops it, and so does a node that takes the connection but does
    // not answer within a few seconds (a stopping one can: its port is closing).
    const attempt = new AbortController();
    const stop = () => attempt.abort();
    controller.signal.addEventListener("abort", stop, { once: true });
    const unanswered = setTimeout(stop, 3000);
    try {
      // Inside: while the node is down, its data dir may name none.
      const connection = resolveConnection(values as never);
      url = connection.url;
      await clientFor(connection).followLogs(name, (line) => {
        lastId = line.id;
        print(line, values["json"] === true, name === null);
      }, {
        ...filter,
        ...(lastId !== undefined ? { afterId: lastId } : sinceMs !== undefined ? { sinceMs } : {}),
        signal: attempt.signal,
        onOpen: () => {
          clearTimeout(unanswered);
          if (away) process.stderr.write(`flick: ${url} is back; following ${name ?? "the logs"} again\n`);
          away = false;
          waitMs = 250;
        },
      });
    } catch (err) {
      if (controller.signal.aborted) return;
      // The node answered, and not with "unavailable": a real error (no such function, a bad token).
      if (err instanceof FlickError && err.code !== "unavailable") throw err;
    }
    clearTimeout(unanswered);
    controller.signal.removeEventListener("abort", stop);
    if (controller.signal.aborted) return;
    if (!away) process.stderr.write(`flick: ${url} went away; reconnecting when it is back (Ctrl-C to stop)\n`);
    away = true;
    await sleep(waitMs, undefined, { signal: controller.signal }).catch(() => {});
    waitMs = Math.min(waitMs * 2, 2000);
  }
}
