import { connectionHelp, connectionOptions, type Command } from "./command.ts";
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
    ...connectionHelp,
  ],
  examples: ["flick logs hello", "flick logs hello -f --since 5m"],
  options: { ...connectionOptions, follow: { type: "boolean", short: "f" }, since: { type: "string" }, limit: { type: "string" } },
  positionals: { min: 1, max: 1 },
  async run({ values, positionals }) {
    const client = clientFor(resolveConnection(values as never));
    const name = positionals[0]!;
    const sinceMs = values["since"] === undefined ? undefined : Date.now() - parseDuration(values["since"] as string, "--since");
    if (values["follow"] === true) {
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort());
      await client.followLogs(name, (line) => console.log(logLine(line)), { ...(sinceMs === undefined ? {} : { sinceMs }), signal: controller.signal });
      return;
    }
    const lines = await client.readLogs(name, {
      ...(sinceMs === undefined ? {} : { sinceMs }),
      limit: values["limit"] === undefined ? 1000 : Math.max(1, parseInteger(values["limit"] as string, "--limit")),
    });
    for (const line of lines) console.log(logLine(line));
  },
};
