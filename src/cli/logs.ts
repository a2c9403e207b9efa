import { setTimeout as sleep } from "node:timers/promises";
import { FlickError } from "../errors/index.ts";
import type { LogLine } from "../model/index.ts";
import { connectionHelp, connectionOptions, jsonOption, printJson, type Command } from "./command.ts";
import { clientFor, resolveConnection } from "./config.ts";
import { logLine } from "./format.ts";
import { parseDuration, parseInteger } from "./parse.ts";

export const logs: Command = {
  name: "logs",
  summary: "Print what a function logged (console.*), with time, level and invocation id.",
  usage: "logs <name> [-f] [--since 10m] [--limit N]",
  optionHelp: [
    "-f, --follow        keep printing new lines as they arrive",
    "--since DUR         only lines from the last DUR, e.g. 10m, 2h (default: all kept)",
    "--limit N           at most the last N lines (default 1000)",
    "--json              one JSON object per line (the API's), as they come with -f",
    ...connectionHelp,
  ],
  examples: ["flick logs hello", "flick logs hello -f --since 5m"],
  options: { ...connectionOptions, ...jsonOption, follow: { type: "boolean", short: "f" }, since: { type: "string" }, limit: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const name = positionals[0]!;
    const sinceMs = values["since"] === undefined ? undefined : Date.now() - parseDuration(values["since"] as string, "--since");
    if (values["follow"] === true) {
      await follow(name, values, sinceMs);
      return;
    }
    const lines = await clientFor(resolveConnection(values as never)).readLogs(name, {
      ...(sinceMs === undefined ? {} : { sinceMs }),
      limit: values["limit"] === undefined ? 1000 : Math.max(1, parseInteger(values["limit"] as string, "--limit")),
    });
    for (const line of lines) print(line, values["json"] === true);
  },
};

function print(line: LogLine, json: boolean): void {
  if (json) printJson(line, true);
  else console.log(logLine(line));
}

/**
 * `flick logs -f`: prints lines until Ctrl-C. When the node goes away (stopped, restarted,
 * unreachable) it says so once and reconnects when the node is back, where it left off:
 * from the last line it printed, so nothing is shown twice or skipped. The connection is
 * resolved again each time (a restarted `flick up` may be on another port).
 */
async function follow(name: string, values: Record<string, unknown>, sinceMs: number | undefined): Promise<void> {
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
        print(line, values["json"] === true);
      }, {
        ...(lastId !== undefined ? { afterId: lastId } : sinceMs !== undefined ? { sinceMs } : {}),
        signal: attempt.signal,
        onOpen: () => {
          clearTimeout(unanswered);
          if (away) process.stderr.write(`flick: ${url} is back; following ${name} again\n`);
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
